"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It speaks real HTTP, answers with records that the rules backend extracts from the chunk in
the request (so payloads have realistic sizes), reports token usage counted with o200k_base,
and injects faults on demand: 429 with Retry-After, 500, schema-invalid answers, malformed
JSON, and requests that hang past the client's timeout.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from .chunk import Chunk
from .prompts import parse_user_message
from .rules import extract_chunk

FAULTS = ("429", "500", "invalid", "malformed", "hang")


@lru_cache(maxsize=1)
def _encoding():
    import bpe_openai

    return bpe_openai.get_encoding("o200k_base")


@lru_cache(maxsize=64)
def count_tokens(text: str) -> int:
    return len(_encoding().encode(text))


def every_tenth(request_number: int) -> str | None:
    """One 429, one 500 and one schema-invalid answer in every ten requests."""
    return {3: "429", 6: "500", 9: "invalid"}.get(request_number % 10)


@dataclass
class FakeStats:
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fixed_prompt_tokens: int = 0  # system prompt and tool/schema definitions: the same for every request
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class FakeOpenAIServer:
    """Use as a context manager; `base_url` is the URL to give the openai client."""

    def __init__(self, latency: float = 0.0, faults: Callable[[int], str | None] | None = None,
                 retry_after: float = 0.05, hang_seconds: float = 5.0):
        self.latency, self.faults = latency, faults or (lambda n: None)
        self.retry_after, self.hang_seconds = retry_after, hang_seconds
        self.stats = FakeStats()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server.stats.lock:
                    server.stats.requests += 1
                    number = server.stats.requests
                fault = server.faults(number)
                if fault:
                    with server.stats.lock:
                        server.stats.faults[fault] = server.stats.faults.get(fault, 0) + 1
                if server.latency:
                    time.sleep(server.latency)
                if fault == "hang":
                    time.sleep(server.hang_seconds)
                    return self._send(500, {"error": {"message": "hung"}})
                if fault == "429":
                    return self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                                      {"Retry-After": str(server.retry_after)})
                if fault == "500":
                    return self._send(500, {"error": {"message": "internal error", "type": "server_error"}})
                self._send(200, server.completion(body, fault))

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def completion(self, body: dict, fault: str | None) -> dict:
        messages = body.get("messages", [])
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        context, text = parse_user_message(user if isinstance(user, str) else "")
        chunk = Chunk("fake", 0, 0, len(text), text, "", context.pop("part"), context)
        answer = extract_chunk(chunk).model_dump(mode="json") if text else {}
        if fault == "invalid":
            answer = {"targets": [{"indicator": "x", "status": "someday", "measure": "growth",
                                   "comparator": "about", "year": "soon", "evidence": "x"}]}
        arguments = "{not json" if fault == "malformed" else json.dumps(answer, ensure_ascii=False)
        fixed = [m for m in messages if m.get("role") != "user"]
        fixed_tokens = count_tokens(json.dumps(fixed, ensure_ascii=False) + json.dumps(body.get("tools", ""), ensure_ascii=False))
        usage = {"prompt_tokens": fixed_tokens + len(_encoding().encode(user if isinstance(user, str) else "")),
                 "completion_tokens": len(_encoding().encode(arguments))}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        with self.stats.lock:
            self.stats.fixed_prompt_tokens += fixed_tokens
            self.stats.prompt_tokens += usage["prompt_tokens"]
            self.stats.completion_tokens += usage["completion_tokens"]
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": name, "arguments": arguments}}]}
        elif body.get("response_format"):
            message = {"role": "assistant", "content": arguments}
        else:
            message = {"role": "assistant", "content": f"```json\n{arguments}\n```"}
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "fake"), "usage": usage,
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if body.get("tools") else "stop"}]}
