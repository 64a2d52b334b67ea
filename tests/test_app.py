"""The web chat: create_app builds without serving; a real launched app answers through gradio_client."""

import html
import os
from pathlib import Path

import pytest

from assistant import Assistant, Settings

from .conftest import REPO, chat_ask, free_port, wait_port


def test_building_the_apps_starts_nothing_and_writes_nothing(
    fresh: Assistant, tmp_path: Path
) -> None:
    """create_app, create_api and create_chat build; only serving starts the ingest worker
    and settles job files a previous run left (here: one left "running")."""
    import json
    import threading

    from fastapi.testclient import TestClient

    from assistant.serve.http import create_api, create_chat
    from assistant.serve.jobs import Job
    from assistant.web import app

    index_text = "Japan sent aid to Ukraine in 2024."
    (tmp_path / "seed.txt").write_text(index_text, encoding="utf-8")
    fresh.ingest([tmp_path / "seed.txt"])
    jobs = Path(fresh.settings.index_path) / "jobs"
    jobs.mkdir()
    left = Job("c" * 16, "lost.txt", "lost", state="running", version="x")
    (jobs / f"{left.id}.json").write_text(json.dumps(left.__dict__), encoding="utf-8")
    before = {t.name for t in threading.enumerate()}
    demo = app.create_app(fresh)
    api = create_api(fresh)
    create_chat(fresh)
    assert not getattr(demo, "is_running", False)
    assert "ingest-jobs" not in {t.name for t in threading.enumerate()} - before
    assert json.loads((jobs / f"{left.id}.json").read_text())["state"] == "running"
    with TestClient(api) as client:  # serving: startup settles the left-over job
        assert json.loads((jobs / f"{left.id}.json").read_text())["state"] == "failed"
        assert client.get(f"/v1/jobs/{left.id}").json()["state"] == "failed"


def test_document_text_is_escaped(assistant: Assistant, fresh: Assistant, tmp_path: Path) -> None:
    from assistant.web import app

    docs = tmp_path / "d"
    docs.mkdir()
    hostile = "Japan aid report. <script>alert(1)</script> <img src=x onerror=alert(2)> Tokyo sent trucks to Kyiv."
    (docs / "x.txt").write_text(hostile, encoding="utf-8")
    fresh.ingest([docs])
    page = app.document_html(fresh, "x", 0, 17)
    assert "<script>" not in page and "<img" not in page
    assert html.escape("<script>alert(1)</script>") in page


@pytest.fixture(scope="module")
def served(index_dir: Path, embedder):  # type: ignore[no-untyped-def]
    from assistant.web import app

    a = Assistant(Settings.resolve(index_path=index_dir), embedder=embedder)
    demo = app.create_app(a)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_a_kept_conversation_round_trips_for_its_user_only(assistant: Assistant) -> None:
    import json

    from assistant.web.app import kept, restored

    answer = assistant.ask("Où Kaneko a-t-il été blessé ?")
    chat = [
        {"role": "user", "content": answer.question},
        {"role": "assistant", "content": [{"type": "text", "text": answer.answer}]},
    ]
    saved = json.loads(json.dumps(kept(chat, [answer], "ana")))  # what localStorage holds
    got = restored(saved, "ana")
    assert got is not None
    chat_then, answers = got
    assert chat_then[1]["content"] == answer.answer and answers[0].citations == answer.citations
    assert answers[0].answer == answer.answer and answers[0].sides == answer.sides
    # Another user of the same browser, or something unreadable, starts empty.
    assert restored(saved, "bob") is None and restored(saved, "") is None
    assert restored({"user": "ana", "chat": [{"x": 1}]}, "ana") is None
    assert restored("garbage", "ana") is None


def test_gradio_client_gets_a_cited_answer(served: str) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gradio_client import Client

    text, panel = chat_ask(Client(served, verbose=False), "Où Kaneko a-t-il été blessé ?")
    assert "Avdeevka" in text and "[1]" in text
    assert "side-badge" in panel and "pro-Russia" in panel and "<mark>" in panel


def test_a_refused_question_stays_in_the_box_and_languages_are_the_indexs(
    served: str, index_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gradio_client import Client

    from assistant.web.app import language_choices

    long = "Japan " * 900
    chat, _, _, box = Client(served, verbose=False).predict(
        long, [], [], [], [], "extractive", api_name="/ask"
    )
    # Was emptied with the error, and the user's text was lost.
    assert "the limit is 4000" in str(chat[-1]["content"]) and box == long
    # The bundled corpus has no Russian passage: "ru" was offered, then refused.
    a = Assistant(Settings.resolve(index_path=index_dir), embedder=embedder)
    values = [value for _, value in language_choices(a)]
    assert {"en", "fr", "zh"} <= set(values) and "ru" not in values


def test_documents_added_from_the_page_are_ingested_and_bad_ones_explained(
    fresh: Assistant, tmp_path: Path
) -> None:
    """The page's "Add documents" action, called through gradio_client as the browser would."""
    from gradio_client import Client, handle_file

    from assistant.web import app

    fresh.ingest(
        [Path(__file__).resolve().parent.parent / "data" / "corpus" / "004_c6b0d4f86fb433b5.txt"]
    )
    good = tmp_path / "kyiv-report.md"
    good.write_text(
        "# Report\n\nKyiv received 12 Japanese generators in December 2024.", encoding="utf-8"
    )
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    demo = app.create_app(fresh)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        # The form's inputs are the declared fields (sources.DECLARED), by name.
        message, _sources = client.predict(
            files=[handle_file(str(good)), handle_file(str(bad))],
            outlet="Kyiv Post",
            date="2024-12",
            events_date="2024-11",
            side="pro-Ukraine",
            voice="independent-media",
            languages="en",
            replace=False,
            api_name="/add_documents",
        )
    finally:
        demo.close()
    assert "✔ kyiv-report.md: indexed as kyiv-report (pro-Ukraine, independent-media)" in message
    assert "✘ broken.pdf" in message and "not a readable PDF" in message
    record, _ = fresh.source("kyiv-report")
    assert record.source.outlet == "Kyiv Post" and record.source.side == "pro-Ukraine"
    assert record.source.events_date == "2024-11"  # a field the form gained from DECLARED
    answer = fresh.ask("What did Kyiv receive in December 2024?")
    assert answer.citations[0].source_id == "kyiv-report"


@pytest.mark.parametrize("stop", ["exit", "SIGTERM"])
def test_exported_conversations_are_deleted_when_the_process_exits(stop: str) -> None:
    """The Export button's folder holds people's conversations: written while the app runs,
    gone once its process ends, by itself or stopped with SIGTERM while serving (docker stop,
    systemd), which uvicorn alone ends without exit handlers."""
    import signal
    import subprocess
    import sys

    port = free_port()
    script = f"""
from types import SimpleNamespace
from fastapi import FastAPI
from assistant.schema import Answer
from assistant.serve.http import run_server
from assistant.web.app import exporter

export = exporter()
answer = Answer("Who?", "Someone [1].", [], [], False, "extractive")
update = export([answer], SimpleNamespace(session_hash="s1"))
print(update["value"], flush=True)
if {stop == "SIGTERM"}:
    run_server(FastAPI(), "127.0.0.1", {port}, log_level="warning")
else:
    input()  # ends when told
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdin is not None
    path = Path(proc.stdout.readline().strip())
    assert path.name == "conversation-s1.md" and path.is_file()
    assert path.parent.name.startswith("assistant-export-")
    if stop == "SIGTERM":
        wait_port(port)
        proc.send_signal(signal.SIGTERM)
    else:
        proc.stdin.write("\n")
        proc.stdin.flush()
    assert proc.wait(timeout=60) == (128 + signal.SIGTERM if stop == "SIGTERM" else 0)
    assert not path.parent.exists()


class Archive:
    """An index's sources as `Assistant.sources()` gives them: n short reports."""

    def __init__(self, n: int) -> None:
        from assistant.sources.model import Source
        from assistant.store.records import SourceRecord

        self.records = [
            SourceRecord(Source(id=f"art-{i:05d}", title=f"Harbour Report {i}"), "v", "", 9, 1, 0.0)
            for i in range(n)
        ]

    listed = 0

    def sources(self) -> list[object]:
        self.listed += 1
        return self.records


def test_the_sources_box_holds_a_page_and_finds_the_rest_by_what_is_typed() -> None:
    """An archive of 6,000 sources put every one in the chat's Sources box: a 692 KB page
    config, sent again on each load and focus, and a box slow to open on a slow CPU."""
    from assistant.web.upload import SHOWN, source_filter

    def entries(archive: Archive, typed: str = "", chosen: list[str] | None = None) -> list[str]:
        return [i for _, i in source_filter(archive, typed, chosen or [])[0]]

    few = Archive(SHOWN)
    assert len(entries(few)) == SHOWN and source_filter(few)[1] == ""
    many = Archive(6000)
    assert entries(many) == [f"art-{i:05d}" for i in range(SHOWN)]
    hint = source_filter(many)[1]
    assert hint == "200 of 6,000 sources: find the others below"
    # What is typed finds sources past the first page, by id or title, in any case.
    assert entries(many, "ART-0432")[:3] == ["art-04320", "art-04321", "art-04322"]
    assert entries(many, "harbour report 5999") == ["art-05999"]
    # A source already chosen stays an entry whatever is typed, so the box keeps showing it.
    assert entries(many, "zzz", ["art-05998"]) == ["art-05998"]
    assert len(entries(many, "report", ["art-05998"])) == SHOWN + 1
    # One listing of the index a refresh (the filter's entries and its hint were two).
    many.listed = 0
    source_filter(many, "report")
    assert many.listed == 1
