"""The main job: files -> reports -> chunks -> records -> grounded, merged report JSON.

Each input file is read on its own: a bad file is reported in one line and the others go
on. Chunks of all reports are extracted together, so concurrency spans the whole run.
"""

from __future__ import annotations

import asyncio
import hashlib
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .chunk import Chunk, Section, build_sections, make_chunks
from .config import Settings
from .extract import Backend, ChunkOutcome, Usage, extract_all, make_backend
from .ground import EvidenceLocator, ground
from .ingest import IngestError, Report, load_document, split_reports
from .merge import merge
from .models import ReportOutput
from .output import report_output, write_outputs


@dataclass
class Prepared:
    report: Report
    sections: list[Section]
    chunks: list[Chunk]


@dataclass
class RunResult:
    outputs: list[ReportOutput] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    chunk_errors: list[dict] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    ungrounded: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.file_errors or self.chunk_errors)


def prepare(paths: list[Path], settings: Settings, errors: list[str]) -> list[Prepared]:
    """Ingest and chunk every file; unreadable files go to `errors` as one line each."""
    prepared = []
    for path in paths:
        try:
            document = load_document(path, settings.to_simplified)
        except IngestError as exc:
            errors.append(str(exc))
            continue
        for report in split_reports(document):
            sections = build_sections(report)
            prepared.append(Prepared(report, sections, make_chunks(report, settings.chunk_chars, sections)))
    return prepared


def _progress(total: int, enabled: bool):
    if not enabled:
        return None, lambda outcome: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), transient=True)
    task = progress.add_task("extracting", total=total)
    return progress, lambda outcome: progress.advance(task)


async def run_async(paths: list[Path], settings: Settings, backend: Backend | None = None,
                    show_progress: bool | None = None) -> RunResult:
    result = RunResult()
    started = time.perf_counter()
    prepared = prepare(paths, settings, result.file_errors)
    result.timings["ingest_chunk_s"] = time.perf_counter() - started
    backend = backend or make_backend(settings)
    result.backend = backend.name
    chunks = [c for p in prepared for c in p.chunks]
    show = sys.stderr.isatty() if show_progress is None else show_progress
    progress, on_done = _progress(len(chunks), show and backend.name != "rules")
    t0 = time.perf_counter()
    try:
        if progress:
            with progress:
                outcomes = await extract_all(chunks, backend, settings, on_done)
        else:
            outcomes = await extract_all(chunks, backend, settings, on_done)
    finally:
        await backend.aclose()
    result.timings["extract_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    by_report: dict[str, list[ChunkOutcome]] = {}
    for outcome in outcomes:
        by_report.setdefault(outcome.chunk.report_id, []).append(outcome)
        result.usage.add(outcome.usage)
        if outcome.error:
            result.chunk_errors.append({"report_id": outcome.chunk.report_id, "chunk": outcome.chunk.index,
                                        "section": outcome.chunk.section_path, "error": outcome.error})
    for item in prepared:
        locator = EvidenceLocator(item.report, item.sections, settings.fuzzy_threshold)
        grounded = []
        for outcome in by_report.get(item.report.report_id, []):
            if outcome.records is not None:
                records, dropped = ground(locator, outcome.chunk, outcome.records, settings.keep_ungrounded)
                grounded.extend(records)
                result.ungrounded += dropped
        result.outputs.append(report_output(item.report, merge(grounded)))
    result.timings["ground_merge_s"] = time.perf_counter() - t1
    result.timings["total_s"] = time.perf_counter() - started
    return result


def run_info(result: RunResult, settings: Settings, paths: list[Path]) -> dict:
    """The run.json record: what ran, with which settings, and what it cost. No secrets."""
    from .prompts import prompt_hash

    counts = {k: sum(len(getattr(o, k)) for o in result.outputs) for k in ("targets", "projects", "commitments")}
    return {
        "extractor_version": __version__, "python": platform.python_version(),
        "backend": result.backend, "settings": settings.public_dict(),
        "prompt_hash": prompt_hash(), "inputs": [str(p) for p in paths],
        "reports": [{"report_id": o.report_id, "source": o.source, "region": o.region, "lines": list(o.lines),
                     **{k: len(getattr(o, k)) for k in ("targets", "projects", "commitments")}}
                    for o in result.outputs],
        "counts": counts, "ungrounded_dropped": result.ungrounded,
        "usage": vars(result.usage), "file_errors": result.file_errors, "chunk_errors": result.chunk_errors,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
        "inputs_sha256": {str(p): hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in paths if p.is_file()},
    }


def run(paths: list[Path], settings: Settings, out_dir: Path, backend: Backend | None = None,
        show_progress: bool | None = None) -> RunResult:
    result = asyncio.run(run_async(paths, settings, backend, show_progress))
    write_outputs(out_dir, result.outputs, run_info(result, settings, paths))
    return result
