"""The main job: files -> reports -> chunks -> records -> grounded, merged report JSON.

Each input file is read on its own: a bad file is reported in one line and the others go
on. Every input gets a name and report ids of its own for the run (two files called
report.txt in different folders stay two reports), and a file given twice is read once.
The run streams: one concurrency bound spans all reports, a file's chunks go out as soon
as it is read, and each report is grounded, merged and written as soon as its chunks are back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import fnmatch
import gc
import os
import platform
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Coroutine, Iterator, TypeVar

from . import __version__
from .chunk import Chunk, Section, build_sections, make_chunks
from .config import Settings
from .cost import bill, load_prices
from .derive import derive
from .backends import make_backend
from .backends.base import Backend, Usage
from .extraction import ChunkExtractor, ChunkOutcome
from .ground import Dropped, EvidenceLocator, ground
from .ingest import IngestError, Report, display_path, file_sha256, load_document, split_reports
from .merge import merge
from .models import FailedChunk, ReportOutput
from .output import RunWriter, report_output


T = TypeVar("T")


@dataclass(frozen=True)
class Input:
    """One input file as the run names it: `source` (its file name, with as many of its folders
    as tell it apart from the other inputs) goes into the outputs; `base_id` is the stem of its
    report ids, unique in the run (r.txt and r.html give r and r-html)."""

    path: Path
    source: str
    base_id: str


SUPPORTED = (".txt", ".html", ".htm", ".xhtml", ".docx", ".pdf")


@dataclass
class Expanded:
    """The files a run reads: folders expanded; what was skipped in them, by extension."""

    files: list[Path]
    skipped: Counter[str] = field(default_factory=Counter)


def expand_inputs(paths: list[Path], pattern: str = "*") -> Expanded:
    """Files as given, and every supported file under a folder, recursively, in a stable order;
    hidden files and folders are skipped, and `pattern` (a glob on the file name) narrows."""
    out = Expanded([])
    for path in paths:
        if not path.is_dir():
            out.files.append(path)
            continue
        for found in sorted(path.rglob("*")):
            relative = found.relative_to(path).parts
            if any(part.startswith(".") for part in relative) or not found.is_file():
                continue
            if found.suffix.lower() not in SUPPORTED:
                out.skipped[found.suffix.lower() or "(none)"] += 1
            elif fnmatch.fnmatch(found.name, pattern):
                out.files.append(found)
            else:
                out.skipped["not matching --glob"] += 1
    return out


def name_inputs(paths: list[Path]) -> tuple[list[Input], list[str]]:
    """Inputs with names and ids unique in the run, and a warning per file given twice."""
    warnings: list[str] = []
    seen: set[Path] = set()
    unique: list[Path] = []
    for path in paths:
        try:
            key = path.resolve()
        except (OSError, RuntimeError):
            key = path.absolute()
        if key in seen:
            warnings.append(f"{display_path(path)}: given more than once; read once")
            continue
        seen.add(key)
        unique.append(path)
    parts = [p.absolute().parts for p in unique]
    inputs, ids = [], set()
    for path, own in zip(unique, parts):
        # The file name, or as many of its last folders as tell it from every other input.
        depth = 1
        while depth < len(own) and any(other != own and other[-depth:] == own[-depth:] for other in parts):
            depth += 1
        source = display_path("/".join(own[-depth:]))
        base_id = re.sub(r"[/\\]+", "__", source.rsplit(".", 1)[0] if "." in own[-1] else source).lstrip(".") or "report"
        if base_id in ids:
            base_id = f"{base_id}-{path.suffix.lstrip('.') or 'file'}"
        n = 2
        while base_id in ids:
            base_id, n = f"{base_id.rsplit('~', 1)[0]}~{n}", n + 1
        ids.add(base_id)
        inputs.append(Input(path, source, base_id))
    return inputs, warnings


@dataclass
class Prepared:
    report: Report
    sections: list[Section]
    chunks: list[Chunk]


@dataclass(frozen=True)
class ReportSummary:
    """What a run says of a report once it is written (the report itself need not stay in memory)."""

    report_id: str
    source: str
    region: str | None
    lines: tuple[int, int]
    complete: bool
    failed_chunks: int
    counts: dict[str, int]

    @classmethod
    def of(cls, output: ReportOutput) -> ReportSummary:
        return cls(output.report_id, output.source, output.region, output.lines, output.complete,
                   len(output.failed_chunks), {k: len(getattr(output, k)) for k in ("targets", "projects", "commitments")})


@dataclass
class RunResult:
    outputs: list[ReportOutput] = field(default_factory=list)  # when the run keeps them (the API, tests)
    summaries: list[ReportSummary] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    chunk_errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    invalid_records: list[dict] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # files read, by what they are (txt, pdf ...)
    skipped: Counter[str] = field(default_factory=Counter)  # files in folders not read, by extension
    usage: Usage = field(default_factory=Usage)
    ungrounded: int = 0
    unsupported: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = ""
    prompt_hash: str = ""  # of the prompts the backend sent, if it sends any
    lexicon_hash: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.file_errors or self.chunk_errors)

    @property
    def incomplete(self) -> int:
        return sum(not s.complete for s in self.summaries)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run (Python 3.11) formats the main task's result into an
        # error message it discards when it restores the SIGINT handler; a full repr of every
        # record cost ~0.3 s per run.
        return (f"RunResult(reports={len(self.summaries)}, file_errors={len(self.file_errors)}, "
                f"chunk_errors={len(self.chunk_errors)})")


@contextlib.contextmanager
def _fewer_gc_pauses() -> Iterator[None]:
    """A run allocates millions of short-lived objects (records, HTTP structures) that form few
    cycles; at CPython's default threshold (a collection per 700 allocations) the collector
    stalls every request in flight hundreds of times a run (about a fifth of the wall time at
    concurrency 32, benchmarks/RESULTS.md). Collect less often while the run lasts."""
    previous = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def prepare_file(item: Input, settings: Settings, warnings: list[str] | None = None) -> list[Prepared]:
    """Ingest and chunk one file (it may hold many reports); raises IngestError."""
    document = load_document(item.path, settings.to_simplified, source=item.source,
                             max_bytes=int(settings.max_file_mb * 1e6))
    if warnings is not None:
        warnings.extend(f"{display_path(item.path)}: {w}" for w in document.warnings)
    prepared = []
    for report in split_reports(document, item.base_id):
        if not report.is_report:
            if warnings is not None:
                warnings.append(f"{display_path(item.path)}: not a report (no title, year, or review or plan part "
                                "found): metadata left unknown, nothing extracted")
            prepared.append(Prepared(report, [], []))
            continue
        sections = build_sections(report)
        prepared.append(Prepared(report, sections, make_chunks(report, settings.chunk_chars, sections)))
    return prepared


def prepare(paths: list[Path], settings: Settings, errors: list[str],
            warnings: list[str] | None = None, pattern: str = "*") -> list[Prepared]:
    """Ingest and chunk every file (folders expanded); unreadable files go to `errors` as one
    line each."""
    inputs, duplicates = name_inputs(expand_inputs(paths, pattern).files)
    if warnings is not None:
        warnings.extend(duplicates)
    prepared = []
    for item in inputs:
        try:
            prepared.extend(prepare_file(item, settings, warnings))
        except IngestError as exc:
            errors.append(str(exc))
    return prepared


class _Progress:
    """A progress bar whose total grows as files are read; silent when disabled."""

    def __init__(self, enabled: bool):
        self.bar = self.task = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task("extracting", total=0)

    def add(self, chunks: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=self.bar.tasks[0].total + chunks)

    def advance(self, outcome: ChunkOutcome) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)


async def run_async(paths: list[Path], settings: Settings, backend: Backend | None = None,
                    show_progress: bool | None = None,
                    on_report: Callable[[ReportOutput], None] | None = None, pattern: str = "*",
                    keep_outputs: bool = True) -> RunResult:
    """Stream the run: a file's chunks are sent as soon as it is read, and a report is grounded,
    merged (and handed to `on_report`) as soon as its chunks are back, so local work overlaps
    the endpoint's latency. Outputs keep the order of the inputs."""
    with _fewer_gc_pauses():
        expanded = expand_inputs(paths, pattern)
        result = await _run(expanded.files, settings, backend, show_progress, on_report, keep_outputs)
        result.skipped = expanded.skipped
        return result


async def _run(paths: list[Path], settings: Settings, backend: Backend | None, show_progress: bool | None,
               on_report: Callable[[ReportOutput], None] | None, keep_outputs: bool = True) -> RunResult:
    result = RunResult()
    started = time.perf_counter()
    backend = backend or make_backend(settings)
    result.backend = backend.name
    result.prompt_hash = getattr(backend, "prompt_hash", "")
    result.lexicon_hash = getattr(backend, "lexicon_hash", "")
    show = sys.stderr.isatty() if show_progress is None else show_progress
    progress = _Progress(show and backend.name != "rules")
    # Backpressure: files are read while requests are in flight, but only so far ahead that the
    # chunks waiting for a request slot stay a few times the concurrency; reading a whole corpus
    # ahead would hold all of it in memory.
    waiting = {"chunks": 0}
    room = asyncio.Condition()
    ahead = max(READ_AHEAD_MIN, READ_AHEAD * settings.concurrency)

    def chunk_done(outcome: ChunkOutcome) -> None:
        progress.advance(outcome)
        waiting["chunks"] -= 1
        if waiting["chunks"] < ahead:
            asyncio.get_running_loop().create_task(_notify(room))

    extractor = ChunkExtractor(backend, settings, chunk_done)
    timings = {"ingest_chunk_s": 0.0, "ground_merge_s": 0.0}

    async def finish(item: Prepared) -> tuple[ReportSummary, ReportOutput | None]:
        """A report's summary (and the report itself when the run keeps them: a corpus-sized run
        holds only summaries, the reports go to `on_report` and out of memory)."""
        outcomes = await extractor.extract_many(item.chunks)
        for outcome in outcomes:
            result.usage.add(outcome.usage)
            chunk = outcome.chunk
            if outcome.error:
                result.chunk_errors.append({"report_id": chunk.report_id, "chunk": chunk.index,
                                            "section": chunk.section_path, "error": outcome.error})
            result.invalid_records.extend({"report_id": chunk.report_id, "chunk": chunk.index, "record": line}
                                          for line in outcome.dropped)
        # In a thread, like reading: the loop stays free to answer the requests in flight.
        output, lost, seconds = await asyncio.to_thread(_ground_and_merge, item, outcomes, settings, on_report)
        timings["ground_merge_s"] += seconds
        result.ungrounded += lost.ungrounded
        result.unsupported += lost.unsupported
        return ReportSummary.of(output), (output if keep_outputs else None)

    tasks: dict[int, list[asyncio.Task[tuple[ReportSummary, ReportOutput | None]]]] = {}
    errors: dict[int, str] = {}
    warnings: dict[int, list[str]] = {}
    inputs, duplicates = name_inputs(paths)
    result.inputs = inputs
    try:
        with progress.bar or contextlib.nullcontext():
            # Smallest files first: their chunks fill the request slots at once, while a large
            # collection is still being read.
            for index in sorted(range(len(inputs)), key=lambda i: _size(inputs[i].path)):
                t0 = time.perf_counter()
                try:  # in a thread: the loop keeps serving responses while a large file is read
                    prepared = await asyncio.to_thread(prepare_file, inputs[index], settings,
                                                       warnings.setdefault(index, []))
                except IngestError as exc:
                    errors[index] = str(exc)
                    continue
                finally:
                    timings["ingest_chunk_s"] += time.perf_counter() - t0
                result.kinds[prepared[0].report.file_kind if prepared else "?"] += 1
                progress.add(sum(len(item.chunks) for item in prepared))
                waiting["chunks"] += sum(len(item.chunks) for item in prepared)
                tasks[index] = [asyncio.create_task(finish(item)) for item in prepared]
                await asyncio.sleep(0)  # let the new chunks' requests go out before reading on
                async with room:
                    await room.wait_for(lambda: waiting["chunks"] < ahead)
            done = await asyncio.gather(*(t for i in sorted(tasks) for t in tasks[i]))
            result.summaries = [summary for summary, _ in done]
            result.outputs = [output for _, output in done if output is not None]
            order = {s.report_id: n for n, s in enumerate(result.summaries)}
            result.chunk_errors.sort(key=lambda e: (order[e["report_id"]], e["chunk"]))
            result.file_errors = [errors[i] for i in sorted(errors)]
            result.warnings = duplicates + [w for i in sorted(warnings) for w in warnings[i]]
    finally:
        for task in (t for file_tasks in tasks.values() for t in file_tasks):
            task.cancel()
        await backend.aclose()
    result.timings = {**timings, "total_s": time.perf_counter() - started}
    return result


READ_AHEAD = 2  # chunks read ahead of the requests, per request slot ...
READ_AHEAD_MIN = 64  # ... and at least this many


async def _notify(room: asyncio.Condition) -> None:
    async with room:
        room.notify_all()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:  # reported when the file is read
        return 0


def _ground_and_merge(item: Prepared, outcomes: list[ChunkOutcome], settings: Settings,
                      on_report: Callable[[ReportOutput], None] | None) -> tuple[ReportOutput, Dropped, float]:
    """One report's output, how many records grounding dropped, and the seconds spent."""
    started = time.perf_counter()
    locator = EvidenceLocator(item.report, item.sections, settings.fuzzy_threshold)
    grounded, lost = [], Dropped()
    failed: list[FailedChunk] = []
    for outcome in outcomes:
        if outcome.records is not None:
            grounded.extend(ground(locator, outcome.chunk, outcome.records, settings.keep_ungrounded, lost))
        else:
            chunk = outcome.chunk
            failed.append(FailedChunk(chunk=chunk.index, section=chunk.section_path,
                                      lines=item.report.lines_of_span(chunk.start, chunk.end),
                                      error=outcome.error or "failed"))
    merged = merge(grounded)
    for item_record in merged:
        item_record.provenance.derived = derive(item_record.record, item.report.review_period or "")
    output = report_output(item.report, merged, failed)
    if on_report:
        on_report(output)
    return output, lost, time.perf_counter() - started


def run_info(result: RunResult, settings: Settings, argv: list[str] | None = None,
             started_at: str = "", prices: Path | None = None) -> dict:
    """The run.json record: what ran, on which inputs, with which settings, and what it cost.
    No secrets."""
    counts = {k: sum(s.counts[k] for s in result.summaries) for k in ("targets", "projects", "commitments")}
    return {
        "extractor_version": __version__, "python": platform.python_version(),
        "command": [display_path(arg) for arg in argv or []], "started_at": started_at,
        "finished_at": _now(),
        "backend": result.backend, "settings": settings.public_dict(),
        "prompts": display_path(os.path.abspath(settings.prompts)) if settings.prompts else "shipped",
        "prompt_hash": result.prompt_hash or None, "lexicon_hash": result.lexicon_hash or None,
        "inputs": [{"path": display_path(os.path.abspath(i.path)), "source": i.source,
                    "sha256": file_sha256(i.path) if i.path.is_file() else None}
                   for i in result.inputs],
        "reports": [{"report_id": s.report_id, "source": s.source, "region": s.region, "lines": list(s.lines),
                     "complete": s.complete, **s.counts} for s in result.summaries],
        "counts": counts, "incomplete_reports": result.incomplete,
        "ungrounded_dropped": result.ungrounded, "unsupported_dropped": result.unsupported,
        "files_read": dict(result.kinds), "files_skipped": dict(result.skipped),
        "cost": bill(settings.model if result.backend == "openai" else None, result.usage.prompt_tokens,
                     result.usage.cached_prompt_tokens, result.usage.completion_tokens, load_prices(prices)).as_json(),
        "usage": vars(result.usage), "warnings": result.warnings, "file_errors": result.file_errors,
        "chunk_errors": result.chunk_errors, "invalid_records": result.invalid_records,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from code that is not async. Where an event loop is already
    running (a notebook, a browser-automation script), it gets a loop of its own in a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run(paths: list[Path], settings: Settings, out_dir: Path, backend: Backend | None = None,
        show_progress: bool | None = None, argv: list[str] | None = None, pattern: str = "*",
        prices: Path | None = None, keep_outputs: bool = True) -> RunResult:
    """Run and write: each report file as soon as it is done, the run-wide files at the end,
    and then the run replaces the previous one in out_dir. Raises OutputError before any work
    when out_dir cannot take a run; a run that stops early (RunAborted, Ctrl-C) leaves
    out_dir as it was."""
    started_at = _now()
    backend = backend or make_backend(settings)
    try:
        writer = RunWriter(out_dir)
    except BaseException:
        run_sync(backend.aclose())
        raise
    try:
        result = run_sync(run_async(paths, settings, backend, show_progress, on_report=writer.add, pattern=pattern,
                                    keep_outputs=keep_outputs))
        writer.finish([s.report_id for s in result.summaries], run_info(result, settings, argv, started_at, prices))
    except BaseException:
        writer.abort()
        raise
    return result
