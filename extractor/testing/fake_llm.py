"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It speaks real HTTP, answers with records that the rules backend extracts from the chunk in
the request (so payloads have realistic sizes), reports token usage counted with o200k_base,
and injects faults on demand: 429 with Retry-After, 500, 401, 404, schema-invalid answers,
an answer with one bad record among good ones, malformed JSON, requests that hang past the
client's timeout, answers trickled byte by byte, dropped connections; and, for chunks longer
than `max_chunk_chars`, answers cut at the output limit or a context-length error.

Tests run it in a thread (`FakeOpenAIServer`); benchmarks run it in its own process
(`FakeServerProcess`, or `python -m extractor.testing.fake_llm`) so that its CPU work does not
compete with the client for one interpreter lock. Test and benchmark tooling: nothing in the
product imports it.
"""

from __future__ import annotations

import argparse
import copy
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field, fields
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from ..backends.rules import extract_chunk
from ..chunk import Chunk, make_chunks
from ..config import load_settings
from ..cost import count_tokens as _count
from ..ingest import load_document, split_reports
from ..prompting import parse_user_message


@lru_cache(maxsize=64)
def count_tokens(text: str) -> int:
    return _count(text)


@dataclass(frozen=True)
class _Answer:
    arguments: str  # the rules backend's records for the chunk, as JSON
    user_tokens: int
    text_tokens: int  # the chunk's report text alone
    completion_tokens: int


def _rules_answer(chunk: Chunk) -> tuple[str, int, int]:
    """The rules backend's records for a chunk as JSON, the chunk text's tokens and the answer's."""
    arguments = json.dumps(extract_chunk(chunk).model_dump(mode="json") if chunk.text else {}, ensure_ascii=False)
    return arguments, _count(chunk.text), _count(arguments)


def worked_out(paths: list[Path]) -> dict[tuple[str, str], tuple[str, int, int]]:
    """The answers to every chunk of these files, chunked as a run with the same settings
    chunks them, by chunk text and part: a real endpoint computes on its own machines, and this
    server shares the benchmark's two cores with the client."""
    budget = load_settings().chunk_chars
    return {(chunk.text, chunk.part): _rules_answer(chunk)
            for path in paths for report in split_reports(load_document(path))
            for chunk in make_chunks(report, budget)}


@lru_cache(maxsize=4096)
def _answer(user: str) -> _Answer:
    """The answer to a user message, and its token counts; memoized."""
    context, text = parse_user_message(user)
    chunk = Chunk("fake", 0, 0, len(text), text, "", context.pop("part"), context)
    arguments, text_tokens, completion_tokens = _rules_answer(chunk)
    return _Answer(arguments, _count(user), text_tokens, completion_tokens)


def fixed_prefix(body: dict) -> str:
    """What is the same for every request: every message but the chunk's, and the tool or
    response-format schema, as sent on the wire (compact JSON)."""
    others = [m for m in body.get("messages", []) if m.get("role") != "user"]
    schema = body.get("tools") or body.get("response_format") or ""
    return json.dumps([schema, others], ensure_ascii=False, separators=(",", ":"))


def cacheable(prefix_tokens: int) -> int:
    """The tokens of a repeated prefix that a provider's prompt cache serves: OpenAI's rule, in
    blocks of 128 tokens from 1,024."""
    return prefix_tokens // 128 * 128 if prefix_tokens >= 1024 else 0


def one_of_each(request_number: int) -> str | None:
    """A 429, a 500 and a schema-invalid answer, at the 3rd, 6th and 9th request."""
    return {3: "429", 6: "500", 9: "invalid"}.get(request_number)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs when 32 clients connect at once

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # a client gone is normal
            super().handle_error(request, client_address)


@dataclass
class FakeStats:
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    report_text_tokens: int = 0  # the chunk's own text; the rest of a prompt is overhead
    cached_tokens: int = 0  # prompt tokens a provider's prefix cache would have served
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict:
        with self.lock:
            return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.name != "lock"}


class FakeOpenAIServer:
    """Use as a context manager; `base_url` is the URL to give the openai client."""

    def __init__(self, latency: float = 0.0, faults: Callable[[int], str | None] | None = None,
                 retry_after: float = 0.05, hang_seconds: float = 5.0, max_chunk_chars: int | None = None,
                 oversize: str = "length", known: dict[tuple[str, str], tuple[str, int, int]] | None = None):
        self.latency, self.faults = latency, faults or (lambda n: None)
        self._known = known or {}  # answers worked out before serving (`worked_out`)
        self.retry_after, self.hang_seconds = retry_after, hang_seconds
        self.max_chunk_chars, self.oversize = max_chunk_chars, oversize
        self.chunk_sizes: list[int] = []  # report-text length of every request, in arrival order
        self._prefixes: set[str] = set()  # the fixed part (schema, system prompt) of requests seen
        self.stats = FakeStats()
        self._server = _Server(("127.0.0.1", 0), self._handler())
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

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command-line server)."""
        self._server.serve_forever()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes; with Nagle's algorithm on, the body
            # waits for the client's delayed ACK (~40 ms on Linux) on every response.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # keep test output quiet
                return

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/stats"):
                    return self._send(200, server.stats.as_dict())
                self._send(404, {"error": {"message": "not found"}})

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
                if fault == "401":
                    return self._send(401, {"error": {"message": "Incorrect API key provided", "type": "auth"}})
                if fault == "404":
                    return self._send(404, {"error": {"message": "The model does not exist", "type": "not_found"}})
                if fault == "drop":
                    self.close_connection = True
                    return self.connection.shutdown(socket.SHUT_RDWR)
                size = server.text_size(body)
                if server.max_chunk_chars and size > server.max_chunk_chars and server.oversize == "context":
                    return self._send(400, {"error": {"message": "This model's maximum context length is 8192 tokens",
                                                      "type": "invalid_request_error",
                                                      "code": "context_length_exceeded"}})
                if server.max_chunk_chars and size > server.max_chunk_chars:
                    fault = "length"
                self._send(200, server.completion(body, fault), trickle=fault == "trickle")

            def _send(self, status: int, payload: dict, headers: dict | None = None, trickle: bool = False) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if not trickle:
                    return self.wfile.write(data)
                for i in range(len(data)):  # a byte every 0.2 s: each read is quick, the answer never ends
                    try:
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.2)

        return Handler

    @staticmethod
    def _user(body: dict) -> str:
        messages = body.get("messages", [])
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        return user if isinstance(user, str) else ""

    def text_size(self, body: dict) -> int:
        size = len(parse_user_message(self._user(body))[1])
        with self.stats.lock:
            self.chunk_sizes.append(size)
        return size

    def _answer(self, user: str) -> _Answer:
        context, text = parse_user_message(user)
        known = self._known.get((text, context["part"]))
        if known is None:
            return _answer(user)
        arguments, text_tokens, completion_tokens = known
        return _Answer(arguments, _count(user), text_tokens, completion_tokens)

    def completion(self, body: dict, fault: str | None) -> dict:
        answer = self._answer(self._user(body))
        arguments, completion_tokens = answer.arguments, answer.completion_tokens
        finish_reason = "tool_calls" if body.get("tools") else "stop"
        if fault == "length":
            arguments, finish_reason = arguments[: len(arguments) // 2], "length"
        elif fault == "one_bad_record":
            records = json.loads(arguments)
            records.setdefault("targets", []).append({"indicator": "x", "status": "someday", "measure": "growth",
                                                      "comparator": "about", "year": 2024, "evidence": "xx",
                                                      "value": 1})
            arguments = json.dumps(records, ensure_ascii=False)
        elif fault == "invalid":
            arguments = json.dumps({"targets": [{"indicator": "x", "status": "someday", "measure": "growth",
                                                 "comparator": "about", "year": "soon", "evidence": "x"}]})
            completion_tokens = count_tokens(arguments)
        elif fault == "malformed":
            arguments, completion_tokens = "{not json", 3
        prefix = fixed_prefix(body)
        fixed_tokens = count_tokens(prefix)
        with self.stats.lock:
            cached = cacheable(fixed_tokens) if prefix in self._prefixes else 0
            self._prefixes.add(prefix)
            self.stats.cached_tokens += cached
        usage = {"prompt_tokens": fixed_tokens + answer.user_tokens, "completion_tokens": completion_tokens,
                 "prompt_tokens_details": {"cached_tokens": cached}}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        with self.stats.lock:
            self.stats.report_text_tokens += answer.text_tokens
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
                "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}]}


class FakeServerProcess:
    """The fake server in a child process; `stats` asks it over HTTP. No fault injection."""

    def __init__(self, latency: float = 0.0, warm: list[Path] | None = None):
        self.latency, self.warm = latency, warm or []
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeServerProcess:
        warm = ["--warm", *map(str, self.warm)] if self.warm else []
        self._process = subprocess.Popen([sys.executable, "-m", "extractor.testing.fake_llm", "--latency", str(self.latency),
                                          *warm], stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        self.base_url = self._process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            self.__exit__()
            raise RuntimeError("the fake server process did not start")
        return self

    @property
    def stats(self) -> FakeStats:
        with urllib.request.urlopen(f"{self.base_url}/stats", timeout=10) as response:
            return FakeStats(**json.load(response))

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m extractor.testing.fake_llm", description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--warm", type=Path, nargs="*", default=[],
                        help="report files whose chunks' answers are worked out before serving")
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(latency=args.latency, known=worked_out(args.warm))
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
