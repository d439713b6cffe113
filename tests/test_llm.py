"""The openai backend against a fake OpenAI-compatible server speaking real HTTP on 127.0.0.1."""

import json

import pytest

from extractor.config import load_settings
from extractor.testing.fake_llm import FakeOpenAIServer, one_of_each
from extractor.pipeline import run
from extractor.backends.rules import extract_chunk
from extractor.chunk import make_chunks
from extractor.ingest import load_document, split_reports

from conftest import SAMPLE

SECRET = "sk-test-DO-NOT-LEAK-1234"


def settings(server, tmp_path, **kw):
    base = dict(backend="openai", model="fake-model", base_url=server.base_url, api_key=SECRET,
                cache_dir=tmp_path / "cache", backoff_max=0.2, timeout=2.0, concurrency=4)
    return load_settings(**{**base, **kw})


def sample_chunks():
    return [c for r in split_reports(load_document(SAMPLE)) for c in make_chunks(r)]


@pytest.mark.parametrize("mode", ["tools", "json_schema", "md_json"])
def test_answers_in_every_mode_match_the_rules(tmp_path, mode):
    with FakeOpenAIServer() as server:
        result = run([SAMPLE], settings(server, tmp_path, mode=mode), tmp_path / "out", show_progress=False)
    expected = sum(extract_chunk(c).count() for c in sample_chunks())
    (output,) = result.outputs
    assert not result.failed and server.stats.requests == len(sample_chunks())
    assert 0 < len(output.targets) + len(output.projects) + len(output.commitments) <= expected
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


def test_faults_are_retried_and_no_chunk_is_lost(tmp_path, shared):
    report = shared / "reports" / "000_f7dc3958b100317f.txt"
    budget = 1000  # small chunks: enough requests for each fault to occur
    with FakeOpenAIServer(faults=one_of_each) as server:
        first = run([report], settings(server, tmp_path, chunk_chars=budget), tmp_path / "out", show_progress=False)
        chunks = len(make_chunks(split_reports(load_document(report))[0], budget))
        assert chunks >= 10
        assert first.chunk_errors == []
        assert server.stats.faults == {"429": 1, "500": 1, "invalid": 1}
        # every chunk once, plus one retry per 429/500 and one re-ask for the invalid answer
        assert server.stats.requests == chunks + 3 == first.usage.requests
        assert first.usage.retries == 2
        before = server.stats.requests
        second = run([report], settings(server, tmp_path, chunk_chars=budget), tmp_path / "out2", show_progress=False)
        assert server.stats.requests == before and second.usage.cache_hits == chunks
    a = json.loads((tmp_path / "out" / "reports" / "000_f7dc3958b100317f.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "out2" / "reports" / "000_f7dc3958b100317f.json").read_text(encoding="utf-8"))
    assert a == b


def test_retry_after_is_honoured(tmp_path):
    from extractor.backends.openai import _BackoffWait

    class Outcome:
        def __init__(self, exc):
            self._exc = exc

        def exception(self):
            return self._exc

    class State:
        attempt_number = 1

        def __init__(self, exc):
            self.outcome = Outcome(exc)

    import openai

    from extractor.backends.openai import http_library

    http = http_library()
    response = http.Response(429, headers={"retry-after": "7"}, request=http.Request("POST", "http://x"))
    exc = openai.RateLimitError("rate limited", response=response, body=None)
    assert _BackoffWait(cap=30)(State(exc)) == 7.0
    assert _BackoffWait(cap=2)(State(exc)) == 2.0


@pytest.mark.parametrize("fault, cause", [("500", "HTTP 500"), ("hang", "timed out"),
                                          ("malformed", "schema validation")])
def test_persistent_faults_fail_the_chunk_not_the_run(tmp_path, fault, cause):
    with FakeOpenAIServer(faults=lambda n: fault if n == 1 or fault != "hang" and n <= 3 else None,
                          hang_seconds=3) as server:
        s = settings(server, tmp_path, transport_retries=0 if fault == "hang" else 2, max_retries=1,
                     timeout=0.5, concurrency=1)
        result = run([SAMPLE], s, tmp_path / "out", show_progress=False)
    assert len(result.chunk_errors) == 1 and cause in result.chunk_errors[0]["error"]
    assert result.outputs and (tmp_path / "out" / "reports" / "sample_report.json").exists()


def test_secrets_never_leave_the_process(tmp_path):
    with FakeOpenAIServer() as server:
        run([SAMPLE], settings(server, tmp_path), tmp_path / "out", show_progress=False)
    for path in [*(tmp_path / "out").iterdir(), *(tmp_path / "cache").rglob("*")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    info = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert info["settings"]["api_key"] == "set" and info["backend"] == "openai"


def test_an_edited_copy_of_the_prompts_changes_the_cache_key_and_run_json(tmp_path):
    import shutil

    from extractor.prompting import shipped_prompts_dir

    mine = tmp_path / "my_prompts"
    shutil.copytree(shipped_prompts_dir(), mine)
    with FakeOpenAIServer() as server:
        run([SAMPLE], settings(server, tmp_path), tmp_path / "a", show_progress=False)
        first = server.stats.requests
        run([SAMPLE], settings(server, tmp_path, prompts=mine), tmp_path / "b", show_progress=False)
        assert server.stats.requests == first  # an unchanged copy: the same prompts, the same answers
        (mine / "system.md").write_text((mine / "system.md").read_text(encoding="utf-8") + "\nBe terse.\n",
                                        encoding="utf-8")
        run([SAMPLE], settings(server, tmp_path, prompts=mine), tmp_path / "c", show_progress=False)
        assert server.stats.requests == 2 * first
    hashes = [json.loads((tmp_path / d / "run.json").read_text())["prompt_hash"] for d in "abc"]
    assert hashes[0] == hashes[1] != hashes[2] and len(hashes[2]) == 64


def test_the_model_is_shown_a_compact_schema_and_pydantic_still_validates():
    from extractor.backends.openai import LLMChunkRecords
    from extractor.prompting import compact_schema

    schema = LLMChunkRecords.model_json_schema()
    text = json.dumps(schema)
    assert schema["title"] == "ChunkRecords" and schema["properties"].keys() == {"targets", "projects", "commitments"}
    for noise in ('"minimum"', '"minLength"', '"additionalProperties"', '"default"', '"anyOf"'):
        assert noise not in text
    target = schema["$defs"]["Target"]["properties"]
    assert target["value"]["type"] == ["number", "null"] and "gdp" in target["indicator_code"]["enum"]
    # a property that happens to be called "title" is a name, not a keyword to drop
    assert compact_schema({"properties": {"title": {"title": "Title", "type": "string"}}}) == \
        {"properties": {"title": {"type": "string"}}}
    with pytest.raises(ValueError):
        LLMChunkRecords.model_validate({"targets": [{"indicator": "x", "status": "planned", "measure": "growth",
                                                     "comparator": "about", "year": 1800, "evidence": "xx", "value": 1}]})


def test_async_validator_check_is_memoized_only_for_models_that_pass():
    async_validators = pytest.importorskip("instructor.v2.validation.async_validators",
                                           reason="this instructor has no per-call async-validator walk")
    from pydantic import BaseModel

    from extractor.backends.openai import LLMChunkRecords, memoize_instructor_model_check

    class Bad(BaseModel):
        name: str

        @async_validators.async_field_validator("name")
        async def check(cls, value):
            return value

    memoize_instructor_model_check()
    memoize_instructor_model_check()  # idempotent
    check = async_validators.reject_async_validators
    assert check.memoized
    for _ in range(2):
        check(LLMChunkRecords)
        with pytest.raises(ValueError, match="async validators"):
            check(Bad)
