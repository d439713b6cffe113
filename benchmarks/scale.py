"""python -m benchmarks.scale: a corpus of N reports made from the shared ones, and what the
pipeline does with it.

Each generated report is one of the shared reports (the 24 of the collection counted apart) with
its place name replaced by an invented county's and every number scaled by a factor drawn per
report (0.8–1.2), one report per file. Each measurement runs in a fresh process, so its peak RSS
is its own:
- the rules backend over N reports: reports per second and peak RSS, for N and for N/10;
- the LLM path against the fake server in its own process (latency L seconds per answer) at the
  concurrencies asked: efficiency = requests × latency / (wall × concurrency), and peak RSS. The
  server works out its answers (the rules' records for each chunk) before it serves, as a real
  endpoint computes on its own machines: this machine's two cores are the client's and the
  server's, and the figure is meant to measure the client.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extractor.ingest import load_document, split_reports

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "reports"
_SYLLABLES = "安宁平和兴昌隆泰丰源清远明华东西南北新永福嘉宜云溪江山川河阳林"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def make_corpus(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """Write n report files into folder; return their paths."""
    rng = random.Random(seed)
    bases = []
    for path in sorted(SHARED.glob("*.txt")):
        source_lines = path.read_text(encoding="utf-8").split("\n")
        for report in split_reports(load_document(path)):
            bases.append(("\n".join(source_lines[report.lines[0] - 1:report.lines[1]]), report.region or ""))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        text, region = bases[i % len(bases)]
        name = "".join(rng.choice(_SYLLABLES) for _ in range(2)) + "县"
        factor = rng.uniform(0.8, 1.2)
        if region:
            text = text.replace(region, name).replace(region[:-1], name[:-1])
        text = _NUMBER.sub(lambda m: _scaled(m.group(), factor), text)
        path = folder / f"report_{i:04d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _scaled(number: str, factor: float) -> str:
    if len(number) == 4 and number.startswith("20"):  # a year
        return number
    decimals = len(number.split(".")[1]) if "." in number else 0
    value = float(number) * factor
    return f"{value:.{decimals}f}" if decimals else str(max(1, round(value)))


_CHILD = """
import json, resource, sys, time
from pathlib import Path
from extractor.config import load_settings
from extractor.pipeline import run
args = json.loads(sys.argv[1])
files = sorted(Path(args["corpus"]).glob("*.txt"))[: args["n"]]
started = time.perf_counter()
result = run(files, load_settings(**args["settings"]), Path(args["out"]), show_progress=False, keep_outputs=False)
wall = time.perf_counter() - started
print(json.dumps({"wall": wall, "reports": len(result.summaries), "requests": result.usage.requests,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _measure(corpus: Path, n: int, settings: dict, out: Path) -> dict:
    args = {"corpus": str(corpus), "n": n, "settings": settings, "out": str(out)}
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench(n: int, latency: float, concurrencies: list[int]) -> str:
    from extractor.testing.fake_llm import FakeServerProcess

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        t0 = time.perf_counter()
        make_corpus(corpus, n)
        lines.append(f"- corpus of {n} reports written in {time.perf_counter() - t0:.1f} s")
        for size in (n // 10, n):
            rules = _measure(corpus, size, {"backend": "rules"}, Path(tmp) / f"rules_{size}")
            lines.append(f"- rules backend, {size} reports: {rules['wall']:.1f} s, "
                         f"{rules['reports'] / rules['wall']:.0f} reports/s, peak RSS {rules['rss_mb']:.0f} MB")
        with FakeServerProcess(latency=latency, warm=sorted(corpus.glob("*.txt"))) as server:
            for concurrency in concurrencies:
                for size in (n // 10, n):
                    online = _measure(corpus, size, {"backend": "openai", "model": "bench", "base_url": server.base_url,
                                                     "api_key": "bench", "use_cache": False,
                                                     "concurrency": concurrency, "timeout": 120},
                                      Path(tmp) / f"llm_{concurrency}_{size}")
                    efficiency = online["requests"] * latency / (online["wall"] * concurrency)
                    lines.append(f"- LLM path, {size} reports, concurrency {concurrency}, latency {latency:.0f} s: "
                                 f"{online['requests']} requests in {online['wall']:.1f} s, efficiency {efficiency:.3f}, "
                                 f"peak RSS {online['rss_mb']:.0f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "SCALE.md")
    args = parser.parse_args(argv)
    text = bench(args.reports, args.latency, args.concurrency)
    method = __doc__.split("\n\n", 1)[1].strip()
    args.out.write_text(f"Run {time.strftime('%Y-%m-%d')} on this 2-core machine, "
                        f"`python -m benchmarks.scale --reports {args.reports}`:\n\n{text}\n\n"
                        f"Method: {method}\n", encoding="utf-8")
    print(text, flush=True)


if __name__ == "__main__":
    main()
