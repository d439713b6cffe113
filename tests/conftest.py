"""Shared fixtures. Tests that read ../shared skip cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SAMPLE = ROOT / "samples" / "sample_report.txt"


@pytest.fixture
def shared() -> Path:
    if not (SHARED / "reports").is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
def shared_reports(shared: Path) -> list[Path]:
    return sorted((shared / "reports").glob("*.txt"))
