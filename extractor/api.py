"""The Python API, for notebooks and scripts:

    from extractor import extract, Settings
    reports = extract("samples/sample_report.txt")                 # rules backend, nothing written
    reports = extract(["a.txt", "b.html"], Settings(model="deepseek-chat", base_url="https://api.deepseek.com/v1"))
    reports[0].targets[0].indicator, reports[0].provenance["targets"][0].lines

Inputs are paths, or report text given as a string. Nothing is written to disk (use the CLI or
`pipeline.run` for files); LLM answers are cached as configured. A file that cannot be read, or
a chunk that failed, is reported as a Python warning and the other inputs still come back.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Union

from .config import Settings, load_settings
from .eval import EvalResult
from .eval import evaluate as _evaluate
from .models import ReportOutput
from .pipeline import run_async, run_sync

Inputs = Union[str, Path, Iterable[Union[str, Path]]]


class ExtractionWarning(UserWarning):
    """An input or a chunk that yielded nothing; the message is the CLI's error line."""


def _is_text(item: str | Path) -> bool:
    """A string is report text, not a path, when it has a line break or names no file."""
    if isinstance(item, Path):
        return False
    if "\n" in item or len(item) > 1024:
        return True
    try:
        return not Path(item).exists()
    except (OSError, ValueError):
        return True


async def extract_async(inputs: Inputs, settings: Settings | None = None, **overrides: object) -> list[ReportOutput]:
    """The reports of the inputs, in input order. `overrides` are settings by name
    (e.g. backend="rules", chunk_chars=3000), applied over `settings` or the defaults."""
    settings = load_settings(**{**(settings.model_dump() if settings else {}), **overrides}) \
        if overrides or settings is None else settings
    items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    with tempfile.TemporaryDirectory(prefix="extractor-text-") as folder:
        paths = []
        for n, item in enumerate(items, start=1):
            if _is_text(item):
                path = Path(folder) / f"text-{n}.txt"
                path.write_text(str(item), encoding="utf-8")
                paths.append(path)
            else:
                paths.append(Path(item))
        result = await run_async(paths, settings, show_progress=False)
    for line in [*result.file_errors, *(f"{e['report_id']} chunk {e['chunk']}: {e['error']}"
                                        for e in result.chunk_errors)]:
        warnings.warn(line, ExtractionWarning, stacklevel=3)
    return result.outputs


def extract(inputs: Inputs, settings: Settings | None = None, **overrides: object) -> list[ReportOutput]:
    """extract_async, from code that is not async. In a notebook, whose event loop is already
    running, the run gets a loop of its own in a worker thread."""
    return run_sync(extract_async(inputs, settings, **overrides))


def evaluate(gold: str | Path, pred: str | Path, **options: object) -> EvalResult:
    """Score a run folder (or report file) against gold annotations; see eval.evaluate."""
    return _evaluate(Path(gold), Path(pred), **options)
