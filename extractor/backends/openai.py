"""The instructor backend: instructor over the official openai client, for any OpenAI-compatible
URL (OpenAI, DeepSeek, Qwen/DashScope, vLLM, Ollama, llama.cpp).

Two retry layers with separate jobs: instructor re-asks the model when its answer fails the
pydantic schema (`max_retries`); tenacity retries transport faults (429 honouring
Retry-After, 5xx, timeouts, dropped connections) with capped exponential backoff and jitter.
Answers are cached on disk under a key that covers everything that shapes the answer
(model, mode, prompts, schema, chunk, generation parameters, endpoint) and never the API key.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import functools
import itertools
import json
import logging
import math
import re
import socket
from typing import Any, Iterator

import instructor
import openai
from pydantic import ConfigDict, ValidationError
from tenacity import (AsyncRetrying, retry_if_exception, retry_if_exception_type, stop_after_attempt,
                      wait_exponential_jitter)

from ..chunk import Chunk
from ..config import Settings, redact_url
from ..models import RECORD_MODELS, ChunkRecords
from ..prompting import load_prompts
from .base import PROGRAMMING_ERRORS, ChunkFailed, ChunkTooLarge, Extraction, RunAborted, Usage
from .keys import cache_key, llm_schema, open_cache

_MODES = {"tools": instructor.Mode.TOOLS, "json_schema": instructor.Mode.JSON_SCHEMA,
          "md_json": instructor.Mode.MD_JSON}
_current_usage: contextvars.ContextVar[Usage] = contextvars.ContextVar("current_usage")
# instructor logs every failed attempt at ERROR; failures are reported in the run's error list instead.
logging.getLogger("instructor").setLevel(logging.CRITICAL)


def http_library() -> Any:
    """The HTTP library the installed openai SDK is built on (httpx; httpx2 in openai 3)."""
    import openai._base_client as base

    return getattr(base, "httpx2", None) or base.httpx


def root_cause(exc: BaseException) -> BaseException:
    """The transport error inside instructor's wrapper, if there is one."""
    seen = exc
    while seen is not None:
        if isinstance(seen, openai.APIError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def is_transient(exc: BaseException) -> bool:
    """Faults worth another try: rate limits, server errors, timeouts, dropped connections."""
    exc = root_cause(exc)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):  # the total deadline of a request
        return True
    if _endpoint_fault(exc) is not None or _too_large(exc) is not None:
        return False
    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
                        openai.InternalServerError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code in {408, 409, 429} | set(range(500, 600))


def retry_after_seconds(exc: BaseException | None) -> float | None:
    response = getattr(root_cause(exc), "response", None) if exc is not None else None
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# What instructor may re-ask the model about: an answer that fails the schema. Older instructor
# versions (1.7) retried every exception given an int, transport faults included; tenacity above
# owns those, so the policy is passed explicitly.
try:
    from instructor import core as _instructor_errors  # instructor 1.9+
except ImportError:
    from instructor import exceptions as _instructor_errors
_ANSWER_ERRORS = tuple(e for e in (ValidationError, json.JSONDecodeError,
                                   getattr(_instructor_errors, "ResponseParsingError", None),
                                   getattr(_instructor_errors, "AsyncValidationError", None))
                       if isinstance(e, type))


def _reasks(max_retries: int) -> AsyncRetrying:
    """instructor's re-ask policy for one call (a fresh object: tenacity keeps state on it)."""
    return AsyncRetrying(stop=stop_after_attempt(max_retries + 1), retry=retry_if_exception_type(_ANSWER_ERRORS))


class _BackoffWait:
    """Retry-After when the server gives one (capped), else exponential backoff with jitter."""

    def __init__(self, cap: float):
        self.cap = cap
        # initial=, not multiplier= (tenacity 9.2+ only): the range allows tenacity 8.2
        self.exponential = wait_exponential_jitter(initial=0.5, max=cap, jitter=0.5)

    def __call__(self, retry_state: Any) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = retry_after_seconds(exc)
        return min(after, self.cap) if after is not None else self.exponential(retry_state)


def memoize_instructor_model_check() -> None:
    """instructor 1.17 walks the response model's class tree seven times per request to reject
    async validators: ~4 ms of CPU, the largest cost of a call (benchmarks/RESULTS.md). The
    outcome depends only on the class, so remember the classes that passed; a class that
    fails still raises on every call. Idempotent; a no-op on instructor versions without it."""
    try:
        from instructor.v2.core import patch as instructor_patch
        from instructor.v2.validation import async_validators
    except ImportError:
        return
    check = async_validators.reject_async_validators
    if getattr(check, "memoized", False):
        return
    passed: set[Any] = set()

    @functools.wraps(check)
    def check_once(response_model: Any) -> None:
        try:
            if response_model in passed:
                return
        except TypeError:  # an unhashable annotation: check it every time
            return check(response_model)
        check(response_model)
        passed.add(response_model)

    check_once.memoized = True  # type: ignore[attr-defined]
    async_validators.reject_async_validators = check_once
    if getattr(instructor_patch, "reject_async_validators", None) is check:
        instructor_patch.reject_async_validators = check_once


class LLMChunkRecords(ChunkRecords, instructor.OpenAISchema):
    """Records of the three types stated in the text; empty lists when none qualify."""

    model_config = ConfigDict(title="ChunkRecords")  # the tool's name

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # Being instructor's own schema class spares the per-call re-wrapping of the model (~30 ms
        # of CPU); its json_schema and md_json modes still ask for the schema on every call
        # (~6 ms to build), so it is built once, and each caller gets a copy it may edit.
        return json.loads(_compact_schema_text(cls, *args, **kwargs))


@functools.cache
def _compact_schema_text(model: type[LLMChunkRecords], *args: Any, **kwargs: Any) -> str:
    return llm_schema()


# Requests in flight share clients (connection pools) of at most this many connections: the
# HTTP pool checks every connection of its pool for each request it places. At concurrency 256
# (1,000 reports against the fake server) the client spent 35 s of CPU with one pool, 32 s with
# pools of 64 and 27.5 s with pools of 16.
CONNECTIONS_PER_CLIENT = 16


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: Settings):
        if not settings.model:
            raise ValueError("the openai backend needs a model (--model or EXTRACTOR_MODEL)")
        self.settings = settings
        self.prompts = load_prompts(settings.prompts)
        self.prompt_hash = self.prompts.hash
        memoize_instructor_model_check()
        self.raws = [openai.AsyncOpenAI(api_key=settings.api_key.get_secret_value() if settings.api_key else "not-needed",
                                        base_url=settings.base_url, timeout=settings.timeout, max_retries=0)
                     for _ in range(math.ceil(settings.concurrency / CONNECTIONS_PER_CLIENT))]
        self.clients = [instructor.from_openai(raw, mode=_MODES[settings.mode]) for raw in self.raws]
        for client in self.clients:
            client.on("completion:kwargs", self._on_request)
            client.on("completion:response", self._on_response)
        self._turns = itertools.cycle(self.clients)
        self.endpoint = redact_url(settings.base_url or "https://api.openai.com/v1")
        self.cache = open_cache(settings.cache_dir) if settings.use_cache else None

    @staticmethod
    def _on_request(*args: Any, **kwargs: Any) -> None:
        if (usage := _current_usage.get(None)) is not None:
            usage.requests += 1

    @staticmethod
    def _on_response(response: Any) -> None:
        usage, counted = _current_usage.get(None), getattr(response, "usage", None)
        if usage is not None and counted is not None:
            usage.prompt_tokens += counted.prompt_tokens or 0
            usage.completion_tokens += counted.completion_tokens or 0
            details = getattr(counted, "prompt_tokens_details", None)  # providers' prefix caching
            usage.cached_prompt_tokens += getattr(details, "cached_tokens", None) or 0

    def cache_key(self, chunk: Chunk) -> str:
        return cache_key(self.settings, self.prompts, chunk)

    async def extract(self, chunk: Chunk) -> Extraction:
        key = self.cache_key(chunk) if self.cache is not None else ""
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return Extraction(ChunkRecords.model_validate_json(hit), Usage(cache_hits=1))
        usage = Usage()
        _current_usage.set(usage)
        retrying = AsyncRetrying(stop=stop_after_attempt(self.settings.transport_retries + 1),
                                 wait=_BackoffWait(self.settings.backoff_max),
                                 retry=retry_if_exception(is_transient), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        usage.retries += 1
                    # A total deadline per attempt: the client's timeout is per read, and a server
                    # that trickles bytes would hold a request far longer.
                    records = await asyncio.wait_for(self._create(next(self._turns), chunk),
                                                     self.settings.timeout * (self.settings.max_retries + 1))
            dropped: list[str] = []
        except Exception as exc:
            if (bug := _bug_in(exc)) is not None:
                raise bug
            if (fault := _endpoint_fault(root_cause(exc))) is not None:
                raise RunAborted(f"{self.endpoint}: {fault}") from exc
            if (reason := _too_large(exc)) is not None:
                raise ChunkTooLarge(reason, usage) from exc
            salvaged = _salvage(exc)
            if salvaged is None:
                raise ChunkFailed(_describe(exc), usage) from exc
            records, dropped = salvaged
            usage.invalid_records += len(dropped)
        if self.cache is not None and not dropped:  # a salvaged answer is asked again next run
            self.cache.set(key, records.model_dump_json())
        return Extraction(records, usage, dropped)

    def _create(self, client: Any, chunk: Chunk) -> Any:
        """The one call that extracts a chunk: online, and to capture its request for a batch."""
        return client.chat.completions.create(
            model=self.settings.model, response_model=LLMChunkRecords, messages=self.prompts.render(chunk),
            max_retries=_reasks(self.settings.max_retries), temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens)

    async def request_body(self, chunk: Chunk) -> dict:
        """The JSON body this backend sends for a chunk, exactly as instructor builds it in the
        configured mode: captured by an HTTP transport that answers with empty lists."""
        http = http_library()
        captured: dict = {}
        answer = json.dumps({"targets": [], "projects": [], "commitments": []})

        def transport(request: Any) -> Any:
            captured.update(json.loads(request.content))
            message = {"role": "assistant", "content": answer, "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": "ChunkRecords", "arguments": answer}}]}
            return http.Response(200, json={
                "id": "capture", "object": "chat.completion", "created": 0, "model": self.settings.model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})

        raw = openai.AsyncOpenAI(api_key="capture", base_url=self.settings.base_url or "https://api.openai.com/v1",
                                 max_retries=0, http_client=http.AsyncClient(transport=http.MockTransport(transport)))
        try:
            await self._create(instructor.from_openai(raw, mode=_MODES[self.settings.mode]), chunk)
        finally:
            await raw.close()
        return captured

    async def aclose(self) -> None:
        for raw in self.raws:
            await raw.close()
        if self.cache is not None:
            self.cache.close()


def _bug_in(exc: BaseException) -> BaseException | None:
    """A programming error anywhere in the exception's chain (instructor wraps what it sees)."""
    return next((e for e in _chain(exc) if isinstance(e, PROGRAMMING_ERRORS)), None)


def _server_reason(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body)
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or exc.message or "").splitlines()[0][:200] if (message or exc.message) else ""


def _endpoint_fault(exc: BaseException) -> str | None:
    """Faults of the endpoint as a whole, the same for every chunk: no use going on."""
    if isinstance(exc, openai.APIStatusError) and exc.status_code in {401, 403}:
        return f"HTTP {exc.status_code}: {_server_reason(exc) or 'not authorized'} (check the API key)"
    if isinstance(exc, openai.APIStatusError) and exc.status_code == 404:
        return f"HTTP 404: {_server_reason(exc) or 'not found'} (check --model and --base-url)"
    if isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError):
        chain = list(_chain(exc))
        if any(isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED
               for e in chain):
            return "connection refused (is the server running?)"
        resolving = next((e for e in chain if isinstance(e, socket.gaierror)), None)
        if resolving is not None:
            return f"could not connect ({resolving})"
        if any(type(e).__name__ == "ConnectError" for e in chain):  # httpx's connect phase: never reached
            return "could not connect"
    return None


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


_CONTEXT_LENGTH = re.compile(r"context[ _-]?length|maximum context|context window|too many tokens|"
                             r"prompt is too long|reduce the length", re.I)


def _too_large(exc: BaseException) -> str | None:
    """Why the chunk should be retried in halves, if it should."""
    for seen in _chain(exc):
        if type(seen).__name__ == "IncompleteOutputException":
            return "answer cut at the output limit (finish_reason: length)"
        if isinstance(seen, openai.BadRequestError) and _CONTEXT_LENGTH.search(str(seen)):
            return f"HTTP 400: {_server_reason(seen)}"
    return None


def answer_text(body: dict) -> str | None:
    """The JSON text of a chat completion body in any mode: tool-call arguments, or content (in
    a Markdown code fence or not)."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        return None
    calls = message.get("tool_calls") or []
    text = calls[0]["function"]["arguments"] if calls else message.get("content")
    if not isinstance(text, str):
        return None
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    return fenced.group(1) if fenced else text


def _salvage(exc: BaseException) -> tuple[ChunkRecords, list[str]] | None:
    """When re-asks are exhausted: the records of the last answer that validate, and one line
    for each that does not (field, problem, value). None when the answer is not a JSON object."""
    completion = next((e.last_completion for e in _chain(exc) if getattr(e, "last_completion", None)), None)
    dump = getattr(completion, "model_dump", None)
    text = answer_text(dump()) if dump is not None else None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    records, dropped = ChunkRecords(), []
    for kind, model in RECORD_MODELS.items():
        items = data.get(kind) or []
        for i, item in enumerate(items if isinstance(items, list) else []):
            try:
                getattr(records, kind).append(model.model_validate(item))
            except ValidationError as err:
                dropped.append(f"{kind}[{i}]: {validation_line(err)}")
    return records, dropped


def validation_line(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    value = first.get("input")
    shown = repr(value)[:60] if not isinstance(value, dict) else "{...}"
    return f"{where}: {first['msg']} (got {shown})"


def _describe(exc: BaseException) -> str:
    """One line for a chunk's failure that keeps the server's reason."""
    cause = root_cause(exc)
    if isinstance(cause, (TimeoutError, asyncio.TimeoutError)) or isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "request timed out after retries (no complete answer within --timeout)"
    if isinstance(cause, openai.APIStatusError):
        reason = _server_reason(cause)
        return f"HTTP {cause.status_code} from the endpoint after retries" + (f": {reason}" if reason else "")
    if isinstance(cause, openai.APITimeoutError):
        return "request timed out after retries"
    if isinstance(cause, openai.APIConnectionError):
        return "connection dropped by the server after retries"
    invalid = next((e for e in _chain(exc) if isinstance(e, ValidationError)), None)
    if invalid is not None:
        return f"answer failed schema validation after re-asks: {validation_line(invalid)}"
    name = type(exc).__name__
    if "Retry" in name or "Validation" in name:
        return f"answer failed schema validation after re-asks ({str(exc).splitlines()[0][:150] if str(exc) else name})"
    return f"{name}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
