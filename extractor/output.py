"""Output: merged records -> files researchers and downstream tools read.

Per report `reports/<report-id>.json` (the guide's fields, plus provenance beside the records
and the report's completeness), `records.jsonl` (one record per line, provenance inline), one
CSV per record type, and `run.json`.

The files in OUT always come from one run. A run writes into OUT/.partial/ and moves its files
in only when it completes, removing the previous run's; a run that stops early leaves the
previous outputs as they were. Files in OUT are written to a temporary name and renamed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from .ground import GroundedRecord
from .ingest import Report
from .models import KINDS, RECORD_MODELS, Derived, FailedChunk, ReportOutput

REPORTS_DIR = "reports"
RUN_FILES = ("records.jsonl", *(f"{kind}.csv" for kind in KINDS), "run.json")
STAGING = ".partial"
# Made from a run by other commands (extractor review, extractor table): a new run removes them.
DERIVED = ("review.html", "review", "tables")


class OutputError(Exception):
    """An output directory cannot be used; str() is one line naming it and the cause."""


@lru_cache(maxsize=1)
def _file_mode() -> int:
    """0666 less the process umask: what open() would give (mkstemp's files are 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write text (UTF-8) or bytes to a temporary name beside path, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if isinstance(content, bytes)
              else os.fdopen(fd, "w", encoding="utf-8", newline="")) as handle:
            handle.write(content)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_run_dir(path: Path) -> bool:
    """True when a directory holds the outputs of a run of this tool."""
    try:
        info = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and "extractor_version" in info


def prepare_out_dir(out_dir: Path) -> Path:
    """Check that OUT can take a run before any work is done; return the staging directory.
    OUT must be new, empty, or hold an earlier run of this tool."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: is a file, not a directory for outputs")
    if out_dir.is_dir() and not is_run_dir(out_dir) and any(p.name != STAGING for p in out_dir.iterdir()):
        raise OutputError(f"{out_dir}: not empty and holds no extractor run; give a new or empty directory")
    staging = out_dir / STAGING
    try:
        shutil.rmtree(staging, ignore_errors=True)
        (staging / REPORTS_DIR).mkdir(parents=True)
        probe = staging / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot write there ({exc.strerror or exc})") from None
    return staging


def report_output(report: Report, records: list[GroundedRecord],
                  failed_chunks: list[FailedChunk] | None = None) -> ReportOutput:
    by_kind = {k: [g for g in records if g.kind == k] for k in KINDS}
    return ReportOutput(
        source=report.source, title=report.title, lines=report.lines, region=report.region,
        report_type=report.report_type, review_period=report.review_period, plan_year=report.plan_year,
        report_id=report.report_id, complete=not failed_chunks, failed_chunks=failed_chunks or [],
        **{k: [g.record for g in items] for k, items in by_kind.items()},
        provenance={k: [g.provenance for g in items] for k, items in by_kind.items()},
    )


def flat_rows(output: ReportOutput) -> list[dict]:
    rows = []
    for kind in KINDS:
        for record, prov in zip(getattr(output, kind), output.provenance.get(kind, [])):
            rows.append({"report_id": output.report_id, "source": output.source, "region": output.region,
                         "report_type": output.report_type, "review_period": output.review_period,
                         "plan_year": output.plan_year, "title": output.title,
                         "report_complete": output.complete, "type": kind, **record.model_dump(mode="json"),
                         **prov.derived.model_dump(mode="json"),
                         "span": list(prov.span) if prov.span else None,
                         "lines": list(prov.lines) if prov.lines else None,
                         "section": prov.section, "match": prov.match, "problem": prov.problem,
                         "source_span": list(prov.source_span) if prov.source_span else None,
                         "source_position": list(prov.source_position) if prov.source_position else None,
                         "source_text": prov.source_text})
    return rows


def _csv_fields(kind: str) -> list[str]:
    return ["report_id", "source", "region", "report_type", "review_period", "plan_year", "title", "report_complete",
            *RECORD_MODELS[kind].model_fields, *Derived.model_fields,
            "span_start", "span_end", "line_start", "line_end", "section", "match", "problem",
            "source_start", "source_end", "source_line", "source_column", "source_text"]


def _csv_row(row: dict) -> dict:
    span, lines = row["span"] or [None, None], row["lines"] or [None, None]
    source, position = row["source_span"] or [None, None], row["source_position"] or [None, None]
    return {**row, "span_start": span[0], "span_end": span[1], "line_start": lines[0], "line_end": lines[1],
            "source_start": source[0], "source_end": source[1], "source_line": position[0],
            "source_column": position[1]}


class RunWriter:
    """Writes each report's file into the staging directory as soon as the report is done, and
    appends its lines of the run-wide files to one unordered file each, noting where they are;
    `finish` copies them out in input order and moves the run into OUT, `abort` drops it.
    Nothing of a report stays in memory but that note, so memory is flat in the run's size, and a
    report costs four appends rather than four files. Reports finish in worker threads: a lock
    keeps their appends whole. Files inside the staging directory need no atomic writes of their
    own: the directory becomes visible only when the run is complete."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.staging = prepare_out_dir(out_dir)
        self._lines = {name: open(self.staging / f".{name}.unordered", "w+b") for name in RUN_FILES[:-1]}
        self._where: dict[str, dict[str, tuple[int, int]]] = {}  # report id -> file -> (offset, length)
        self._lock = threading.Lock()

    def add(self, output: ReportOutput) -> None:
        _write(self.staging / REPORTS_DIR / f"{output.report_id}.json", output.model_dump_json(indent=1) + "\n")
        rows = flat_rows(output)
        texts = {"records.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)}
        for kind in KINDS:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=_csv_fields(kind), extrasaction="ignore")
            writer.writerows(_csv_row(row) for row in rows if row["type"] == kind)
            texts[f"{kind}.csv"] = buffer.getvalue()
        with self._lock:
            where = self._where[output.report_id] = {}
            for name, text in texts.items():
                handle = self._lines[name]
                data = text.encode("utf-8")
                where[name] = (handle.seek(0, os.SEEK_END), len(data))
                handle.write(data)

    def finish(self, report_ids: list[str], run_info: dict) -> None:
        """records.jsonl, one CSV per record type (in input order) and run.json; then the run
        replaces the previous one in OUT."""
        heads = {"records.jsonl": ""}
        for kind in KINDS:
            header = io.StringIO()
            csv.DictWriter(header, fieldnames=_csv_fields(kind)).writeheader()
            heads[f"{kind}.csv"] = "\ufeff" + header.getvalue()  # BOM: Excel reads UTF-8
        for name in self._lines:
            self._join(name, heads[name], report_ids)
        self._close()
        write_atomic(self.staging / "run.json", json.dumps(run_info, ensure_ascii=False, indent=1) + "\n")
        self._commit(report_ids)

    def _join(self, name: str, head: str, report_ids: list[str]) -> None:
        """One run-wide file: its head, then each report's lines in input order."""
        handle = self._lines[name]
        with open(self.staging / name, "wb") as out:
            out.write(head.encode("utf-8"))
            for report_id in report_ids:
                offset, length = self._where[report_id][name]
                handle.seek(offset)
                out.write(handle.read(length))

    def _close(self) -> None:
        for handle in self._lines.values():
            handle.close()
            Path(handle.name).unlink(missing_ok=True)

    def _commit(self, ids: list[str]) -> None:
        """Replace the previous run by this one: run-wide files one by one (each atomically),
        the reports folder by two renames, run.json last."""
        out, staging = self.out_dir, self.staging
        for stale in _previous_report_files(out):  # the layout before reports/ had them at the top
            stale.unlink(missing_ok=True)
        for name in DERIVED:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            else:
                (out / name).unlink(missing_ok=True)
        for name in RUN_FILES[:-1]:
            os.replace(staging / name, out / name)
        if (out / REPORTS_DIR).exists():
            os.replace(out / REPORTS_DIR, staging / "previous-reports")
        os.replace(staging / REPORTS_DIR, out / REPORTS_DIR)
        os.replace(staging / "run.json", out / "run.json")
        shutil.rmtree(staging, ignore_errors=True)

    def abort(self) -> None:
        self._close()
        shutil.rmtree(self.staging, ignore_errors=True)


def _previous_report_files(out_dir: Path) -> list[Path]:
    try:
        info = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [out_dir / f"{r['report_id']}.json" for r in info.get("reports", []) if isinstance(r, dict)
            and isinstance(r.get("report_id"), str) and "/" not in r["report_id"]]


def report_files(out_dir: Path) -> list[Path]:
    """The report JSON files of a run directory (also of the layout before reports/)."""
    folder = out_dir / REPORTS_DIR
    if folder.is_dir():
        return sorted(folder.glob("*.json"))
    return sorted(p for p in out_dir.glob("*.json") if p.name != "run.json")
