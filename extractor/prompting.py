"""Prompting: the templates (system.md, user.md) rendered per chunk and versioned by hash.

The shipped templates live in the repository's top-level prompts/ (the wheel ships them as
extractor/prompts/); `--prompts DIR` runs with a user's own copy. Their hash is part of every
cache key and of run.json, so two runs with different prompts never share answers and can be
compared with `extractor eval --pred A --pred B`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .chunk import Chunk
from .config import ConfigError

TEXT_OPEN, TEXT_CLOSE = "<report_text>\n", "\n</report_text>"
TEMPLATES = ("system", "user")


def shipped_prompts_dir() -> Path:
    """The shipped templates: inside the installed package, or prompts/ of a source checkout."""
    packaged = Path(str(resources.files("extractor"))) / "prompts"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class PromptSet:
    """The templates of a run, and the sha256 of their text."""

    system: str
    user: str
    hash: str

    def render(self, chunk: Chunk) -> list[dict[str, str]]:
        user = self.user.format(section_path=fence(chunk.section_path or "(none)"), part=chunk.part,
                                text=fence(chunk.text), **chunk.context)
        return [{"role": "system", "content": self.system.strip()}, {"role": "user", "content": user}]


def load_prompts(folder: Path | None = None) -> PromptSet:
    """The templates of a folder (None: the shipped ones); a missing or broken one is ConfigError."""
    folder = Path(folder) if folder is not None else shipped_prompts_dir()
    texts = {}
    for name in TEMPLATES:
        try:
            texts[name] = (folder / f"{name}.md").read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{folder / f'{name}.md'}: cannot read the prompt template ({exc.strerror or exc})") \
                from None
    missing = [key for key in ("{text}", "{part}") if key not in texts["user"]]
    if missing:
        raise ConfigError(f"{folder / 'user.md'}: the template lacks {', '.join(missing)}")
    digest = hashlib.sha256("\0".join(texts[name] for name in TEMPLATES).encode()).hexdigest()
    return PromptSet(texts["system"], texts["user"], digest)


_DELIMITER = re.compile(r"<(/?)(report_text)", re.I)


def fence(text: str) -> str:
    """Report text made unable to close (or open) its own <report_text> delimiter: a report is
    data, and a tag inside it must not end the data early."""
    return _DELIMITER.sub(lambda m: f"<{m.group(1)}\u200b{m.group(2)}", text)


def parse_user_message(content: str) -> tuple[dict, str]:
    """Recover (context, chunk text) from a rendered user message: used by the fake server."""
    head, _, rest = content.partition(TEXT_OPEN)
    text = rest.rpartition(TEXT_CLOSE)[0]
    match = re.search(r"review period (\S+); plan year (\d+)\.", head)
    part = re.search(r"^Part: (\w+)", head, re.M)
    title = re.search(r"^Report: (.*) \((.*), (\w+)\);", head, re.M)
    context = {"review_period": match.group(1) if match else "", "plan_year": int(match.group(2)) if match else 0,
               "part": part.group(1) if part else "plan",
               "title": title.group(1) if title else "", "region": title.group(2) if title else "",
               "report_type": title.group(3) if title else "work_report"}
    return context, text


# Titles, bounds and defaults only serve validation, which pydantic does on our side (a failure
# is re-asked); descriptions repeat the system prompt. All cost prompt tokens on every call.
_NOT_FOR_THE_MODEL = {"title", "description", "additionalProperties", "minimum", "maximum", "minLength",
                      "default"}


def compact_schema(node: object, naming: bool = False) -> object:
    """A JSON Schema cut to what the model needs: field names, types, enums and required."""
    if isinstance(node, list):
        return [compact_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if naming:  # keys of `properties` / `$defs` are names, not schema keywords
        return {key: compact_schema(value) for key, value in node.items()}
    out = {key: compact_schema(value, naming=key in {"properties", "$defs"})
           for key, value in node.items() if key not in _NOT_FOR_THE_MODEL}
    variants = out.get("anyOf", [])
    if variants and all(isinstance(v, dict) and set(v) == {"type"} for v in variants):
        types = [v["type"] for v in out.pop("anyOf")]
        if "number" in types and "integer" in types:
            types.remove("integer")
        out["type"] = types if len(types) > 1 else types[0]
    if "enum" in out:  # the values say the type
        out.pop("type", None)
    return out
