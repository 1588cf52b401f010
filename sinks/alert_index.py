"""Fired alerts made searchable: news.alerts -> an `alerts` table (embedded) or `<prefix>-alerts` (ES).

Dashboards (Kibana's alerts panel, the live view) read from here. Upserts by `alert_id`, so a
redelivered alert overwrites itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.helpers import BulkIndexError, bulk

from newswatch import (
    BatchResult,
    ElasticSettings,
    Handler,
    Record,
    SinkUnavailableError,
    connect_sqlite,
    decode_batch,
)
from sinks.alerts import AlertRecord

ALERT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "schema_version": {
            "type": "integer"
        },
        "alert_id": {
            "type": "keyword"
        },
        "rule": {
            "type": "keyword"
        },
        "rule_type": {
            "type": "keyword"
        },
        "message": {
            "type": "text"
        },
        "event_time": {
            "type": "date"
        },
        "fired_at": {
            "type": "date"
        },
        "article_id": {
            "type": "keyword"
        },
        "title": {
            "type": "text",
            "fields": {
                "keyword": {
                    "type": "keyword",
                    "ignore_above": 512
                }
            }
        },
        "url": {
            "type": "keyword"
        },
        "outlet": {
            "type": "keyword"
        },
        "published_at": {
            "type": "date"
        },
        "matched_terms": {
            "type": "keyword"
        },
        "highlights": {
            "type": "object",
            "enabled": False
        },
        "key": {
            "type": "keyword"
        },
        "count": {
            "type": "integer"
        },
        "baseline": {
            "type": "float"
        },
        "window_s": {
            "type": "float"
        },
        "article_ids": {
            "type": "keyword"
        },
        "live": {
            "type": "boolean"
        },
        "channels": {
            "type": "keyword"
        },
        "suppressed": {
            "type": "keyword"
        }
    }
}
"""Every AlertRecord field, strict; highlights kept in _source only. deploy/kibana/alerts-index.json is
written from this (`python -m sinks.alert_index`) and a test keeps the two identical."""


def index_body(replicas: int = 0) -> dict[str, Any]:
    """Settings and mappings for `indices.create` of the alerts index."""
    return {
        "settings": {"index": {"number_of_shards": 1, "number_of_replicas": replicas, "refresh_interval": "1s"}},
        "mappings": ALERT_MAPPING,
    }


def alerts_index_name(prefix: str) -> str:
    """The alerts index: `<prefix>-alerts`."""
    return f"{prefix}-alerts"


class AlertIndex(Protocol):
    """Where fired alerts are kept for dashboards: `setup`, then `write` batches, `recent` to read."""

    def setup(self) -> None: ...

    def write(self, alerts: Sequence[AlertRecord]) -> None: ...

    def recent(self, limit: int = 50) -> list[AlertRecord]: ...

    def close(self) -> None: ...


class EmbeddedAlertIndex:
    """Alerts in the embedded store's SQLite file, table `alerts`."""

    def __init__(self, path: Path) -> None:
        self._conn = connect_sqlite(path, synchronous="FULL")
        self._lock = threading.Lock()

    def setup(self) -> None:
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS alerts (alert_id TEXT PRIMARY KEY, rule TEXT, fired_at TEXT, doc TEXT)"
            )
            self._conn.execute("CREATE INDEX IF NOT EXISTS alerts_fired ON alerts (fired_at)")

    def write(self, alerts: Sequence[AlertRecord]) -> None:
        rows = [(a.alert_id, a.rule, a.fired_at.isoformat(), a.model_dump_json()) for a in alerts]
        with self._lock:
            self._conn.executemany("INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?)", rows)

    def recent(self, limit: int = 50) -> list[AlertRecord]:
        with self._lock:
            rows = self._conn.execute("SELECT doc FROM alerts ORDER BY fired_at DESC LIMIT ?", (limit,)).fetchall()
        return [AlertRecord.model_validate_json(doc) for (doc,) in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class ElasticAlertIndex:
    """Alerts in Elasticsearch index `<prefix>-alerts` (one small index; alerts are few)."""

    def __init__(self, client: Elasticsearch, settings: ElasticSettings) -> None:
        self._client = client
        self._settings = settings
        self.index = alerts_index_name(settings.index_prefix)

    def setup(self) -> None:
        with _unavailable_on_transport_error(self.index):
            if not self._client.indices.exists(index=self.index):
                try:
                    self._client.indices.create(index=self.index, **index_body(self._settings.replicas))
                except ApiError as exc:
                    if exc.meta.status != 400 or "resource_already_exists" not in str(exc):
                        raise

    def write(self, alerts: Sequence[AlertRecord]) -> None:
        actions = [
            {"_index": self.index, "_id": a.alert_id, "_source": a.model_dump(mode="json")}
            for a in alerts
        ]
        with _unavailable_on_transport_error(self.index):
            try:
                bulk(self._client, actions, refresh=False)
            except BulkIndexError as exc:
                raise SinkUnavailableError(f"{len(exc.errors)} alerts refused by {self.index}: {exc.errors[:1]}") from exc

    def recent(self, limit: int = 50) -> list[AlertRecord]:
        with _unavailable_on_transport_error(self.index):
            resp = self._client.search(index=self.index, size=limit, sort=[{"fired_at": "desc"}], ignore_unavailable=True)
        return [AlertRecord.model_validate(hit["_source"]) for hit in resp["hits"]["hits"]]

    def close(self) -> None:
        self._client.close()


class _unavailable_on_transport_error:
    """Turn a dead or refusing cluster into SinkUnavailableError so the runner backs off and retries."""

    def __init__(self, index: str) -> None:
        self.index = index

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if isinstance(exc, TransportError | ApiError) and not isinstance(exc, SinkUnavailableError):
            raise SinkUnavailableError(
                f"cannot write alerts to {self.index}: {exc}; check that Elasticsearch is up (newswatch config check)"
            ) from exc


def make_alert_index_handler(index: AlertIndex, stage: str = "alert-index") -> Handler:
    """news.alerts records -> the alert index; undecodable records are dead-lettered."""

    def handle(records: Sequence[Record]) -> BatchResult:
        good, dead = decode_batch(records, AlertRecord, stage)
        if good:
            index.write([alert for _, alert in good])
        return BatchResult(dead=dead)

    return handle


__all__ = [
    "ALERT_MAPPING",
    "AlertIndex",
    "ElasticAlertIndex",
    "EmbeddedAlertIndex",
    "alerts_index_name",
    "index_body",
    "make_alert_index_handler",
]


if __name__ == "__main__":
    print(json.dumps(index_body(), indent=2))
