"""Prometheus metrics, defined once here and updated by every stage; served by long-running commands.

Names follow Prometheus conventions (`newswatch_<what>_<unit>`); label values are small closed sets
(stage, outcome, reason kind, channel) or the feed name, never article ids.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

FEED_FETCHES = Counter(
    "newswatch_feed_fetches_total", "Feed polls by outcome (new, not-modified, same-body, error kinds).", ["feed", "outcome"]
)
ARTICLES = Counter("newswatch_articles_total", "Records handled per stage and outcome.", ["stage", "outcome"])
DEAD_LETTERS = Counter("newswatch_dead_letters_total", "Records sent to news.dlq.", ["stage", "reason"])
BATCH_SECONDS = Histogram(
    "newswatch_batch_seconds", "Time to handle one batch, per stage.", ["stage"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
END_TO_END_SECONDS = Histogram(
    "newswatch_fetch_to_stage_seconds", "Seconds from an article's fetch to its handling by a stage.", ["stage"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)
CONSUMER_LAG = Gauge("newswatch_consumer_lag", "Records not yet committed by a consumer group.", ["group"])
STAGE_RETRIES = Counter("newswatch_stage_retries_total", "Batch retries and store back-offs.", ["stage", "kind"])
BULK_DOCS = Histogram(
    "newswatch_sink_bulk_docs", "Documents per store write.", ["store"], buckets=(1, 10, 50, 100, 250, 500, 1000, 5000)
)
ALERTS = Counter("newswatch_alerts_total", "Alerts fired and delivered or failed per channel.", ["rule_type", "channel", "outcome"])


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics on `addr:port` from a daemon thread (0 disables)."""
    if port:
        start_http_server(port, addr=addr)
