"""What every backend shares: the interface, its result types and the errors that tell the
orchestration (extraction.py) what a failure means. Imports no backend, so any backend can
import it and none imports another."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..chunk import Chunk
from ..models import ChunkRecords

# Programming errors: a bug in the call path, never one chunk's fault.
PROGRAMMING_ERRORS = (TypeError, AttributeError, ImportError, NameError)


@dataclass
class Usage:
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # of prompt_tokens, what the endpoint served from its prefix cache
    completion_tokens: int = 0
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    splits: int = 0
    invalid_records: int = 0

    def add(self, other: Usage) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Extraction:
    """One backend call's result: the records, what it cost, and the records of the answer that
    failed validation and were dropped (one line each: field, problem, value)."""

    records: ChunkRecords
    usage: Usage = field(default_factory=Usage)
    dropped: list[str] = field(default_factory=list)


class ChunkFailed(RuntimeError):
    """A chunk that could not be extracted; carries the usage spent on it."""

    def __init__(self, message: str, usage: Usage | None = None):
        super().__init__(message)
        self.usage = usage or Usage()


class ChunkTooLarge(ChunkFailed):
    """The answer was cut at the output limit, or the request exceeded the model's context:
    the chunk is worth retrying in smaller pieces."""


class RunAborted(Exception):
    """The run cannot go on (the endpoint refuses every request, or a bug); str() is one line."""


class Backend(Protocol):
    """Turns one chunk into records. `name` appears in run.json; `prompt_hash` is the hash of
    the prompts it sends (empty for a backend without prompts)."""

    name: str

    async def extract(self, chunk: Chunk) -> Extraction: ...

    async def aclose(self) -> None: ...
