"""extractor: targets, projects and livelihood commitments from Chinese government reports.

    from extractor import extract, evaluate, Settings
    reports = extract("samples/sample_report.txt")

The API loads on first use, so that importing a part of the package (say the rules backend)
does not import the rest.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["extract", "extract_async", "evaluate", "Settings", "ReportOutput", "ExtractionWarning"]

_API = {"extract": "api", "extract_async": "api", "evaluate": "api", "ExtractionWarning": "api",
        "Settings": "config", "ReportOutput": "models"}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'extractor' has no attribute {name!r}")
