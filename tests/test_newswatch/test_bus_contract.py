"""The Bus contract, run on EmbeddedBus and on KafkaBus (the `bus` fixture of tests/servers.py).

Each test runs twice: `[embedded]` needs nothing, `[kafka]` a real broker. Same inputs, same
observable results: the embedded default and the scaled-out mode agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from newswatch.bus import Consumer, Record, TopicSpec

TopicMaker = Callable[[], str]


@pytest.fixture
def new_topic(bus: Any, name_factory: Callable[[], str]) -> Iterator[TopicMaker]:
    """One-partition topics (EmbeddedBus has one per topic), deleted afterwards where supported."""
    made: list[str] = []

    def make() -> str:
        name = name_factory()
        bus.ensure_topics([TopicSpec(name, partitions=1, retention_ms=3_600_000)])
        made.append(name)
        return name

    yield make
    if made and hasattr(bus, "delete_topics"):
        bus.delete_topics(made)


def drain(consumer: Consumer, want: int, timeout_s: float = 30.0) -> list[Record]:
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got.extend(consumer.poll(max_records=100, timeout_s=0.5))
    return got


def send(bus: Any, topic: str, ids: range, base_ts: int | None = None) -> None:
    for i in ids:
        ts = None if base_ts is None else base_ts + i * 1000
        bus.produce(topic, f"id-{i}", f"value-{i}".encode(), timestamp_ms=ts)
    bus.flush()


def test_produced_records_come_back_in_order_and_commit_clears_lag(
    bus: Any, new_topic: TopicMaker, unique_name: str
) -> None:
    topic = new_topic()
    send(bus, topic, range(25))
    consumer = bus.consumer(unique_name, [topic])
    try:
        got = drain(consumer, 25)
        assert [(r.key, r.value) for r in got] == [
            (f"id-{i}", f"value-{i}".encode()) for i in range(25)
        ]
        assert [r.offset for r in got] == list(range(25))
        assert consumer.lag() == 25
        consumer.commit(got)
        assert consumer.lag() == 0
    finally:
        consumer.close()


def test_records_not_committed_are_redelivered_to_the_next_member(
    bus: Any, new_topic: TopicMaker, unique_name: str
) -> None:
    topic = new_topic()
    send(bus, topic, range(8))
    first = bus.consumer(unique_name, [topic])
    first.commit(drain(first, 8)[:3])
    first.close()
    second = bus.consumer(unique_name, [topic])
    try:
        assert [r.key for r in drain(second, 5)] == [f"id-{i}" for i in range(3, 8)]
    finally:
        second.close()


def test_seek_to_committed_re_reads_the_uncommitted_tail(
    bus: Any, new_topic: TopicMaker, unique_name: str
) -> None:
    topic = new_topic()
    send(bus, topic, range(5))
    consumer = bus.consumer(unique_name, [topic])
    try:
        consumer.commit(drain(consumer, 5)[:1])
        consumer.seek_to_committed()
        assert [r.offset for r in drain(consumer, 4)] == [1, 2, 3, 4]
    finally:
        consumer.close()


def test_from_timestamp_skips_older_records(
    bus: Any, new_topic: TopicMaker, unique_name: str
) -> None:
    topic = new_topic()
    base = int(time.time() * 1000) - 60_000
    send(bus, topic, range(10), base_ts=base)
    consumer = bus.consumer(unique_name, [topic], from_timestamp_ms=base + 6_000)
    try:
        assert [r.key for r in drain(consumer, 4)] == ["id-6", "id-7", "id-8", "id-9"]
    finally:
        consumer.close()


def test_start_latest_sees_only_new_records(
    bus: Any, new_topic: TopicMaker, unique_name: str
) -> None:
    topic = new_topic()
    send(bus, topic, range(3))
    consumer = bus.consumer(unique_name, [topic], start="latest")
    try:
        assert consumer.poll(timeout_s=3.0) == []
        send(bus, topic, range(3, 5))
        assert [r.key for r in drain(consumer, 2)] == ["id-3", "id-4"]
    finally:
        consumer.close()


def test_poll_returns_what_has_arrived_without_waiting_to_fill_the_batch(
    bus: Any, new_topic: TopicMaker, unique_name: str
) -> None:
    """Issue 3, latency: a batch is "up to max_records, whatever is there now". A poll that waited
    for max_records (or for its whole timeout) would add that wait to every hop of the pipeline."""
    topic = new_topic()
    send(bus, topic, range(1))
    consumer = bus.consumer(unique_name, [topic])
    try:
        assert [r.key for r in drain(consumer, 1)] == ["id-0"]  # the group is joined from here on
        send(bus, topic, range(1, 4))
        started = time.monotonic()
        got = consumer.poll(max_records=500, timeout_s=60.0)
        waited = time.monotonic() - started
        assert got and {r.key for r in got} <= {"id-1", "id-2", "id-3"}
        assert waited < 30.0, f"poll held {len(got)} available record(s) back for {waited:.1f} s"
    finally:
        consumer.close()
