"""Batch: corpora of thousands of reports through a provider's batch API or vLLM's offline
runner, through the cache, with the bill known first.

    extractor batch prepare FILES --out requests.jsonl   # one line per chunk not yet cached
    (OpenAI Batch API: extractor batch submit / status / download; vLLM: run_batch -i ... -o ...)
    extractor batch collect results.jsonl --requests requests.jsonl
    extractor run FILES                                   # every answer is in the cache: 0 requests

A request line's custom_id is the chunk's cache key and its body exactly what the online path
sends (captured from instructor in the configured mode), so a collected answer is found by the
online run as if it had asked. `estimate` prices a run before it is made (`run --dry-run`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .backends.keys import cache_key, llm_schema, open_cache
from .chunk import Chunk
from .config import Settings
from .cost import ANSWER_PER_TEXT_TOKEN, Bill, bill, count_tokens, load_prices, request_tokens
from .output import write_atomic
from .pipeline import prepare, run_sync
from .prompting import load_prompts

ENDPOINT = "/v1/chat/completions"


@dataclass
class Plan:
    """The chunks of a run and whether each is already answered in the cache."""

    reports: int = 0
    chunks: list[tuple[Chunk, str, bool]] = field(default_factory=list)  # (chunk, cache key, cached)
    errors: list[str] = field(default_factory=list)

    @property
    def cached(self) -> int:
        return sum(cached for _, _, cached in self.chunks)


def plan(paths: list[Path], settings: Settings) -> Plan:
    """The run's chunks and their cache keys, computed offline (no client library loaded)."""
    errors: list[str] = []
    prepared = prepare(paths, settings, errors)
    out = Plan(reports=len(prepared), errors=errors)
    prompts = load_prompts(settings.prompts)
    cache = open_cache(settings.cache_dir) if settings.use_cache and settings.cache_dir.exists() else None
    try:
        for item in prepared:
            for chunk in item.chunks:
                key = cache_key(settings, prompts, chunk)
                out.chunks.append((chunk, key, cache is not None and key in cache))
    finally:
        if cache is not None:
            cache.close()
    return out


def estimate(the_plan: Plan, settings: Settings, prices_file: Path | None = None) -> Bill:
    """Tokens and cost of the chunks not yet cached, without calling anything. Prompt tokens are
    counted on the rendered messages and the schema; completion tokens are estimated from the
    measured ratio of answer to report-text tokens (cost.ANSWER_PER_TEXT_TOKEN)."""
    prompts = load_prompts(settings.prompts)
    tools = {"type": "function", "function": {"name": "ChunkRecords", "parameters": json.loads(llm_schema())}}
    system = prompts.render(the_plan.chunks[0][0])[0] if the_plan.chunks else None
    fixed = request_tokens([system], tools) if system else 0  # the same for every request
    prompt = completion = 0
    for chunk, _, cached in the_plan.chunks:
        if cached:
            continue
        text_tokens = count_tokens(chunk.text)
        header = prompts.render(chunk)[1]["content"].replace(chunk.text, "")
        prompt += fixed + count_tokens(header) + text_tokens
        completion += round(text_tokens * ANSWER_PER_TEXT_TOKEN)
    result = bill(settings.model, prompt, 0, completion, load_prices(prices_file))
    result.notes.append(f"completion tokens estimated at {ANSWER_PER_TEXT_TOKEN} per token of report text "
                        "(measured on a strong model's answers)")
    return result


def describe_estimate(the_plan: Plan, result: Bill) -> str:
    usd, batch = result.usd(), result.usd(batch=True)
    price = (f"${usd:.2f} online, ${batch:.2f} through the batch API (prices of {result.price.as_of})"
             if result.price else f"no price for model {result.model!r} in the price table (--prices FILE)")
    return "\n".join([
        f"{the_plan.reports} reports, {len(the_plan.chunks)} chunks, {the_plan.cached} already cached",
        f"to send: {len(the_plan.chunks) - the_plan.cached} requests, {result.prompt_tokens} prompt tokens (o200k), "
        f"about {result.completion_tokens} completion tokens",
        f"cost: {price}", *(f"note: {note}" for note in result.notes)])


def prepare_batch(paths: list[Path], settings: Settings, out: Path, prices_file: Path | None = None) -> tuple[Plan, Bill]:
    """Write one batch request line per chunk not yet cached."""
    from .backends.openai import OpenAIBackend

    the_plan = plan(paths, settings)
    backend = OpenAIBackend(settings)
    try:
        lines = []
        for chunk, key, cached in the_plan.chunks:
            if not cached:
                body = run_sync(backend.request_body(chunk))
                lines.append(json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body},
                                        ensure_ascii=False))
        write_atomic(out, "".join(line + "\n" for line in lines))
        return the_plan, estimate(the_plan, settings, prices_file)
    finally:
        run_sync(backend.aclose())


@dataclass
class Collected:
    stored: int = 0
    retry: list[tuple[str, str]] = field(default_factory=list)  # (custom_id, reason)


def collect_batch(results: Path, requests: Path, settings: Settings, retry_out: Path) -> Collected:
    """Store the valid answers of a batch in the cache under their keys; write the requests of
    failed or invalid answers to retry_out, and their reasons beside it (retry_out.reasons.jsonl)."""
    from .backends.openai import LLMChunkRecords, answer_text, validation_line

    if not settings.use_cache:
        raise ValueError("collecting a batch needs the cache (do not give --no-cache)")
    cache = open_cache(settings.cache_dir)
    asked = {}
    for line in requests.read_text(encoding="utf-8").splitlines():
        if line.strip():
            asked[json.loads(line)["custom_id"]] = line
    outcome = Collected()
    answered = set()
    try:
        for line in results.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key = item.get("custom_id", "")
            answered.add(key)
            reason = _problem(item)
            if reason is None:
                try:
                    records = LLMChunkRecords.model_validate_json(answer_text(item["response"]["body"]) or "")
                except ValidationError as exc:
                    reason = f"invalid answer: {validation_line(exc)}"
                else:
                    cache.set(key, records.model_dump_json())
                    outcome.stored += 1
            if reason is not None:
                outcome.retry.append((key, reason))
        outcome.retry += [(key, "no result in the batch output") for key in asked if key not in answered]
    finally:
        cache.close()
    write_atomic(retry_out, "".join(asked[key] + "\n" for key, _ in outcome.retry if key in asked))
    write_atomic(retry_out.with_name(retry_out.stem + ".reasons.jsonl"),
                 "".join(json.dumps({"custom_id": k, "reason": r}, ensure_ascii=False) + "\n" for k, r in outcome.retry))
    return outcome


def _problem(item: dict) -> str | None:
    if item.get("error"):
        error = item["error"]
        return f"failed: {error.get('message', error) if isinstance(error, dict) else error}"
    response = item.get("response") or {}
    if response.get("status_code") != 200:
        body = response.get("body") or {}
        message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        return f"failed: HTTP {response.get('status_code')} {message}".rstrip()
    body = response.get("body") or {}
    if (body.get("choices") or [{}])[0].get("finish_reason") == "length":
        return "answer cut at the output limit (finish_reason: length): rerun online, which splits the chunk"
    return None
