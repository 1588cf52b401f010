"""`newswatch replay` and `newswatch backtest` (the archive they read: `newswatch.cli.archive`).

Times are UTC: `2020-05-01`, `2020-05-01T06:00`, or full ISO 8601. Windows are half-open,
[from, to), except that a date-only `--to` includes that whole day (`--to 2020-05-31` ends at
2020-06-01T00:00Z). Replays never notify and never touch the live store; see
`newswatch.cli.replay_pipeline` for how a run is wired and where it writes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from newswatch.cli import archive, wiring
from newswatch.cli.context import AppContext, app_context, fail
from newswatch.errors import NewswatchError
from newswatch.topics import ENRICHED, RAW

if (
    TYPE_CHECKING
):  # the stages load spaCy and matplotlib: imported when a command runs, not at CLI start
    from newswatch.cli.replay_pipeline import ReplayResult
    from sinks.backtest import Backtester


FromOpt = Annotated[
    str, typer.Option("--from", help="start (UTC), inclusive: 2020-05-01 or 2020-05-01T06:00")
]
ToOpt = Annotated[
    str, typer.Option("--to", help="end (UTC), exclusive; a bare date includes that day")
]
FeedsOpt = Annotated[
    list[str] | None,
    typer.Option("--feeds", help="only these feed URLs (repeat or comma-separate)"),
]
RunOpt = Annotated[
    str | None, typer.Option("--run", help="replay run name (default: from the window)")
]
BusOpt = Annotated[
    bool, typer.Option("--kafka", "--bus", help="re-read the bus by time instead of the archive")
]
FreshOpt = Annotated[
    bool,
    typer.Option(
        "--fresh", help="parse and enrich every distinct article again (ignore the replay cache)"
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=0,
        help="processes running spaCy in parallel (default: CPU cores, at most 4; 0 = this process)",
    ),
]
TopicOpt = Annotated[
    str, typer.Option("--topic", help="with --kafka: 'raw' (re-process) or 'enriched'")
]


def parse_time(text: str, *, end: bool = False) -> datetime:
    """UTC time from the command line; a bare date as `--to` means the end of that day."""
    value = text.strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date or time: use 2020-05-01 or 2020-05-01T06:00"
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if end and len(value) == 10:
        when += timedelta(days=1)
    return when


def _feeds(values: list[str] | None) -> list[str]:
    return sorted({f.strip() for v in values or [] for f in v.split(",") if f.strip()})


def replay_command(
    ctx: typer.Context,
    since: FromOpt,
    until: ToOpt,
    feeds: FeedsOpt = None,
    run: RunOpt = None,
    kafka: BusOpt = False,
    fresh: FreshOpt = False,
    topic: TopicOpt = "raw",
    workers: WorkersOpt = None,
) -> None:
    """Re-run archived feeds (or the bus by time) through parse, processors and a store of the run's own.

    Alerts of the configured rules file are evaluated and indexed with the run, never sent.
    """
    from sinks import rules_path_for
    from sinks.backtest import Backtester

    app = app_context(ctx)
    rules = rules_path_for(app.settings)
    # entity: terms resolved as the live alert stage resolves them (wiring.alerts_stage)
    backtester = Backtester(rules, resolve=wiring.resolve_entity) if rules.exists() else None
    if backtester is not None:
        _show_resolutions(app, backtester)
    try:
        result = _replay(ctx, since, until, feeds, run, kafka, topic, backtester, fresh, workers)
    finally:
        if backtester is not None:
            backtester.close()
    app.console.print(
        f"replay {result.run}: {result.fetches} fetches, {result.articles} articles indexed "
        f"({result.duplicates} duplicates, {result.empty} empty), {len(result.alerts)} would-be alerts "
        f"(not sent), in {result.where}",
        highlight=False,
    )


def backtest_command(
    ctx: typer.Context,
    rules: Annotated[
        Path,
        typer.Option("--rules", help="alert rules YAML to evaluate", exists=True, dir_okay=False),
    ],
    since: FromOpt,
    until: ToOpt,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="relevant article ids/URLs: adds precision and recall",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="report folder (default: <data_dir>/replays/<run>/backtest)"),
    ] = None,
    feeds: FeedsOpt = None,
    run: RunOpt = None,
    kafka: BusOpt = False,
    fresh: FreshOpt = False,
    topic: TopicOpt = "raw",
    workers: WorkersOpt = None,
) -> None:
    """Replay a window and evaluate alert rules on it: report.html, report.md, alerts.csv, a chart per rule."""
    from newswatch.cli.replay_pipeline import replay_dir
    from sinks.backtest import (
        Backtester,
        BacktestMeta,
        days_between,
        load_labels,
        summarize,
        write_report,
    )

    app = app_context(ctx)
    start, end = parse_time(since), parse_time(until, end=True)
    try:
        wanted = load_labels(labels) if labels else None
    except NewswatchError as exc:
        fail(ctx, str(exc))
        return
    book = Backtester(rules, resolve=wiring.resolve_entity)  # as the live alert stage loads them
    _show_resolutions(app, book)
    try:
        result = _replay(ctx, since, until, feeds, run, kafka, topic, book, fresh, workers)
        with app.errors.status("writing the report"):
            summaries = summarize(
                book.rules,
                result.alerts,
                days_between(start, end),
                resightings=result.memory.resightings,
                replayed_ids=result.memory.seen,
                labels=wanted,
            )
            meta = BacktestMeta(
                run=result.run,
                since=start,
                until=end,
                rules_file=rules.name,
                rules_sha256=hashlib.sha256(rules.read_bytes()).hexdigest(),
                fetches=result.fetches,
                articles=result.articles,
                duplicates=result.duplicates,
                classifier_version=result.classifier_version,
                problems=tuple(book.problems),
                labels_file=labels.name if labels else "",
            )
            relevant = (
                {s.rule.name: wanted.for_rule(s.rule.name) for s in summaries} if wanted else None
            )
            folder = out or replay_dir(app.settings, result.run) / "backtest"
            files = write_report(folder, meta, summaries, relevant)
    finally:
        book.close()
    table = Table(
        title=f"backtest {result.run}: {result.articles} articles from {result.fetches} fetches"
    )
    for col in (
        "rule",
        "alerts",
        "articles",
        "days",
        "notifications",
        "throttled",
        "precision",
        "recall",
    ):
        table.add_column(col)
    for s in summaries:
        q = s.quality
        table.add_row(
            Text(s.rule.name),
            str(len(s.alerts)),
            str(len(s.articles)),
            str(s.active_days),
            str(s.notifications),
            str(s.delivery.get("throttled", 0)),
            _pct(q.precision) if q else "",
            _pct(q.recall) if q else "",
        )
    app.console.print(table)
    app.console.print(
        f"report: {files['html']}\n        {files['md']}\n        {files['csv']}", highlight=False
    )


def _show_resolutions(app: AppContext, book: Backtester) -> None:
    """On stderr, each rule's `entity:` term the gazetteer widened ('eu: entity EU -> European Union')."""
    for note in book.entity_names:
        app.errors.print(Text(note), highlight=False)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _replay(
    ctx: typer.Context,
    since: str,
    until: str,
    feeds: list[str] | None,
    run: str | None,
    kafka: bool,
    topic: str,
    backtester: Backtester | None,
    fresh: bool = False,
    workers: int | None = None,
) -> ReplayResult:
    """The shared part of replay and backtest: target and processors, then the run with a progress bar."""
    from newswatch.cli import replay_pipeline as rp
    from newswatch.cli.replay_workers import Enricher, InlineEnricher, PoolEnricher

    app = app_context(ctx)
    start, end = parse_time(since), parse_time(until, end=True)
    if end <= start:
        raise typer.BadParameter(
            f"--to ({end:%Y-%m-%d %H:%M}) must be after --from ({start:%Y-%m-%d %H:%M})"
        )
    if topic not in ("raw", "enriched"):
        raise typer.BadParameter("--topic must be 'raw' or 'enriched'")
    chosen = _feeds(feeds)
    try:
        name = rp.check_run_name(run or rp.run_name(start, end, chosen, kafka))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not kafka and not _archive_has(app, start, end, chosen):
        fail(
            ctx,
            f"the archive has no fetches in [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) UTC"
            + (" for those feeds" if chosen else "")
            + ": run `newswatch archive import DIR`, or see the archived span with `newswatch archive stats`",
        )
    try:
        target = rp.open_target(app.settings, name)
    except NewswatchError as exc:
        fail(ctx, str(exc))
        raise
    enricher: Enricher | None = None
    # the processors load in the workers (or here, with --workers 0) on the first cache miss
    if not (kafka and topic == "enriched"):
        count = default_workers() if workers is None else workers
        enricher = PoolEnricher(count) if count > 0 else InlineEnricher()
    cache = None
    if enricher is not None and not fresh:
        from newswatch.cli.replay_cache import CACHE_FILE, ReplayCache

        cache = ReplayCache(app.settings.data_dir / rp.REPLAYS_DIR / CACHE_FILE)
    sink = rp.ReplaySink(target, enricher, backtester, cache)
    previous = _sigterm_interrupts()
    try:
        with archive.progress_bar(app, f"replaying {name}") as (progress, task):
            if kafka:
                from newswatch.cli import wiring

                bus = wiring.open_bus(app.settings)
                try:
                    return rp.replay_bus(
                        app.settings,
                        bus,
                        sink,
                        name,
                        RAW if topic == "raw" else ENRICHED,
                        start,
                        end,
                        advance=lambda n: progress.advance(task, n),
                    )
                finally:
                    bus.close()
            return rp.replay_archive(
                app.settings,
                sink,
                name,
                start,
                end,
                chosen,
                start=lambda n: progress.update(task, total=n),
                advance=lambda n: progress.advance(task, n),
            )
    except NewswatchError as exc:
        fail(ctx, str(exc))
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sink.close()
        target.close()
        if cache is not None:
            cache.close()


def _sigterm_interrupts() -> Any:
    """Make SIGTERM raise KeyboardInterrupt (main thread only), so `kill PID` also stops the
    replay's workers through `ReplaySink.close`; returns the handler to restore, or None."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def default_workers() -> int:
    """Enrichment processes when --workers is not given: one per CPU core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _archive_has(app: AppContext, start: datetime, end: datetime, feeds: list[str]) -> bool:
    from collectors import RawArchive

    archive = RawArchive.for_settings(app.settings)
    try:
        return bool(archive.entries(start, end, feeds))
    finally:
        archive.close()


def register(app: typer.Typer) -> None:
    """Attach `archive`, `replay` and `backtest` to the root app; calling it twice changes nothing."""
    if not any(group.name == "archive" for group in app.registered_groups):
        app.add_typer(archive.app, name="archive")
    names = {command.name for command in app.registered_commands}
    if "replay" not in names:
        app.command("replay")(replay_command)
    if "backtest" not in names:
        app.command("backtest")(backtest_command)


__all__ = ["backtest_command", "parse_time", "register", "replay_command"]
