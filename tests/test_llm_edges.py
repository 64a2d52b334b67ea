"""LLM mode at every edge: the OpenAI endpoint (plain, streamed, max_tokens) through the openai SDK
and LangChain's ChatOpenAI, /v1/ask (JSON, stream, Markdown export), the CLI, MCP over stdio, and
LlamaIndex's tool and query engine. The LLM is ScriptedOpenAIServer, a scripted stand-in that
speaks the real protocol; its reply is Markdown an LLM writes (bold, a list, an image, a link,
raw HTML), citing sentences of the passages it was given."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant import Answer, Assistant, LLMError, Settings
from assistant.answering.text import MARKER, read_references
from assistant.serve.http import create_api

from .conftest import REPO, ThreadedServer, mcp_stdio
from .scripted_openai import Misbehaving, ScriptedOpenAIServer

AID = "How much aid has Japan given Ukraine?"
ESCAPED = re.compile(r"\\\*\\\*|\\\[\d+\\\]")  # Markdown escaped wholesale: \*\* or \[1\]
TRAPS = (
    "![pixel](http://evil.example/p.png) <img src=x onerror=alert(1)> "
    "[read more](http://evil.example/more) or http://evil.example/bare and www.evil.example"
)
LIVE = re.compile(r"(https?://|www\.)evil|\]\(http|<img")  # a link, an image or a tag to it


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as s:
        yield s


def llm_settings(index_dir: Path, llm: ScriptedOpenAIServer) -> Settings:
    return Settings.resolve(
        index_path=index_dir, mode="llm", llm_base_url=llm.base_url, llm_model=llm.model, env={}
    )


@pytest.fixture(scope="module")
def llm_assistant(index_dir: Path, llm: ScriptedOpenAIServer, embedder) -> Assistant:  # type: ignore[no-untyped-def]
    return Assistant(llm_settings(index_dir, llm), embedder=embedder)


def first_sentence(text: str) -> str:
    """A sentence of a passage as an LLM would repeat it: one line, at least 40 characters."""
    flat = " ".join(text.split())
    return next(s for s in re.split(r"(?<=[.!?])\s+", flat) if len(s) >= 40 and "[" not in s)


def grounded_reply(a: Assistant, llm: ScriptedOpenAIServer, question: str = AID) -> str:
    """An LLM answer in Markdown citing one passage of each of the first two sides retrieved
    (the retrieval is deterministic: a first ask shows which passages the endpoint will number)."""
    llm.script("placeholder")
    passages = a.ask(question, mode="llm").retrieved
    picks: dict[str, int] = {}
    for n, p in enumerate(passages, 1):
        picks.setdefault(p.side, n)
    (n1, n2) = list(picks.values())[:2]
    s1, s2 = first_sentence(passages[n1 - 1].text), first_sentence(passages[n2 - 1].text)
    return (
        f"**The sources disagree.**\n\n- {s1.rstrip('.')} [{n1}].\n- {s2.rstrip('.')} [{n2}].\n\n"
        f"{TRAPS}\n"
    )


def check_text(content: str, a: Assistant) -> None:
    """One references list, no escaped Markdown, every [n] referenced with its exact quote, and
    nothing of the LLM's images, links or HTML."""
    assert content.count("**Sources**") == 1, content
    assert not ESCAPED.search(content), content  # no \*\* or \[n\] (document text may escape)
    assert not LIVE.search(content), content
    body, _, _ = content.partition("\n\n**Sources**")
    refs = read_references(content)
    assert set(int(n) for n in MARKER.findall(body)) <= set(refs) and refs
    for r in refs.values():
        _, text = a.source(r["source_id"])
        assert " ".join(text[r["start"] : r["end"]].split()) == r["quote"]


@pytest.fixture(scope="module")
def api(llm_assistant: Assistant) -> Iterator[str]:
    with ThreadedServer(create_api(llm_assistant)) as s:
        yield s.url


def test_openai_endpoint_plain_streamed_and_cut(
    api: str, llm: ScriptedOpenAIServer, llm_assistant: Assistant
) -> None:
    from openai import OpenAI

    from assistant.serve.openai_api import count_tokens

    reply = grounded_reply(llm_assistant, llm)
    client = OpenAI(base_url=api + "/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": AID}]
    llm.script(reply)
    plain = client.chat.completions.create(model="assistant-llm", messages=messages)
    content = plain.choices[0].message.content or ""
    check_text(content, llm_assistant)
    assert "**The sources disagree.**" in content and "pixel" in content
    cited = {c["n"] for c in (plain.model_extra or {})["citations"]}
    assert cited == set(read_references(content))

    llm.script(reply)
    streamed = ""
    for chunk in client.chat.completions.create(
        model="assistant-llm", messages=messages, stream=True
    ):
        streamed += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    assert streamed == content

    # A budget 30 tokens short of the whole reply: cut at a sentence, its citations kept.
    llm.script(reply)
    limit = count_tokens(content) - 30
    short = client.chat.completions.create(
        model="assistant-llm", messages=messages, max_tokens=limit
    )
    kept = short.choices[0].message.content or ""
    assert short.choices[0].finish_reason == "length" and count_tokens(kept) <= limit
    check_text(kept, llm_assistant)
    body = kept.partition("\n\n**Sources**")[0]
    # The flags are at the end of the answer: a cut before them says so in a note.
    body, _, note = body.partition("\n\n⚠ Cut for length")
    assert note and "flagged unsupported" in note
    whole_body = content.partition("\n\n**Sources**")[0]
    # Cut at a sentence end, after a marker, or at a line end.
    assert whole_body.startswith(body) and len(body) < len(whole_body)
    assert re.search(r"(\]|[.!?])$", body) or whole_body[len(body)] == "\n", body
    kept_cited = {c["n"] for c in (short.model_extra or {})["citations"]}
    assert kept_cited == set(int(n) for n in MARKER.findall(body)) and kept_cited


def test_a_reply_that_did_not_end_whole_is_an_error_at_every_door(
    index_dir: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    """A stream closed with no finish reason, a reply stopped at the token limit, and an empty
    one were answers that looked whole (a side the model had not reached was lost without a
    word; a blank answer, exit 0); a stall mid-stream on the OpenAI endpoint cut the connection
    with no error ("peer closed connection without sending complete message body")."""
    from openai import APIError, OpenAI

    with ScriptedOpenAIServer() as llm:
        settings = Settings.resolve(
            index_path=index_dir, mode="llm", llm_base_url=llm.base_url, llm_model=llm.model,
            llm_timeout=1, env={},
        )  # fmt: skip
        a = Assistant(settings, embedder=embedder)
        for odd, fragment in (
            (Misbehaving("Japan has pledged $12 billion [1].", finish=None), "cut off"),
            (Misbehaving("Japan has pledged", finish="length"), "token limit"),
            (Misbehaving(None), "returned no text"),
        ):
            llm.script(odd)
            with pytest.raises(LLMError, match=fragment):
                a.ask(AID)
        with ThreadedServer(create_api(a)) as server:
            client = OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
            # A first paragraph streams out whole (its block is complete), then the model stalls.
            first = "Japan has pledged $12 billion [1].\n\nRussia says"
            llm.script(Misbehaving(first + " otherwise [2].", stall_s=3, stall_after=6))
            got = []
            with pytest.raises(APIError, match="the LLM endpoint failed"):
                for chunk in client.chat.completions.create(
                    model="assistant-llm",
                    messages=[{"role": "user", "content": AID}],
                    stream=True,
                ):
                    got.append(chunk)
            # The error came after the stream had begun, as a chunk the SDK raised.
            assert "12 billion" in "".join(c.choices[0].delta.content or "" for c in got)


def test_langchain_chat_model_on_our_endpoint(
    api: str, llm: ScriptedOpenAIServer, llm_assistant: Assistant
) -> None:
    from langchain_openai import ChatOpenAI

    llm.script(grounded_reply(llm_assistant, llm))
    chat = ChatOpenAI(model="assistant-llm", base_url=api + "/v1", api_key="unused", max_retries=0)
    check_text(str(chat.invoke(AID).content), llm_assistant)


def test_ask_json_stream_and_markdown_export(
    api: str, llm: ScriptedOpenAIServer, llm_assistant: Assistant
) -> None:
    reply = grounded_reply(llm_assistant, llm)
    llm.script(reply)
    answer = httpx.post(api + "/v1/ask", json={"question": AID}, timeout=120).json()
    # JSON: the body alone, safe Markdown, the references in `citations`.
    assert "**Sources**" not in answer["answer"] and "\\*" not in answer["answer"]
    assert "**The sources disagree.**" in answer["answer"] and not LIVE.search(answer["answer"])
    assert [c["supported"] for c in answer["claims"]][:2] == [True, True]

    llm.script(reply)
    events = httpx.post(api + "/v1/ask", json={"question": AID, "stream": True}, timeout=120).text
    deltas = [json.loads(line[6:])["text"] for line in events.splitlines()
              if line.startswith("data: {\"text\"")]  # fmt: skip
    assert "".join(deltas) == answer["answer"]

    for request in ({"json": {"question": AID, "format": "markdown"}},
                    {"json": {"question": AID}, "headers": {"Accept": "text/markdown"}}):  # fmt: skip
        llm.script(reply)
        r = httpx.post(api + "/v1/ask", timeout=120, **request)  # type: ignore[arg-type]
        assert r.headers["content-type"].startswith("text/markdown")
        assert r.text.startswith(f"## {AID}") and answer["answer"].rstrip() in r.text
        check_text(r.text, llm_assistant)
    bad = httpx.post(api + "/v1/ask", json={"question": AID, "format": "markdown", "stream": True})
    assert bad.status_code in (400, 422) and "stream" in bad.json()["error"]["message"]


def test_cli_prints_text_with_references_and_exports_markdown(
    index_dir: Path, llm: ScriptedOpenAIServer, llm_assistant: Assistant
) -> None:
    reply = grounded_reply(llm_assistant, llm)
    env = {**os.environ, "ASSISTANT_LLM_BASE_URL": llm.base_url, "ASSISTANT_LLM_MODEL": llm.model,
           "OMP_NUM_THREADS": "2"}  # fmt: skip
    for fmt in ("text", "markdown"):
        llm.script(reply)
        out = subprocess.run(
            [sys.executable, "-m", "assistant", "--index", str(index_dir), "ask", AID,
             "--mode", "llm", "--format", fmt],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=True,
        ).stdout  # fmt: skip
        check_text(out, llm_assistant)
        assert out.startswith(f"## {AID}") is (fmt == "markdown")
    # `chat`: the LLM failing on one question (here a reply with no text) is said, and the next
    # question is asked (it ended the run, the questions after it never asked); exit 2.
    # (In LLM mode a follow-up is first rewritten by the model as a standalone question.)
    llm.script(reply, "How much aid has Russia given?", Misbehaving(None), AID, reply)
    chat = subprocess.run(
        [sys.executable, "-m", "assistant", "--index", str(index_dir), "chat", "--mode", "llm"],
        input=f"{AID}\nAnd Russia?\n{AID}\n", capture_output=True, text=True, env=env,
        cwd=REPO, timeout=300,
    )  # fmt: skip
    assert chat.returncode == 2 and "returned no text" in chat.stderr, chat.stderr
    assert chat.stdout.count("**Sources**") == 2, chat.stdout


def test_llamaindex_tool_and_query_engine(
    llm: ScriptedOpenAIServer, llm_assistant: Assistant
) -> None:
    reply = grounded_reply(llm_assistant, llm)
    llm.script(reply)
    output = llm_assistant.as_tool(mode="llm").call(question=AID)
    check_text(str(output.content), llm_assistant)
    llm.script(reply)
    response = llm_assistant.as_query_engine(mode="llm").query(AID)
    answer = response.metadata["answer"]
    assert str(response) == answer["answer"] and "**Sources**" not in str(response)
    assert "\\*" not in str(response) and [n.node.metadata["n"] for n in response.source_nodes]


def test_mcp_ask_in_llm_mode(
    index_dir: Path, llm: ScriptedOpenAIServer, llm_assistant: Assistant
) -> None:
    from mcp.client import Client

    llm.script(grounded_reply(llm_assistant, llm))
    params = mcp_stdio(
        index_dir, ASSISTANT_LLM_BASE_URL=llm.base_url, ASSISTANT_LLM_MODEL=llm.model
    )

    async def ask() -> dict[str, Any]:
        async with Client(params) as c:
            r = await c.call_tool("ask", {"question": AID, "mode": "llm"})
            return dict(r.structured_content or {})

    answer = asyncio.run(ask())
    assert answer["mode"] == "llm:scripted-model" and answer["citations"]
    assert "**The sources disagree.**" in answer["answer"] and "\\*" not in answer["answer"]
    assert "**Sources**" not in answer["answer"] and not LIVE.search(answer["answer"])


def test_a_claim_its_passage_does_not_support_is_flagged_at_the_edges(
    api: str, llm: ScriptedOpenAIServer, llm_assistant: Assistant
) -> None:
    """ "Bbabo NET says Japan has given Ukraine $19 billion [n]" where passage n says "19 states"."""
    llm.script("placeholder")
    passages = llm_assistant.ask(
        "To how many states will Japan give gratuitous assistance?"
    ).retrieved
    n = next(i for i, p in enumerate(passages, 1) if "19 states" in p.text)
    llm.script(f"Bbabo NET says Japan has given Ukraine $19 billion [{n}].")
    a: Answer = llm_assistant.ask("To how many states will Japan give gratuitous assistance?")
    assert a.unsupported_sentences and not a.claims[0].supported
    assert "$19 billion" in a.claims[0].why and "Unsupported" in a.answer
