"""Opt-in: the generative path against a real small model served by llama.cpp's OpenAI-compatible
server. Skipped unless ASSISTANT_TEST_GGUF names a GGUF file and llama-cpp-python[server] is
installed (it is not a dependency: it builds from source in ~5 minutes).

    pip install 'llama-cpp-python[server]'
    ASSISTANT_TEST_GGUF=/path/to/model.gguf .venv/bin/python -m pytest tests/test_real_llm.py -s

Small models invent figures and drop markers; what this checks is that verification holds:
every citation kept names a retrieved passage, every flagged sentence is shown as unsupported,
every claim's quote is the source's text, and the text the OpenAI endpoint sends (plain,
streamed, cut by max_tokens) has one references list, no escaped Markdown, and the citations of
the text it keeps.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.answering.text import MARKER, full, inert_but_markers, read_references

from .conftest import free_port, wait_port

GGUF = os.environ.get("ASSISTANT_TEST_GGUF", "")

pytestmark = pytest.mark.skipif(
    not GGUF or importlib.util.find_spec("llama_cpp") is None,
    reason="set ASSISTANT_TEST_GGUF to a GGUF model and pip install 'llama-cpp-python[server]'",
)


@pytest.fixture(scope="module")
def llama_server():  # type: ignore[no-untyped-def]
    path = Path(GGUF)
    assert path.is_file(), f"ASSISTANT_TEST_GGUF={GGUF} is not a file"
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF", "not a GGUF file (bad magic)"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=120)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


QUESTIONS = [
    "How much aid has Japan given Ukraine?",
    "Où Kaneko a-t-il été blessé ?",
    "What is Japan's military budget for 2024?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_real_model_answers_keep_only_verified_citations(
    llama_server: str, index_dir: Path, embedder, question: str
) -> None:  # type: ignore[no-untyped-def]
    a = Assistant(
        Settings.resolve(
            index_path=index_dir,
            mode="llm",
            llm_base_url=llama_server,
            llm_model="local",
            llm_timeout=300,
            top_k=4,
            env={},
        ),
        embedder=embedder,
    )
    answer = a.ask(question)
    print(
        f"\n--- {question}\n{answer.answer}\nkept={[c.n for c in answer.citations]} "
        f"dropped={answer.dropped_citations} unsupported={len(answer.unsupported_sentences)}"
    )
    retrieved = answer.retrieved
    for c in answer.citations:
        assert 1 <= c.n <= len(retrieved)
        assert c.source_id == retrieved[c.n - 1].source_id
        _, text = a.source(c.source_id)
        assert text[c.start : c.end] == c.quote
    if answer.unsupported_sentences and not answer.abstained:
        shown = answer.answer.split("Unsupported", 1)
        assert len(shown) == 2
        for s in answer.unsupported_sentences:
            assert inert_but_markers(s) in shown[1]
    # Each claim's quote is the source's text, and the text every door sends is well formed.
    for claim in answer.claims:
        for q in claim.quotes:
            n = q["n"]
            _, text = a.source(retrieved[n - 1].source_id)
            assert text[q["start"] : q["end"]] == q["quote"]
    whole = full(answer)
    assert whole.count("**Sources**") == (1 if answer.citations else 0)
    assert not re.search(r"\\\[\d+\\\]|\\\*\\\*", whole) and "<img" not in whole


def test_real_model_through_the_openai_endpoint(
    llama_server: str, index_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """The real model behind our OpenAI endpoint: plain, streamed and cut by max_tokens."""
    from openai import OpenAI

    from assistant.serve.http import create_api

    from .conftest import ThreadedServer

    a = Assistant(
        Settings.resolve(
            index_path=index_dir, mode="llm", llm_base_url=llama_server, llm_model="local",
            llm_timeout=300, top_k=4, env={},
        ),
        embedder=embedder,
    )  # fmt: skip
    with ThreadedServer(create_api(a)) as s:
        client = OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0, timeout=600)
        messages = [{"role": "user", "content": QUESTIONS[0]}]
        plain = client.chat.completions.create(model="assistant-llm", messages=messages)
        content = plain.choices[0].message.content or ""
        print(f"\n--- plain\n{content}")
        refs = read_references(content)
        assert content.count("**Sources**") <= 1 and not re.search(r"\\\[\d+\\\]", content)
        assert set(int(n) for n in MARKER.findall(content.split("**Sources**")[0])) <= set(refs)
        streamed = "".join(
            (c.choices[0].delta.content or "") if c.choices else ""
            for c in client.chat.completions.create(
                model="assistant-llm", messages=messages, stream=True
            )
        )
        assert streamed.count("**Sources**") <= 1 and not re.search(r"\\\[\d+\\\]", streamed)
        short = client.chat.completions.create(
            model="assistant-llm", messages=messages, max_tokens=120
        )
        kept = short.choices[0].message.content or ""
        cited = {c["n"] for c in (short.model_extra or {})["citations"]}
        assert cited == set(int(n) for n in MARKER.findall(kept.split("**Sources**")[0]))
