"""ScriptedOpenAIServer: a real HTTP server speaking the OpenAI chat-completions protocol,
replying with scripted texts and recording every request it got.

It stands in for a remote LLM, the one part that cannot run here. It speaks the wire format
(JSON, and server-sent events with `data: {...}` chunks ending in `data: [DONE]` when
"stream": true), so the client code under test is the real one. A scripted reply is a text, or
`ScriptedOpenAIServer.tool_call(name, arguments)`: a function call, as agents receive them, or a
`Misbehaving` reply: one a real server sends when something goes wrong (a finish reason of
"length", a stream closed before its end, a stall mid-stream, no content).
`pace` (seconds) spaces a stream's chunks, as a model that writes slowly does.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from .conftest import ThreadedServer


@dataclass(frozen=True)
class Misbehaving:
    """A reply as a server sends one when something goes wrong: `finish` None closes the stream
    after the text with no finish reason and no [DONE] (a cut connection); `stall_s` waits that
    long after `stall_after` words (past the client's timeout, a stall mid-stream); `text` None
    is a message with null content."""

    text: str | None
    finish: str | None = "stop"
    stall_s: float = 0.0
    stall_after: int = 1


class ScriptedOpenAIServer(ThreadedServer):
    def __init__(self, model: str = "scripted-model", pace: float = 0.0) -> None:
        self.model, self.pace = model, pace
        self.replies: deque[str | dict[str, Any] | Misbehaving] = deque()
        self.requests: list[dict[str, Any]] = []
        super().__init__(self._make_app())

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, *replies: str | dict[str, Any] | Misbehaving) -> None:
        self.replies.extend(replies)

    @staticmethod
    def tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A scripted reply that calls a tool (OpenAI `tool_calls`)."""
        return {
            "id": f"call_{name}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }

    def _make_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        def models() -> dict[str, Any]:
            return {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "owned_by": "test"}],
            }

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Any:
            body = await request.json()
            self.requests.append(body)
            if not self.replies:
                return JSONResponse(
                    {"error": {"message": "no scripted reply left"}}, status_code=500
                )
            reply = self.replies.popleft()
            created = int(time.time())
            call = reply if isinstance(reply, dict) else None
            odd = reply if isinstance(reply, Misbehaving) else Misbehaving("")
            text = (
                "" if call else (odd.text or "") if isinstance(reply, Misbehaving) else str(reply)
            )
            finish = (
                "tool_calls" if call else odd.finish if isinstance(reply, Misbehaving) else "stop"
            )
            if not body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": text or None}
                if call:
                    message["tool_calls"] = [call]
                return {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "created": created,
                    "model": self.model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }

            def events() -> Any:
                words = text.split(" ")
                deltas: list[dict[str, Any]] = [
                    {"content": word + (" " if i < len(words) - 1 else "")}
                    for i, word in enumerate(words)
                ]
                if call:
                    deltas = [{"content": None, "tool_calls": [{"index": 0, **call}]}]
                deltas[0]["role"] = "assistant"
                for i, delta in enumerate(deltas):
                    if i and self.pace:
                        time.sleep(self.pace)  # a sync generator: Starlette runs it in a thread
                    if i == odd.stall_after and odd.stall_s:
                        time.sleep(odd.stall_s)
                    chunk = {
                        "id": "chatcmpl-scripted",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": self.model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n"
                if finish is None:
                    return  # the connection closes with the reply unfinished
                end = {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": self.model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                }
                yield f"data: {json.dumps(end)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        return app
