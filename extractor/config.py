"""One validated settings object for the whole run.

Values come, in rising priority, from defaults, a TOML file (`--config`), the environment
(`EXTRACTOR_*`, plus the usual `OPENAI_API_KEY` / `OPENAI_BASE_URL`) and command-line flags.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(ValueError):
    """A configuration value is invalid; the message is one line meant for the user."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXTRACTOR_", extra="forbid", validate_default=True)

    backend: str = Field(
        "auto", description="rules | openai | auto (openai when a model or endpoint is named, else rules).")
    model: str | None = Field(None, description="Model name for the openai backend.")
    api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("EXTRACTOR_API_KEY", "OPENAI_API_KEY", "api_key"))
    base_url: str | None = Field(
        None, validation_alias=AliasChoices("EXTRACTOR_BASE_URL", "OPENAI_BASE_URL", "base_url"))
    mode: Literal["tools", "json_schema", "md_json"] = Field(
        "tools", description="instructor mode: what structured output the server supports.")
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(8192, gt=0, description="Answer budget: a dense 4,000-character chunk can need ~7,500.")
    max_retries: int = Field(2, ge=0, le=10, description="instructor re-asks after a validation failure.")
    transport_retries: int = Field(5, ge=0, le=20, description="tenacity attempts for 429/5xx/timeouts.")
    backoff_max: float = Field(30.0, gt=0, description="Cap in seconds of one backoff wait.")
    timeout: float = Field(120.0, gt=0, description="Seconds before one request is abandoned.")
    concurrency: int = Field(8, ge=1, le=256)
    rpm: int | None = Field(None, gt=0, description="Requests-per-minute limit, if the endpoint has one.")

    chunk_chars: int = Field(4000, ge=200, le=50000, description="Chunk budget in characters (~3,200 tokens).")
    to_simplified: bool = Field(True, description="Convert text written in traditional characters to simplified.")
    max_file_mb: float = Field(200.0, gt=0, description="Larger input files are refused (guards memory).")

    prompts: Path | None = Field(None, description="Folder with system.md and user.md to use instead of the shipped prompts.")
    lexicon: Path | None = Field(None, description="TOML lexicon to use instead of the shipped one (rules backend).")
    cache_dir: Path = Path("cache")
    use_cache: bool = True
    keep_ungrounded: bool = False
    fuzzy_threshold: float = Field(90.0, ge=50, le=100, description="Minimum fuzzy score to ground evidence.")

    def resolved_backend(self) -> str:
        """'auto' means openai as soon as a model or an endpoint is named (never a silent
        fallback to rules then), else the offline rules."""
        if self.backend != "auto":
            return self.backend
        return "openai" if self.model or self.base_url else "rules"

    def check_backend(self) -> None:
        """Raise ConfigError when the chosen backend lacks what it needs to run."""
        if self.resolved_backend() != "openai":
            return
        if not self.model:
            raise ConfigError("an LLM endpoint needs a model: give --model (or --backend rules for the offline rules)")
        if not (self.base_url or self.api_key):
            raise ConfigError(f"model {self.model!r} needs an endpoint: give --base-url, or set OPENAI_API_KEY "
                              "for api.openai.com")

    def public_dict(self) -> dict[str, Any]:
        """Settings as written to run.json: never the key itself, nor credentials in the URL."""
        data = self.model_dump(mode="json")
        data["api_key"] = "set" if self.api_key else None
        data["base_url"] = redact_url(self.base_url) if self.base_url else None
        return data


def redact_url(url: str) -> str:
    """A URL fit to print: user and password, and key-like query values, replaced by ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = re.sub(r"(?i)((?:api[-_]?)?key|token|secret|password|sig)=[^&]*", r"\1=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from file, environment and overrides; raise ConfigError with one line."""
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            # keys as the flags are written (base-url) or as the settings are named (base_url)
            values.update({key.replace("-", "_"): value for key, value in
                           tomllib.loads(Path(config_file).read_text(encoding="utf-8")).items()})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{config_file}: cannot read config: {exc}") from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {err['msg']}") from None
