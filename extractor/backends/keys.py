"""What identifies an LLM answer without asking for it: the cache key of a chunk's request and
the answer cache. Kept apart from the client (openai.py) so that estimating a run (`run --dry-run`,
`batch prepare`) need not load the client libraries."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from functools import lru_cache
from pathlib import Path

import diskcache

from ..chunk import Chunk
from ..config import ConfigError, Settings
from ..models import ChunkRecords
from ..prompting import PromptSet, compact_schema


@lru_cache(maxsize=1)
def llm_schema() -> str:
    """The JSON Schema the model is shown (compact: names, types, enums, required), as text."""
    return json.dumps({"title": "ChunkRecords", **compact_schema(ChunkRecords.model_json_schema())}, ensure_ascii=False)


def cache_key(settings: Settings, prompts: PromptSet, chunk: Chunk) -> str:
    """Everything that shapes the answer (model, mode, prompts, schema, chunk, generation
    parameters, endpoint) and never the API key."""
    material = {"model": settings.model, "mode": settings.mode, "prompt": prompts.hash,
                "schema": hashlib.sha256(llm_schema().encode()).hexdigest(), "base_url": settings.base_url,
                "temperature": settings.temperature, "max_tokens": settings.max_tokens, "context": chunk.context,
                "section": chunk.section_path, "part": chunk.part, "text": chunk.text}
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def open_cache(directory: Path) -> diskcache.Cache:
    """The answer cache; an unusable directory or a corrupt database is one ConfigError line."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory}: the cache directory is a file")
    try:
        return diskcache.Cache(str(directory))
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{directory}: the cache is corrupt ({exc}); remove the directory or choose another "
                          "--cache-dir") from None
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot use the cache directory ({exc.strerror or exc})") from None
