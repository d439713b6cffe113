"""Command line: extractor run | split | eval | schema | cache.

Errors a user can cause (a bad file, a bad setting) are one line on stderr and an exit
status, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from . import __version__
from .config import ConfigError, Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Extract targets, projects and livelihood commitments from Chinese government reports.")
cache_app = typer.Typer(no_args_is_help=True, help="Inspect or clear the LLM answer cache.")
app.add_typer(cache_app, name="cache")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Optional[Path], **overrides) -> Settings:
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        _fail(str(exc))


INTERRUPTED = "interrupted: rerun the same command to resume from the cache"
ConfigOpt = typer.Option(None, "--config", help="TOML file with settings (the flags' names, - or _).")


def _opt(name: str, text: str, *flags: str) -> object:
    """A flag that overrides a setting; its help shows the setting's default."""
    default = Settings.model_fields[name].default
    shown = "none" if default is None else default
    return typer.Option(None, *flags, help=f"{text} (default: {shown})")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"extractor {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Extract targets, projects and livelihood commitments from Chinese government reports."""


@app.command()
def run(
    files: list[Path] = typer.Argument(..., help="Report files (.txt, .html, .docx, .pdf) or folders of them."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output directory."),
    pattern: str = typer.Option("*", "--glob", help="In folders, read only files whose name matches (e.g. '*2023*')."),
    backend: Optional[str] = _opt("backend", "auto | rules | openai"),
    model: Optional[str] = _opt("model", "Model name (openai backend)."),
    base_url: Optional[str] = _opt("base_url", "OpenAI-compatible endpoint URL."),
    mode: Optional[str] = _opt("mode", "instructor mode: tools | json_schema | md_json"),
    concurrency: Optional[int] = _opt("concurrency", "Chunks extracted at once."),
    timeout: Optional[float] = _opt("timeout", "Seconds for one request's whole answer."),
    max_tokens: Optional[int] = _opt("max_tokens", "Answer budget in tokens (endpoints differ: 4,096 is common)."),
    rpm: Optional[int] = _opt("rpm", "Requests-per-minute limit."),
    chunk_chars: Optional[int] = _opt("chunk_chars", "Chunk budget in characters."),
    prompts: Optional[Path] = _opt("prompts", "Folder with your own system.md and user.md (see prompts/)."),
    lexicon: Optional[Path] = _opt("lexicon", "Your own rules lexicon (TOML, see extractor/data/lexicon.toml)."),
    cache_dir: Optional[Path] = _opt("cache_dir", "Cache directory."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    keep_ungrounded: bool = typer.Option(False, "--keep-ungrounded", help="Keep records whose evidence is not found."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what the run would send and cost; send nothing."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Price table (TOML) for cost (default: shipped)."),
    traditional: bool = typer.Option(False, "--keep-traditional", help="Do not convert to simplified characters."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Extract records from reports and write one JSON per report, records.jsonl, CSVs and run.json."""
    from .backends.base import RunAborted
    from .output import OutputError
    from .pipeline import run as run_pipeline

    settings = _settings(config, backend=backend, model=model, base_url=base_url, mode=mode,
                         concurrency=concurrency, timeout=timeout, max_tokens=max_tokens, rpm=rpm,
                         chunk_chars=chunk_chars, prompts=prompts, lexicon=lexicon, cache_dir=cache_dir,
                         use_cache=False if no_cache else None, keep_ungrounded=keep_ungrounded or None,
                         to_simplified=False if traditional else None)
    if dry_run:
        return _dry_run(files, settings, prices)
    if settings.resolved_backend() == "rules" and settings.backend == "auto":
        typer.echo("no LLM configured (set --model and --base-url or OPENAI_API_KEY): using the offline rules backend",
                   err=True)
    try:
        result = run_pipeline(files, settings, out, argv=sys.argv[1:], pattern=pattern, prices=prices,
                              keep_outputs=False)
    except KeyboardInterrupt:  # typer would exit 130 without a word
        typer.echo(INTERRUPTED, err=True)
        raise typer.Exit(130)
    except (ConfigError, OutputError, RunAborted) as exc:
        _fail(f"{exc} (outputs in {out}/ left as they were)" if isinstance(exc, RunAborted) else str(exc),
              1 if isinstance(exc, RunAborted) else 2)
    except OSError as exc:  # disk full, a folder removed under the run: nothing was replaced
        _fail(f"{exc.filename or out}: {exc.strerror or exc} (outputs in {out}/ left as they were)", 1)
    for line in result.warnings:
        typer.echo(f"warning: {line}", err=True)
    for line in result.file_errors:
        typer.echo(f"error: {line}", err=True)
    for err in result.chunk_errors:
        typer.echo(f"error: {err['report_id']} chunk {err['chunk']}: {err['error']}", err=True)
    for item in result.invalid_records:
        typer.echo(f"warning: {item['report_id']} chunk {item['chunk']}: dropped invalid record {item['record']}",
                   err=True)
    for o in result.summaries:
        typer.echo(f"{o.report_id}\t{o.region}\t{o.counts['targets']} targets\t{o.counts['projects']} projects\t"
                   f"{o.counts['commitments']} commitments" + ("" if o.complete else f"\tINCOMPLETE ({o.failed_chunks} "
                                                                                      "chunks failed)"))
    u = result.usage
    read = ", ".join(f"{n} {kind}" for kind, n in sorted(result.kinds.items())) or "none"
    skipped = sum(result.skipped.values())
    typer.echo(f"files: {read} read; {skipped} skipped" + (f" ({', '.join(f'{n} {k}' for k, n in sorted(result.skipped.items()))})"
                                                          if skipped else "") + f"; {len(result.file_errors)} failed",
               err=True)
    typer.echo(f"{len(result.summaries)} reports -> {out}/ ({result.backend} backend, "
               f"{result.timings['total_s']:.2f} s, {u.requests} requests, {u.cache_hits} cache hits, "
               f"{u.prompt_tokens}+{u.completion_tokens} tokens, {result.incomplete} incomplete reports, "
               f"{result.ungrounded} ungrounded and {result.unsupported} unsupported records dropped, "
               f"{u.invalid_records} invalid records dropped, {u.splits} chunk splits, "
               f"{len(result.file_errors) + len(result.chunk_errors)} failures)", err=True)
    if result.failed:
        raise typer.Exit(1)


def _dry_run(files: list[Path], settings: Settings, prices: Optional[Path]) -> None:
    """What a run would send and cost, computed offline."""
    from .batch import describe_estimate, estimate, plan

    try:
        settings.check_backend()
    except ConfigError as exc:
        _fail(str(exc))
    if settings.resolved_backend() != "openai":
        _fail("--dry-run estimates an LLM run: give --model and --base-url (the rules backend costs nothing)")
    try:
        the_plan = plan(files, settings)
        typer.echo(describe_estimate(the_plan, estimate(the_plan, settings, prices)))
    except ConfigError as exc:
        _fail(str(exc))
    for line in the_plan.errors:
        typer.echo(f"error: {line}", err=True)


batch_app = typer.Typer(no_args_is_help=True, help="Batch APIs and vLLM's offline runner, through the cache.")
app.add_typer(batch_app, name="batch")


def _batch_settings(config, model, base_url, mode, chunk_chars, prompts, cache_dir) -> Settings:
    settings = _settings(config, backend="openai", model=model, base_url=base_url, mode=mode, chunk_chars=chunk_chars,
                         prompts=prompts, cache_dir=cache_dir)
    try:
        settings.check_backend()
    except ConfigError as exc:
        _fail(str(exc))
    return settings


@batch_app.command("prepare")
def batch_prepare(
    files: list[Path] = typer.Argument(..., help="Report files or folders."),
    out: Path = typer.Option(Path("requests.jsonl"), "--out", help="The batch input file to write."),
    model: Optional[str] = _opt("model", "Model name."),
    base_url: Optional[str] = _opt("base_url", "The endpoint the online run would use (part of the cache key)."),
    mode: Optional[str] = _opt("mode", "instructor mode: tools | json_schema (for vLLM) | md_json"),
    chunk_chars: Optional[int] = _opt("chunk_chars", "Chunk budget in characters."),
    prompts: Optional[Path] = _opt("prompts", "Folder with your own prompts."),
    cache_dir: Optional[Path] = _opt("cache_dir", "Cache directory."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Price table (TOML)."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Write one OpenAI Batch API request line per chunk not yet cached, and print the estimate."""
    from .batch import describe_estimate, prepare_batch

    settings = _batch_settings(config, model, base_url, mode, chunk_chars, prompts, cache_dir)
    try:
        the_plan, estimate = prepare_batch(files, settings, out, prices)
    except ConfigError as exc:
        _fail(str(exc))
    typer.echo(describe_estimate(the_plan, estimate))
    typer.echo(f"{len(the_plan.chunks) - the_plan.cached} requests -> {out}")
    for line in the_plan.errors:
        typer.echo(f"error: {line}", err=True)


@batch_app.command("collect")
def batch_collect(
    results: Path = typer.Argument(..., help="The batch output file (JSONL)."),
    requests: Path = typer.Option(Path("requests.jsonl"), "--requests", help="The batch input file it answers."),
    retry: Optional[Path] = typer.Option(None, "--retry", help="Where to write the requests to send again "
                                         "(default: beside the requests, .retry.jsonl)."),
    model: Optional[str] = _opt("model", "Model name (as prepared)."),
    base_url: Optional[str] = _opt("base_url", "Endpoint (as prepared)."),
    mode: Optional[str] = _opt("mode", "instructor mode (as prepared)."),
    chunk_chars: Optional[int] = _opt("chunk_chars", "Chunk budget in characters (as prepared)."),
    prompts: Optional[Path] = _opt("prompts", "Prompts folder (as prepared)."),
    cache_dir: Optional[Path] = _opt("cache_dir", "Cache directory."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Validate a batch's answers, store the valid ones in the cache, and write the rest to a retry file."""
    from .batch import collect_batch

    settings = _batch_settings(config, model, base_url, mode, chunk_chars, prompts, cache_dir)
    retry = retry or requests.with_name(requests.stem + ".retry.jsonl")
    try:
        outcome = collect_batch(results, requests, settings, retry)
    except (OSError, ValueError, KeyError) as exc:
        _fail(f"{results}: cannot collect ({exc})")
    for key, reason in outcome.retry:
        typer.echo(f"retry: {key[:16]}: {reason}", err=True)
    typer.echo(f"{outcome.stored} answers stored in the cache; {len(outcome.retry)} to retry -> {retry}")


def _openai_client(base_url: Optional[str]):
    import openai

    return openai.OpenAI(base_url=base_url, max_retries=2)


@batch_app.command("submit")
def batch_submit(requests: Path = typer.Argument(..., help="The batch input file."),
                 base_url: Optional[str] = _opt("base_url", "Endpoint with a batch API.")) -> None:
    """Upload the requests and start a batch (OpenAI Batch API); prints the batch id."""
    client = _openai_client(base_url)
    with open(requests, "rb") as handle:
        uploaded = client.files.create(file=handle, purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    typer.echo(batch.id)


@batch_app.command("status")
def batch_status(batch_id: str = typer.Argument(...), base_url: Optional[str] = _opt("base_url", "Endpoint.")) -> None:
    """A batch's status and request counts."""
    batch = _openai_client(base_url).batches.retrieve(batch_id)
    counts = batch.request_counts
    typer.echo(f"{batch.id}\t{batch.status}\t{counts.completed if counts else '?'} of {counts.total if counts else '?'}"
               f" done, {counts.failed if counts else '?'} failed")


@batch_app.command("download")
def batch_download(batch_id: str = typer.Argument(...), out: Path = typer.Option(Path("results.jsonl"), "--out"),
                   base_url: Optional[str] = _opt("base_url", "Endpoint.")) -> None:
    """Save a finished batch's output (and errors, if any) for `extractor batch collect`."""
    from .output import write_atomic

    client = _openai_client(base_url)
    batch = client.batches.retrieve(batch_id)
    if batch.status != "completed":
        _fail(f"batch {batch_id} is {batch.status}, not completed")
    text = "".join(client.files.content(f).text for f in (batch.output_file_id, batch.error_file_id) if f)
    write_atomic(out, text)
    typer.echo(str(out))


@app.command()
def split(
    files: list[Path] = typer.Argument(..., help="Report files or folders."),
    as_json: bool = typer.Option(False, "--json", help="Print the full structure as JSON."),
    stats: bool = typer.Option(False, "--stats", help="Print ingest timing."),
    chunk_chars: Optional[int] = _opt("chunk_chars", "Chunk budget in characters."),
    traditional: bool = typer.Option(False, "--keep-traditional", help="Do not convert to simplified characters."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Show how files are read and cut: reports, metadata, sections and chunks."""
    from .pipeline import prepare

    settings = _settings(config, chunk_chars=chunk_chars, to_simplified=False if traditional else None)
    errors: list[str] = []
    warnings: list[str] = []
    started = time.perf_counter()
    prepared = prepare(files, settings, errors, warnings)
    elapsed = time.perf_counter() - started
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)
    for line in errors:
        typer.echo(f"error: {line}", err=True)
    if as_json:
        payload = [{
            "report_id": p.report.report_id, "source": p.report.source, "title": p.report.title,
            "region": p.report.region, "report_type": p.report.report_type,
            "review_period": p.report.review_period, "plan_year": p.report.plan_year, "lines": p.report.lines,
            "sections": [{"level": s.level, "path": s.path_text, "part": s.part, "span": [s.start, s.end]}
                         for s in p.sections],
            "chunks": [{"index": c.index, "span": [c.start, c.end], "size": c.size, "part": c.part,
                        "section": c.section_path} for c in p.chunks],
        } for p in prepared]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        for p in prepared:
            r = p.report
            typer.echo(f"{r.report_id}\t{r.title}\t{r.region}\t{r.report_type}\treview {r.review_period}\t"
                       f"plan {r.plan_year}\tlines {r.lines[0]}-{r.lines[1]}\t{len(p.sections)} sections\t"
                       f"{len(p.chunks)} chunks\tlargest {max((c.size for c in p.chunks), default=0)} chars")
        typer.echo(f"{len(prepared)} reports from {len({p.report.source for p in prepared})} files", err=True)
    if stats:
        per = elapsed / max(1, len(prepared))
        typer.echo(f"ingest+chunk: {elapsed:.3f} s for {len(prepared)} reports ({per * 1000:.1f} ms per report)",
                   err=True)
    if errors:
        raise typer.Exit(1)


@app.command("eval")
def eval_command(
    gold: Path = typer.Option(..., "--gold", help="Directory (or file) of gold annotations."),
    pred: list[Path] = typer.Option(..., "--pred", help="Run output directory; give two to compare."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write a Markdown error report here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write machine-readable scores here."),
    reports_dir: Optional[Path] = typer.Option(
        None, "--reports-dir", help="Source reports, when the run's recorded inputs have moved (also tried: gold/../reports)."),
    bootstrap: int = typer.Option(1000, help="Bootstrap resamples for confidence intervals (0: none)."),
    no_evidence: bool = typer.Option(False, "--no-evidence",
                                     help="Align on key fields alone when sources are unavailable (outputs say so)."),
) -> None:
    """Score run outputs against gold annotations."""
    from . import eval as evaluation
    from .output import write_atomic

    try:
        results = [evaluation.evaluate(gold, p, reports_dir=reports_dir, bootstrap=bootstrap, no_evidence=no_evidence)
                   for p in pred]
    except evaluation.GoldError as exc:
        _fail(str(exc))
    # Files first: a closed stdout (`| head`) must not cost the written results.
    if report:
        write_atomic(report, evaluation.markdown_report(results[0]) if len(results) == 1
                     else evaluation.format_comparison(results[0], results[1], markdown=True))
    if json_out:
        write_atomic(json_out, json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=1) + "\n")
    if len(results) == 1:
        typer.echo(evaluation.format_summary(results[0]))
    else:
        typer.echo(evaluation.format_comparison(results[0], results[1]))
    if report:
        typer.echo(f"error report written to {report}", err=True)


@app.command()
def review(
    out: Path = typer.Argument(..., help="A run's output directory."),
    gold: Optional[Path] = typer.Option(None, "--gold", help="Gold annotations: show the eval's alignment."),
    open_page: bool = typer.Option(False, "--open", help="Open the page in a browser."),
) -> None:
    """Write a self-contained HTML page to check and correct a run's records in their text."""
    from .eval import GoldError
    from .review import ReviewError, build_review

    try:
        pages = build_review(out, gold)
    except (ReviewError, GoldError) as exc:
        _fail(str(exc))
    typer.echo(f"{pages.index}" + (f" (index of {len(pages.pages)} report pages)" if len(pages.pages) > 1 else ""))
    if open_page:
        import webbrowser

        webbrowser.open(pages.index.absolute().as_uri())


@app.command()
def table(
    out: Path = typer.Argument(..., help="A run's output directory."),
    formats: list[str] = typer.Option(["csv"], "--format", help="csv | parquet | dta; repeat for several."),
    folder: Optional[Path] = typer.Option(None, "--out", help="Where to write (default: OUT/tables/)."),
) -> None:
    """Write the headline-target table, the panel and the target-vs-actual table, with a codebook."""
    from .tables import TableError, build_tables

    try:
        written = build_tables(out, tuple(formats), folder)
    except TableError as exc:
        _fail(str(exc))
    for path in written:
        typer.echo(str(path))


@app.command()
def schema(out: Optional[Path] = typer.Option(
        None, "--out", help="Directory for the JSON Schema files (default: schemas/ of the source checkout).")) -> None:
    """Write the JSON Schema of the output files and the field reference (docs/fields.md),
    generated from the pydantic models."""
    from .fieldref import field_reference
    from .models import schema_files
    from .output import write_atomic

    checkout = Path(__file__).resolve().parent.parent
    if out is None:
        out = checkout / "schemas"
        if not out.is_dir():
            _fail("no schemas/ folder beside the package (an installed copy): give --out DIR")
    docs = out.parent / "docs" if out == checkout / "schemas" else out
    for path, text in [*((out / name, text) for name, text in schema_files().items()),
                       (docs / "fields.md", field_reference())]:
        write_atomic(path, text)
        typer.echo(str(path))


def _cache_dir(cache_dir: Optional[Path], config: Optional[Path]) -> Path | None:
    """The configured cache directory, or None (after saying so) when there is no cache yet."""
    directory = _settings(config, cache_dir=cache_dir).cache_dir.absolute()
    if not directory.exists():
        typer.echo(f"{directory}: no cache (0 entries)")
        return None
    return directory


@cache_app.command("stats")
def cache_stats(cache_dir: Optional[Path] = typer.Option(None, help="Cache directory."),
                config: Optional[Path] = ConfigOpt) -> None:
    """Entries and size of the cache."""
    import diskcache

    if (directory := _cache_dir(cache_dir, config)) is not None:
        with diskcache.Cache(str(directory)) as cache:
            typer.echo(f"{directory}: {len(cache)} entries, {cache.volume() / 1e6:.2f} MB")


@cache_app.command("clear")
def cache_clear(cache_dir: Optional[Path] = typer.Option(None, help="Cache directory."),
                config: Optional[Path] = ConfigOpt) -> None:
    """Remove every cached answer."""
    import diskcache

    if (directory := _cache_dir(cache_dir, config)) is not None:
        with diskcache.Cache(str(directory)) as cache:
            typer.echo(f"{directory}: removed {cache.clear()} entries")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED, err=True)
        sys.exit(130)
