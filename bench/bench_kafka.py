"""KafkaBus messages/s against raw kafka-python on the same messages, in one run, as ratios.

    eval "$(.venv/bin/python deploy/local/services.py up --kafka-only)"
    .venv/bin/python bench/bench_kafka.py [--messages 50000] [--rounds 3] [--size 1500]

Produce: `KafkaBus.produce` + `flush` against a raw `KafkaProducer.send` + `flush` with the very
same delivery policy (acks=all, idempotence, gzip, linger 5 ms, 64 KiB batches), so the ratio is
the adapter's own overhead. Consume: a KafkaBus group consumer polling and committing each batch
(what the runner does) against a raw `KafkaConsumer.poll` + `commit()` loop. Every side writes
to / reads from a fresh 6-partition topic; sides alternate who goes first each round. Printed:
median messages/s per side and the median of the per-round ratios (target >= 0.80). Topics are
deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial

from kafka import KafkaConsumer, KafkaProducer  # type: ignore[import-untyped]

from newswatch.bus import TopicSpec
from newswatch.kafka_bus import KafkaBus
from newswatch.settings import KafkaSettings

PARTITIONS = 6


def messages(n: int, size: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """`n` (key, value) pairs: article-id keys and JSON values of about `size` bytes."""
    rng = random.Random(seed)
    words = [
        "minister",
        "trade",
        "tariff",
        "steel",
        "oil",
        "market",
        "bank",
        "rates",
        "election",
        "court",
        "border",
        "energy",
    ]
    out = []
    for i in range(n):
        body = " ".join(rng.choices(words, k=size // 7))[:size]
        out.append((f"{i:016x}", json.dumps({"id": i, "title": body[:80], "text": body}).encode()))
    return out


def produce_bus(bus: KafkaBus, topic: str, msgs: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    for key, value in msgs:
        bus.produce(topic, key, value)
    bus.flush()
    return time.perf_counter() - started


def produce_raw(bootstrap: str, topic: str, msgs: list[tuple[str, bytes]]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        compression_type="gzip",
        linger_ms=5,
        batch_size=64 * 1024,
    )
    producer.send(topic, value=b"warm-up", key=b"warm-up").get(
        timeout=30
    )  # connect outside the clock
    started = time.perf_counter()
    for key, value in msgs:
        producer.send(topic, value=value, key=key.encode())
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def consume_bus(bus: KafkaBus, topic: str, n: int) -> float:
    consumer = bus.consumer(f"bench-{uuid.uuid4().hex[:8]}", [topic])
    got = 0
    started = time.perf_counter()
    while got < n:
        batch = consumer.poll(max_records=500, timeout_s=1.0)
        consumer.commit(batch)
        got += len(batch)
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def consume_raw(bootstrap: str, topic: str, n: int) -> float:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    got = 0
    started = time.perf_counter()
    while got < n:
        batches = consumer.poll(timeout_ms=1000, max_records=500)
        count = sum(len(b) for b in batches.values())
        if count:
            consumer.commit()
        got += count
    elapsed = time.perf_counter() - started
    consumer.close(autocommit=False)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=1500, help="approximate value size in bytes")
    args = parser.parse_args()
    bootstrap = os.environ.get("NEWSWATCH_LOCAL_KAFKA")
    if not bootstrap:
        print(
            'set NEWSWATCH_LOCAL_KAFKA: eval "$(.venv/bin/python deploy/local/services.py up --kafka-only)"',
            file=sys.stderr,
        )
        return 2
    msgs = messages(args.messages, args.size)
    bus = KafkaBus([bootstrap], KafkaSettings(), client_id="bench")
    topics: list[str] = []
    rates: dict[str, list[float]] = {
        k: [] for k in ("produce-bus", "produce-raw", "consume-bus", "consume-raw")
    }
    ratios: dict[str, list[float]] = {"produce": [], "consume": []}
    try:
        bus.produce(_topic(bus, topics), "warm-up", b"warm-up")  # connect outside the clock
        bus.flush()
        for rnd in range(args.rounds):
            bus_topic, raw_topic = _topic(bus, topics), _topic(bus, topics)
            first_bus = rnd % 2 == 0  # alternate who goes first
            rnd_rates: dict[str, float] = {}
            for phase, bus_side, raw_side in (
                (
                    "produce",
                    partial(produce_bus, bus, bus_topic, msgs),
                    partial(produce_raw, bootstrap, raw_topic, msgs),
                ),
                (
                    "consume",
                    partial(consume_bus, bus, bus_topic, args.messages),
                    partial(consume_raw, bootstrap, raw_topic, args.messages),
                ),
            ):
                secs = _run_pair(bus_side, raw_side, first_bus)
                rnd_rates[f"{phase}-bus"] = args.messages / secs[0]
                rnd_rates[f"{phase}-raw"] = args.messages / secs[1]
            for key, value in rnd_rates.items():
                rates[key].append(value)
            for phase, values in ratios.items():
                values.append(rnd_rates[f"{phase}-bus"] / rnd_rates[f"{phase}-raw"])
            print(
                f"round {rnd + 1}: "
                + ", ".join(f"{k} {v:,.0f} msg/s" for k, v in rnd_rates.items())
            )
    finally:
        bus.delete_topics(topics)
        bus.close()
    print(
        f"\n{args.messages} messages of ~{args.size} B, {PARTITIONS} partitions, {args.rounds} rounds (medians)"
    )
    for phase, values in ratios.items():
        bus_rate, raw_rate = (
            statistics.median(rates[f"{phase}-bus"]),
            statistics.median(rates[f"{phase}-raw"]),
        )
        ratio = statistics.median(values)
        verdict = "ok" if ratio >= 0.80 else "BELOW TARGET"
        print(
            f"{phase:8s} KafkaBus {bus_rate:10,.0f} msg/s   raw kafka-python {raw_rate:10,.0f} msg/s   "
            f"ratio {ratio:.2f} (target >= 0.80: {verdict})"
        )
    return 0


def _run_pair(
    bus_side: Callable[[], float], raw_side: Callable[[], float], bus_first: bool
) -> tuple[float, float]:
    """Seconds taken by each side, run one after the other in the given order."""
    if bus_first:
        bus_s = bus_side()
        return bus_s, raw_side()
    raw_s = raw_side()
    return bus_side(), raw_s


def _topic(bus: KafkaBus, made: list[str]) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([TopicSpec(name, partitions=PARTITIONS, retention_ms=3_600_000)])
    made.append(name)
    return name


if __name__ == "__main__":
    sys.exit(main())
