"""Every command of the README runs as written, in a fresh folder with what a clone has (no
../shared), in the order the README gives them. Skipped: the install line (CI runs it), the test
command itself, and blocks that need an API key (they name a remote https:// endpoint)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.M | re.S)


def readme_blocks() -> list[tuple[str, str]]:
    blocks = []
    for language, body in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8")):
        if "https://" in body:
            continue
        lines = [line for line in body.splitlines() if "pip install" not in line and "-m pytest" not in line]
        if any(line.strip() for line in lines):
            blocks.append((language, "\n".join(lines) + "\n"))
    return blocks


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    for name in ("samples", "prompts", "extractor"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    return tmp_path


def test_readme_commands_run_as_written(clone):
    blocks = readme_blocks()
    assert len(blocks) >= 5 and any(language == "python" for language, _ in blocks)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EXTRACTOR_"))}
    for language, body in blocks:
        command = ["bash", "-e", "-c", body] if language == "bash" else [sys.executable, "-c", body]
        done = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"README block failed:\n{body}\n--- stderr:\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, done.stderr
    assert (clone / "out" / "reports" / "sample_report.json").exists() and (clone / "eval.md").exists()
    assert (clone / "out_fake" / "run.json").exists() and (clone / "out_lexicon" / "run.json").exists()
