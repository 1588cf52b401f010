"""Recent alerts for the live view, read from the `news.alerts` topic on either bus.

A daemon thread holds a consumer that starts `lookback` back in time and never commits (the view
is a bystander, not a stage); it keeps the newest `keep` alerts and numbers them, so a page can
ask for "alerts after #n". Records that are not alerts are skipped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from datetime import timedelta
from typing import Any

from newswatch import Bus, topics

log = logging.getLogger("sinks.web")

ALERT_FIELDS = ("alert_id", "rule", "rule_type", "message", "title", "url", "outlet", "event_time",
                "fired_at", "published_at", "matched_terms", "key", "count")


class AlertFeed:
    """The newest alerts on the bus, numbered; `start()` begins reading, `close()` stops."""

    def __init__(self, bus: Bus, group: str, *, keep: int = 100, lookback: timedelta = timedelta(days=7)) -> None:
        self.bus = bus
        self.group = group
        self.lookback = lookback
        self._alerts: deque[dict[str, Any]] = deque(maxlen=keep)
        self._seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="web-alerts", daemon=True)

    def start(self) -> AlertFeed:
        self._thread.start()
        return self

    def add(self, alert: dict[str, Any]) -> None:
        """Number and keep one alert (the reader thread calls this; tests may too)."""
        row = {name: alert.get(name) for name in ALERT_FIELDS}
        with self._lock:
            self._seq += 1
            row["seq"] = self._seq
            self._alerts.append(row)

    def after(self, seq: int) -> list[dict[str, Any]]:
        """Alerts numbered above `seq`, oldest first."""
        with self._lock:
            return [a for a in self._alerts if a["seq"] > seq]

    def newest(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The `limit` newest alerts, newest first, and the current number."""
        with self._lock:
            return list(reversed(self._alerts))[:limit], self._seq

    def _run(self) -> None:
        since_ms = int((time.time() - self.lookback.total_seconds()) * 1000)
        try:
            consumer = self.bus.consumer(self.group, [topics.ALERTS], from_timestamp_ms=since_ms)
        except Exception:
            log.exception("recent alerts unavailable: cannot read %s", topics.ALERTS)
            return
        try:
            while not self._stop.is_set():
                for record in consumer.poll(max_records=200, timeout_s=0.5):
                    try:
                        value = json.loads(record.value)
                    except ValueError:
                        continue
                    if isinstance(value, dict) and "alert_id" in value:
                        self.add(value)
        except Exception:
            log.exception("recent alerts stopped: reading %s failed", topics.ALERTS)
        finally:
            consumer.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
