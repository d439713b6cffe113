"""The Python API, as the README shows it."""

import asyncio
import warnings

import pytest

from conftest import SAMPLE

GOLD = SAMPLE.with_name("sample_report.gold.json")


def test_extract_a_file_and_text_and_evaluate(tmp_path):
    from extractor import ReportOutput, Settings, evaluate, extract

    (report,) = extract(SAMPLE)
    assert isinstance(report, ReportOutput) and report.region == "青川县" and report.complete
    assert not (tmp_path / "out").exists()
    text = SAMPLE.read_text(encoding="utf-8")
    from_text, from_file = extract([text, str(SAMPLE)], Settings(chunk_chars=2000))
    assert from_text.source == "text-1.txt" and from_text.targets == from_file.targets
    assert extract(SAMPLE, backend="rules", chunk_chars=500)[0].targets == report.targets

    from extractor.pipeline import run

    run([SAMPLE], Settings(), tmp_path / "out")
    scores = evaluate(GOLD, tmp_path / "out", bootstrap=0).rows()
    assert scores["headline_targets"]["f1"] == 1.0 and scores["projects"]["recall"] < 1.0


def test_extract_works_inside_a_running_event_loop_and_async():
    from extractor import extract, extract_async

    async def notebook_cell():
        inside = extract(SAMPLE)  # a notebook's loop is already running
        twin = await extract_async(SAMPLE)
        return inside, twin

    inside, twin = asyncio.run(notebook_cell())
    assert inside[0].targets == twin[0].targets and inside[0].targets


def test_unreadable_inputs_are_warnings_and_the_rest_comes_back(tmp_path):
    from extractor import ExtractionWarning, extract

    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reports = extract([empty, SAMPLE])
    assert [r.source for r in reports] == ["sample_report.txt"]
    assert [str(w.message) for w in caught if w.category is ExtractionWarning] == [f"{empty}: file is empty"]


def test_unknown_attribute_is_an_attribute_error():
    import extractor

    with pytest.raises(AttributeError):
        extractor.nothing_here  # noqa: B018
