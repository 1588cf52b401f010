"""The alert stage: enriched articles in, alert records out on `news.alerts`, notifications sent.

Wiring (consumer group "<prefix>.alerts" on `news.enriched`):

    runner = alert_runner(settings, bus)                     # rules: <data_dir>/alerts.yaml
    runner.run(until_idle=True)                              # or in a thread, until stopped
    runner.engine.tick()                                     # timed: flatlines, due digests

The engine that does the work per batch is in engine.py; this module turns it into a worker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from newswatch import (
    BatchResult,
    Bus,
    Consumer,
    EnrichedArticle,
    Handler,
    Output,
    Settings,
    StageRunner,
    decode_batch,
    topics,
)
from sinks.alerts.engine import AlertEngine, build_engine, match_alert
from sinks.alerts.query import EntityResolver

__all__ = [
    "AlertEngine",
    "AlertRunner",
    "alert_runner",
    "build_engine",
    "make_alert_handler",
    "match_alert",
    "rules_path_for",
]

STAGE = "alerts"
GROUP_ROLE = "alerts"


def make_alert_handler(engine: AlertEngine, *, live: bool = True) -> Handler:
    """A StageRunner handler: EnrichedArticle records in, AlertRecord records on news.alerts out."""

    def handle(records: Sequence[object]) -> BatchResult:
        engine.reload_if_changed()
        good, dead = decode_batch(records, EnrichedArticle, STAGE)  # type: ignore[arg-type]
        alerts = engine.process(
            [article for _, article in good],
            live=live,
            sources=[f"{r.topic}:{r.partition}:{r.offset}" for r, _ in good],
        )
        return BatchResult(
            outputs=[Output(topics.ALERTS, a.alert_id, a.to_bytes()) for a in alerts], dead=dead
        )

    return handle


def rules_path_for(settings: Settings) -> Path:
    """`settings.alerts_file` when that setting exists, else <data_dir>/alerts.yaml."""
    configured = getattr(settings, "alerts_file", None)
    return Path(configured) if configured else settings.data_dir / "alerts.yaml"



class AlertRunner(StageRunner):
    """The alert worker; it keeps its engine for the timer (`engine.tick()`) and for `engine.close()`."""

    def __init__(
        self, engine: AlertEngine, *, bus: Bus, consumer: Consumer, live: bool, batch_size: int
    ) -> None:
        super().__init__(
            stage=STAGE,
            bus=bus,
            consumer=consumer,
            handler=make_alert_handler(engine, live=live),
            batch_size=batch_size,
        )
        self.engine = engine


def alert_runner(
    settings: Settings,
    bus: Bus,
    *,
    rules_path: Path | None = None,
    live: bool = True,
    stop: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    group: str | None = None,
    resolve: EntityResolver | None = None,
) -> AlertRunner:
    """The alert stage worker: group "<prefix>.alerts" on news.enriched, state in <data_dir>/alerts.db.

    `group` overrides the consumer group; `env` (default: the process environment) fills the
    rules' ${NAME} secrets; `resolve` widens the rules' `entity:` terms to canonical names (the
    CLI wiring passes the gazetteer's; see `query.resolve_entities`).
    """
    engine = build_engine(
        rules_path or rules_path_for(settings),
        settings.data_dir / "alerts.db",
        env=os.environ if env is None else env,
        resolve=resolve,
    )
    runner = AlertRunner(
        engine,
        bus=bus,
        consumer=bus.consumer(
            group or f"{settings.kafka.group_prefix}.{GROUP_ROLE}", [topics.ENRICHED]
        ),
        live=live,
        batch_size=settings.batch_size,
    )
    if stop is not None:
        runner.stop_event = stop
    return runner
