from pathlib import Path

from extractor.models import schema_files

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def test_committed_schema_matches_models():
    for name, text in schema_files().items():
        committed = SCHEMAS / name
        assert committed.exists(), f"{name} missing: run `extractor schema`"
        assert committed.read_text(encoding="utf-8") == text, f"{name} drifted: run `extractor schema`"
