from benchmarks.__main__ import bench

from conftest import SAMPLE


def test_benchmark_runs_end_to_end_on_a_small_report(tmp_path):
    out = tmp_path / "RESULTS.md"
    text = bench([SAMPLE], latency=0.01, concurrencies=[1, 4], out=out)
    assert out.read_text(encoding="utf-8") == text
    assert "| 4 | 3 | " in text  # three chunks, each one request
    assert "second identical run" in text and ", 0 requests," in text
