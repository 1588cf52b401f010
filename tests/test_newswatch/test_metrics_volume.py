"""Issue 8: the volume-drop signal, as pure maths and through a collector's status and gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from collectors import Collector
from collectors.volume import VolumeLog, VolumeRules, hour_of, volume_signal
from newswatch import EmbeddedBus, FeedSpec, Settings

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RULES = VolumeRules(baseline_days=14, min_history_days=3, min_daily_articles=5, drop_ratio=0.25)


def _history(days: int, per_day: int, last_day: int) -> dict[int, int]:
    """`days` days of `per_day` articles (one poll an hour), then `last_day` in the last 24 h."""
    now_h = hour_of(NOW)
    counts = {}
    for h in range(now_h - 24 * days - 23, now_h + 1):
        in_last_day = h > now_h - 24
        total = last_day if in_last_day else per_day
        counts[h] = total // 24 + (1 if (h % 24) < total % 24 else 0)
    return counts


@pytest.mark.parametrize(
    ("days", "per_day", "last_day", "dropped"),
    [
        pytest.param(14, 48, 48, False, id="steady"),
        pytest.param(14, 48, 5, True, id="fell-to-a-tenth"),
        pytest.param(14, 48, 0, True, id="silent-for-a-day"),
        pytest.param(14, 48, 20, False, id="a-slow-day-is-not-a-drop"),
        pytest.param(2, 48, 0, False, id="too-little-history"),
        pytest.param(14, 3, 0, False, id="too-sparse-to-judge"),
    ],
)
def test_volume_signal(days: int, per_day: int, last_day: int, dropped: bool) -> None:
    signal = volume_signal(_history(days, per_day, last_day), hour_of(NOW), RULES)
    assert signal.dropped is dropped, signal.reason
    if days >= RULES.min_history_days:
        assert signal.usual == pytest.approx(per_day, abs=1)


def test_the_median_ignores_one_huge_day() -> None:
    counts = _history(14, 40, 5)
    counts[hour_of(NOW) - 24 * 5] += 5000  # one breaking-news day
    assert volume_signal(counts, hour_of(NOW), RULES).dropped


def test_volume_log_prune_keeps_the_baseline_honest(tmp_path: Path) -> None:
    log = VolumeLog(tmp_path / "c.db")
    for k in range(20 * 24):
        log.record("u", NOW - timedelta(hours=k), 2)
    assert log.signal("u", NOW, RULES).usual == 48
    assert log.prune(NOW - timedelta(days=10)) > 0
    assert log.signal("u", NOW, RULES).history_days == 9  # only windows after the pruned start count
    log.close()


def test_a_feed_that_goes_quiet_shows_in_status_and_gauges(tmp_path: Path) -> None:
    feed = tmp_path / "f.xml"
    spec = FeedSpec(url=str(feed), name="quiet-feed")
    settings = Settings(data_dir=tmp_path, feeds_file=tmp_path / "feeds.toml")
    bus = EmbeddedBus(tmp_path / "bus.db")
    collector = Collector(settings, bus)
    for k in range(1, 15 * 24):  # two weeks of about 48 articles a day, then nothing
        collector.volume.record(spec.url, NOW - timedelta(hours=24 + k), 2)
    feed.write_text("<rss version='2.0'><channel><title>q</title></channel></rss>", encoding="utf-8")
    collector.poll_feed(spec, now=NOW)
    [row] = collector.feed_statuses([spec], now=NOW)
    assert row.volume is not None and row.volume.dropped
    assert row.health == "ok" and row.reason.startswith("volume drop: 0 articles in the last 24 h, usually 48/day")
    assert REGISTRY.get_sample_value("newswatch_feed_volume_drop", {"feed": "quiet-feed"}) == 1
    assert REGISTRY.get_sample_value("newswatch_feed_fetches_total", {"feed": "quiet-feed", "outcome": "new"}) == 1
    collector.close()
    bus.close()
