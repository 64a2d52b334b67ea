"""The web chat in a real browser: Playwright driving Debian's headless Chromium against
`python app.py` started as a user would start it.

Chromium comes from `apt-get install chromium fonts-wqy-microhei` (.ci/run does it). Without it
the tests skip locally; under CI (CI=true) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, ThreadedServer, finished_job, spawn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium: apt-get install -y chromium fonts-wqy-microhei")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def serve(index: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc, url = spawn(
        ["app.py", "--host", "127.0.0.1"], {"ASSISTANT_INDEX_PATH": str(index)}, timeout=120
    )
    return proc, url + "/"


def llm_env(llm) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The settings that point the assistant at a scripted OpenAI-compatible server."""
    return {"ASSISTANT_LLM_BASE_URL": llm.base_url, "ASSISTANT_LLM_MODEL": llm.model}


@contextmanager
def llm_chat(index: Path, llm) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """`python app.py` in LLM mode over `index`, answering with the scripted server: its URL."""
    proc, url = spawn(
        ["app.py", "--host", "127.0.0.1"],
        {"ASSISTANT_INDEX_PATH": str(index), "ASSISTANT_MODE": "llm", **llm_env(llm)},
        timeout=120,
    )
    try:
        yield url + "/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app_url(index_dir: Path) -> Iterator[str]:
    proc, url = serve(index_dir)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def index_text(assistant, path: Path, text: str) -> None:  # type: ignore[no-untyped-def]
    """Write one document and ingest it into the (fresh) assistant's index."""
    path.write_text(text, encoding="utf-8")
    assistant.ingest([path])


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#question textarea")
    box.wait_for(timeout=60_000)
    box.fill(question)
    box.press("Enter")


def test_french_question_streams_a_cited_answer_and_opens_the_source(browser, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(app_url, wait_until="domcontentloaded")
    ask(page, "Où Kaneko a-t-il été blessé ?")
    page.locator("#chat", has_text="Avdeevka").wait_for(timeout=60_000)
    badge = page.locator("#sources-panel .side-badge").first
    badge.wait_for(timeout=60_000)
    assert badge.inner_text() == "pro-Russia" and badge.is_visible()
    # White on the side's colour: Gradio's own styles had made it dark grey (2.2:1 on blue).
    assert badge.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    assert page.locator("#sources-panel mark", has_text="Avdeevka").count() >= 1

    page.locator("#open-source input").click()
    page.locator("[role=listbox] [role=option]").first.click()
    highlighted = page.locator("#document mark")
    highlighted.wait_for(timeout=30_000)
    assert "Avdeevka" in highlighted.inner_text()
    assert "Daisaku Kaneko" in page.locator("#document-text").inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-french-question.png"), full_page=True)
    page.close()


def test_the_conversation_survives_a_reload_until_cleared(browser, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """Reloading the page kept nothing before: the conversation, its sources and the export
    were Gradio session state."""
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(app_url, wait_until="domcontentloaded")
    ask(page, "Où Kaneko a-t-il été blessé ?")
    page.locator("#chat", has_text="Avdeevka").wait_for(timeout=60_000)
    page.locator("#sources-panel .side-badge").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1_000)  # the answer is kept once it is complete
    page.reload(wait_until="domcontentloaded")
    page.locator("#chat", has_text="Avdeevka").wait_for(timeout=60_000)
    assert page.locator("#chat", has_text="Où Kaneko a-t-il été blessé ?").count() == 1
    page.locator("#sources-panel .side-badge").first.wait_for(timeout=30_000)
    export = page.locator("#export")
    page.wait_for_function("!document.querySelector('#export').disabled", timeout=30_000)
    assert export.is_enabled()
    page.locator("#clear").click()
    page.wait_for_function(
        "!document.querySelector('#chat').innerText.includes('Avdeevka')", timeout=30_000
    )
    page.wait_for_timeout(1_000)
    page.reload(wait_until="domcontentloaded")
    page.locator("#question textarea").wait_for(timeout=60_000)
    page.wait_for_timeout(3_000)  # the load event has run: nothing comes back
    assert "Avdeevka" not in page.locator("#chat").inner_text()
    page.close()


def test_a_reload_mid_answer_keeps_the_question_and_says_the_answer_did_not_finish(
    browser, index_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """A reload while an answer was written lost the question with it: the conversation was
    kept only once an answer completed. A slow model (the scripted server, paced) is reloaded
    over mid-answer."""
    from assistant.web.app import INTERRUPTED

    from .scripted_openai import ScriptedOpenAIServer

    words = " ".join(f"word{i}" for i in range(40))
    with ScriptedOpenAIServer(pace=0.25) as llm:
        llm.script(f"The sources disagree.\n\n{words}\n")
        with llm_chat(index_dir, llm) as url:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(url, wait_until="domcontentloaded")
            question = "What did Japan send to Ukraine?"
            ask(page, question)
            page.locator("#chat", has_text="The sources disagree.").wait_for(timeout=60_000)
            assert "word39" not in page.locator("#chat").inner_text()  # still being written
            page.reload(wait_until="domcontentloaded")
            page.locator("#chat", has_text=question).wait_for(timeout=60_000)
            page.locator("#chat", has_text="This answer did not finish").wait_for(timeout=30_000)
            shown = page.locator("#chat").inner_text()
            assert shown.count(question) == 1 and INTERRUPTED.split(":")[0] in shown, shown
            assert "word39" not in shown
            page.close()


def test_markup_in_documents_and_questions_shows_as_text(browser, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index_text(
        fresh,
        tmp_path / "hostile.txt",
        "Japan sent armored vehicles to Ukraine in 2023. <script>window.pwned = 1; alert('x')</script> "
        "<img src=x onerror=\"window.pwned = 2; alert('y')\"> The shipment included all-terrain vehicles.",
    )
    proc, url = serve(fresh.settings.index_path)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url, wait_until="domcontentloaded")
        ask(page, "<b>What</b> vehicles did Japan send? <img src=x onerror=alert('q')>")
        page.locator("#sources-panel .side-badge").first.wait_for(timeout=60_000)
        panel = page.locator("#sources-panel").inner_text()
        chat = page.locator("#chat").inner_text()
        assert "<script>" in panel or "<img src=x" in panel, "the markup shows as text in the panel"
        assert "<img src=x onerror=alert('q')>" in chat, "the question shows as typed"
        page.locator("#open-source input").click()
        page.locator("[role=listbox] [role=option]").first.click()
        page.locator("#document mark").wait_for(timeout=30_000)
        assert "<script>window.pwned = 1" in page.locator("#document-text").inner_text()
        assert page.evaluate("window.pwned") is None and dialogs == []
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("#chat b", has_text="What").count() == 0
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_documents_remote_image_and_script_link_make_no_outside_request(
    browser, fresh, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Served as `assistant serve` with keys: log in through Gradio's form, ask about a document
    whose answering sentence carries a remote Markdown image, an HTML image and a javascript:
    link. Every request the page makes stays on 127.0.0.1, and the markup shows as text."""
    index_text(
        fresh,
        tmp_path / "kherson.txt",
        "Japan sent 40 water purifiers ![pixel](http://evil.example/p.png) to Kherson "
        "[click here](javascript:alert(1)) in May 2025 <img src=http://evil.example/i.png>.",
    )
    env = {
        "ASSISTANT_INDEX_PATH": str(fresh.settings.index_path),
        "ASSISTANT_API_KEYS": "reader-key-0123456789",
        "ASSISTANT_ADMIN_KEYS": "admin-key-0123456789",
    }
    proc, url = spawn(["-m", "assistant", "serve"], env, timeout=120)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        outside: list[str] = []
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else outside.append(r.url)
            ),
        )
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url + "/ui/", wait_until="domcontentloaded")
        page.locator("input[type=password]").wait_for(timeout=60_000)
        page.locator("input[type=text]").first.fill("analyst")
        page.locator("input[type=password]").fill("reader-key-0123456789")
        page.locator("button", has_text="Login").click()
        ask(page, "What did Japan send to Kherson in May 2025?")
        page.locator("#chat", has_text="water purifiers").wait_for(timeout=60_000)
        page.locator("#sources-panel .side-badge").first.wait_for(timeout=60_000)
        chat = page.locator("#chat").inner_text().replace("\u200b", "")  # unlinked() URLs
        assert "![pixel](http://evil.example/p.png)" in chat, chat
        assert page.locator("#chat img[src*='evil']").count() == 0
        assert page.locator("#chat a[href^='javascript']").count() == 0
        assert (
            page.locator("#add-documents").count() == 0
            or not page.locator("#add-documents").is_visible()
        ), "a reader's page has no upload form"
        page.wait_for_timeout(1000)
        assert outside == [] and dialogs == [], (outside, dialogs)
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_an_unlabelled_document_shows_its_suggested_side_with_evidence(
    browser, fresh, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A marker-bearing document without a label: its citation keeps the grey 'unknown' badge
    and adds a dashed 'suggested: …' one; its document view lists the evidence with offsets."""
    from .test_suggest import MANIFEST, UNLABELLED

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    (folder / "unlabelled.txt").write_text(UNLABELLED, encoding="utf-8")
    fresh.ingest([folder])
    proc, url = serve(fresh.settings.index_path)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(url, wait_until="domcontentloaded")
        ask(page, "Who keeps arming the Kiev regime?")
        suggested = page.locator("#sources-panel .suggested-badge").first
        suggested.wait_for(timeout=60_000)
        assert suggested.inner_text() == "suggested: pro-Russia" and suggested.is_visible()
        assert page.locator("#sources-panel .side-badge").first.inner_text() == "unknown"
        assert "side suggested: pro-Russia" in page.locator("#chat").inner_text()

        page.locator("#open-source input").click()
        page.locator("[role=listbox] [role=option]").first.click()
        box = page.locator("#document #suggestion")
        box.wait_for(timeout=30_000)
        evidence = box.inner_text()
        assert "Not a label: suggested by markers" in evidence
        start = UNLABELLED.index("киевский режим")
        assert f"“киевский режим” at {start}–{start + len('киевский режим')}" in evidence
        assert f"“Kiev regime” at {UNLABELLED.index('Kiev regime')}–" in evidence
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-suggested-side.png"), full_page=True)
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_llm_answer_renders_markdown_links_markers_and_exports(
    browser, index_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """LLM mode in the chat: bold shows as bold with no backslash, each [n] links to its
    citation in the panel, the LLM's image and link neither load nor navigate, and Export
    downloads the conversation with every answer's references."""
    from assistant import Assistant, Settings

    from .scripted_openai import ScriptedOpenAIServer
    from .test_llm_edges import AID, check_text, grounded_reply

    with ScriptedOpenAIServer() as llm:
        a = Assistant(
            Settings.resolve(index_path=index_dir, mode="llm", env=llm_env(llm)),
            embedder=embedder,
        )
        reply = grounded_reply(a, llm)
        llm.script(reply)
        with llm_chat(index_dir, llm) as url:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(url, wait_until="domcontentloaded")
            ask(page, AID)
            page.locator("#sources-panel .cite").first.wait_for(timeout=90_000)
            chat = page.locator("#chat")
            chat.locator("strong", has_text="The sources disagree.").wait_for(timeout=30_000)
            shown = chat.inner_text()
            assert "\\*" not in shown and "**" not in shown and "\\[" not in shown, shown
            links = chat.locator("a[href^='#cite-']")
            assert links.count() >= 2
            for i in range(links.count()):
                target = links.nth(i).get_attribute("href") or ""
                assert page.locator(f"#sources-panel {target}").count() == 1, target
            assert chat.locator("img[src*='evil'], a[href*='evil']").count() == 0
            assert "pixel" in shown and "read more" in shown  # alt text and link text, inert
            assert not [u for u in requested if "evil.example" in u]
            with page.expect_download(timeout=30_000) as download:
                page.locator("#export").click()
            text = Path(download.value.path()).read_text(encoding="utf-8")
            assert f"## {AID}" in text and "**The sources disagree.**" in text
            check_text(text.split(f"## {AID}", 1)[1], a)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-llm-answer.png"), full_page=True)
            page.close()


def test_the_sources_filter_follows_the_index(browser, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A document uploaded through the API after the page was built appears in the chat's
    Sources filter (it used to be fixed at start-up)."""
    import httpx

    index_text(fresh, tmp_path / "first.txt", "Japan sent aid to Ukraine in 2024.")
    env = {"ASSISTANT_INDEX_PATH": str(fresh.settings.index_path)}
    proc, url = spawn(["-m", "assistant", "serve"], env, timeout=120)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(url + "/ui/", wait_until="domcontentloaded")
        page.locator("#source-filter input").wait_for(timeout=60_000)
        with httpx.Client(base_url=url, timeout=60) as client:
            upload = {"file": ("later.txt", b"Russia objected to Japan's aid in 2025.")}
            job = finished_job(client, client.post("/v1/documents", files=upload))
        assert job["state"] == "done", job
        page.locator("#source-filter input").click()
        page.locator("[role=listbox] [role=option]", has_text="later").wait_for(timeout=30_000)
        options = page.locator("[role=listbox] [role=option]").all_inner_texts()
        assert any(o.startswith("first") for o in options) and any(
            o.startswith("later") for o in options
        ), options
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_sources_filter_finds_sources_past_those_it_holds(  # type: ignore[no-untyped-def]
    browser, fresh, tmp_path: Path, monkeypatch
) -> None:
    """Past SHOWN sources (an archive's 6,000 made the page's config 692 KB and the box slow),
    the filter holds the first ones and the "Find sources" box finds the others, typed fast;
    a chosen source stays chosen through a second search. SHOWN is 2 here: four sources."""
    from assistant.serve.http import create_chat
    from assistant.web import upload

    monkeypatch.setattr(upload, "SHOWN", 2)
    texts = {
        "alpha": "Japan sent aid to Ukraine in 2024.",
        "bravo": "Russia objected to Japan's aid.",
        "charlie": "Japan's defence budget grew in 2024.",
        "delta": "Tokyo hosted a conference on Ukraine's recovery.",
    }
    for name in ("alpha", "bravo"):
        index_text(fresh, tmp_path / f"{name}.txt", texts[name])
    with ThreadedServer(create_chat(fresh)) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(server.url + "/", wait_until="domcontentloaded")
        box = page.locator("#source-filter input")
        box.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        assert not page.locator("#source-finder").is_visible()  # every source is in the filter
        for name in ("charlie", "delta"):  # the index grows past what the filter holds
            index_text(fresh, tmp_path / f"{name}.txt", texts[name])
        options = page.locator("[role=listbox] [role=option]")
        box.click()
        page.locator("#source-finder").wait_for(state="visible", timeout=30_000)
        hint = page.locator("#source-filter").inner_text()
        assert "2 of 4 sources: find the others below" in hint, hint
        options.first.wait_for(timeout=30_000)
        assert [o.split(" ")[0] for o in options.all_inner_texts()] == ["alpha", "bravo"]
        page.keyboard.press("Escape")
        finder = page.locator("#source-finder textarea")
        finder.click()
        page.keyboard.type("delta", delay=20)  # faster than a reply comes back
        page.wait_for_timeout(500)
        box.click()
        options.filter(has_text="delta").first.wait_for(timeout=30_000)
        options.filter(has_text="delta").first.click()
        page.keyboard.press("Escape")
        finder.fill("charlie")
        page.wait_for_timeout(500)
        box.click()
        options.filter(has_text="charlie").first.wait_for(timeout=30_000)
        shown = [o.split("\n")[-1].split(" ")[0] for o in options.all_inner_texts()]
        assert sorted(shown) == ["charlie", "delta"], shown  # delta kept: it is chosen
        page.keyboard.press("Escape")
        ask(page, "Where was a conference on Ukraine's recovery held?")
        page.locator("#sources-panel .side-badge").first.wait_for(timeout=120_000)
        cited = page.locator("#sources-panel").inner_text()
        assert "delta" in cited and "alpha" not in cited, cited
        page.close()


def test_an_admin_cancels_an_upload_from_the_chat(browser, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A long upload from the "Add documents" form, cancelled with its Cancel button while it
    embeds: its line says cancelled, and nothing of it is indexed."""
    import httpx

    from .test_hardening import long_text

    index_text(fresh, tmp_path / "first.txt", "Japan sent aid to Ukraine in 2024.")
    (tmp_path / "long.txt").write_text(long_text(), encoding="utf-8")
    env = {"ASSISTANT_INDEX_PATH": str(fresh.settings.index_path)}
    proc, url = spawn(["-m", "assistant", "serve"], env, timeout=120)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(url + "/ui/", wait_until="domcontentloaded")
        page.locator("#add-documents").get_by_text("Add documents").click()
        page.locator("#upload-files input[type=file]").set_input_files(str(tmp_path / "long.txt"))
        page.locator("#add").click()
        result = page.locator("#add-result textarea")
        page.wait_for_function(
            "el => el.value.includes('embedding')", arg=result.element_handle(), timeout=120_000
        )
        page.locator("#cancel-upload").click()
        page.locator("#cancel-result", has_text="Cancelling 1 upload").wait_for(timeout=30_000)
        page.wait_for_function(
            "el => el.value.includes('cancelled')", arg=result.element_handle(), timeout=60_000
        )
        assert "✘ long.txt: cancelled by an admin" in result.input_value()
        with httpx.Client(base_url=url, timeout=60) as client:
            assert [s["id"] for s in client.get("/v1/sources").json()] == ["first"]
            assert client.get("/v1/jobs").json()[0]["state"] == "cancelled"
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_pages_labels_follow_the_browsers_language(browser, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """A French, Chinese, German or Italian browser: the page's own labels in its language
    where a file has it (prompts/page/), English otherwise; Gradio's own parts in its own
    translations."""
    for locale, ask_label, placeholder, heading in (
        ("fr-FR", "Demander", "Posez une question…", "Sources citées"),
        ("zh-CN", "提问", "请输入问题…", "引用的来源"),
        ("de-DE", "Fragen", "Stellen Sie eine Frage…", "Zitierte Quellen"),
        ("it-IT", "Ask", "Ask a question…", "Cited sources"),
    ):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.goto(app_url, wait_until="domcontentloaded")
        button = page.locator("#ask")
        button.wait_for(timeout=60_000)
        page.wait_for_function(
            "([text]) => document.querySelector('#ask').innerText.trim() === text",
            arg=[ask_label],
            timeout=30_000,
        )
        assert page.locator("#question textarea").get_attribute("placeholder") == placeholder
        assert page.get_by_role("heading", name=heading).is_visible()
        assert "__i18n__" not in page.locator("body").inner_text()
        context.close()
