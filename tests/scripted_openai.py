"""ScriptedOpenAIServer: a real HTTP server speaking the OpenAI chat-completions protocol,
replying with scripted texts and recording every request it got.

It stands in for a remote LLM, the one part that cannot run here. It speaks the wire format
(JSON, and server-sent events with `data: {...}` chunks ending in `data: [DONE]` when
"stream": true), so the client code under test is the real one.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from .conftest import ThreadedServer


class ScriptedOpenAIServer(ThreadedServer):
    def __init__(self, model: str = "scripted-model") -> None:
        self.model = model
        self.replies: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        super().__init__(self._make_app())

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, *replies: str) -> None:
        self.replies.extend(replies)

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
            text = self.replies.popleft()
            created = int(time.time())
            if not body.get("stream"):
                return {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "created": created,
                    "model": self.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }

            def events() -> Any:
                words = text.split(" ")
                for i, word in enumerate(words):
                    delta = {"content": word + (" " if i < len(words) - 1 else "")}
                    if i == 0:
                        delta["role"] = "assistant"
                    chunk = {
                        "id": "chatcmpl-scripted",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": self.model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n"
                end = {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": self.model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                yield f"data: {json.dumps(end)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        return app
