"""Every embedding example in the README and docs/ runs as written: against the session's index,
and against a real server on 127.0.0.1 where an example names http://127.0.0.1:8000. The file
list in docs/files.md names every tracked file."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.serve.http import create_api

from .conftest import REPO, ThreadedServer

README = (REPO / "README.md").read_text(encoding="utf-8")
# The README first: a section it holds is the one its readers run.
PAGES = [README, *(p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md")))]
EXAMPLE_URL = "http://127.0.0.1:8000"


def example(section: str, lang: str = "python") -> str:
    """The first `lang` code block of the first section headed `{section}` (any level) that has
    one, in the README or a page of docs/."""
    for page in PAGES:
        for title, body in sections(page):
            code = re.search(rf"```{lang}\n(.*?)```", body, re.S)
            if title == section and code:
                return code.group(1)
    raise AssertionError(f"no {section!r} section with a {lang} example in README.md or docs/")


def sections(page: str) -> Iterator[tuple[str, str]]:
    """(heading, body) of each section of a Markdown page; a `#` line in a code block is code."""
    title, body, fenced = "", [], False
    for line in page.splitlines():
        fenced ^= line.startswith("```")
        heading = re.match(r"#+ (.*)$", line)
        if heading and not fenced:
            yield title, "\n".join(body)
            title, body = heading.group(1), []
        else:
            body.append(line)
    yield title, "\n".join(body)


def run_python(code: str, url: str = EXAMPLE_URL) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.replace(EXAMPLE_URL, url), "README.md", "exec"), {})  # noqa: S102
    return out.getvalue()


@pytest.fixture()
def in_repo(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_PATH", str(index_dir))
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def server(index_dir: Path, embedder) -> Iterator[str]:  # type: ignore[no-untyped-def]
    a = Assistant(Settings.resolve(index_path=index_dir, env={}), embedder=embedder)
    with ThreadedServer(create_api(a, mount_ui=True)) as s:
        yield s.url


def test_python_example(in_repo: None) -> None:
    printed = run_python(example("Python"))
    assert "Avdeevka" in printed and "pro-Russia" in printed and "5 unchanged" in printed


def test_http_example(server: str) -> None:
    script = example("HTTP API", "bash").replace(EXAMPLE_URL, server)
    out = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert '"status":"ok"' in out.stdout and "event: answer" in out.stdout
    for expected in ("pro-Russia", '"results":[{', '"language":"zh"', '"text":'):
        assert expected in out.stdout, expected


def test_openai_compatible_example(server: str) -> None:
    printed = run_python(example("OpenAI-compatible"), server)
    assert "prompt_tokens=" in printed and "7.6 billion" in printed
    assert "length" in printed or "stop" in printed


def test_llamaindex_example(in_repo: None) -> None:
    printed = run_python(example("LlamaIndex"))
    assert "pro-Russia" in printed and "Avdeevka" in printed and "559" in printed


def test_langchain_example(in_repo: None) -> None:
    printed = run_python(example("LangChain"))
    assert "[pro-Russia, World Today News]" in printed and "[pro-Ukraine" in printed


def test_mcp_host_config_starts_our_server(index_dir: Path) -> None:
    """What an MCP host does with the README's config: start the command, list the tools."""
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters

    config = json.loads(example("MCP (agent hosts)", "json"))["mcpServers"]["perspective-assistant"]
    command = config["command"].replace("/path/to/checkout", str(REPO))
    env = {
        k: v.replace("/path/to/checkout/index", str(index_dir)) for k, v in config["env"].items()
    }
    assert Path(command).name == "assistant"
    local = REPO / ".venv" / "bin" / "assistant"
    if not local.exists():  # a checkout installed elsewhere: the same script on PATH
        import shutil

        command = shutil.which("assistant") or command

    async def tools() -> list[str]:
        params = StdioServerParameters(command=command, args=config["args"], env=env, cwd=REPO)
        async with Client(params) as c:
            names = [t.name for t in (await c.list_tools()).tools]
            r = await c.call_tool("ask", {"question": "Où Kaneko a-t-il été blessé ?"})
            names.append("Avdeevka" if "Avdeevka" in json.dumps(r.structured_content) else "")
            return names

    assert asyncio.run(tools()) == ["ask", "search", "list_sources", "get_source", "Avdeevka"]


def test_gradio_client_example(server: str) -> None:
    printed = run_python(example("gradio_client"), server)
    assert "559" in printed


# Folders the file tree names as a whole: data sets, and the index's git-ignored contents.
WHOLE_FOLDERS = ("data/corpus/", "data/contested/", "data/xquad/", "index/")


def tree() -> list[str]:
    """The paths docs/files.md names, one per line."""
    block = (REPO / "docs" / "files.md").read_text(encoding="utf-8").split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines() if line and not line.startswith(" ")]


def test_the_file_tree_names_every_tracked_file() -> None:
    """Every file in the repository has its line (data sets by folder); every line is a file."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    named = tree()
    assert set(WHOLE_FOLDERS) <= set(named)
    missing = [f for f in tracked if f not in named and not f.startswith(WHOLE_FOLDERS)]
    assert missing == [], f"docs/files.md lacks {missing}"
    gone = [p for p in named if not (REPO / p).exists()]
    assert gone == [], f"docs/files.md names what is not there: {gone}"


def test_the_json_field_lists_are_the_fields_printed() -> None:
    """`search --json` and `ask --json` print these dataclasses' to_dict: docs/usage.md names
    every field, in order."""
    import dataclasses

    from assistant.schema import Answer, Citation, Passage

    usage = (REPO / "docs" / "usage.md").read_text(encoding="utf-8")
    text = " ".join(usage.split("`search --json` prints", 1)[1].split("Errors print")[0].split())
    lists = [
        [x.strip() for x in m.split(",")]
        for m in re.findall(r"`([a-z_0-9]+(?:, [a-z_0-9]+){5,})`", text)
    ]
    assert lists == [[f.name for f in dataclasses.fields(c)] for c in (Passage, Answer, Citation)]


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces → '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_is_a_front_door_and_every_link_lands() -> None:
    """The README stays short (the reference lives in docs/), names paths that exist, and every
    relative link of it and of docs/ reaches a file and, where it names one, a heading."""
    assert len(README.splitlines()) <= 300
    block = README.split("\n## Files\n", 1)[1].split("```", 2)[1]
    top = [line.split()[0] for line in block.splitlines() if line and not line.startswith(" ")]
    assert top and all((REPO / p).exists() for p in top), top
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # an absolute URL
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{page.name}: {target}"
            if anchor:
                body = re.sub(r"```.*?```", "", file.read_text(encoding="utf-8"), flags=re.S)
                headings = re.findall(r"^#+ (.*)$", body, re.M)
                assert anchor in {_slug(h) for h in headings}, f"{page.name}: {target}"
