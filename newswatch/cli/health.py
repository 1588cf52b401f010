"""The pipeline at a glance for `newswatch status` / `newswatch health`: per-stage throughput and
lag per consumer group, dead letters, store size, disk, feed health and the volume-drop signal.

Throughput is what each stage wrote to its output topic in the last hour and day (the collector
to news.raw, processors to news.enriched, alerts to news.alerts, every stage to news.dlq); the
sink's progress is its group's lag on news.enriched. Lag is read without joining any group, so a
status call never makes running Kafka workers rebalance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newswatch import metrics
from newswatch.bus import Bus, EmbeddedBus, sqlite_disk_bytes
from newswatch.cli import wiring
from newswatch.schema import utcnow
from newswatch.settings import Settings
from newswatch.topics import ALERTS, DLQ, ENRICHED, RAW

if TYPE_CHECKING:
    from collectors import FeedStatus
    from collectors.volume import VolumeSignal

HOUR_MS = 3600 * 1000
LAG_WARNING = 10_000
"""A consumer group further behind than this is a problem for `health`."""

STAGES: tuple[tuple[str, str | None, str, str | None], ...] = (
    # stage, consumer-group role, reads, writes
    ("collector", None, "feeds", RAW),
    ("processor", wiring.PROCESSOR_GROUP, RAW, ENRICHED),
    ("sink", wiring.SINK_GROUP, ENRICHED, None),
    ("alerts", wiring.ALERTS_GROUP, ENRICHED, ALERTS),
    ("alert-index", wiring.ALERT_INDEX_GROUP, ALERTS, None),
)


@dataclass(frozen=True)
class StageStatus:
    """One stage: records it wrote in the last hour / day, and its group's lag (None: not consuming)."""

    stage: str
    group: str | None
    reads: str
    writes: str | None
    last_hour: int | None
    last_day: int | None
    lag: int | None


@dataclass
class StatusReport:
    """Everything `status` and `health` show; `problems` lists what needs a person, with the fix."""

    stages: list[StageStatus] = field(default_factory=list)
    dlq_size: int | None = None
    store_count: int | None = None
    feeds: list[FeedStatus] = field(default_factory=list)
    pipeline_volume: VolumeSignal | None = None
    disk_bytes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def _embedded_counts(bus: EmbeddedBus, now_ms: int) -> dict[str, tuple[int, int]]:
    hour = bus.topic_stats(now_ms - HOUR_MS)
    day = bus.topic_stats(now_ms - 24 * HOUR_MS)
    return {t: (hour.get(t, (0, 0))[1], day.get(t, (0, 0))[1]) for t in set(hour) | set(day)}


PartitionLags = dict[tuple[str, str, int], int]
"""(group, topic, partition) -> records the group has not committed yet."""


def _kafka_counts_and_lags(
    bus: Any, groups: list[str], now_ms: int
) -> tuple[dict[str, tuple[int, int]], PartitionLags]:
    """Per-topic records written in the last hour/day (offsets by time) and per-partition lag of each group (admin API)."""
    from kafka import KafkaAdminClient, KafkaConsumer  # type: ignore[import-untyped]
    from kafka.structs import TopicPartition  # type: ignore[import-untyped]

    consumer = bus.open_client(KafkaConsumer, "status")  # no group_id: joins nothing
    try:
        admin = bus.open_client(KafkaAdminClient, "status-admin")
    except BaseException:
        consumer.close()
        raise
    try:
        parts = [
            TopicPartition(t, p)
            for t in (RAW, ENRICHED, ALERTS, DLQ)
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        end = consumer.end_offsets(parts)
        counts: dict[str, tuple[int, int]] = {}
        for topic in (RAW, ENRICHED, ALERTS, DLQ):
            tps = [tp for tp in parts if tp.topic == topic]
            since = []
            for ago in (HOUR_MS, 24 * HOUR_MS):
                found = consumer.offsets_for_times({tp: now_ms - ago for tp in tps})
                since.append(
                    sum(end[tp] - (found[tp].offset if found.get(tp) else end[tp]) for tp in tps)
                )
            counts[topic] = (since[0], since[1])
        lags: PartitionLags = {}
        for group, committed in _committed_offsets(admin, groups).items():
            for tp, meta in committed.items():
                if meta.offset >= 0:
                    lags[(group, tp.topic, tp.partition)] = max(0, end.get(tp, 0) - meta.offset)
        return counts, lags
    finally:
        consumer.close()
        admin.close()


def _committed_offsets(admin: Any, groups: list[str]) -> dict[str, dict[Any, Any]]:
    """group -> {TopicPartition: OffsetAndMetadata}: kafka-python 3 (the pinned version) renamed
    2.x's per-group `list_consumer_group_offsets` to `list_group_offsets`, one call for all groups."""
    if hasattr(admin, "list_group_offsets"):
        return dict(admin.list_group_offsets(groups))
    return {group: admin.list_consumer_group_offsets(group) for group in groups}


def _stage_rows(settings: Settings, bus: Bus) -> list[StageStatus]:
    now_ms = int(time.time() * 1000)
    groups = {role: wiring.group_name(settings, role) for _, role, _, _ in STAGES if role}
    if isinstance(bus, EmbeddedBus):
        counts, partition_lags = _embedded_counts(bus, now_ms), bus.group_partition_lags()
    else:
        counts, partition_lags = _kafka_counts_and_lags(bus, list(groups.values()), now_ms)
    lags: dict[str, int] = {}
    for (group, topic, partition), lag in partition_lags.items():
        lags[group] = lags.get(group, 0) + lag
        metrics.CONSUMER_LAG.labels(group, topic, str(partition)).set(lag)
    rows = []
    for stage, role, reads, writes in STAGES:
        group = groups.get(role) if role else None
        hour_day = counts.get(writes, (0, 0)) if writes else (None, None)
        rows.append(
            StageStatus(
                stage,
                group,
                reads,
                writes,
                hour_day[0],
                hour_day[1],
                lags.get(group) if group else None,
            )
        )
    return rows


def _disk(settings: Settings) -> dict[str, int]:
    found = {}
    for name in ("bus.db", "store.db", "collector.db", "alerts.db"):
        size = sqlite_disk_bytes(settings.data_dir / name)
        if size:
            found[name] = size
    archive = settings.data_dir / "archive"
    if archive.is_dir():
        found["archive/"] = sum(p.stat().st_size for p in archive.rglob("*") if p.is_file())
    return found


def status_report(settings: Settings) -> StatusReport:
    """Gather the report; each part that fails becomes a problem line instead of an exception."""
    report = StatusReport(disk_bytes=_disk(settings))
    try:
        bus = wiring.open_bus(settings)
    except Exception as exc:  # noqa: BLE001 - an unreachable bus is itself the report
        report.problems.append(f"bus: {exc}")
        return report
    try:
        report.stages = _stage_rows(settings, bus)
        _feeds_and_volume(settings, bus, report)
    except Exception as exc:  # noqa: BLE001
        report.problems.append(f"status of the stages: {type(exc).__name__}: {exc}")
    finally:
        bus.close()
    try:
        report.dlq_size = wiring.dlq_size(settings)
        store = wiring.open_store(settings)
        report.store_count = store.count()
        store.close()
    except Exception as exc:  # noqa: BLE001
        report.problems.append(f"store or dead letters: {exc}")
    _judge(report)
    return report


def _feeds_and_volume(settings: Settings, bus: Bus, report: StatusReport) -> None:
    from collectors import Collector

    feeds = wiring._feeds(settings) if settings.feeds_path.exists() else None
    collector = Collector(settings, bus)
    try:
        report.feeds = collector.feed_statuses(feeds)
        report.pipeline_volume = collector.volume_signal(None, utcnow())
    finally:
        collector.close()
    signal = report.pipeline_volume
    if signal.ratio is not None:
        metrics.FEED_VOLUME_RATIO.labels("_all").set(signal.ratio)
    metrics.FEED_VOLUME_DROP.labels("_all").set(1 if signal.dropped else 0)


def _judge(report: StatusReport) -> None:
    for feed in report.feeds:
        name = feed.name or feed.url
        if feed.health in ("failing", "parked"):
            report.problems.append(
                f"feed {name} {feed.health}: {feed.reason} (`newswatch feeds reset {feed.url}` after a fix)"
            )
        elif feed.volume is not None and feed.volume.dropped:
            report.problems.append(
                f"feed {name}: {feed.volume.reason}; check the feed still lists new items"
            )
    if report.pipeline_volume is not None and report.pipeline_volume.dropped:
        report.problems.append(
            f"pipeline: {report.pipeline_volume.reason}; check the collector is running"
        )
    if report.dlq_size:
        report.problems.append(
            f"{report.dlq_size} dead letter(s): `newswatch dlq list`, fix, then `newswatch dlq replay`"
        )
    for stage in report.stages:
        if stage.lag is not None and stage.lag > LAG_WARNING:
            report.problems.append(
                f"{stage.stage} is {stage.lag} records behind: is it running? scale it out?"
            )
