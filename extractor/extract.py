"""Extract: chunks -> raw records, through a pluggable backend, concurrently.

A backend turns one chunk into ChunkRecords. The orchestration here runs many chunks at
once (bounded by `concurrency`, optionally by a requests-per-minute limit), records each
chunk's failure instead of stopping the run, and counts tokens and cache hits.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .chunk import Chunk
from .config import Settings
from .models import ChunkRecords


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0

    def add(self, other: Usage) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Extraction:
    """One backend call's result: the records and what it cost."""

    records: ChunkRecords
    usage: Usage = field(default_factory=Usage)


@dataclass
class ChunkOutcome:
    chunk: Chunk
    records: ChunkRecords | None
    usage: Usage
    error: str | None = None
    seconds: float = 0.0


class Backend(Protocol):
    name: str

    async def extract(self, chunk: Chunk) -> Extraction: ...

    async def aclose(self) -> None: ...


class RateLimiter:
    """Spaces request starts so that at most `rpm` begin in any minute."""

    def __init__(self, rpm: int | None):
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


class ChunkExtractor:
    """Runs chunks through a backend under one concurrency bound (and optional requests-per-
    minute limit) shared by every report of the run, so that a report's chunks can start as
    soon as its file is read while other reports' chunks are in flight."""

    def __init__(self, backend: Backend, settings: Settings,
                 on_done: Callable[[ChunkOutcome], None] | None = None):
        self.backend, self.on_done = backend, on_done
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._limiter = RateLimiter(settings.rpm)

    async def extract(self, chunk: Chunk) -> ChunkOutcome:
        """One chunk's outcome; a failure becomes the outcome's error, never an exception."""
        async with self._semaphore:
            await self._limiter.wait()
            started = time.perf_counter()
            try:
                result = await self.backend.extract(chunk)
                outcome = ChunkOutcome(chunk, result.records, result.usage)
            except Exception as exc:  # one chunk's failure must not lose the others
                outcome = ChunkOutcome(chunk, None, getattr(exc, "usage", Usage()),
                                       error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
            outcome.seconds = time.perf_counter() - started
        if self.on_done:
            self.on_done(outcome)
        return outcome

    async def extract_many(self, chunks: list[Chunk]) -> list[ChunkOutcome]:
        return list(await asyncio.gather(*(self.extract(c) for c in chunks)))


def make_backend(settings: Settings) -> Backend:
    if settings.resolved_backend() == "openai":
        from .llm import OpenAIBackend

        return OpenAIBackend(settings)
    from .rules import RulesBackend

    return RulesBackend()
