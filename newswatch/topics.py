"""Bus topic names, in one place so every stage and backend agrees."""

from __future__ import annotations

RAW = "news.raw"
ENRICHED = "news.enriched"
ALERTS = "news.alerts"
DLQ = "news.dlq"

ALL_TOPICS: tuple[str, ...] = (RAW, ENRICHED, ALERTS, DLQ)
