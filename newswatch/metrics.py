"""Prometheus metrics, defined once here and updated by every stage; served by long-running commands.

Names follow Prometheus conventions (`newswatch_<what>_<unit>`); label values are small closed sets
(stage, outcome, reason kind, channel) or the feed name, never article ids.

Who updates what:

    collectors   FEED_FETCHES (per feed and outcome), ARTICLES{stage="collector"}, FEED_VOLUME_*
    runner       ARTICLES, DEAD_LETTERS, BATCH_SECONDS, STAGE_RETRIES, CONSUMER_LAG
    sinks        END_TO_END_SECONDS{stage="sink"}, BULK_DOCS, STAGE_RETRIES{kind="bulk-retry"}
    alerts       ALERTS (fired, and delivered / retried / failed per channel)
    maintenance  RETENTION_DELETED, MAINTENANCE_SECONDS
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram, start_http_server

FEED_FETCHES = Counter(
    "newswatch_feed_fetches_total",
    "Feed polls by outcome (new, not-modified, same-body, error kinds).",
    ["feed", "outcome"],
)
ARTICLES = Counter(
    "newswatch_articles_total", "Records handled per stage and outcome.", ["stage", "outcome"]
)
DEAD_LETTERS = Counter(
    "newswatch_dead_letters_total", "Records sent to news.dlq.", ["stage", "reason"]
)
BATCH_SECONDS = Histogram(
    "newswatch_batch_seconds",
    "Time to handle one batch, per stage.",
    ["stage"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
END_TO_END_SECONDS = Histogram(
    "newswatch_fetch_to_stage_seconds",
    "Seconds from an article's fetch to its handling by a stage.",
    ["stage"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)
CONSUMER_LAG = Gauge(
    "newswatch_consumer_lag",
    "Records not yet committed by a consumer group, per topic and partition.",
    ["group", "topic", "partition"],
)
STAGE_RETRIES = Counter(
    "newswatch_stage_retries_total", "Batch retries and store back-offs.", ["stage", "kind"]
)
BULK_DOCS = Histogram(
    "newswatch_sink_bulk_docs",
    "Documents per store write.",
    ["store"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 5000),
)
ALERTS = Counter(
    "newswatch_alerts_total",
    "Alerts fired and delivered or failed per channel.",
    ["rule_type", "channel", "outcome"],
)
FEED_VOLUME_RATIO = Gauge(
    "newswatch_feed_volume_ratio",
    "Articles in the last 24 h over the median of the previous days' 24 h counts (feed '_all' = whole pipeline).",
    ["feed"],
)
FEED_VOLUME_DROP = Gauge(
    "newswatch_feed_volume_drop",
    "1 while a feed (or '_all') produces far less than its usual rate, else 0.",
    ["feed"],
)
RETENTION_DELETED = Counter(
    "newswatch_retention_deleted_total",
    "Items removed by retention, per place (bus topic, store, archive, index).",
    ["target"],
)
MAINTENANCE_SECONDS = Histogram(
    "newswatch_maintenance_seconds",
    "Time of one maintenance pass.",
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300),
)


def set_consumer_lag(group: str, lags: Mapping[tuple[str, int], int]) -> None:
    """Publish a group's lag per (topic, partition)."""
    for (topic, partition), lag in lags.items():
        CONSUMER_LAG.labels(group, topic, str(partition)).set(lag)


def observe_fetch_to_stage(stage: str, fetched_at: datetime, now: datetime) -> None:
    """Record how long after its fetch an article reached `stage` (clock skew clamps to 0)."""
    END_TO_END_SECONDS.labels(stage).observe(max(0.0, (now - fetched_at).total_seconds()))


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics on `addr:port` from a daemon thread (0 disables)."""
    if port:
        start_http_server(port, addr=addr)
