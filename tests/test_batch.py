"""Batch APIs through the cache, and the bill known up front (issue 16)."""

import json
import subprocess
import sys

from extractor.config import load_settings
from extractor.pipeline import run
from extractor.testing.fake_llm import FakeOpenAIServer

from conftest import SAMPLE


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-c", "from extractor.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def fake_batch_runner(server: FakeOpenAIServer, requests: list[str], faults: dict[int, str]) -> str:
    """Answers each request line as the fake server would, in the Batch API's output format;
    line n (0-based) in `faults` fails ("error") or gets a schema-invalid answer ("invalid")."""
    out = []
    for n, line in enumerate(requests):
        request = json.loads(line)
        result = {"id": f"batch_req_{n}", "custom_id": request["custom_id"], "error": None,
                  "response": {"status_code": 200, "request_id": f"r{n}", "body": None}}
        if faults.get(n) == "error":
            result["response"] = {"status_code": 500, "request_id": f"r{n}",
                                  "body": {"error": {"message": "server error"}}}
        else:
            result["response"]["body"] = server.completion(request["body"], faults.get(n))
        out.append(json.dumps(result, ensure_ascii=False))
    return "\n".join(out) + "\n"


def test_prepare_run_collect_then_the_run_asks_nothing(tmp_path):
    with FakeOpenAIServer() as server:
        common = ["--model", "m", "--base-url", server.base_url, "--cache-dir", "cache", "--chunk-chars", "200"]
        inputs = [str(SAMPLE), str(SAMPLE.with_name("yunxi_2024.txt"))]
        prepared = cli("batch", "prepare", *inputs, "--out", "requests.jsonl", *common, cwd=tmp_path)
        assert prepared.returncode == 0, prepared.stderr
        requests = (tmp_path / "requests.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(requests) >= 4 and server.stats.requests == 0, prepared.stdout
        assert all(json.loads(r)["url"] == "/v1/chat/completions" and "tools" in json.loads(r)["body"] for r in requests)
        assert f"{len(requests)} requests" in prepared.stdout and "prompt tokens" in prepared.stdout

        (tmp_path / "results.jsonl").write_text(fake_batch_runner(server, requests, {1: "error", 2: "invalid"}),
                                                encoding="utf-8")
        collected = cli("batch", "collect", "results.jsonl", "--requests", "requests.jsonl", *common, cwd=tmp_path)
        assert collected.returncode == 0, collected.stderr
        assert f"{len(requests) - 2} answers stored" in collected.stdout
        retry = (tmp_path / "requests.retry.jsonl").read_text(encoding="utf-8").splitlines()
        assert retry == [requests[1], requests[2]]  # exactly the bad lines, as they were
        reasons = [json.loads(r)["reason"] for r in
                   (tmp_path / "requests.retry.reasons.jsonl").read_text(encoding="utf-8").splitlines()]
        assert reasons[0].startswith("failed: HTTP 500") and reasons[1].startswith("invalid answer")

        (tmp_path / "retry_results.jsonl").write_text(fake_batch_runner(server, retry, {}), encoding="utf-8")
        again = cli("batch", "collect", "retry_results.jsonl", "--requests", "requests.retry.jsonl", *common,
                    cwd=tmp_path)
        assert "2 answers stored" in again.stdout
        # A second prepare finds everything cached: nothing left to send.
        assert "0 requests" in cli("batch", "prepare", *inputs, "--out", "more.jsonl", *common, cwd=tmp_path).stdout

        done = cli("run", *inputs, "--out", "out", *common, cwd=tmp_path)
        assert done.returncode == 0 and server.stats.requests == 0, done.stderr
        online = run([SAMPLE, SAMPLE.with_name("yunxi_2024.txt")],
                     load_settings(backend="openai", model="m", base_url=server.base_url, api_key="k", chunk_chars=200,
                                   use_cache=False), tmp_path / "online")
        assert server.stats.requests == len(requests)
    for name in ("sample_report.json", "yunxi_2024.json"):
        batch_records = json.loads((tmp_path / "out" / "reports" / name).read_text(encoding="utf-8"))
        online_records = json.loads((tmp_path / "online" / "reports" / name).read_text(encoding="utf-8"))
        for kind in ("targets", "projects", "commitments"):
            assert batch_records[kind] == online_records[kind]
        assert batch_records["targets"]
    assert online.usage.requests == len(requests)


def test_dry_run_prices_the_run_and_run_json_carries_the_cost(tmp_path, shared_reports):
    import time

    started = time.perf_counter()
    done = cli("run", *map(str, shared_reports), "--dry-run", "--model", "gpt-4o-mini", "--base-url",
               "http://127.0.0.1:9/v1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - started < 10  # the benchmark figure is the strict one
    assert "28 reports, 145 chunks, 0 already cached" in done.stdout and "$" in done.stdout
    assert not (tmp_path / "out").exists()
    with FakeOpenAIServer() as server:
        run([SAMPLE], load_settings(backend="openai", model="gpt-4o-mini", base_url=server.base_url, api_key="k",
                                    cache_dir=tmp_path / "cache"), tmp_path / "out")
    cost = json.loads((tmp_path / "out" / "run.json").read_text())["cost"]
    assert cost["model"] == "gpt-4o-mini" and cost["usd"] > 0
    assert abs(cost["usd_batch"] - cost["usd"] / 2) < 1e-4  # the table's batch discount
    assert cost["cached_prompt_tokens"] > 0  # the second request's schema and system prompt
    assert cost["prompt_tokens"] > cost["cached_prompt_tokens"] and cost["prices_as_of"]
