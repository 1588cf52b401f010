"""EmbeddedBus: durable log, group offsets, commit-after-output semantics."""

from __future__ import annotations

import time
from pathlib import Path

from newswatch import EmbeddedBus, TopicSpec


def _values(records: list) -> list[bytes]:  # type: ignore[type-arg]
    return [r.value for r in records]


def test_produce_is_invisible_until_flush_then_durable(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.ensure_topics([TopicSpec("t")])
    bus.produce("t", "k1", b"one")
    assert bus.consumer("g", ["t"]).poll(10, 0.01) == []
    bus.flush()
    bus.close()
    reopened = EmbeddedBus(tmp_path / "bus.db")
    recs = reopened.consumer("g", ["t"]).poll(10, 0.01)
    assert [(r.key, r.value, r.offset) for r in recs] == [("k1", b"one", 0)]


def test_uncommitted_records_are_redelivered_committed_ones_are_not(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    for i in range(5):
        bus.produce("t", f"k{i}", str(i).encode())
    bus.flush()
    first = bus.consumer("g", ["t"])
    batch = first.poll(3, 0.01)
    first.commit(batch[:2])
    first.close()
    second = bus.consumer("g", ["t"])
    assert _values(second.poll(10, 0.01)) == [b"2", b"3", b"4"]
    assert second.lag() == 3


def test_seek_to_committed_rereads_after_failure(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    for i in range(3):
        bus.produce("t", None, str(i).encode())
    bus.flush()
    consumer = bus.consumer("g", ["t"])
    consumer.commit(consumer.poll(1, 0.01))
    assert _values(consumer.poll(10, 0.01)) == [b"1", b"2"]
    consumer.seek_to_committed()
    assert _values(consumer.poll(10, 0.01)) == [b"1", b"2"]


def test_groups_are_independent_and_latest_skips_history(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.produce("t", None, b"old")
    bus.flush()
    latest = bus.consumer("live", ["t"], start="latest")
    other = bus.consumer("other", ["t"])
    bus.produce("t", None, b"new")
    bus.flush()
    assert _values(latest.poll(10, 0.01)) == [b"new"]
    assert _values(other.poll(10, 0.01)) == [b"old", b"new"]


def test_from_timestamp_starts_at_first_record_at_or_after_it(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    for ts, val in [(1000, b"a"), (2000, b"b"), (3000, b"c")]:
        bus.produce("t", None, val, timestamp_ms=ts)
    bus.flush()
    assert _values(bus.consumer("g", ["t"], from_timestamp_ms=2000).poll(10, 0.01)) == [b"b", b"c"]
    assert bus.consumer("g2", ["t"], from_timestamp_ms=9999).poll(10, 0.01) == []


def test_poll_waits_for_new_records_up_to_timeout(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    consumer = bus.consumer("g", ["t"])
    started = time.monotonic()
    assert consumer.poll(10, 0.2) == []
    assert time.monotonic() - started >= 0.19


def test_retention_purges_old_records(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.produce("t", None, b"old", timestamp_ms=1)
    bus.produce("t", None, b"new", timestamp_ms=10_000)
    bus.flush()
    assert bus.purge_older_than("t", 5_000) == 1
    assert _values(bus.consumer("g", ["t"]).poll(10, 0.01)) == [b"new"]
