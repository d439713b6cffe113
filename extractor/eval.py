"""Eval: score run outputs against gold annotations, field by field.

Reports are paired by source file and overlapping line range (else by region). Within a
pair, records of each type are aligned one-to-one with the Hungarian algorithm on a pair
score:

    score = 0.5 * key_similarity + 0.5 * evidence_overlap

key_similarity is the character-level similarity (rapidfuzz ratio, 0..1) of the key text
(indicator / name / description) after normalizing width, whitespace, pinyin noise and
traditional characters; for targets with the same non-`other` indicator_code it is at least
0.9. evidence_overlap is |gold span ∩ predicted span| / min(|gold span|, |predicted span|),
both evidences located in the same normalized report text. Hard constraint: a target's value
(and a commitment's quantity) must agree. A pair scoring below MATCH_THRESHOLD = 0.5 is no
match. Aligned pairs count for lenient P/R/F1; aligned pairs whose key fields all agree
count for strict P/R/F1.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
from pydantic import ValidationError
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from .ingest import IngestError, file_sha256, normalize_lines, read_lines, to_simplified_text
from .output import report_files
from .models import KEY_FIELD, KINDS, RECORD_MODELS

MATCH_THRESHOLD = 0.5
NO_EVIDENCE = "WITHOUT EVIDENCE: records aligned on key fields alone (--no-evidence); scores are not comparable"
STRICT_FIELDS = {
    "targets": ("value", "value_max", "unit", "comparator", "status", "year", "measure", "indicator_code"),
    "projects": ("status", "year"),
    "commitments": ("quantity", "unit", "comparator", "year", "category"),
}
ALL_FIELDS = {kind: tuple(f for f in model.model_fields if f != "evidence") for kind, model in RECORD_MODELS.items()}
REPORT_KEYS = {"source": str, "title": str, "lines": list, "region": str, "report_type": str,
               "review_period": str, "plan_year": int}


class GoldError(ValueError):
    """A gold (or prediction) file is malformed; the message names the file and the problem."""


# ---------------------------------------------------------------- loading

def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GoldError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise GoldError(f"{path}: top level must be an object")
    return data


def validate_report(data: dict, path: Path) -> None:
    for key, kind in REPORT_KEYS.items():
        if not isinstance(data.get(key), kind):
            raise GoldError(f"{path}: field '{key}' missing or not {kind.__name__}")
    if data["report_type"] not in {"work_report", "plan_report"}:
        raise GoldError(f"{path}: report_type {data['report_type']!r} is not work_report or plan_report")
    for kind, model in RECORD_MODELS.items():
        records = data.get(kind, [])
        if not isinstance(records, list):
            raise GoldError(f"{path}: '{kind}' must be a list")
        for i, record in enumerate(records):
            try:
                model.model_validate(record)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(map(str, err["loc"])) or kind
                raise GoldError(f"{path}: {kind}[{i}].{where}: {err['msg']}") from None


def load_dir(path: Path, validate: bool) -> list[tuple[Path, dict]]:
    if not path.exists():
        raise GoldError(f"{path}: no such file or directory")
    files = [path] if path.is_file() else report_files(path)
    out = []
    for file in files:
        data = _load_json(file)
        if validate:
            validate_report(data, file)
        out.append((file, data))
    if not out:
        raise GoldError(f"{path}: no report JSON files")
    return out


# ---------------------------------------------------------------- normalization and evidence

@lru_cache(maxsize=65536)
def norm_text(text: str) -> str:
    """Text as compared: simplified, no pinyin, half-width, without spaces and punctuation."""
    cleaned = normalize_lines([(1, to_simplified_text(text))], to_simplified=False)
    joined = "".join(t for _, t in cleaned) if cleaned else ""
    return re.sub(r"[\s\u3000,，.。;；:：、!！?？\"“”'‘’()（）《》<>\[\]【】\-—]", "", joined)


@dataclass(frozen=True)
class Source:
    """Where a gold report's source file was found, and how."""

    path: Path
    found_by: str  # "run inputs", "--reports-dir", "next to the gold"


class SourceIndex:
    """Finds each gold report's source file and gives the normalized text of its lines, read
    through the same ingest as `extractor run` (encodings, HTML, DOCX), so line ranges mean the
    same thing. Without sources (`no_evidence`) every text is empty: key-only alignment."""

    def __init__(self, run_inputs: dict[str, tuple[Path, str | None]], reports_dir: Path | None,
                 beside_gold: Path | None, no_evidence: bool = False):
        self.run_inputs, self.reports_dir, self.beside_gold = run_inputs, reports_dir, beside_gold
        self.no_evidence = no_evidence
        self.found: dict[str, Source] = {}
        self._lines: dict[Path, list[tuple[int, str]]] = {}
        self._texts: dict[tuple[str, int, int], str] = {}

    def locate(self, source: str, gold_file: Path) -> Source | None:
        """The source file of a gold report; raises GoldError when it cannot be found or has
        changed since the run read it."""
        if self.no_evidence:
            return None
        if source in self.found:
            return self.found[source]
        recorded = self.run_inputs.get(source) or _only(v for k, v in self.run_inputs.items()
                                                         if Path(k).name == Path(source).name)
        tried = []
        candidates = [(recorded[0], "run inputs")] if recorded else []
        candidates += [(folder / source, how) for folder, how in ((self.reports_dir, "--reports-dir"),
                                                                  (self.beside_gold, "next to the gold")) if folder]
        for path, how in candidates:
            tried.append(str(path))
            if path.is_file():
                if recorded and recorded[1] and file_sha256(path) != recorded[1]:
                    raise GoldError(f"{gold_file}: source {path} has changed since the run read it (sha256 differs); "
                                    "rerun the extraction or give the original with --reports-dir")
                self.found[source] = Source(path, how)
                return self.found[source]
        raise GoldError(f"{gold_file}: source {source} not found (looked for {', '.join(tried) or 'nothing'}); "
                        "give --reports-dir, or --no-evidence to align on keys alone")

    def text(self, source: str, lines: tuple[int, int], gold_file: Path) -> str:
        found = self.locate(source, gold_file)
        if found is None:
            return ""
        key = (source, lines[0], lines[1])
        if key not in self._texts:
            if found.path not in self._lines:
                try:
                    self._lines[found.path] = read_lines(found.path)
                except IngestError as exc:
                    raise GoldError(f"{gold_file}: source {exc}") from None
            self._texts[key] = "".join(norm_text(text) for n, text in self._lines[found.path]
                                       if lines[0] <= n <= lines[1])
        return self._texts[key]


def _only(values: Iterator[tuple[Path, str | None]]) -> tuple[Path, str | None] | None:
    found = list(values)
    return found[0] if len(found) == 1 else None


def run_inputs(pred_dir: Path) -> dict[str, tuple[Path, str | None]]:
    """The inputs a run recorded in its run.json: source name -> (path, sha256)."""
    try:
        info = json.loads((pred_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for item in info.get("inputs", []) if isinstance(info, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            out[item.get("source") or Path(item["path"]).name] = (Path(item["path"]), item.get("sha256"))
        elif isinstance(item, str):  # run.json of version 0.1: paths only
            out[Path(item).name] = (Path(item), None)
    return out


def span_of(evidence: str, text: str) -> tuple[int, int] | None:
    needle = norm_text(evidence)
    if not needle or not text:
        return None
    k = text.find(needle)
    return (k, k + len(needle)) if k >= 0 else None


# ---------------------------------------------------------------- alignment

def _same_number(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))


def field_agrees(name: str, a: object, b: object) -> bool:
    if name in {"value", "value_max", "quantity", "quantity_max", "investment"}:
        return _same_number(a, b)
    if isinstance(a, str) and isinstance(b, str):
        return norm_text(a) == norm_text(b)
    return a == b


def pair_score(kind: str, gold: dict, pred: dict, gspan, pspan) -> float:
    if kind == "targets" and not _same_number(gold.get("value"), pred.get("value")):
        return 0.0
    if kind == "commitments" and not _same_number(gold.get("quantity"), pred.get("quantity")):
        return 0.0
    key = KEY_FIELD[kind]
    similarity = fuzz.ratio(norm_text(gold[key]), norm_text(pred[key])) / 100
    if kind == "targets" and gold["indicator_code"] != "other" and gold["indicator_code"] == pred["indicator_code"]:
        similarity = max(similarity, 0.9)
    overlap = 0.0
    if gspan and pspan:
        inter = min(gspan[1], pspan[1]) - max(gspan[0], pspan[0])
        overlap = max(0, inter) / max(1, min(gspan[1] - gspan[0], pspan[1] - pspan[0]))
    return 0.5 * similarity + 0.5 * overlap


def align(kind: str, gold: list[dict], pred: list[dict], text: str) -> list[tuple[int, int, float]]:
    """Optimal one-to-one pairs (gold index, pred index, score) above the threshold."""
    if not gold or not pred:
        return []
    gspans = [span_of(g["evidence"], text) for g in gold]
    pspans = [span_of(p["evidence"], text) for p in pred]
    scores = np.array([[pair_score(kind, g, p, gs, ps) for p, ps in zip(pred, pspans)]
                       for g, gs in zip(gold, gspans)])
    rows, cols = linear_sum_assignment(-scores)
    return [(int(r), int(c), float(scores[r, c])) for r, c in zip(rows, cols) if scores[r, c] >= MATCH_THRESHOLD]


# ---------------------------------------------------------------- scoring

@dataclass
class Counts:
    gold: int = 0
    pred: int = 0
    matched: int = 0
    strict: int = 0

    def add(self, other: Counts) -> None:
        self.gold += other.gold
        self.pred += other.pred
        self.matched += other.matched
        self.strict += other.strict

    def prf(self, strict: bool = False) -> tuple[float, float, float]:
        tp = self.strict if strict else self.matched
        p = tp / self.pred if self.pred else (1.0 if not self.gold else 0.0)
        r = tp / self.gold if self.gold else (1.0 if not self.pred else 0.0)
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class ReportScore:
    name: str
    pred_id: str | None
    counts: dict[str, Counts]
    field_hits: dict[str, dict[str, list[int]]]  # kind -> field -> [agree, total]
    missed: dict[str, list[dict]]
    spurious: dict[str, list[dict]]
    mismatches: dict[str, list[tuple[dict, dict, list[str]]]]
    grounded: list[int]  # [found, total] of predicted evidence


@dataclass
class EvalResult:
    pred_dir: str
    reports: list[ReportScore] = field(default_factory=list)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # gold report -> where its source was found
    no_evidence: bool = False

    def total(self, kind: str) -> Counts:
        total = Counts()
        for report in self.reports:
            total.add(report.counts[kind])
        return total

    def overall(self, strict: bool = False) -> tuple[float, float, float]:
        total = Counts()
        for kind in KINDS:
            total.add(self.total(kind))
        return total.prf(strict)

    def field_accuracy(self, kind: str) -> dict[str, float]:
        sums: dict[str, list[int]] = {}
        for report in self.reports:
            for name, (hit, n) in report.field_hits[kind].items():
                s = sums.setdefault(name, [0, 0])
                s[0] += hit
                s[1] += n
        return {name: hit / n for name, (hit, n) in sums.items() if n}

    def grounding_rate(self) -> float:
        found = sum(r.grounded[0] for r in self.reports)
        total = sum(r.grounded[1] for r in self.reports)
        return found / total if total else 1.0

    def rows(self) -> dict[str, dict]:
        out = {}
        for kind in (*KINDS, "headline_targets"):
            c = self.total(kind)
            p, r, f = c.prf()
            sp, sr, sf = c.prf(strict=True)
            out[kind] = {"gold": c.gold, "pred": c.pred, "matched": c.matched, "strict_matched": c.strict,
                         "precision": p, "recall": r, "f1": f, "strict_precision": sp, "strict_recall": sr,
                         "strict_f1": sf, "f1_ci95": self.intervals.get(kind)}
        p, r, f = self.overall()
        sp, sr, sf = self.overall(strict=True)
        out["overall"] = {"precision": p, "recall": r, "f1": f, "strict_precision": sp, "strict_recall": sr,
                          "strict_f1": sf, "f1_ci95": self.intervals.get("overall")}
        return out

    def to_json(self) -> dict:
        return {
            "pred": self.pred_dir, "match_threshold": MATCH_THRESHOLD,
            "evidence": "not used: key-only alignment (--no-evidence)" if self.no_evidence else "used",
            "sources": self.sources, "metrics": self.rows(),
            "field_accuracy": {kind: self.field_accuracy(kind) for kind in KINDS},
            "grounding_rate": self.grounding_rate(),
            "reports": [{"gold": r.name, "pred": r.pred_id,
                         **{kind: dict(zip(("precision", "recall", "f1"), r.counts[kind].prf()))
                            for kind in (*KINDS, "headline_targets")}} for r in self.reports],
        }


def pair_reports(golds: list[tuple[Path, dict]], preds: list[tuple[Path, dict]]) -> list[tuple[Path, dict, dict | None]]:
    pairs = []
    for gpath, gold in golds:
        best, best_overlap = None, 0
        for _, pred in preds:
            if Path(str(pred.get("source", ""))).name == Path(gold["source"]).name:
                glo, ghi = gold["lines"]
                plo, phi = pred.get("lines", [0, 0])
                overlap = min(ghi, phi) - max(glo, plo) + 1
                if overlap > best_overlap:
                    best, best_overlap = pred, overlap
        if best is None:
            best = next((p for _, p in preds if p.get("region") == gold["region"]
                         and p.get("report_type") == gold["report_type"]), None)
        pairs.append((gpath, gold, best))
    return pairs


def score_report(name: str, gold: dict, pred: dict | None, sources: SourceIndex, gold_file: Path) -> ReportScore:
    text = sources.text(gold["source"], tuple(gold["lines"]), gold_file)
    pred = pred or {}
    counts, hits, missed, spurious, mismatches = {}, {}, {}, {}, {}
    grounded = [0, 0]
    for kind in (*KINDS, "headline_targets"):
        base = "targets" if kind == "headline_targets" else kind
        g = [r for r in gold.get(base, []) if kind != "headline_targets" or r.get("headline")]
        p = [r for r in pred.get(base, []) if kind != "headline_targets" or r.get("headline")]
        pairs = align(base, g, p, text)
        c = Counts(gold=len(g), pred=len(p), matched=len(pairs))
        field_hits = {f: [0, 0] for f in ALL_FIELDS[base]}
        bad = []
        for gi, pi, _ in pairs:
            wrong = [f for f in ALL_FIELDS[base] if not field_agrees(f, g[gi].get(f), p[pi].get(f))]
            for f in ALL_FIELDS[base]:
                field_hits[f][0] += f not in wrong
                field_hits[f][1] += 1
            if not any(f in STRICT_FIELDS[base] for f in wrong):
                c.strict += 1
            if wrong:
                bad.append((g[gi], p[pi], wrong))
        counts[kind], hits[kind], mismatches[kind] = c, field_hits, bad
        matched_g, matched_p = {gi for gi, _, _ in pairs}, {pi for _, pi, _ in pairs}
        missed[kind] = [r for i, r in enumerate(g) if i not in matched_g]
        spurious[kind] = [r for i, r in enumerate(p) if i not in matched_p]
        if kind in KINDS:
            for record in p:
                grounded[1] += 1
                grounded[0] += span_of(record["evidence"], text) is not None
    return ReportScore(name, pred.get("report_id") or pred.get("title"), counts, hits, missed, spurious,
                       mismatches, grounded)


def _bootstrap(result: EvalResult, resamples: int, seed: int = 0) -> dict[str, tuple[float, float]]:
    if resamples <= 0 or not result.reports:
        return {}
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {k: [] for k in (*KINDS, "headline_targets", "overall")}
    n = len(result.reports)
    for _ in range(resamples):
        chosen = [result.reports[rng.randrange(n)] for _ in range(n)]
        overall = Counts()
        for kind in (*KINDS, "headline_targets"):
            c = Counts()
            for report in chosen:
                c.add(report.counts[kind])
            samples[kind].append(c.prf()[2])
            if kind in KINDS:
                overall.add(c)
        samples["overall"].append(overall.prf()[2])
    return {k: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for k, v in samples.items()}


def evaluate(gold_dir: Path, pred_dir: Path, reports_dir: Path | None = None, bootstrap: int = 1000,
             no_evidence: bool = False) -> EvalResult:
    """Score a run against gold. Each gold report's source text is found through the run's own
    record of its inputs, then `reports_dir`, then a reports/ folder beside the gold folder;
    when it cannot be found (or has changed since the run) this raises GoldError, unless
    `no_evidence` asks for a key-only alignment on purpose."""
    golds = load_dir(gold_dir, validate=True)
    preds = load_dir(pred_dir, validate=False)
    base = gold_dir if gold_dir.is_dir() else gold_dir.parent
    sources = SourceIndex(run_inputs(pred_dir) if pred_dir.is_dir() else {}, reports_dir,
                          base.parent / "reports", no_evidence)
    result = EvalResult(str(pred_dir), no_evidence=no_evidence)
    for gpath, gold, pred in pair_reports(golds, preds):
        result.reports.append(score_report(gpath.stem, gold, pred, sources, gpath))
        found = sources.found.get(gold["source"])
        result.sources[gpath.stem] = f"{found.path} ({found.found_by})" if found else "not used (--no-evidence)"
    result.intervals = _bootstrap(result, bootstrap)
    return result


# ---------------------------------------------------------------- presentation

def _row(name: str, m: dict) -> str:
    ci = m.get("f1_ci95")
    ci_text = f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
    counts = f"{m['gold']:>5} {m['pred']:>5} {m['matched']:>5}" if "gold" in m else " " * 17
    return (f"{name:<17} {counts}  {m['precision']:.3f}  {m['recall']:.3f}  {m['f1']:.3f} {ci_text:<14}"
            f" {m['strict_f1']:.3f}")


def format_summary(result: EvalResult) -> str:
    rows = result.rows()
    lines = [NO_EVIDENCE] if result.no_evidence else []
    lines += [f"eval of {result.pred_dir} on {len(result.reports)} gold reports (threshold {MATCH_THRESHOLD})",
             f"{'type':<17} {'gold':>5} {'pred':>5} {'match':>5}  prec   rec    F1    F1 95% CI      strictF1"]
    lines += [_row(kind, rows[kind]) for kind in ("headline_targets", *KINDS, "overall")]
    lines.append(f"grounding rate (predicted evidence found in the normalized source): {result.grounding_rate():.3f}")
    for report in result.reports:
        f1 = "  ".join(f"{k[:5]} {report.counts[k].prf()[2]:.2f}" for k in ("headline_targets", *KINDS))
        lines.append(f"  {report.name:<12} -> {report.pred_id or 'MISSING':<26} F1: {f1}")
    return "\n".join(lines)


def _brief(kind: str, record: dict) -> str:
    if kind == "targets":
        value = "qualitative" if record.get("value") is None else f"{record['value']}{record.get('unit') or ''}"
        return f"{record['indicator']} = {value} ({record['status']} {record['year']}, {record['measure']}, {record['comparator']})"
    if kind == "projects":
        return f"{record['name']} ({record['status']} {record['year']}, {record['sector']})"
    qty = "—" if record.get("quantity") is None else f"{record['quantity']}{record.get('unit') or ''}"
    return f"{record['description']} = {qty} ({record['category']}, listed={record['listed']})"


def markdown_report(result: EvalResult) -> str:
    rows = result.rows()
    out = [f"# Eval of `{result.pred_dir}`", "", *([f"**{NO_EVIDENCE}**", ""] if result.no_evidence else []),
           f"Pairs are aligned by the Hungarian algorithm (match threshold {MATCH_THRESHOLD}); "
           "lenient = aligned, strict = aligned with all key fields equal.", "",
           "| type | gold | pred | matched | precision | recall | F1 | F1 95% CI | strict F1 |",
           "|---|---|---|---|---|---|---|---|---|"]
    for kind in ("headline_targets", *KINDS):
        m = rows[kind]
        ci = m["f1_ci95"]
        out.append(f"| {kind} | {m['gold']} | {m['pred']} | {m['matched']} | {m['precision']:.3f} | "
                   f"{m['recall']:.3f} | {m['f1']:.3f} | {f'{ci[0]:.2f}–{ci[1]:.2f}' if ci else ''} | {m['strict_f1']:.3f} |")
    m = rows["overall"]
    out += [f"| overall | | | | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | | {m['strict_f1']:.3f} |",
            "", f"Grounding rate: {result.grounding_rate():.3f}", "", "## Field accuracy on aligned pairs", ""]
    for kind in KINDS:
        acc = result.field_accuracy(kind)
        out.append(f"- **{kind}**: " + ", ".join(f"{k} {v:.2f}" for k, v in acc.items()))
    out += ["", "## Sources", ""] + [f"- {name}: {where}" for name, where in result.sources.items()]
    for report in result.reports:
        out += ["", f"## {report.name} ↔ {report.pred_id or 'no prediction'}"]
        for kind in KINDS:
            out += ["", f"### {kind}: {len(report.missed[kind])} missed, {len(report.spurious[kind])} spurious, "
                        f"{len(report.mismatches[kind])} with field mismatches"]
            for record in report.missed[kind]:
                out.append(f"- MISSED {_brief(kind, record)} — «{record['evidence']}»")
            for record in report.spurious[kind]:
                out.append(f"- SPURIOUS {_brief(kind, record)} — «{record['evidence']}»")
            for g, p, wrong in report.mismatches[kind]:
                diffs = "; ".join(f"{f}: gold {g.get(f)!r} / pred {p.get(f)!r}" for f in wrong)
                out.append(f"- MISMATCH {_brief(kind, g)}: {diffs} — «{g['evidence']}»")
    return "\n".join(out) + "\n"


def format_comparison(a: EvalResult, b: EvalResult, markdown: bool = False) -> str:
    ra, rb = a.rows(), b.rows()
    header = f"{'type':<17} {'F1 A':>7} {'F1 B':>7} {'Δ':>7}   {'strict A':>8} {'strict B':>8} {'Δ':>7}"
    lines = [NO_EVIDENCE] if a.no_evidence else []
    lines += [f"A = {a.pred_dir}", f"B = {b.pred_dir}", header]
    for kind in ("headline_targets", *KINDS, "overall"):
        fa, fb, sa, sb = ra[kind]["f1"], rb[kind]["f1"], ra[kind]["strict_f1"], rb[kind]["strict_f1"]
        lines.append(f"{kind:<17} {fa:7.3f} {fb:7.3f} {fb - fa:+7.3f}   {sa:8.3f} {sb:8.3f} {sb - sa:+7.3f}")
    text = "\n".join(lines)
    return f"```\n{text}\n```\n" if markdown else text
