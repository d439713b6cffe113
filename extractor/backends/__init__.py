"""Backends turn chunks into records behind one interface (base.Backend).

A backend is one module; it is found by name through this registry and imported only when a run
uses it, so the offline rules never import the LLM client libraries. A third backend (a local
model, another SDK) is one new module and one line in BACKENDS, or `register()` from outside.
"""

from __future__ import annotations

import importlib
from typing import Callable

from ..config import ConfigError, Settings
from .base import Backend

# name -> "module:factory"; a factory takes the run's Settings and returns a Backend.
BACKENDS: dict[str, str] = {
    "rules": "extractor.backends.rules:from_settings",
    "openai": "extractor.backends.openai:OpenAIBackend",
}


def register(name: str, target: str) -> None:
    """Make a backend available by name: target is "module:factory"."""
    BACKENDS[name] = target


def factory(name: str) -> Callable[[Settings], Backend]:
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r} (known: {', '.join(sorted(BACKENDS))})")
    module, _, attribute = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def make_backend(settings: Settings) -> Backend:
    """The configured backend; raises ConfigError when its settings are incomplete."""
    settings.check_backend()
    return factory(settings.resolved_backend())(settings)
