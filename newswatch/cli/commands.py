"""Pipeline commands: run, collect, process, sink, search, status, classify."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from newswatch import metrics
from newswatch.cli import wiring
from newswatch.cli.context import app_context, fail
from newswatch.errors import NewswatchError
from newswatch.store import SearchQuery


def register(app: typer.Typer) -> None:
    """Attach the pipeline commands to the root app (explicit, no import side effects)."""
    for command in (run, collect, process, sink, search, status, classify):
        app.command()(command)


def _install_stop_handler(stop: threading.Event) -> None:
    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)


def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="poll every feed once, drain the pipeline, exit")] = False,
) -> None:
    """Run the whole pipeline in this process: scheduled collectors, processors and the sink."""
    app = app_context(ctx)
    try:
        bus = wiring.open_bus(app.settings)
        store = wiring.open_store(app.settings)
    except NewswatchError as exc:
        fail(ctx, str(exc))
        return
    if once:
        with app.console.status("running the pipeline once") as spinner:
            report = wiring.run_once(app.settings, bus, store, progress=lambda m: spinner.update(m))
        _print_once_report(ctx, report, store)
        bus.close()
        store.close()
        return
    stop = threading.Event()
    _install_stop_handler(stop)
    metrics.serve(app.settings.metrics_port)
    app.console.print("newswatch running; Ctrl-C stops cleanly", highlight=False)
    wiring.run_forever(app.settings, bus, store, stop)
    bus.close()
    store.close()


def _print_once_report(ctx: typer.Context, report: wiring.OnceReport, store: object) -> None:
    app = app_context(ctx)
    table = Table(title="feeds polled")
    for col in ("feed", "result", "status", "items", "published", "reason"):
        table.add_column(col, overflow="fold")
    for o in report.outcomes:
        table.add_row(Text(o.feed_url), o.result, Text(o.status), str(o.found), str(o.published), Text(o.reason or ""))
    app.console.print(table)
    app.console.print(
        f"processed {report.processed.consumed} articles "
        f"({report.processed.dead_lettered} dead-lettered); indexed {report.sunk.consumed} "
        f"({report.sunk.dead_lettered} rejected); {report.alerted.produced} alerts; "
        f"store now holds {store.count()} articles",  # type: ignore[attr-defined]
        highlight=False,
    )


def collect(
    ctx: typer.Context, once: Annotated[bool, typer.Option("--once", help="poll every feed once and exit")] = False
) -> None:
    """Run only the collectors (a separate service when scaled out on Kafka)."""
    app = app_context(ctx)
    bus = wiring.open_bus(app.settings)
    if once:
        for o in wiring.collect_once(app.settings, bus):
            app.console.print(Text(f"{o.feed_url}: {o.result} ({o.status}), {o.published} new of {o.found}  {o.reason}"))
        bus.close()
        return
    stop = threading.Event()
    _install_stop_handler(stop)
    metrics.serve(app.settings.metrics_port)
    wiring.run_forever(app.settings, bus, None, stop, roles=("collect",))
    bus.close()


def process(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option(min=1, help="worker processes in the consumer group")] = 1,
    once: Annotated[bool, typer.Option("--once", help="drain news.raw and exit")] = False,
) -> None:
    """Run processor workers: news.raw -> news.enriched (one consumer group, shared partitions)."""
    app = app_context(ctx)
    if workers > 1 and not app.settings.uses_kafka:
        app.errors.print("the embedded bus has one partition per topic: running 1 worker (use Kafka to scale out)")
        workers = 1
    stats = wiring.run_processor_workers(app.settings, workers, once=once)
    app.console.print(f"processed {stats.consumed} articles, {stats.dead_lettered} dead-lettered", highlight=False)


def sink(
    ctx: typer.Context, once: Annotated[bool, typer.Option("--once", help="drain news.enriched and exit")] = False
) -> None:
    """Run the sink: news.enriched -> the configured store."""
    app = app_context(ctx)
    bus = wiring.open_bus(app.settings)
    store = wiring.open_store(app.settings)
    stop = threading.Event()
    if not once:
        _install_stop_handler(stop)
        metrics.serve(app.settings.metrics_port)
    stats = wiring.sink_runner(app.settings, bus, store, stop).run(
        until_idle=once, idle_timeout_s=wiring.drain_timeout_s(app.settings) if once else app.settings.elastic.bulk_interval_s
    )
    app.console.print(f"indexed {stats.consumed} articles, {stats.dead_lettered} rejected", highlight=False)
    bus.close()
    store.close()


def alerts_run(
    ctx: typer.Context, once: Annotated[bool, typer.Option("--once", help="drain news.enriched and exit")] = False
) -> None:
    """Run the alert stage: match rules on news.enriched, notify, index fired alerts."""
    app = app_context(ctx)
    bus = wiring.open_bus(app.settings)
    stop = threading.Event()
    if once:
        runner, engine = wiring.alerts_stage(app.settings, bus)
        stats = runner.run(until_idle=True, idle_timeout_s=wiring.drain_timeout_s(app.settings))
        wiring.tick_alerts(engine, bus)
        index = wiring.open_alert_index(app.settings)
        wiring.alert_index_runner(app.settings, bus, index).run(until_idle=True, idle_timeout_s=wiring.drain_timeout_s(app.settings))
        index.close()
        app.console.print(f"matched {stats.consumed} articles, {stats.produced} alerts", highlight=False)
    else:
        _install_stop_handler(stop)
        metrics.serve(app.settings.metrics_port)
        wiring.run_forever(app.settings, bus, None, stop, roles=("alerts",))
    bus.close()


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    units = {"h": "hours", "d": "days", "w": "weeks", "m": "minutes"}
    if value[-1] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='words and "phrases" (all must match); empty = newest')] = "",
    topic: Annotated[list[str] | None, typer.Option(help="topic label, e.g. defence (repeatable)")] = None,
    entity: Annotated[
        list[str] | None,
        typer.Option(help='entity name, e.g. "Vladimir Putin"; "NBA", "US" also find their canonical names'),
    ] = None,
    outlet: Annotated[list[str] | None, typer.Option(help="outlet name")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time or 24h / 7d / 2w")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per hit")] = False,
) -> None:
    """Search indexed articles with full text and filters."""
    app = app_context(ctx)
    entities: list[tuple[str, ...]] = []
    for name in entity or ():
        names = wiring.resolve_entity(name)
        if len(names) > 1:  # on stderr, so --json output stays one hit per line
            app.errors.print(Text(f"entity {names[0]} -> {' / '.join(names[1:])}"), highlight=False)
        entities.append(names or (name,))
    try:
        q = SearchQuery(
            text=query, topics=tuple(topic or ()), entities=tuple(entities), outlets=tuple(outlet or ()),
            since=_parse_since(since), limit=limit,
        )
    except ValueError as exc:
        fail(ctx, f"bad search option: {exc}. Example: --since 7d or --since 2024-05-01T00:00")
        return
    store = wiring.open_store(app.settings)
    hits = store.search(q)
    store.close()
    if as_json:
        for hit in hits:
            typer.echo(hit.model_dump_json())
        return
    table = Table(title=f"{len(hits)} hits")
    for col in ("published", "outlet", "title", "topics", "url"):
        table.add_column(col, overflow="fold")
    for hit in hits:
        table.add_row(
            hit.published_at.strftime("%Y-%m-%d %H:%M"), Text(hit.outlet), Text(hit.title),
            Text(", ".join(hit.topics)), Text(hit.url),
        )
    app.console.print(table)


def status(ctx: typer.Context) -> None:
    """Feed health, articles per topic, DLQ size and store size at a glance."""
    app = app_context(ctx)
    table = Table(title="feeds")
    for col in ("feed", "health", "last success", "last new item", "failures", "reason", "next poll"):
        table.add_column(col, overflow="fold")
    bus = wiring.open_bus(app.settings)
    for row in wiring.feed_statuses(app.settings, bus):
        table.add_row(
            Text(row.name or row.url), row.health, _when(row.last_success), _when(row.last_new_item),
            str(row.consecutive_failures), Text(row.reason or ""), _when(row.next_poll),
        )
    bus.close()
    app.console.print(table)
    from newswatch.cli import ops

    store = wiring.open_store(app.settings)
    counts = store.topic_counts()
    store.close()
    app.console.print("by topic: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none"), highlight=False)
    for renderable in ops.status_tables(ops.status_report(app.settings)):
        app.console.print(renderable)
    index = wiring.open_alert_index(app.settings)
    recent = index.recent(10)
    index.close()
    alerts = Table(title=f"latest {len(recent)} alerts")
    for col in ("fired", "rule", "type", "title / message", "outlet"):
        alerts.add_column(col, overflow="fold")
    for alert in recent:
        alerts.add_row(
            _when(alert.fired_at), Text(alert.rule), alert.rule_type, Text(alert.title or alert.message), Text(alert.outlet)
        )
    app.console.print(alerts)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def classify(
    ctx: typer.Context,
    input_path: Annotated[Path, typer.Option("--input", exists=True, dir_okay=False, help="JSONL with title and text")],
    output_path: Annotated[Path, typer.Option("--output", help="JSONL written with topics and entities added")],
) -> None:
    """Classify a JSONL file offline (for evaluation): each line gets `topics` and `entities`."""
    from newswatch.cli.offline import classify_jsonl

    app = app_context(ctx)
    count = classify_jsonl(input_path, output_path, console=app.console)
    app.console.print(f"wrote {count} lines to {output_path}", highlight=False)
