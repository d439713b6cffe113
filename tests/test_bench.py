from benchmarks.__main__ import bench
from extractor.config import load_settings
from extractor.pipeline import prepare

from conftest import SAMPLE


def test_benchmark_runs_end_to_end_on_a_small_report(tmp_path):
    chunks = sum(len(p.chunks) for p in prepare([SAMPLE], load_settings(), []))
    out = tmp_path / "RESULTS.md"
    text = bench([SAMPLE], latency=0.01, concurrencies=[1, 4], out=out, repeat=1)
    assert out.read_text(encoding="utf-8") == text
    assert f"| 4 | {chunks} | " in text  # each chunk one request
    assert "second identical run" in text and ", 0 requests," in text
