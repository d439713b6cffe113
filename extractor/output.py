"""Output: merged records -> files researchers and downstream tools read.

Per report `<report-id>.json` (the guide's fields, plus provenance beside the records),
`records.jsonl` (one record per line, provenance inline), one CSV per record type, and
`run.json`. Every file is written to a temporary name and renamed, so an interrupted run
never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from .ground import GroundedRecord
from .ingest import Report
from .models import RECORD_MODELS, ReportOutput

KINDS = ("targets", "projects", "commitments")


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report_output(report: Report, records: list[GroundedRecord]) -> ReportOutput:
    by_kind = {k: [g for g in records if g.kind == k] for k in KINDS}
    return ReportOutput(
        source=report.source, title=report.title, lines=report.lines, region=report.region,
        report_type=report.report_type, review_period=report.review_period, plan_year=report.plan_year,
        report_id=report.report_id,
        **{k: [g.record for g in items] for k, items in by_kind.items()},
        provenance={k: [g.provenance for g in items] for k, items in by_kind.items()},
    )


def flat_rows(output: ReportOutput) -> list[dict]:
    rows = []
    for kind in KINDS:
        for record, prov in zip(getattr(output, kind), output.provenance.get(kind, [])):
            rows.append({"report_id": output.report_id, "source": output.source, "region": output.region,
                         "type": kind, **record.model_dump(mode="json"),
                         "span": list(prov.span) if prov.span else None,
                         "lines": list(prov.lines) if prov.lines else None,
                         "section": prov.section, "match": prov.match})
    return rows


def _csv_fields(kind: str) -> list[str]:
    return ["report_id", "source", "region", *RECORD_MODELS[kind].model_fields, "lines", "section", "match"]


class RunWriter:
    """Writes each report's file as soon as the report is done and renders its lines of the
    run-wide files then, so that finishing the run only joins text: the end of a run is not
    spent serializing thousands of records."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self._jsonl: dict[str, str] = {}
        self._csv: dict[str, dict[str, str]] = {}

    def add(self, output: ReportOutput) -> None:
        write_atomic(self.out_dir / f"{output.report_id}.json", output.model_dump_json(indent=1) + "\n")
        rows = flat_rows(output)
        self._jsonl[output.report_id] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        self._csv[output.report_id] = {}
        for kind in KINDS:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=_csv_fields(kind), extrasaction="ignore")
            writer.writerows({**row, "lines": "-".join(map(str, row["lines"] or []))}
                             for row in rows if row["type"] == kind)
            self._csv[output.report_id][kind] = buffer.getvalue()

    def finish(self, outputs: list[ReportOutput], run_info: dict) -> None:
        """records.jsonl, one CSV per record type (in input order), and run.json."""
        ids = [output.report_id for output in outputs]
        write_atomic(self.out_dir / "records.jsonl", "".join(self._jsonl[i] for i in ids))
        for kind in KINDS:
            header = io.StringIO()
            csv.DictWriter(header, fieldnames=_csv_fields(kind)).writeheader()
            body = "".join(self._csv[i][kind] for i in ids)
            write_atomic(self.out_dir / f"{kind}.csv", "\ufeff" + header.getvalue() + body)  # BOM: Excel reads UTF-8
        write_atomic(self.out_dir / "run.json", json.dumps(run_info, ensure_ascii=False, indent=1) + "\n")
