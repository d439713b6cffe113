import json
import shutil
import subprocess
import sys

from conftest import SAMPLE


def extractor(*args, cwd):
    return subprocess.run([sys.executable, "-c", "from extractor.cli import main; main()", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_run_sample_writes_every_output(tmp_path):
    done = extractor("run", str(SAMPLE), "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "offline rules backend" in done.stderr
    out = tmp_path / "out"
    report = json.loads((out / "reports" / "sample_report.json").read_text(encoding="utf-8"))
    assert report["region"] == "青川县" and report["plan_year"] == 2024
    headline = {t["indicator_code"]: t for t in report["targets"] if t["headline"] and t["status"] == "planned"}
    assert headline["gdp"]["value"] == 6 and headline["gdp"]["comparator"] == "about"
    assert headline["rural_income"]["value"] == 7.5
    assert {p["name"] for p in report["projects"]} >= {"年产5万吨竹纤维新材料", "白龙湖光伏电站二期工程"}
    assert sum(c["listed"] for c in report["commitments"]) == 4
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(len(report[k]) for k in ("targets", "projects", "commitments"))
    assert all(json.loads(line)["lines"] for line in lines)
    assert (out / "targets.csv").exists() and json.loads((out / "run.json").read_text())["counts"]


def test_bad_inputs_get_one_line_and_do_not_lose_others(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    done = extractor("run", "empty.txt", "missing.txt", str(SAMPLE), "--out", "out", cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: empty.txt: file is empty", "error: missing.txt: file not found"]
    assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "reports" / "sample_report.json").exists()


def test_bad_setting_is_one_line(tmp_path):
    done = extractor("run", str(SAMPLE), "--concurrency", "0", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().startswith("error: invalid setting concurrency")


def test_split_lists_reports(tmp_path, shared_reports):
    done = extractor("split", *map(str, shared_reports), "--stats", cwd=tmp_path)
    assert done.returncode == 0
    assert len(done.stdout.strip().splitlines()) == 28
    assert "ms per report" in done.stderr
    as_json = json.loads(extractor("split", str(SAMPLE), "--json", cwd=tmp_path).stdout)
    assert as_json[0]["chunks"] and as_json[0]["sections"]


def test_rules_meet_the_bars_on_gold_and_silver(tmp_path, shared, shared_reports):
    """The bars of the rules on the ten dev reports together (gold and silver)."""
    from extractor.eval import evaluate

    dev = tmp_path / "dev"
    dev.mkdir()
    for annotation in [*(shared / "gold").glob("*.json"), *(shared / "silver").glob("*.json")]:
        shutil.copy(annotation, dev / annotation.name)
    assert extractor("run", *map(str, shared_reports), "--out", "out", cwd=tmp_path).returncode == 0
    rows = evaluate(dev, tmp_path / "out", bootstrap=0, reports_dir=shared / "reports").rows()
    assert rows["headline_targets"]["f1"] >= 0.97
    assert rows["targets"]["f1"] >= 0.88 and rows["targets"]["precision"] >= 0.90
    assert rows["projects"]["f1"] >= 0.65
    assert rows["commitments"]["f1"] >= 0.80


def test_version_and_settings_file_keys_as_flags_are_written(tmp_path):
    from extractor import __version__

    assert extractor("--version", cwd=tmp_path).stdout.strip() == f"extractor {__version__}"
    (tmp_path / "settings.toml").write_text('chunk-chars = 900\nbase-url = "http://127.0.0.1:9/v1"\n'
                                            'backend = "rules"\n', encoding="utf-8")
    done = extractor("run", str(SAMPLE), "--out", "out", "--config", "settings.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    settings = json.loads((tmp_path / "out" / "run.json").read_text())["settings"]
    assert settings["chunk_chars"] == 900 and settings["base_url"] == "http://127.0.0.1:9/v1"
    assert "(default: 8)" in extractor("run", "--help", cwd=tmp_path).stdout
