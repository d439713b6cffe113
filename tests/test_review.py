"""The review page, tested the way a person uses it: in a real headless Chromium."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from extractor.config import load_settings
from extractor.pipeline import run
from extractor.review import build_review

from conftest import SAMPLE


def _chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.absolute().as_uri())
    page.wait_for_selector("#records tbody tr")
    return page, errors


def _count(page) -> int:
    return int(page.inner_text("#count").split()[0])


def test_review_page_of_a_real_report_with_gold(browser, shared, tmp_path):
    from extractor.eval import evaluate

    out = tmp_path / "out"
    run([shared / "reports" / "000_f7dc3958b100317f.txt"], load_settings(), out)
    gold = tmp_path / "gold"
    gold.mkdir()
    shutil.copy(shared / "gold" / "qingzhen.json", gold)
    pages = build_review(out, gold)
    assert pages.index == out / "review.html" and pages.index.stat().st_size < 500_000
    page, errors = _open(browser, pages.index)

    # Click a record: its highlight scrolls into view.
    row = page.locator("#records tbody tr:not([data-eval=missed])").nth(40)
    record_id = row.get_attribute("data-id")
    row.click()
    box = page.evaluate("""(id) => { const e = [...document.querySelectorAll('#text .hl.focus')]
        .find(e => e.dataset.ids.split(' ').includes(id)); const r = e.getBoundingClientRect();
        const p = document.querySelector('#textpane').getBoundingClientRect();
        return [r.top >= p.top && r.bottom <= p.bottom, r.height > 0]; }""", record_id)
    assert box == [True, True]
    # Click a highlight: its record is selected in the list.
    page.locator("#text .hl", has_text="").nth(3).click()
    assert page.locator("#records tr.selected").count() == 1

    # Filters change the counts.
    total = _count(page)
    page.uncheck("input.ftype[value=projects]")
    without_projects = _count(page)
    page.check("input.ftype[value=projects]")
    assert without_projects < total == _count(page)

    # The eval's alignment: one mark per missed gold record and per spurious prediction.
    result = evaluate(gold, out, bootstrap=0)
    (score,) = result.reports
    kinds = ("targets", "projects", "commitments")
    assert page.locator("#records tr[data-eval=missed]").count() == sum(len(score.missed[k]) for k in kinds) > 0
    assert page.locator("#records tr[data-eval=spurious]").count() == sum(len(score.spurious[k]) for k in kinds) > 0
    assert "0.899" in page.inner_text("#scores") or page.locator("#scores table").count() == 1

    # Reject one record, add one from a text selection, save.
    predicted = page.locator("#records tbody tr:not([data-eval=missed])")
    rejected_id = predicted.nth(0).get_attribute("data-id")
    predicted.nth(0).locator("button[data-act=rejected]").click()
    page.evaluate("""() => { const root = document.querySelector('#text');
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT); let node;
        while ((node = walker.nextNode())) { if (node.textContent.includes('就业')) break; }
        const k = node.textContent.indexOf('就业'); const range = document.createRange();
        range.setStart(node, Math.max(0, k - 4)); range.setEnd(node, k + 2);
        const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); }""")
    page.wait_for_function("() => !document.querySelector('#addsel').disabled")
    page.click("#addsel")
    page.fill("#editor input[data-f=indicator]", "就业")
    page.click("#edok")
    with page.expect_download() as download:
        page.click("#save")
    saved = tmp_path / "saved.json"
    download.value.save_as(saved)
    page.screenshot(path=str(tmp_path / "review.png"))
    assert errors == []

    # Corrections survive a reload until saved.
    page.reload()
    page.wait_for_selector("#records tbody tr")
    assert "rejected" in page.locator(f"#records tr[data-id={rejected_id}]").get_attribute("class")
    page.close()

    document = json.loads(saved.read_text(encoding="utf-8"))
    predicted_total = sum(len(json.loads((out / "reports" / "000_f7dc3958b100317f.json").read_text())[k]) for k in kinds)
    assert sum(len(document[k]) for k in kinds) == predicted_total - 1 + 1
    assert any(t["indicator"] == "就业" for t in document["targets"])
    # The saved file is gold: the project's checker accepts it and the eval reads it.
    tools = tmp_path / "checker"
    (tools / "tools").mkdir(parents=True)
    shutil.copy(shared / "tools" / "check_gold.py", tools / "tools")
    shutil.copytree(shared / "reports", tools / "reports")
    checked = subprocess.run([sys.executable, str(tools / "tools" / "check_gold.py"), str(saved)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    again = evaluate(saved, saved, reports_dir=shared / "reports", bootstrap=0).rows()
    assert all(again[k]["f1"] == 1.0 for k in (*kinds, "headline_targets"))


def test_a_large_run_gets_an_index_and_the_one_line_report_stays_responsive(browser, shared, tmp_path):
    import time

    out = tmp_path / "out"
    run([shared / "reports" / "001_6b340ccef4bd5f14.txt"], load_settings(), out)
    pages = build_review(out)
    assert len(pages.pages) == 24 and pages.index.name == "review.html"
    assert max(p.stat().st_size for p in pages.pages) < 500_000
    index, _ = browser.new_page(), None
    index.goto(pages.index.absolute().as_uri())
    assert index.locator("a").count() == 24
    wenzhou = next(p for p in pages.pages if "温州" in p.read_text(encoding="utf-8")[:2000])
    started = time.perf_counter()
    page, errors = _open(browser, wenzhou)
    page.uncheck("input.ftype[value=targets]")
    page.fill("#search", "项目")
    assert time.perf_counter() - started < 10 and errors == []
    assert _count(page) > 0


def test_the_sample_page_for_a_newcomer(browser, tmp_path):
    out = tmp_path / "out"
    run([SAMPLE], load_settings(), out)
    page, errors = _open(browser, build_review(out).index)
    assert errors == [] and page.locator("#text .hl").count() >= 20
    assert page.inner_text("#title") == "2024年青川县政府工作报告"
    page.screenshot(path=str(tmp_path / "sample.png"))
