"""Print a pip constraints file pinning every direct dependency of pyproject.toml at the lowest
version its range allows, so CI can prove the floors (generated each run: it cannot drift)."""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))["project"]
requirements = [*project["dependencies"], *(r for extra in project.get("optional-dependencies", {}).values() for r in extra)]
for requirement in requirements:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)", requirement)
    if not match:
        sys.exit(f"floors.py: {requirement!r} has no lower bound (>=): every dependency needs one")
    print(f"{match.group(1)}=={match.group(2)}")
