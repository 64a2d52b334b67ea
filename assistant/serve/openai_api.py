"""The OpenAI-compatible chat endpoint: `POST /v1/chat/completions` and `GET /v1/models`.

What a client of the OpenAI protocol relies on, kept:
- `usage` is counted with tiktoken (cl100k_base, the encoding llama-index ships offline):
  prompt = the text of every message, completion = the text of the reply. With
  `"stream_options": {"include_usage": true}` the last chunk before `[DONE]` carries it.
- `max_tokens` (or `max_completion_tokens`) is honoured by cutting the reply at the last sentence
  boundary whose text, with the references of the citations it still holds, fits (text.cut);
  `finish_reason` is then "length" and only the citations of the kept text are returned. When
  streaming with a limit, the reply is sent once the cut is known.
- Follow-ups: the history goes to `Assistant.ask`, which condenses an elliptical follow-up
  (answering/condense.py).
The reply text is the answer's body with `[n]` markers, then its references list (text.full), in
both modes; the structured citations ride in
an extra `citations` field (on the last chunk when streaming) and the whole answer in
`assistant`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from assistant.answering.text import Cut, cut
from assistant.core import Assistant
from assistant.errors import AssistantError, InvalidRequest
from assistant.schema import Answer

from .shapes import answer_out

log = logging.getLogger(__name__)


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    include_usage: bool = Field(default=False, strict=True)


class ChatRequest(BaseModel):
    model: str = "assistant-extractive"
    # Any number: a chat client sends its whole conversation; the body's size bounds it, and
    # a follow-up is condensed from the latest turns (condense.KEPT_TURNS).
    messages: list[ChatMessage] = Field(min_length=1)
    # One choice: answers are quoted, not sampled, so n > 1 would repeat it.
    # Strict, as OpenAI's API is: "yes" for stream or "300" for max_tokens is a 422 naming the
    # field, not read as True or 300.
    n: int = Field(default=1, ge=1, le=1, strict=True)
    stream: bool = Field(default=False, strict=True)
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1, strict=True)
    max_completion_tokens: int | None = Field(default=None, ge=1, strict=True)

    @property
    def limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: a string, or the text parts of a content list."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content or ""


def count_tokens(text: str) -> int:
    from assistant.ingest.chunking import encoding

    return len(encoding().encode(text, disallowed_special=()))


def reply(a: Answer, limit: int | None) -> Cut:
    """The reply for an answer: its text with references, cut to `limit` tokens (text.cut)."""
    return cut(a, limit, count_tokens)


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def extras(a: Answer, r: Cut) -> dict[str, Any]:
    """The fields beyond OpenAI's: the structured citations and the whole answer, both trimmed
    to the citations the (possibly cut) reply still holds."""
    kept = {c.n for c in r.citations}
    trimmed = dataclasses.replace(
        a,
        citations=r.citations,
        sides=[
            dataclasses.replace(s, citations=[n for n in s.citations if n in kept])
            for s in a.sides
            if any(n in kept for n in s.citations)
        ],
    )
    return {
        "citations": [c.to_dict() for c in r.citations],
        "assistant": answer_out(trimmed).model_dump(),
    }


@dataclass(frozen=True)
class Call:
    """One chat request, read and checked: what the reply is built from."""

    req: ChatRequest
    mode: str
    question: str
    history: list[tuple[str, str]] | None
    prompt_tokens: int
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = field(default_factory=lambda: int(time.time()))

    @classmethod
    def of(cls, req: ChatRequest, models: list[str], check: Callable[[str], None]) -> Call:
        turns: list[tuple[str, str]] = [
            (m.role, text_of(m.content)) for m in req.messages if m.role in ("user", "assistant")
        ]
        if not turns or turns[-1][0] != "user" or not turns[-1][1].strip():
            raise InvalidRequest("the last message must be a non-empty user message")
        if req.model not in models:
            raise InvalidRequest(f"unknown model {req.model!r}; GET /v1/models lists {models}")
        check(turns[-1][1])
        prompt_tokens = sum(count_tokens(text_of(m.content)) for m in req.messages)
        mode = req.model.removeprefix("assistant-")
        return cls(req, mode, turns[-1][1], turns[:-1] or None, prompt_tokens)

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.req.model}


def completion(call: Call, a: Answer) -> dict[str, Any]:
    """The non-streamed chat.completion for an answer."""
    r = reply(a, call.req.limit)
    return {
        **call.head("chat.completion"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": r.content},
                "finish_reason": r.finish_reason,
            }
        ],
        "usage": usage(call.prompt_tokens, r.tokens),
        **extras(a, r),
    }


def events(call: Call, items: Iterator[str | Answer]) -> Iterator[str]:
    """The server-sent chat.completion.chunk events for a streamed answer, then [DONE]."""
    head = call.head("chat.completion.chunk")
    limit = call.req.limit

    def sse(body: dict[str, Any]) -> str:
        return f"data: {json.dumps({**head, **body}, ensure_ascii=False)}\n\n"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return sse({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    try:
        for item in items:
            if isinstance(item, str):
                if limit is None:  # with a limit, the reply goes out once it is cut
                    sent += item  # safe Markdown in both modes (answering/text.py)
                    yield chunk({"content": item})
                continue
            r = reply(item, limit)
            # The streamed text is the answer as written; the sources list follows it.
            tail = r.content[len(sent) :] if r.content.startswith(sent) else "\n\n" + r.content
            if tail:
                yield chunk({"content": tail})
            yield chunk({}, r.finish_reason, **extras(item, r))
            if call.req.stream_options and call.req.stream_options.include_usage:
                yield sse({"choices": [], "usage": usage(call.prompt_tokens, r.tokens)})
    except Exception as exc:  # noqa: BLE001
        # Past the first byte the status is sent: the error goes as OpenAI sends one mid-stream,
        # a chunk holding `error`, which its SDKs raise as an APIError (the connection was cut,
        # "peer closed connection without sending complete message body").
        if not isinstance(exc, AssistantError):
            log.exception("a streamed chat completion failed")
        message = str(exc) if isinstance(exc, AssistantError) else "see the server log"
        error = {"message": message, "type": type(exc).__name__, "code": None}
        yield f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def router(
    assistant: Assistant, require_read: Callable[..., None], check: Callable[[str], None]
) -> APIRouter:
    """The OpenAI-compatible routes; `require_read` guards them, `check` vets a question."""
    api = APIRouter(dependencies=[Depends(require_read)])

    def models_ids() -> list[str]:
        return [f"assistant-{m}" for m in assistant.modes()]

    @api.get("/v1/models")
    def models() -> dict[str, Any]:
        now = int(time.time())
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": now, "owned_by": "assistant"}
                for m in models_ids()
            ],
        }

    @api.post("/v1/chat/completions")
    def chat(req: ChatRequest) -> Any:
        call = Call.of(req, models_ids(), check)
        if not req.stream:
            return completion(call, assistant.ask(call.question, call.history, mode=call.mode))
        items = assistant.stream(call.question, call.history, mode=call.mode)
        first = next(items)  # errors before the first byte still get their status code
        return StreamingResponse(
            events(call, itertools.chain([first], items)), media_type="text/event-stream"
        )

    return api
