"""Volume-drop signal: is a feed (or the whole pipeline) producing far less than its usual rate?

Each poll adds its published count to an hourly bucket in `collector.db` (a zero for a poll that
found nothing or failed, so quiet hours are known, not missing). The signal compares the last
24 hours with the median of the previous days' 24-hour windows (rolling windows ending now, so no
calendar-day or time-zone edge). Media Cloud's users found ingestion gaps by eye; this says it.

A drop needs enough history (`min_history_days` full windows since the feed's first poll) and a
usual rate worth watching (`min_daily_articles`), so a new or naturally sparse feed never flaps.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from collectors.state import connect
from newswatch import Settings

HOUR_S = 3600
DAY_H = 24

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_hourly (
  feed_url TEXT NOT NULL, hour INTEGER NOT NULL, articles INTEGER NOT NULL DEFAULT 0, polls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (feed_url, hour)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_hourly_hour ON feed_hourly (hour);
"""


@dataclass(frozen=True)
class VolumeRules:
    """Thresholds of the signal (from `Settings.volume`)."""

    baseline_days: int = 14
    min_history_days: int = 3
    min_daily_articles: float = 5.0
    drop_ratio: float = 0.25

    @classmethod
    def from_settings(cls, settings: Settings) -> VolumeRules:
        v = settings.volume
        return cls(v.baseline_days, v.min_history_days, v.min_daily_articles, v.drop_ratio)


@dataclass(frozen=True)
class VolumeSignal:
    """Last 24 h against the usual 24 h; `dropped` is the alarm, `reason` says it in words."""

    recent: int
    usual: float | None
    history_days: int
    dropped: bool
    reason: str

    @property
    def ratio(self) -> float | None:
        """recent / usual, or None while there is no usable baseline."""
        return None if not self.usual else self.recent / self.usual


def hour_of(when: datetime) -> int:
    """Whole hours since the epoch (the bucket key)."""
    return int(when.timestamp()) // HOUR_S


def volume_signal(hourly: Mapping[int, int], now_hour: int, rules: VolumeRules) -> VolumeSignal:
    """Pure maths over {hour: articles}: window k covers hours (now-24(k+1), now-24k]."""
    if not hourly:
        return VolumeSignal(0, None, 0, False, "no polls recorded yet")
    first = min(hourly)

    def window(k: int) -> int:
        top = now_hour - DAY_H * k
        return sum(n for h, n in hourly.items() if top - DAY_H < h <= top)

    recent = window(0)
    baseline = [window(k) for k in range(1, rules.baseline_days + 1) if now_hour - DAY_H * (k + 1) + 1 >= first]
    if len(baseline) < rules.min_history_days:
        return VolumeSignal(recent, None, len(baseline), False, f"{len(baseline)} day(s) of history, baseline needs {rules.min_history_days}")
    usual = float(statistics.median(baseline))
    if usual < rules.min_daily_articles:
        return VolumeSignal(recent, usual, len(baseline), False, f"usually {usual:g}/day: too sparse to judge")
    dropped = recent < rules.drop_ratio * usual
    word = "volume drop" if dropped else "volume normal"
    return VolumeSignal(recent, usual, len(baseline), dropped, f"{word}: {recent} articles in the last 24 h, usually {usual:g}/day")


class VolumeLog:
    """Hourly published counts per feed, in the collector database; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def record(self, feed_url: str, when: datetime, published: int) -> None:
        """Add one poll's published count to its hour (0 still marks the hour as polled)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO feed_hourly(feed_url, hour, articles, polls) VALUES (?, ?, ?, 1) "
                "ON CONFLICT(feed_url, hour) DO UPDATE SET articles=articles+excluded.articles, polls=polls+1",
                (feed_url, hour_of(when), published),
            )

    def hourly(self, feed_url: str | None, since_hour: int) -> dict[int, int]:
        """{hour: articles} since `since_hour`, for one feed or (None) every feed summed."""
        with self._lock:
            if feed_url is None:
                rows: Iterable[tuple[int, int]] = self._conn.execute(
                    "SELECT hour, SUM(articles) FROM feed_hourly WHERE hour >= ? GROUP BY hour", (since_hour,)
                ).fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT hour, articles FROM feed_hourly WHERE feed_url=? AND hour >= ?", (feed_url, since_hour)
                ).fetchall()
        return {int(h): int(n) for h, n in rows}

    def first_hour(self, feed_url: str | None) -> int | None:
        """The earliest hour kept (the start of the history), to keep baselines honest after a prune."""
        with self._lock:
            sql = "SELECT MIN(hour) FROM feed_hourly" + ("" if feed_url is None else " WHERE feed_url=?")
            row = self._conn.execute(sql, () if feed_url is None else (feed_url,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def signal(self, feed_url: str | None, now: datetime, rules: VolumeRules) -> VolumeSignal:
        """The signal for one feed, or (None) for the whole pipeline."""
        now_h = hour_of(now)
        since = now_h - DAY_H * (rules.baseline_days + 1) + 1
        hourly = self.hourly(feed_url, since)
        first = self.first_hour(feed_url)
        if first is not None and first < since and hourly:
            hourly.setdefault(since, 0)  # history is older than the window: every window counts
        return volume_signal(hourly, now_h, rules)

    def prune(self, older_than: datetime) -> int:
        """Drop hourly rows before `older_than` (retention); returns how many went."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM feed_hourly WHERE hour < ?", (hour_of(older_than),))
            return int(cur.rowcount)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

