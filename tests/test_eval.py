import copy
import json

import pytest

from extractor.eval import GoldError, evaluate


def _write(directory, docs):
    directory.mkdir()
    for name, doc in docs.items():
        (directory / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return directory


@pytest.fixture
def gold(shared):
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (shared / "gold").glob("*.json")}


def _score(tmp_path, shared, gold, pred):
    return evaluate(_write(tmp_path / "gold", gold), _write(tmp_path / "pred", pred),
                    reports_dir=shared / "reports", bootstrap=0)


def test_gold_against_itself_is_perfect(tmp_path, shared, gold):
    result = _score(tmp_path, shared, gold, gold)
    for row in result.rows().values():
        assert row["f1"] == 1.0 and row["strict_f1"] == 1.0
    assert result.grounding_rate() == 1.0


def test_known_edits_give_exact_counts(tmp_path, shared, gold):
    pred = copy.deepcopy(gold)
    doc = pred["qingzhen"]
    removed = doc["projects"].pop(3)
    doc["targets"][11]["value"] = 9.9  # value changed: no longer alignable (hard constraint)
    doc["commitments"].append(copy.deepcopy(doc["commitments"][0]))  # duplicate
    doc["targets"][0]["indicator"] = "地區生產總值"  # traditional characters still match
    doc["targets"][1]["status"] = "planned"  # aligned, but strict fails
    result = _score(tmp_path, shared, gold, pred)
    qz = next(r for r in result.reports if r.name == "qingzhen")
    assert (qz.counts["projects"].gold, qz.counts["projects"].pred, qz.counts["projects"].matched) == (73, 72, 72)
    assert qz.missed["projects"] == [removed]
    assert (qz.counts["targets"].matched, qz.counts["targets"].strict) == (69, 68)
    assert (qz.counts["commitments"].pred, qz.counts["commitments"].matched) == (26, 25)
    assert len(qz.spurious["commitments"]) == 1 and len(qz.spurious["targets"]) == 1
    other = next(r for r in result.reports if r.name == "binzhou")
    assert other.counts["targets"].prf() == (1.0, 1.0, 1.0)


def test_missing_prediction_counts_as_all_missed(tmp_path, shared, gold):
    pred = {k: v for k, v in gold.items() if k != "lianzhou"}
    result = _score(tmp_path, shared, gold, pred)
    lz = next(r for r in result.reports if r.name == "lianzhou")
    assert lz.pred_id is None and lz.counts["targets"].matched == 0 and lz.counts["targets"].gold == 45


def test_malformed_gold_is_named(tmp_path):
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    (gold_dir / "bad.json").write_text(json.dumps({"source": "x.txt", "title": "t", "lines": [1, 2], "region": "r",
                                                   "report_type": "work_report", "review_period": "2022",
                                                   "plan_year": 2023, "targets": [{"indicator": "GDP"}]}))
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "p.json").write_text("{}")
    with pytest.raises(GoldError, match=r"bad.json: targets\[0\]"):
        evaluate(gold_dir, tmp_path / "pred", bootstrap=0)


# ---------------------------------------------------------------- finding the sources (issue 17)

def _rules_run(tmp_path, reports):
    from extractor.config import load_settings
    from extractor.pipeline import run

    out = tmp_path / "run"
    run(reports, load_settings(), out)
    return out


def _f1s(result):
    return {kind: round(row["f1"], 6) for kind, row in result.rows().items()}


def test_gold_in_a_bare_folder_finds_its_sources_through_the_run(tmp_path, shared, gold):
    import shutil

    copies = tmp_path / "copies"
    shutil.copytree(shared / "reports", copies)
    out = _rules_run(tmp_path, sorted(copies.glob("*.txt")))
    bare = _write(tmp_path / "my_gold", gold)
    found = evaluate(bare, out, bootstrap=0)
    told = evaluate(bare, out, reports_dir=shared / "reports", bootstrap=0)
    assert _f1s(found) == _f1s(told) and found.grounding_rate() == 1.0
    assert all("(run inputs)" in where for where in found.sources.values())
    # The run's inputs moved away and nothing else given: refuse, naming the gold file.
    shutil.move(copies, tmp_path / "elsewhere")
    with pytest.raises(GoldError, match=r"my_gold/\w+\.json: source \S+ not found \(looked for "):
        evaluate(bare, out, bootstrap=0)
    # Given back where it is, it is found; changed since the run, it is refused.
    assert _f1s(evaluate(bare, out, reports_dir=tmp_path / "elsewhere", bootstrap=0)) == _f1s(told)
    (tmp_path / "elsewhere" / "000_f7dc3958b100317f.txt").write_text("changed", encoding="utf-8")
    with pytest.raises(GoldError, match="has changed since the run"):
        evaluate(bare, out, reports_dir=tmp_path / "elsewhere", bootstrap=0)


def test_without_sources_the_cli_refuses_or_says_so(tmp_path, shared, gold):
    import subprocess
    import sys

    out = _rules_run(tmp_path, [shared / "reports" / "000_f7dc3958b100317f.txt"])
    (out / "run.json").write_text(json.dumps({"extractor_version": "0.1.0", "inputs": []}), encoding="utf-8")
    bare = _write(tmp_path / "my_gold", {"qingzhen": gold["qingzhen"]})

    def cli(*args):
        return subprocess.run([sys.executable, "-c", "from extractor.cli import main; main()", "eval", "--gold",
                               str(bare), "--pred", str(out), "--bootstrap", "0", *args],
                              capture_output=True, text=True, timeout=120)

    refused = cli()
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().count("\n") == 0 and "qingzhen.json: source 000_f7dc3958b100317f.txt not found" \
        in refused.stderr
    keyed = cli("--no-evidence", "--report", str(tmp_path / "e.md"), "--json", str(tmp_path / "e.json"))
    assert keyed.returncode == 0 and keyed.stdout.startswith("WITHOUT EVIDENCE")
    assert "WITHOUT EVIDENCE" in (tmp_path / "e.md").read_text(encoding="utf-8").splitlines()[2]
    assert json.loads((tmp_path / "e.json").read_text())[0]["evidence"].startswith("not used")
