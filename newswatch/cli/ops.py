"""Operating newswatch (issue 8): `newswatch maintain` applies every retention bound, `newswatch health`
reports throughput, lag, dead letters, store size, disk and ingestion gaps, and exits 1 on a problem.

`maintain(settings)` and `status_report(settings)` are plain functions: `run` schedules the first
every `settings.maintain_interval_s`, `status` prints the second with `status_tables`.

    place              bound                                   applied by
    embedded log       bus_retention_days, dlq_retention_days  purge by record time, then WAL truncate
    embedded store     store_retention_days (by published_at)  chunked delete, then WAL truncate
    Elasticsearch      elastic.retention_days, rollover_*      rollover when due, drop expired indices
    Kafka topics       kafka.retention_hours (retention.ms)    set at creation; drift is reported
    raw archive        archive_retention_days / max_bytes      RawArchive.prune
    seen ids           seen_ids_max                            bounded on every write; size reported
    volume history     volume_history_days                     hourly rows pruned
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from newswatch import metrics
from newswatch.bus import Bus, EmbeddedBus, sqlite_disk_bytes
from newswatch.cli import wiring
from newswatch.cli.context import app_context
from newswatch.cli.health import StageStatus, StatusReport, status_report
from newswatch.embedded_store import EmbeddedStore
from newswatch.errors import NewswatchError
from newswatch.schema import utcnow
from newswatch.settings import Settings
from newswatch.topics import ALERTS, DLQ, ENRICHED, RAW

if TYPE_CHECKING:
    from collectors import Collector

__all__ = ["MaintenanceReport", "MaintenanceStep", "StageStatus", "StatusReport", "maintain", "register", "status_report", "status_tables"]



@dataclass(frozen=True)
class MaintenanceStep:
    """One retention bound applied (or failed): what, how many items went, in words."""

    name: str
    ok: bool
    removed: int
    detail: str


@dataclass
class MaintenanceReport:
    """What one `maintain` pass did."""

    steps: list[MaintenanceStep] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


def _open_collector(settings: Settings, bus: Bus) -> Collector:
    from collectors import Collector

    return Collector(settings, bus)


def _bus_retention(settings: Settings, bus: Bus, now: datetime) -> tuple[int, str]:
    if not isinstance(bus, EmbeddedBus):
        return 0, _kafka_retention_drift(settings, bus)
    removed, parts = 0, []
    for topic in (RAW, ENRICHED, ALERTS, DLQ):
        days = settings.dlq_retention_days if topic == DLQ else settings.bus_retention_days
        if days <= 0:
            continue
        n = bus.purge_older_than(topic, int((now - timedelta(days=days)).timestamp() * 1000))
        metrics.RETENTION_DELETED.labels(f"bus:{topic}").inc(n)
        removed += n
        parts.append(f"{topic} {n}")
    bus.checkpoint()
    return removed, f"removed {', '.join(parts) or 'nothing (retention off)'}; {sqlite_disk_bytes(bus.path) / 1e6:.1f} MB on disk"


def _kafka_retention_drift(settings: Settings, bus: Any) -> str:
    """Kafka applies retention itself; say where a topic's retention.ms differs from the settings."""
    from kafka import KafkaAdminClient  # type: ignore[import-untyped]
    from kafka.admin import ConfigResource, ConfigResourceType  # type: ignore[import-untyped]

    from newswatch.kafka_bus import default_topic_specs

    wanted = {s.name: s.retention_ms for s in default_topic_specs(settings.kafka)}
    admin = bus.open_client(KafkaAdminClient, "maintain")
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in wanted])
        found = {  # kafka-python 3: {"topic": {name: {config: {"value": ...}}}}
            str(topic): str(configs.get("retention.ms", {}).get("value"))
            for topic, configs in described.get("topic", {}).items()
        }
    finally:
        admin.close()
    drift = [f"{t} has {found.get(t)} ms, settings say {ms}" for t, ms in wanted.items() if str(ms) != found.get(t)]
    if drift:
        return "Kafka enforces retention; differs from settings: " + "; ".join(drift) + " (kafka-configs --alter to change)"
    return "Kafka enforces retention.ms as configured on every topic"


def _store_retention(settings: Settings, now: datetime) -> tuple[int, str]:
    if settings.uses_elasticsearch:
        from sinks import ElasticStore

        es = ElasticStore(settings.store, settings.elastic)
        try:
            deleted = es.maintain(
                rollover_max_age=settings.elastic.rollover_max_age,
                max_primary_shard_size=settings.elastic.rollover_max_primary_shard_size,
            )
        finally:
            es.close()
        metrics.RETENTION_DELETED.labels("elastic-indices").inc(len(deleted))
        return len(deleted), f"rolled over if due; deleted indices: {', '.join(deleted) or 'none'}"
    store = wiring.open_store(settings)  # refuses a store setting it does not understand
    try:
        if settings.store_retention_days <= 0 or not isinstance(store, EmbeddedStore):
            return 0, "retention off (store_retention_days=0)"
        n = store.delete_published_before(now - timedelta(days=settings.store_retention_days))
    finally:
        store.close()
    metrics.RETENTION_DELETED.labels("store").inc(n)
    size = sqlite_disk_bytes(settings.data_dir / "store.db") / 1e6
    return n, f"removed {n} articles published before {settings.store_retention_days:g} days ago; {size:.1f} MB on disk"


def _collector_retention(settings: Settings, bus: Bus, now: datetime) -> list[MaintenanceStep]:
    collector = _open_collector(settings, bus)
    try:
        pruned = collector.archive.prune(now)
        metrics.RETENTION_DELETED.labels("archive").inc(pruned.entries)
        hours = collector.volume.prune(now - timedelta(days=settings.volume_history_days))
        seen = len(collector.seen)
        pipeline = collector.volume_signal(None, now)  # refreshes the '_all' gauges on every pass
        if pipeline.ratio is not None:
            metrics.FEED_VOLUME_RATIO.labels("_all").set(pipeline.ratio)
        metrics.FEED_VOLUME_DROP.labels("_all").set(1 if pipeline.dropped else 0)
    finally:
        collector.close()
    return [
        MaintenanceStep("archive", True, pruned.entries, f"{pruned.entries} fetches, {pruned.blobs} bodies, {pruned.bytes_freed / 1e6:.1f} MB freed"),
        MaintenanceStep("volume history", True, hours, f"{hours} hourly rows older than {settings.volume_history_days} days; pipeline {pipeline.reason}"),
        MaintenanceStep("seen ids", True, 0, f"{seen} of at most {settings.seen_ids_max} kept (bounded on every write)"),
    ]


def maintain(settings: Settings, now: datetime | None = None) -> MaintenanceReport:
    """Apply every retention bound once; a failing step is reported and never stops the others."""
    started, now = time.monotonic(), now or utcnow()
    report = MaintenanceReport()

    def attempt(name: str, step: Callable[[], tuple[int, str]]) -> None:
        try:
            removed, detail = step()
            report.steps.append(MaintenanceStep(name, True, removed, detail))
        except Exception as exc:  # noqa: BLE001 - report, go on with the next bound
            report.steps.append(MaintenanceStep(name, False, 0, _failure(exc)))

    try:
        bus = wiring.open_bus(settings)
    except NewswatchError as exc:
        report.steps.append(MaintenanceStep("bus", False, 0, str(exc)))
        bus = None
    if bus is not None:
        attempt("bus log", lambda: _bus_retention(settings, bus, now))
    attempt("store", lambda: _store_retention(settings, now))
    if bus is not None:
        try:
            report.steps.extend(_collector_retention(settings, bus, now))
        except Exception as exc:  # noqa: BLE001
            report.steps.append(MaintenanceStep("collector data", False, 0, _failure(exc)))
        bus.close()
    report.seconds = time.monotonic() - started
    metrics.MAINTENANCE_SECONDS.observe(report.seconds)
    return report


def _failure(exc: Exception) -> str:
    return str(exc) if isinstance(exc, NewswatchError) else f"{type(exc).__name__}: {exc}"


def status_tables(report: StatusReport) -> list[Table | Text]:
    """The report as rich renderables (feed text always as `Text`, never markup)."""
    stages = Table(title="stages")
    for col in ("stage", "group", "reads", "writes", "last hour", "last 24 h", "lag"):
        stages.add_column(col, justify="right" if col in ("last hour", "last 24 h", "lag") else "left")
    for s in report.stages:
        stages.add_row(s.stage, s.group or "-", s.reads, s.writes or "-", _n(s.last_hour), _n(s.last_day), _n(s.lag))
    out: list[Table | Text] = [stages]
    volume = report.pipeline_volume
    line = f"store: {_n(report.store_count)} articles; dead letters: {_n(report.dlq_size)}; "
    line += f"pipeline {volume.reason if volume else 'volume unknown'}; disk: "
    line += ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in report.disk_bytes.items()) or "none"
    out.append(Text(line))
    out.append(Text("healthy" if report.healthy else "problems:", style="green" if report.healthy else "bold red"))
    out.extend(Text(f"  - {p}") for p in report.problems)
    return out


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def maintain_command(ctx: typer.Context) -> None:
    """Apply every retention bound now (embedded log and store, Elasticsearch, archive, seen ids)."""
    app = app_context(ctx)
    report = maintain(app.settings)
    table = Table(title=f"maintenance ({report.seconds:.1f}s)")
    for col in ("bound", "result", "removed", "detail"):
        table.add_column(col, overflow="fold")
    for step in report.steps:
        table.add_row(step.name, "ok" if step.ok else "FAILED", str(step.removed), Text(step.detail))
    app.console.print(table)
    if not report.ok:
        raise typer.Exit(1)


def health_command(ctx: typer.Context) -> None:
    """Throughput and lag per stage, dead letters, store size, disk and ingestion gaps; exit 1 on a problem."""
    app = app_context(ctx)
    report = status_report(app.settings)
    for renderable in status_tables(report):
        app.console.print(renderable)
    if not report.healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `maintain` and `health` to the root app."""
    app.command("maintain")(maintain_command)
    app.command("health")(health_command)
