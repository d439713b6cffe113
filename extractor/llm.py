"""The LLM backend: instructor over the official openai client, for any OpenAI-compatible URL.

Two retry layers with separate jobs: instructor re-asks the model when its answer fails the
pydantic schema (`max_retries`); tenacity retries transport faults (429 honouring
Retry-After, 5xx, timeouts, dropped connections) with capped exponential backoff and jitter.
Answers are cached on disk under a key that covers everything that shapes the answer
(model, mode, prompts, schema, chunk, generation parameters, endpoint) and never the API key.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import logging
from typing import Any

import diskcache
import instructor
import openai
from pydantic import ConfigDict
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .chunk import Chunk
from .config import Settings
from .extract import Extraction, Usage
from .models import ChunkRecords
from .prompts import compact_schema, prompt_hash, render, schema_hash

_MODES = {"tools": instructor.Mode.TOOLS, "json_schema": instructor.Mode.JSON_SCHEMA,
          "md_json": instructor.Mode.MD_JSON}
_current_usage: contextvars.ContextVar[Usage] = contextvars.ContextVar("current_usage")
# instructor logs every failed attempt at ERROR; failures are reported in the run's error list instead.
logging.getLogger("instructor").setLevel(logging.CRITICAL)


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


class _BackoffWait:
    """Retry-After when the server gives one (capped), else exponential backoff with jitter."""

    def __init__(self, cap: float):
        self.cap = cap
        self.exponential = wait_exponential_jitter(multiplier=0.5, max=cap, jitter=0.5)

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
    schema = super(LLMChunkRecords, model).model_json_schema(*args, **kwargs)
    return json.dumps({"title": schema["title"], **compact_schema(schema)}, ensure_ascii=False)


class ChunkFailed(RuntimeError):
    """A chunk that could not be extracted; carries the usage spent on it."""

    def __init__(self, message: str, usage: Usage):
        super().__init__(message)
        self.usage = usage


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: Settings):
        if not settings.model:
            raise ValueError("the openai backend needs a model (--model or EXTRACTOR_MODEL)")
        self.settings = settings
        memoize_instructor_model_check()
        self.raw = openai.AsyncOpenAI(
            api_key=settings.api_key.get_secret_value() if settings.api_key else "not-needed",
            base_url=settings.base_url, timeout=settings.timeout, max_retries=0)
        self.client = instructor.from_openai(self.raw, mode=_MODES[settings.mode])
        self.client.on("completion:kwargs", self._on_request)
        self.client.on("completion:response", self._on_response)
        self.cache = diskcache.Cache(str(settings.cache_dir)) if settings.use_cache else None

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

    def cache_key(self, chunk: Chunk) -> str:
        s = self.settings
        material = {"model": s.model, "mode": s.mode, "prompt": prompt_hash(), "schema": schema_hash(LLMChunkRecords),
                    "base_url": s.base_url, "temperature": s.temperature, "max_tokens": s.max_tokens,
                    "context": chunk.context, "section": chunk.section_path, "part": chunk.part, "text": chunk.text}
        return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

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
                    records = await self.client.chat.completions.create(
                        model=self.settings.model, response_model=LLMChunkRecords, messages=render(chunk),
                        max_retries=self.settings.max_retries, temperature=self.settings.temperature,
                        max_tokens=self.settings.max_tokens)
        except Exception as exc:
            raise ChunkFailed(_describe(exc), usage) from exc
        if self.cache is not None:
            self.cache.set(key, records.model_dump_json())
        return Extraction(records, usage)

    async def aclose(self) -> None:
        await self.raw.close()
        if self.cache is not None:
            self.cache.close()


def _describe(exc: BaseException) -> str:
    cause = root_cause(exc)
    exc = cause if isinstance(cause, openai.APIError) else exc
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} from the endpoint after retries"
    if isinstance(exc, openai.APITimeoutError):
        return "request timed out after retries"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect to the endpoint after retries"
    name = type(exc).__name__
    if "Retry" in name or "Validation" in name:
        return f"answer failed schema validation after re-asks ({name})"
    return f"{name}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
