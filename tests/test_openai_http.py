"""The OpenAI-compatible API through the official openai SDK against a real server on
127.0.0.1: streaming and not, usage and max_tokens, a follow-up without an LLM."""

from __future__ import annotations


def test_openai_sdk_streaming_and_not(api: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=api + "/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["assistant-extractive"]
    r = client.chat.completions.create(
        model="assistant-extractive",
        messages=[{"role": "user", "content": "Où Kaneko a-t-il été blessé ?"}],
    )
    content = r.choices[0].message.content or ""
    assert "Avdeevka" in content and "[1]" in content and "**Sources**" in content
    extra = r.model_extra or {}
    assert extra["citations"][0]["side"] == "pro-Russia"
    stream = client.chat.completions.create(
        model="assistant-extractive",
        stream=True,
        messages=[
            {"role": "user", "content": "Why does Kaneko fight for Russia?"},
            {"role": "assistant", "content": "…"},
            {"role": "user", "content": "Et où a-t-il été blessé ?"},
        ],
    )
    text, citations = "", None
    for chunk in stream:
        text += chunk.choices[0].delta.content or ""
        citations = (chunk.model_extra or {}).get("citations", citations)
    assert "Avdeevka" in text and "**Sources**" in text and citations


def test_openai_usage_and_max_tokens(api: str) -> None:
    import tiktoken
    from openai import OpenAI

    from assistant.ingest.chunking import encoding

    assert isinstance(encoding(), tiktoken.Encoding)

    def tokens(text: str) -> int:
        return len(encoding().encode(text))

    client = OpenAI(base_url=api + "/v1", api_key="unused", max_retries=0)
    question = [{"role": "user", "content": "How much aid has Japan given Ukraine?"}]
    whole = client.chat.completions.create(model="assistant-extractive", messages=question)
    text = whole.choices[0].message.content or ""
    assert whole.usage is not None and whole.choices[0].finish_reason == "stop"
    assert whole.usage.prompt_tokens == tokens(question[0]["content"])
    assert whole.usage.completion_tokens == tokens(text) > 100
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

    cut = client.chat.completions.create(
        model="assistant-extractive", messages=question, max_tokens=400
    )
    kept = cut.choices[0].message.content or ""
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == tokens(kept) <= 400
    body, _, sources = kept.partition("\n\n**Sources**\n\n")
    assert text.startswith(body) and body.rstrip().endswith("]")  # cut after a citation
    cited = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", body)}
    extra = cut.model_extra or {}
    assert cited and {c["n"] for c in extra["citations"]} == cited
    assert len(sources.strip().splitlines()) == len(cited)

    stream = client.chat.completions.create(
        model="assistant-extractive",
        messages=question,
        max_tokens=400,
        stream=True,
        stream_options={"include_usage": True},
    )
    streamed, finish, usage = "", None, None
    for chunk in stream:
        if chunk.choices:
            streamed += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert streamed == kept and finish == "length"
    assert usage is not None and usage.completion_tokens == tokens(kept)


def test_openai_follow_up_without_an_llm(api: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=api + "/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": "How much aid has Japan given Ukraine?"}]
    first = client.chat.completions.create(model="assistant-extractive", messages=messages)
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content or ""},
        {"role": "user", "content": "And what did Russia say about it?"},
    ]
    second = client.chat.completions.create(model="assistant-extractive", messages=messages)
    answer = (second.model_extra or {})["assistant"]
    assert answer["standalone_question"].startswith("How much aid has Japan given Ukraine?")
    russian = [c for c in answer["citations"] if c["side"] == "pro-Russia"]
    assert russian and any("aid" in c["quote"] for c in russian)
    assert "7.6 billion" in (second.choices[0].message.content or "")


def test_a_long_conversation_is_answered_and_n_above_one_is_refused(api: str) -> None:
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=api + "/v1", api_key="unused", max_retries=0)
    earlier = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(120)
    ]
    question = {"role": "user", "content": "How much aid has Japan given Ukraine?"}
    # A chat client sends its whole conversation: 121 messages were a 422 (at most 100).
    long = client.chat.completions.create(
        model="assistant-extractive", messages=[*earlier, question]
    )
    assert "7.6 billion" in (long.choices[0].message.content or "")
    # One choice only: n=2 was answered with one, and a client reading choices[1] failed.
    try:
        client.chat.completions.create(model="assistant-extractive", messages=[question], n=2)
        raise AssertionError("n=2 was accepted")
    except openai.UnprocessableEntityError as exc:
        assert "n" in str(exc) and "less than or equal to 1" in str(exc)
