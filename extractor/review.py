"""Review: a self-contained HTML page per report that shows every record in the report's own
text, the eval's alignment against gold when given, and lets a reviewer correct the run and save
the result in the gold format (`extractor review OUT/ [--gold DIR]`).

The page needs no server and no network: the report text, the records and the page's script
are all inside it (template: extractor/templates/review.html.j2, plain JavaScript and CSS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from .chunk import build_sections
from .eval import SourceIndex, load_dir, pair_reports, run_inputs, score_report
from .ground import EvidenceLocator
from .ingest import IngestError, Report, load_document, split_reports
from .models import KEY_FIELD, KINDS, RECORD_MODELS
from .output import is_run_dir, write_atomic

REVIEW_DIR = "review"  # the pages of a run with several reports; OUT/review.html is their index
REPORT_FIELDS = ("source", "title", "lines", "region", "report_type", "review_period", "plan_year")


class ReviewError(Exception):
    """The run cannot be reviewed; str() is one line."""


@dataclass
class ReviewPages:
    index: Path
    pages: list[Path]


def _enums() -> dict[str, dict[str, list]]:
    """Per record type, the choices of each enum or boolean field (for the edit forms)."""
    out: dict[str, dict[str, list]] = {}
    for kind, model in RECORD_MODELS.items():
        choices = {}
        for name, info in model.model_fields.items():
            values = get_args(info.annotation)
            if values and all(isinstance(v, str) for v in values):
                choices[name] = list(values)
            elif info.annotation is bool:
                choices[name] = [True, False]
        out[kind] = choices
    return out


def _source_report(path: Path, data: dict) -> Report | None:
    """The report of a run, read again from its source through the same ingest."""
    try:
        reports = split_reports(load_document(path))
    except IngestError:
        return None
    lines = tuple(data.get("lines", ()))
    return next((r for r in reports if r.lines == lines), None) or \
        next((r for r in reports if r.region == data.get("region")), None)


def _page_data(data: dict, report: Report | None, score: object | None, storage_key: str) -> dict:
    """Everything the page shows, as JSON-ready data. Offsets are relative to `text`: the
    report's lines of the file as read when the file is plain text (else its normalized text)."""
    if report is not None and report.original and report.offset_of:
        start = report.original.rfind("\n", 0, report.offset_of[0]) + 1
        end = report.original.find("\n", report.offset_of[-1])
        text = report.original[start: end if end >= 0 else len(report.original)]

        def place(span: tuple[int, int] | None) -> list[int] | None:
            if span is None:
                return None
            a, b = report.source_span(*span)
            return [a - start, b - start]
    else:
        text, start = (report.text if report else ""), 0

        def place(span: tuple[int, int] | None) -> list[int] | None:
            return list(span) if span else None

    records = []
    spurious = {id(r) for kind in KINDS for r in (score.spurious[kind] if score else [])}
    mismatched = {id(p): (g, fields) for kind in KINDS for g, p, fields in (score.mismatches[kind] if score else [])}
    for kind in KINDS:
        for n, (record, prov) in enumerate(zip(data.get(kind, []), data.get("provenance", {}).get(kind, []))):
            entry = {"id": f"{kind[0]}{n}", "type": kind, "fields": record, "origin": "pred",
                     "span": place(tuple(prov["span"])) if prov.get("span") else None,
                     "section": prov.get("section", ""), "match": prov.get("match", ""),
                     "problem": prov.get("problem"), "lines": prov.get("lines")}
            if score is not None:
                if id(record) in spurious:
                    entry["eval"] = "spurious"
                elif id(record) in mismatched:
                    gold, fields = mismatched[id(record)]
                    entry["eval"] = "mismatch"
                    entry["mismatches"] = [{"field": f, "gold": gold.get(f), "pred": record.get(f)} for f in fields]
                else:
                    entry["eval"] = "matched"
            records.append(entry)
    if score is not None:
        locator = EvidenceLocator(report, build_sections(report)) if report is not None else None
        for kind in KINDS:
            for n, gold in enumerate(score.missed[kind]):
                span = locator.locate(gold["evidence"])[0] if locator else None
                records.append({"id": f"g{kind[0]}{n}", "type": kind, "fields": gold, "origin": "gold",
                                "eval": "missed", "span": place(span), "section": "", "match": "gold",
                                "problem": None, "lines": None})
    headings = []
    if report is not None:
        for section in build_sections(report):
            end = section.start + len(section.heading.removesuffix("…"))
            headings.append({"span": place((section.start, end)), "level": section.level, "path": section.path_text})
    scores = None
    if score is not None:
        scores = {kind: dict(zip(("precision", "recall", "f1"), score.counts[kind].prf())) |
                  {"gold": score.counts[kind].gold, "pred": score.counts[kind].pred,
                   "matched": score.counts[kind].matched} for kind in (*KINDS, "headline_targets")}
    failed = []
    for chunk in data.get("failed_chunks", []):
        failed.append({**chunk, "at": _line_offset(text, chunk["lines"][0] - (data["lines"][0]))})
    return {"report": {k: data.get(k) for k in (*REPORT_FIELDS, "report_id", "complete")},
            "text": text, "records": records, "headings": headings, "scores": scores, "failed": failed,
            "enums": _enums(), "fields": {k: list(m.model_fields) for k, m in RECORD_MODELS.items()},
            "key_field": KEY_FIELD, "storage_key": storage_key}


def _line_offset(text: str, line_index: int) -> int:
    offset = 0
    for _ in range(max(0, line_index)):
        nxt = text.find("\n", offset)
        if nxt < 0:
            break
        offset = nxt + 1
    return offset


def _render(template: str, **context: object) -> str:
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("extractor", "templates"),
                                     autoescape=jinja2.select_autoescape(["html", "j2"]))
    return environment.get_template(template).render(**context)


def _json_for_script(data: object) -> str:
    """JSON safe inside <script type="application/json">: no '</' can end the element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def build_review(out_dir: Path, gold: Path | None = None) -> ReviewPages:
    """Write OUT/review.html (one report) or OUT/review.html as an index of OUT/review/<id>.html."""
    if not is_run_dir(out_dir):
        raise ReviewError(f"{out_dir}: holds no extractor run (no run.json); run `extractor run ... --out {out_dir}`")
    preds = load_dir(out_dir, validate=False)
    inputs = run_inputs(out_dir)
    info = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    scores: dict[int, object] = {}
    if gold is not None:
        golds = load_dir(gold, validate=True)
        base = gold if gold.is_dir() else gold.parent
        sources = SourceIndex(inputs, None, base.parent / "reports")
        for gpath, gdata, pdata in pair_reports(golds, preds):
            if pdata is not None:
                scores[id(pdata)] = score_report(gpath.stem, gdata, pdata, sources, gpath)
    pages: list[Path] = []
    single = len(preds) == 1
    folder = out_dir if single else out_dir / REVIEW_DIR
    rows = []
    for _, data in preds:
        recorded = inputs.get(data.get("source", "")) or next(
            (v for k, v in inputs.items() if Path(k).name == Path(str(data.get("source"))).name), None)
        report = _source_report(recorded[0], data) if recorded and recorded[0].is_file() else None
        score = scores.get(id(data))
        key = f"extractor-review:{data.get('report_id')}:{info.get('finished_at', '')}"
        page = _render("review.html.j2", data=_json_for_script(_page_data(data, report, score, key)),
                       title=data.get("title", ""), report_id=data.get("report_id", ""),
                       index_link=None if single else "../review.html")
        path = folder / ("review.html" if single else f"{data['report_id']}.html")
        write_atomic(path, page)
        pages.append(path)
        rows.append({"href": f"{REVIEW_DIR}/{path.name}", "report_id": data.get("report_id"),
                     "title": data.get("title"), "region": data.get("region"), "complete": data.get("complete", True),
                     **{k: len(data.get(k, [])) for k in KINDS},
                     "f1": {k: round(score.counts[k].prf()[2], 3) for k in (*KINDS, "headline_targets")}
                     if score else None})
    if single:
        return ReviewPages(pages[0], pages)
    index = out_dir / "review.html"
    write_atomic(index, _render("review_index.html.j2", rows=rows, kinds=KINDS, with_gold=bool(scores)))
    return ReviewPages(index, pages)

