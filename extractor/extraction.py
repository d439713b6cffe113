"""Extraction: chunks -> raw records, through a pluggable backend, concurrently.

(Named extraction.py, not extract.py: `from extractor import extract` is the API function.)

A backend turns one chunk into ChunkRecords. The orchestration here runs many chunks at
once (bounded by `concurrency`, optionally by a requests-per-minute limit), and decides what a
failure means:
- a chunk whose answer was cut at the output limit, or that exceeded the model's context, is
  split in two at a paragraph boundary and each half extracted (to a bounded depth);
- an endpoint-wide fault (refused connection, bad credentials, unknown model) stops the run
  at once with one message, and so does a programming error (a bug, not a chunk's fault);
- a circuit breaker stops the run when many consecutive chunks fail with the same cause;
- any other failure is recorded for its chunk and the run goes on.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from .backends.base import (PROGRAMMING_ERRORS, Backend, ChunkFailed, ChunkTooLarge, Extraction, RunAborted,
                            Usage)
from .chunk import Chunk, split_chunk
from .config import Settings
from .models import ChunkRecords

MAX_SPLIT_DEPTH = 3  # a chunk is halved at most three times (eighths of 4,000 characters)
BREAKER_FAILURES = 5  # consecutive chunks failing with one cause before the run stops












@dataclass
class ChunkOutcome:
    chunk: Chunk
    records: ChunkRecords | None
    usage: Usage
    error: str | None = None
    seconds: float = 0.0
    dropped: list[str] = field(default_factory=list)




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
        self._last_errors: list[str] = []
        self._aborted: RunAborted | None = None

    async def extract(self, chunk: Chunk) -> ChunkOutcome:
        """One chunk's outcome; a chunk's failure becomes the outcome's error. Raises RunAborted
        when the run as a whole cannot go on."""
        async with self._semaphore:
            if self._aborted is not None:  # no new requests once the run is stopping
                raise self._aborted
            started = time.perf_counter()
            try:
                result = await self._extract(chunk, depth=0)
                outcome = ChunkOutcome(chunk, result.records, result.usage, dropped=result.dropped)
            except RunAborted as exc:
                self._aborted = exc
                raise
            except ChunkFailed as exc:
                outcome = ChunkOutcome(chunk, None, exc.usage, error=str(exc).splitlines()[0][:300])
            except PROGRAMMING_ERRORS as exc:
                last = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                self._aborted = RunAborted(f"internal error in the {self.backend.name} backend ({last}); this is a "
                                           "bug: please report it with the command you ran")
                raise self._aborted from exc
            except Exception as exc:  # one chunk's unexpected failure must not lose the others
                outcome = ChunkOutcome(chunk, None, Usage(), error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
            outcome.seconds = time.perf_counter() - started
            self._watch(outcome)
        if self.on_done:
            self.on_done(outcome)
        return outcome

    async def _extract(self, chunk: Chunk, depth: int) -> Extraction:
        await self._limiter.wait()
        try:
            return await self.backend.extract(chunk)
        except ChunkTooLarge as exc:
            halves = split_chunk(chunk) if depth < MAX_SPLIT_DEPTH else None
            if halves is None:
                raise ChunkFailed(f"{exc} (cannot split the chunk further)", exc.usage) from exc
            total = Extraction(ChunkRecords(), Usage(splits=1))
            total.usage.add(exc.usage)
            for half in halves:
                part = await self._extract(half, depth + 1)
                total.usage.add(part.usage)
                total.dropped.extend(part.dropped)
                for kind in ("targets", "projects", "commitments"):
                    getattr(total.records, kind).extend(getattr(part.records, kind))
            return total

    def _watch(self, outcome: ChunkOutcome) -> None:
        """The circuit breaker: many consecutive chunks failing the same way stop the run."""
        if outcome.error is None:
            self._last_errors.clear()
            return
        self._last_errors.append(outcome.error)
        if len(self._last_errors) >= BREAKER_FAILURES and len(set(self._last_errors[-BREAKER_FAILURES:])) == 1:
            self._aborted = RunAborted(f"stopped after {BREAKER_FAILURES} consecutive chunks failed the same way: "
                                       f"{outcome.error}")
            raise self._aborted

    async def extract_many(self, chunks: list[Chunk]) -> list[ChunkOutcome]:
        return list(await asyncio.gather(*(self.extract(c) for c in chunks)))
