"""Cost: tokens counted offline (o200k_base, as OpenAI's current models count them) and priced
from an editable table (data/prices.toml, or --prices FILE), so the bill of a run is known before
it starts (`extractor run --dry-run`) and written after it ends (run.json)."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .config import ConfigError

# Completion tokens per token of report text in a chunk, measured on a strong model's answers to
# this tool's requests for the six silver reports (81,324 answer tokens for 80,527 text tokens).
ANSWER_PER_TEXT_TOKEN = 1.0
_PIECE = 4000  # characters encoded at a time (the encoder refuses very long inputs)


@lru_cache(maxsize=1)
def _encoding():
    import bpe_openai

    return bpe_openai.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    encode = _encoding().encode
    return sum(len(encode(text[i:i + _PIECE])) for i in range(0, len(text), _PIECE))


@dataclass(frozen=True)
class Price:
    input: float
    cached_input: float
    output: float
    batch_discount: float
    as_of: str


def load_prices(path: Path | None = None) -> dict[str, Price]:
    try:
        text = Path(path).read_text(encoding="utf-8") if path else \
            resources.files("extractor").joinpath("data/prices.toml").read_text("utf-8")
        models = tomllib.loads(text)["models"]
        return {name: Price(float(p["input"]), float(p.get("cached_input", p["input"])), float(p["output"]),
                            float(p.get("batch_discount", 0.0)), str(p.get("as_of", "")))
                for name, p in models.items()}
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path or 'data/prices.toml'}: not a price table ({exc})") from None


@dataclass
class Bill:
    """Tokens by kind and what they cost (None when the model is not in the price table)."""

    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    price: Price | None = None
    notes: list[str] = field(default_factory=list)

    def usd(self, batch: bool = False) -> float | None:
        if self.price is None:
            return None
        p = self.price
        total = ((self.prompt_tokens - self.cached_prompt_tokens) * p.input + self.cached_prompt_tokens * p.cached_input
                 + self.completion_tokens * p.output) / 1e6
        return round(total * (1 - p.batch_discount) if batch else total, 4)

    def as_json(self) -> dict:
        return {"model": self.model, "prompt_tokens": self.prompt_tokens,
                "cached_prompt_tokens": self.cached_prompt_tokens, "completion_tokens": self.completion_tokens,
                "usd": self.usd(), "usd_batch": self.usd(batch=True),
                "prices_as_of": self.price.as_of if self.price else None}


def bill(model: str | None, prompt: int, cached: int, completion: int, prices: dict[str, Price]) -> Bill:
    return Bill(prompt, cached, completion, model, prices.get(model or ""))


def request_tokens(messages: list[dict], tools: object) -> int:
    """Prompt tokens of a request: its messages and its tool (or response-format) schema."""
    return count_tokens(json.dumps([messages, tools], ensure_ascii=False, separators=(",", ":")))
