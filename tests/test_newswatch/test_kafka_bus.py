"""KafkaBus against a real broker: delivery, group semantics, positions, errors, broker restart.

The broker comes from tests/servers.py (shared) or `private_kafka` (the restart test's own).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY

from newswatch.bus import Record, TopicSpec
from newswatch.errors import BusUnavailableError
from newswatch.kafka_bus import KafkaBus, KafkaConsumerAdapter, default_topic_specs
from newswatch.runner import BatchResult, StageRunner
from newswatch.settings import KafkaSettings
from newswatch.topics import ALL_TOPICS, DLQ, RAW

TopicFactory = Callable[[int], str]


def drain(consumer: KafkaConsumerAdapter, want: int, timeout_s: float = 30.0) -> list[Record]:
    """Poll until `want` records arrived (or the time is up); returns what came."""
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got.extend(consumer.poll(max_records=500, timeout_s=0.5))
    return got


def produce(
    bus: KafkaBus, topic: str, ids: range, ts: Callable[[int], int | None] = lambda i: None
) -> None:
    for i in ids:
        bus.produce(topic, f"id-{i}", f"value-{i}".encode(), timestamp_ms=ts(i))
    bus.flush()


@pytest.fixture
def kbus(kafka_bootstrap: str, unique_name: str) -> Iterator[KafkaBus]:
    bus = KafkaBus([kafka_bootstrap], KafkaSettings(), client_id=unique_name)
    yield bus
    bus.close()


@pytest.fixture
def topic(kbus: KafkaBus, name_factory: Callable[[], str]) -> Iterator[TopicFactory]:
    """Creates uniquely named topics with the given partition count; deletes them afterwards."""
    made: list[str] = []

    def make(partitions: int) -> str:
        name = name_factory()
        kbus.ensure_topics([TopicSpec(name, partitions=partitions, retention_ms=3_600_000)])
        made.append(name)
        return name

    yield make
    if made:
        kbus.delete_topics(made)


def test_round_trip_keeps_keys_values_and_commits(
    kbus: KafkaBus, topic: TopicFactory, unique_name: str
) -> None:
    name = topic(3)
    produce(kbus, name, range(200))
    consumer = kbus.consumer(unique_name, [name])
    try:
        got = drain(consumer, 200)
        assert sorted((r.key, r.value) for r in got) == sorted(
            (f"id-{i}", f"value-{i}".encode()) for i in range(200)
        )
        assert {r.partition for r in got} == {0, 1, 2}  # keyed records spread over the partitions
        by_key = {r.key: r.partition for r in got}
        produce(kbus, name, range(200))  # the same keys land on the same partitions again
        again = drain(consumer, 200)
        assert {r.key: r.partition for r in again} == by_key
        assert consumer.lag() == 400
        consumer.commit(got + again)
        assert consumer.lag() == 0
    finally:
        consumer.close()


def test_lag_is_reported_per_partition_by_the_consumer_and_the_runner_gauge(
    kbus: KafkaBus, topic: TopicFactory, unique_name: str
) -> None:
    """Issue 8: consumer lag per group and partition, in the consumer and on /metrics."""
    name = topic(3)
    produce(kbus, name, range(90))
    consumer = kbus.consumer(unique_name, [name])
    try:
        got = drain(consumer, 90)
        per_partition = Counter(r.partition for r in got)
        assert consumer.partition_lags() == {(name, p): per_partition[p] for p in (0, 1, 2)}
        consumer.commit([r for r in got if r.partition == 1])  # one partition done, two behind
        lags = consumer.partition_lags()
        assert lags == {(name, 0): per_partition[0], (name, 1): 0, (name, 2): per_partition[2]}
        assert consumer.lag() == sum(lags.values())
        consumer.seek_to_committed()

        def gauge() -> dict[int, float | None]:
            labels = {"group": unique_name, "topic": name}
            return {
                p: REGISTRY.get_sample_value(
                    "newswatch_consumer_lag", {**labels, "partition": str(p)}
                )
                for p in (0, 1, 2)
            }

        seen_by_handler: list[dict[int, float | None]] = []

        def handle(records: Sequence[Record]) -> BatchResult:
            seen_by_handler.append(gauge())  # the step reported the lag just before this batch
            return BatchResult()

        runner = StageRunner(stage="test", bus=kbus, consumer=consumer, handler=handle)
        runner.lag_report_s = 0.0  # report on every step
        runner.run(until_idle=True, idle_timeout_s=0.5, max_idle_s=20.0)
        assert runner.stats.consumed == per_partition[0] + per_partition[2]
        assert seen_by_handler[0] == {0: per_partition[0], 1: 0, 2: per_partition[2]}
        runner.run(until_idle=True, idle_timeout_s=0.1, max_idle_s=0.1)  # one more report, drained
        assert gauge() == {0: 0, 1: 0, 2: 0}
    finally:
        consumer.close()


def test_uncommitted_records_are_redelivered_after_reopen(
    kbus: KafkaBus, topic: TopicFactory, unique_name: str
) -> None:
    name = topic(1)
    produce(kbus, name, range(10))
    first = kbus.consumer(unique_name, [name])
    got = drain(first, 10)
    first.commit(got[:4])  # output of the first four is durable; the rest never made it
    first.close()
    second = kbus.consumer(unique_name, [name])
    try:
        again = drain(second, 6)
        assert [r.offset for r in again] == [4, 5, 6, 7, 8, 9]
        assert second.lag() == 6
    finally:
        second.close()


def test_seek_to_committed_rewinds_after_a_failed_batch(
    kbus: KafkaBus, topic: TopicFactory, unique_name: str
) -> None:
    name = topic(1)
    produce(kbus, name, range(6))
    consumer = kbus.consumer(unique_name, [name])
    try:
        got = drain(consumer, 6)
        consumer.commit(got[:2])
        consumer.seek_to_committed()  # the runner does this when the sink is down
        assert [r.offset for r in drain(consumer, 4)] == [2, 3, 4, 5]
    finally:
        consumer.close()


def test_two_members_of_a_group_split_partitions_and_see_everything(
    kbus: KafkaBus, topic: TopicFactory, unique_name: str
) -> None:
    name = topic(4)
    members = [kbus.consumer(unique_name, [name]), kbus.consumer(unique_name, [name])]
    seen: list[list[Record]] = [[], []]
    try:
        deadline = time.monotonic() + 120  # a loaded 2-core machine can take a minute to settle the group
        while not all(m.assigned() for m in members) and time.monotonic() < deadline:
            for member in members:  # both join; the group rebalances until each owns some
                assert member.poll(timeout_s=0.2) == []
        produce(kbus, name, range(400))
        while sum(map(len, seen)) < 400 and time.monotonic() < deadline:
            for i, member in enumerate(members):
                batch = member.poll(max_records=20, timeout_s=0.2)  # small batches: both must join
                seen[i].extend(batch)
                member.commit(batch)
        parts = [{r.partition for r in s} for s in seen]
        assert all(parts) and not parts[0] & parts[1], f"partitions per member: {parts}"
        keys = [r.key for s in seen for r in s]
        assert set(keys) == {f"id-{i}" for i in range(400)}
    finally:
        for member in members:
            member.close()


def test_from_timestamp_starts_at_the_first_record_at_or_after_it(
    kbus: KafkaBus, topic: TopicFactory, unique_name: str
) -> None:
    name = topic(2)
    base = int(time.time() * 1000) - 60_000
    produce(kbus, name, range(20), ts=lambda i: base + i * 1000)
    consumer = kbus.consumer(unique_name, [name], from_timestamp_ms=base + 12_000)
    try:
        got = drain(consumer, 8)
        assert sorted(int(r.key.split("-")[1]) for r in got if r.key) == list(range(12, 20))
        assert min(r.timestamp_ms for r in got) == base + 12_000
    finally:
        consumer.close()


def test_start_earliest_ignores_commits_and_latest_skips_the_backlog(
    kbus: KafkaBus, topic: TopicFactory, unique_name: str
) -> None:
    name = topic(1)
    produce(kbus, name, range(5))
    first = kbus.consumer(unique_name, [name])
    first.commit(drain(first, 5))
    first.close()
    replay = kbus.consumer(unique_name, [name], start="earliest")
    assert len(drain(replay, 5)) == 5
    replay.close()
    tail = kbus.consumer(unique_name + "-tail", [name], start="latest")
    try:
        assert tail.poll(timeout_s=3.0) == []  # joins the group and sits at the end
        produce(kbus, name, range(5, 7))
        assert [r.key for r in drain(tail, 2)] == ["id-5", "id-6"]
    finally:
        tail.close()


def test_ensure_topics_is_idempotent_and_sets_partitions(
    kbus: KafkaBus, name_factory: Callable[[], str]
) -> None:
    names = [name_factory(), name_factory()]
    specs = [
        TopicSpec(names[0], partitions=3, retention_ms=60_000),
        TopicSpec(names[1], partitions=1),
    ]
    try:
        kbus.ensure_topics(specs)
        kbus.ensure_topics(specs)  # again: already there, no error
        consumer = kbus.consumer(name_factory(), names)
        try:
            assert consumer.lag() == 0
            assert {tp.partition for tp in consumer._partitions() if tp.topic == names[0]} == {
                0,
                1,
                2,
            }
        finally:
            consumer.close()
    finally:
        kbus.delete_topics(names)


def test_default_topic_specs_cover_every_pipeline_topic() -> None:
    specs = {s.name: s for s in default_topic_specs(KafkaSettings(partitions=4, retention_hours=2))}
    assert set(specs) == set(ALL_TOPICS)
    assert specs[RAW].partitions == 4 and specs[RAW].retention_ms == 2 * 3600 * 1000
    assert specs[DLQ].partitions == 1 and specs[DLQ].retention_ms == 30 * 24 * 3600 * 1000


def _io_threads_for(port: int) -> list[str]:
    """kafka-python IO threads still alive whose client was pointed at `port`."""
    import threading

    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith("kafka-io") and t.is_alive() and f"unreachable-{port}" in t.name
    ]


def test_unreachable_broker_fails_fast_with_the_address_and_what_to_check() -> None:
    import socket

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bus = KafkaBus(
        [f"127.0.0.1:{port}"],
        KafkaSettings(),
        client_id=f"unreachable-{port}",
        connect_timeout_s=2.0,
    )
    started = time.monotonic()
    with pytest.raises(BusUnavailableError) as produce_error:
        bus.produce(RAW, "k", b"v")
    with pytest.raises(BusUnavailableError) as consume_error:
        bus.consumer("g", [RAW])
    assert time.monotonic() - started < 15
    for error in (produce_error.value, consume_error.value):
        message = str(error)
        assert f"127.0.0.1:{port}" in message
        assert "broker is running" in message and "security_protocol=PLAINTEXT" in message
    # kafka-python starts a client's IO thread before it bootstraps; a failed constructor must
    # not leave that thread reconnecting (and drawing from `random`) for the rest of the process.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _io_threads_for(port):
        time.sleep(0.05)
    assert not _io_threads_for(port)


def test_broker_restart_mid_stream_loses_nothing(
    private_kafka: Any, name_factory: Callable[[], str]
) -> None:
    bus = KafkaBus([private_kafka.addresses["kafka"]], KafkaSettings(), client_id=name_factory())
    name = name_factory()
    bus.ensure_topics([TopicSpec(name, partitions=3)])
    consumer = bus.consumer(name_factory(), [name])
    try:
        produce(bus, name, range(100))
        delivered = drain(consumer, 100)
        consumer.commit(delivered)
        private_kafka.stop(["kafka"])
        for i in range(100, 200):  # queued by the producer while the broker is down
            bus.produce(name, f"id-{i}", f"value-{i}".encode())
        assert private_kafka.up(["kafka"]) is None  # same ports, same data
        bus.flush(timeout_s=90)
        produce(bus, name, range(200, 300))
        after = drain(consumer, 200, timeout_s=90)
        consumer.commit(after)
        want = {f"id-{i}" for i in range(300)}
        assert {r.key for r in delivered + after} == want
        replay = bus.consumer(name_factory(), [name], start="earliest")
        try:
            log_keys = [r.key or "" for r in drain(replay, 300) + replay.poll(timeout_s=1.0)]
        finally:
            replay.close()
        assert sorted(log_keys) == sorted(
            want
        )  # each exactly once: idempotent retries, no duplicates
    finally:
        consumer.close()
        bus.close()
