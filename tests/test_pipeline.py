"""The streaming run: order of outputs and errors, and what it leaves behind in the process."""

import asyncio
import gc
import shutil

from extractor.config import load_settings
from extractor.backends.base import Extraction
from extractor.pipeline import run_async
from extractor.backends.rules import extract_chunk

from conftest import SAMPLE


class RecordingBackend:
    """Rules answers, plus what the process looked like while the run was extracting."""

    name = "recording"

    def __init__(self):
        self.thresholds, self.reports_seen = set(), []

    async def extract(self, chunk):
        self.thresholds.add(gc.get_threshold())
        if chunk.report_id not in self.reports_seen:
            self.reports_seen.append(chunk.report_id)
        await asyncio.sleep(0)
        return Extraction(extract_chunk(chunk))

    async def aclose(self):
        return None


def test_outputs_and_errors_keep_input_order_though_small_files_go_first(tmp_path):
    big = tmp_path / "a_big.txt"
    big.write_text(SAMPLE.read_text(encoding="utf-8") * 3, encoding="utf-8")
    small = tmp_path / "b_small.txt"
    shutil.copy(SAMPLE, small)
    broken = [tmp_path / "c_missing.txt", tmp_path / "d_empty.txt"]
    broken[1].write_text("", encoding="utf-8")
    backend = RecordingBackend()
    before = gc.get_threshold()
    result = asyncio.run(run_async([big, broken[0], small, broken[1]], load_settings(), backend, False))
    assert [o.source for o in result.outputs] == ["a_big.txt", "b_small.txt"]
    assert backend.reports_seen[0].startswith("b_small")  # the small file's chunks went out first
    assert [e.split(":")[0] for e in result.file_errors] == [str(p) for p in broken]
    # fewer collections while the run lasts, the process's own settings afterwards
    assert backend.thresholds and all(t[0] > before[0] for t in backend.thresholds)
    assert gc.get_threshold() == before


def test_an_edited_lexicon_changes_the_rules_output_and_run_json(tmp_path):
    import json

    from extractor.backends.rules.lexicon import DEFAULT_LEXICON
    from extractor.pipeline import run

    shipped = (SAMPLE.parent.parent / "extractor" / DEFAULT_LEXICON).read_text(encoding="utf-8")
    mine = tmp_path / "lexicon.toml"
    mine.write_text(shipped.replace('"地区生产总值" = "gdp"', '"地区生产总值" = "other"'), encoding="utf-8")
    plain = run([SAMPLE], load_settings(), tmp_path / "a")
    edited = run([SAMPLE], load_settings(lexicon=mine), tmp_path / "b")
    codes = lambda result: [t.indicator_code for t in result.outputs[0].targets if t.indicator == "地区生产总值"]  # noqa: E731
    assert "gdp" in codes(plain) and "gdp" not in codes(edited)
    hashes = [json.loads((tmp_path / d / "run.json").read_text())["lexicon_hash"] for d in "ab"]
    assert hashes[0] != hashes[1] and len(hashes[1]) == 64
