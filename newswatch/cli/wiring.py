"""Build the configured bus, store and stages: the one place where the stages meet.

Embedded (default): SQLite bus and store under `settings.data_dir`. With `NEWSWATCH_BUS=kafka://…`
and `NEWSWATCH_STORE=http://…` the same stages run on Kafka and Elasticsearch.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newswatch.bus import Bus, EmbeddedBus, TopicSpec
from newswatch.embedded_store import EmbeddedStore
from newswatch.errors import ConfigError, NewswatchError
from newswatch.runner import StageRunner, StageStats
from newswatch.settings import Settings
from newswatch.store import Store
from newswatch.topics import ALERTS, ALL_TOPICS, DLQ, RAW

if TYPE_CHECKING:
    from collectors import FeedStatus, PollOutcome
    from newswatch.cli.entity_names import EntityNames
    from newswatch.schema import FeedSpec
    from sinks import AlertEngine, AlertIndex

log = logging.getLogger("newswatch.pipeline")

PROCESSOR_GROUP = "processors"
SINK_GROUP = "sink"
ALERTS_GROUP = "alerts"
ALERT_INDEX_GROUP = "alert-index"
ALERT_TICK_S = 60.0
DLQ_INSPECTOR = "dlq-inspector"


def open_bus(settings: Settings) -> Bus:
    """The configured bus, with its topics created."""
    if settings.uses_kafka:
        from newswatch.kafka_bus import KafkaBus, default_topic_specs

        bus: Bus = KafkaBus(settings.kafka_bootstrap, settings.kafka)
        bus.ensure_topics(default_topic_specs(settings.kafka))
        return bus
    if settings.bus != "embedded":
        raise ConfigError(f"NEWSWATCH_BUS={settings.bus!r} is not understood: use 'embedded' or kafka://host:port")
    embedded = EmbeddedBus(settings.data_dir / "bus.db")
    embedded.ensure_topics(TopicSpec(name) for name in ALL_TOPICS)
    return embedded


def open_store(settings: Settings) -> Store:
    """The configured store, set up (tables / index template and alias)."""
    if settings.uses_elasticsearch:
        from sinks import ElasticStore

        store: Store = ElasticStore(settings.store, settings.elastic)
    elif settings.store == "embedded":
        store = EmbeddedStore(settings.data_dir / "store.db")
    else:
        raise ConfigError(f"NEWSWATCH_STORE={settings.store!r} is not understood: use 'embedded' or http(s)://host:9200")
    store.setup()
    return store


def group_name(settings: Settings, role: str) -> str:
    """Consumer-group id for a stage, e.g. 'newswatch.processors'."""
    return f"{settings.kafka.group_prefix}.{role}"


def processor_runner(settings: Settings, bus: Bus, stop: threading.Event | None = None) -> StageRunner:
    """A processor worker: news.raw -> news.enriched (loads spaCy once)."""
    from processors import build_processor

    runner = StageRunner(
        stage="processor", bus=bus, consumer=bus.consumer(group_name(settings, PROCESSOR_GROUP), [RAW]),
        handler=build_processor().handler(), batch_size=settings.batch_size,
    )
    if stop is not None:
        runner.stop_event = stop
    return runner


def sink_runner(settings: Settings, bus: Bus, store: Store, stop: threading.Event | None = None) -> StageRunner:
    """A sink worker: news.enriched -> store, batched by `elastic.bulk_docs` per poll."""
    from sinks import sink_runner as build_sink_runner

    runner = build_sink_runner(bus, store, settings, group=group_name(settings, SINK_GROUP))
    if stop is not None:
        runner.stop_event = stop
    return runner


def open_alert_index(settings: Settings) -> AlertIndex:
    """Where fired alerts are indexed for dashboards: the store's SQLite file or `<prefix>-alerts`."""
    from sinks import ElasticAlertIndex, EmbeddedAlertIndex, make_client

    index: AlertIndex
    if settings.uses_elasticsearch:
        index = ElasticAlertIndex(make_client(settings.store, settings.elastic), settings.elastic)
    else:
        index = EmbeddedAlertIndex(settings.data_dir / "store.db")
    index.setup()
    return index


def resolve_entity(name: str, label: str | None = None) -> tuple[str, ...]:
    """Every name an entity filter on `name` matches: as typed, then what the extractor's gazetteer
    resolves it to ("NBA" -> "National Basketball Association", "US" -> "United States"). Search
    filters and alert rules' `entity:` terms go through here; the sinks receive plain names.
    If the gazetteer cannot be read, the name as typed (logged once)."""
    resolver = _entity_names()
    return resolver.resolve(name, label) if resolver is not None else (" ".join(name.split()),)


@functools.cache
def _entity_names() -> EntityNames | None:
    from newswatch.cli.entity_names import entity_names

    try:
        return entity_names()
    except Exception as exc:  # noqa: BLE001 - filters still work on the names as typed
        log.warning("entity names are matched as typed, not resolved: the gazetteer did not load: %s", exc)
        return None


def alerts_stage(
    settings: Settings, bus: Bus, stop: threading.Event | None = None, *, live: bool = True
) -> tuple[StageRunner, AlertEngine]:
    """The alert worker (news.enriched -> news.alerts + notifications) and its engine, for timed ticks.
    Rules' `entity:` terms are resolved through the gazetteer at load (`resolve_entity`)."""
    from sinks.alerts import alert_runner

    runner = alert_runner(
        settings, bus, live=live, stop=stop, group=group_name(settings, ALERTS_GROUP), resolve=resolve_entity
    )
    return runner, runner.engine


def alert_index_runner(settings: Settings, bus: Bus, index: AlertIndex, stop: threading.Event | None = None) -> StageRunner:
    """news.alerts -> the alert index."""
    from sinks import make_alert_index_handler

    runner = StageRunner(
        stage="alert-index", bus=bus, consumer=bus.consumer(group_name(settings, ALERT_INDEX_GROUP), [ALERTS]),
        handler=make_alert_index_handler(index), batch_size=256,
    )
    if stop is not None:
        runner.stop_event = stop
    return runner


def tick_alerts(engine: AlertEngine, bus: Bus) -> int:
    """Evaluate time-driven rules (flatline) and due digests; publish what fired."""
    fired = engine.tick()
    for alert in fired:
        bus.produce(ALERTS, alert.alert_id, alert.to_bytes())
    bus.flush()
    return len(fired)


@dataclass
class OnceReport:
    """What `newswatch run --once` did, for the summary table."""

    outcomes: list[PollOutcome] = field(default_factory=list)
    processed: StageStats = field(default_factory=StageStats)
    sunk: StageStats = field(default_factory=StageStats)
    alerted: StageStats = field(default_factory=StageStats)


def drain_timeout_s(settings: Settings) -> float:
    """How long an empty poll waits before a drain checks the lag: the embedded log answers at once,
    a Kafka group may need a few seconds to join and fetch."""
    return 2.0 if settings.uses_kafka else 0.2


def run_once(settings: Settings, bus: Bus, store: Store, progress: Callable[[str], None] = lambda _: None) -> OnceReport:
    """Poll every feed once, then drain processors and the sink until both are idle."""
    idle = drain_timeout_s(settings)
    progress("polling every feed")
    report = OnceReport(outcomes=collect_once(settings, bus))
    progress("classifying and extracting entities")
    report.processed = processor_runner(settings, bus).run(until_idle=True, idle_timeout_s=idle)
    progress("indexing")
    report.sunk = sink_runner(settings, bus, store).run(until_idle=True, idle_timeout_s=idle)
    progress("matching alert rules")
    alerts, engine = alerts_stage(settings, bus)
    report.alerted = alerts.run(until_idle=True, idle_timeout_s=idle)
    tick_alerts(engine, bus)
    index = open_alert_index(settings)
    alert_index_runner(settings, bus, index).run(until_idle=True, idle_timeout_s=idle)
    index.close()
    return report


def _feeds(settings: Settings) -> list[FeedSpec]:
    from collectors import load_feeds

    if not settings.feeds_path.exists():
        raise ConfigError(
            f"no feed list at {settings.feeds_path}: add one with `newswatch feeds add URL` "
            "or point NEWSWATCH_FEEDS_FILE / --feeds at a TOML file"
        )
    return load_feeds(settings.feeds_path)


def collect_once(settings: Settings, bus: Bus) -> list[PollOutcome]:
    """Poll every enabled feed once; returns per-feed outcomes."""
    from collectors import Collector

    collector = Collector(settings, bus)
    try:
        return collector.poll_all(_feeds(settings))
    finally:
        collector.close()


def feed_statuses(settings: Settings, bus: Bus) -> list[FeedStatus]:
    """Per-feed health rows for `status` and `feeds list`, in feed-list order (plus feeds since removed)."""
    from collectors import Collector

    feeds = _feeds(settings) if settings.feeds_path.exists() else None
    collector = Collector(settings, bus)
    try:
        return collector.feed_statuses(feeds)
    finally:
        collector.close()


def dlq_size(settings: Settings) -> int:
    """Records on news.dlq not yet acknowledged by `newswatch dlq`."""
    bus = open_bus(settings)
    consumer = bus.consumer(group_name(settings, DLQ_INSPECTOR), [DLQ])
    size = consumer.lag()
    consumer.close()
    bus.close()
    return size


def run_forever(
    settings: Settings,
    bus: Bus,
    store: Store | None,
    stop: threading.Event,
    roles: tuple[str, ...] = ("collect", "process", "sink", "alerts"),
) -> None:
    """Scheduled collectors plus processor and sink worker threads, until `stop` is set."""
    threads: list[threading.Thread] = []
    scheduler = None
    collector = None
    if "collect" in roles:
        from collectors import Collector, FeedScheduler

        collector = Collector(settings, bus)
        scheduler = FeedScheduler(collector.poll_feed, settings.schedule, first_poll=collector.next_poll_at)
        scheduler.start(_feeds(settings))
    if "process" in roles:
        threads.append(threading.Thread(target=processor_runner(settings, bus, stop).run, name="processor"))
    if "sink" in roles and store is not None:
        threads.append(threading.Thread(target=sink_runner(settings, bus, store, stop).run, name="sink"))
    alert_index = None
    if "alerts" in roles:
        alerts, engine = alerts_stage(settings, bus, stop)
        alert_index = open_alert_index(settings)
        threads.append(threading.Thread(target=alerts.run, name="alerts"))
        threads.append(threading.Thread(target=alert_index_runner(settings, bus, alert_index, stop).run, name="alert-index"))
        threads.append(threading.Thread(target=_tick_until_stopped, args=(engine, bus, stop), name="alert-timer"))
    if {"collect", "sink"} <= set(roles):  # `run` only; scaled-out setups run `newswatch maintain` from cron
        threads.append(threading.Thread(target=_maintain_until_stopped, args=(settings, stop), name="maintain"))
    for thread in threads:
        thread.start()
    log.info("pipeline running: %s", ", ".join(roles))
    stop.wait()
    log.info("stopping: finishing the current batches")
    if scheduler is not None:
        scheduler.stop(wait=True)
    for thread in threads:
        thread.join()
    if collector is not None:
        collector.close()
    if alert_index is not None:
        alert_index.close()


def _maintain_until_stopped(settings: Settings, stop: threading.Event) -> None:
    """Apply retention every `maintain_interval_s` (the first pass after one interval)."""
    from newswatch.cli.ops import maintain

    while not stop.wait(settings.maintain_interval_s):
        try:
            report = maintain(settings)
        except Exception:  # retried at the next interval
            log.exception("maintenance failed; retrying in %.0fs", settings.maintain_interval_s)
            continue
        for step in report.steps:
            (log.info if step.ok else log.warning)("maintenance %s: %s", step.name, step.detail)


def _tick_until_stopped(engine: AlertEngine, bus: Bus, stop: threading.Event) -> None:
    while not stop.wait(ALERT_TICK_S):
        try:
            tick_alerts(engine, bus)
        except Exception:  # a failed tick is retried at the next one
            log.exception("alert timer tick failed; retrying in %.0fs", ALERT_TICK_S)


def _processor_worker(settings: Settings, once: bool, index: int = 0) -> StageStats:
    """Entry point of one worker process (spawned): its own bus connection, spaCy model and
    metrics port (`metrics_port + index`)."""
    import signal

    from newswatch import metrics

    if settings.metrics_port and not once:
        metrics.serve(settings.metrics_port + index)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bus = open_bus(settings)
    try:
        return processor_runner(settings, bus, stop).run(until_idle=once, idle_timeout_s=drain_timeout_s(settings))
    finally:
        bus.close()


def _processor_worker_main(settings: Settings, once: bool, index: int, results: Any) -> None:
    """A spawned worker process: run one processor worker and report its stats to the parent."""
    results.put((index, _processor_worker(settings, once, index)))


def run_processor_workers(settings: Settings, workers: int, *, once: bool) -> StageStats:
    """Run `workers` processor processes in one consumer group and sum their stats.

    SIGINT or SIGTERM to this process is passed on to every worker, which finishes its current
    batch and leaves the group; a service manager that signals only the main process (docker,
    `kill PID`) therefore stops them all instead of leaving orphans polling the group."""
    if workers == 1:
        return _processor_worker(settings, once)
    import multiprocessing
    import signal

    context = multiprocessing.get_context("spawn")
    results = context.SimpleQueue()
    procs = [
        context.Process(target=_processor_worker_main, args=(settings, once, i, results), name=f"processor-{i}")
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()

    def forward(_signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    forwarding = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)} if forwarding else {}
    try:
        for proc in procs:
            proc.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    total = StageStats()
    reported: set[int] = set()
    while not results.empty():
        index, stats = results.get()
        reported.add(index)
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
    failed = [f"{proc.name} (exit code {proc.exitcode})" for i, proc in enumerate(procs) if i not in reported]
    if failed:
        raise NewswatchError(
            f"processor workers ended without finishing: {', '.join(failed)}; their log lines above say why"
        )
    return total
