import json
from pathlib import Path

from extractor.models import schema_files

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
# JSON Schema keywords that older pydantic versions (within our range) do not emit yet.
NEWER_PYDANTIC_KEYWORDS = {"propertyNames"}


def _canonical(node, keys):
    """A schema without the keywords older pydantic lacks, and with its single-element allOf
    (how it wrapped a described $ref) unwrapped."""
    if isinstance(node, dict):
        if len(node.get("allOf", [])) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        return {k: _canonical(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_canonical(v, keys) for v in node]
    return node


def test_committed_schema_matches_models():
    for name, text in schema_files().items():
        committed = SCHEMAS / name
        assert committed.exists(), f"{name} missing: run `extractor schema`"
        if any(f'"{key}"' in text for key in NEWER_PYDANTIC_KEYWORDS):  # the pydantic that writes schemas/
            assert committed.read_text(encoding="utf-8") == text, f"{name} drifted: run `extractor schema`"
        else:  # an older pydantic at the floor of our range: the same schema, written its way
            assert _canonical(json.loads(committed.read_text(encoding="utf-8")), NEWER_PYDANTIC_KEYWORDS) == \
                _canonical(json.loads(text), NEWER_PYDANTIC_KEYWORDS), f"{name} drifted: run `extractor schema`"


def test_field_reference_matches_models():
    from extractor.fieldref import field_reference

    committed = SCHEMAS.parent / "docs" / "fields.md"
    assert committed.read_text(encoding="utf-8") == field_reference(), "docs/fields.md drifted: run `extractor schema`"
    for kind in ("targets", "projects", "commitments"):
        assert f"## {kind}" in field_reference()
