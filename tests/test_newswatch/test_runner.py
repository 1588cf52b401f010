"""StageRunner: commit only after output, retries, poison isolation, store outages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prometheus_client import REGISTRY

from newswatch import (
    BatchResult,
    BusUnavailableError,
    DeadLetter,
    EmbeddedBus,
    Output,
    PoisonRecordError,
    Record,
    SinkUnavailableError,
    StageRunner,
)
from newswatch.topics import DLQ


def _bus_with(tmp_path: Path, values: list[bytes]) -> EmbeddedBus:
    bus = EmbeddedBus(tmp_path / "bus.db")
    for i, v in enumerate(values):
        bus.produce("in", f"k{i}", v)
    bus.flush()
    return bus


def _drain(bus: EmbeddedBus, topic: str) -> list[Record]:
    return bus.consumer(f"reader-{topic}", [topic]).poll(1000, 0.01)


def _upper(records: Sequence[Record]) -> BatchResult:
    for r in records:
        if r.value == b"poison":
            raise PoisonRecordError("cannot handle poison")
    return BatchResult(outputs=[Output("out", r.key, r.value.upper()) for r in records])


def test_outputs_produced_and_input_committed(tmp_path: Path) -> None:
    bus = _bus_with(tmp_path, [b"a", b"b", b"c"])
    runner = StageRunner(
        stage="t", bus=bus, consumer=bus.consumer("g", ["in"]), handler=_upper, batch_size=2
    )
    stats = runner.run(until_idle=True, idle_timeout_s=0.01)
    assert [r.value for r in _drain(bus, "out")] == [b"A", b"B", b"C"]
    assert stats.consumed == 3 and stats.batches == 2
    assert bus.consumer("g", ["in"]).lag() == 0


def test_poison_record_is_isolated_and_dead_lettered(tmp_path: Path) -> None:
    bus = _bus_with(tmp_path, [b"a", b"poison", b"c"])
    runner = StageRunner(
        stage="t", bus=bus, consumer=bus.consumer("g", ["in"]), handler=_upper, backoff_s=0
    )
    runner.run(until_idle=True, idle_timeout_s=0.01)
    assert [r.value for r in _drain(bus, "out")] == [b"A", b"C"]
    dead = [DeadLetter.model_validate_json(r.value) for r in _drain(bus, DLQ)]
    assert len(dead) == 1
    assert (
        dead[0].payload == b"poison"
        and dead[0].stage == "t"
        and dead[0].error_class == "PoisonRecordError"
    )
    assert dead[0].key == "k1" and dead[0].offset == 1


def test_dead_letters_and_retries_are_counted_per_stage_and_reason(tmp_path: Path) -> None:
    """Issue 8: /metrics has the DLQ count by stage and reason, retries, and articles per outcome."""
    bus = _bus_with(tmp_path, [b"a", b"poison", b"boom"])

    def handler(records: Sequence[Record]) -> BatchResult:
        if any(r.value == b"boom" for r in records):
            raise RuntimeError("always fails")
        return _upper(records)

    stage = "metrics-t"
    runner = StageRunner(
        stage=stage, bus=bus, consumer=bus.consumer("g", ["in"]), handler=handler, backoff_s=0
    )
    runner.run(until_idle=True, idle_timeout_s=0.01)

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"stage": stage, **labels})

    assert sample("newswatch_dead_letters_total", reason="PoisonRecordError") == 1
    assert sample("newswatch_dead_letters_total", reason="RuntimeError") == 1
    assert sample("newswatch_articles_total", outcome="ok") == 1
    assert (sample("newswatch_stage_retries_total", kind="handler-error") or 0) >= 2
    assert (sample("newswatch_batch_seconds_count") or 0) >= 1


def test_transient_failure_is_retried_then_succeeds(tmp_path: Path) -> None:
    bus = _bus_with(tmp_path, [b"a"])
    calls = {"n": 0}

    def flaky(records: Sequence[Record]) -> BatchResult:
        calls["n"] += 1
        if calls["n"] < 3:
            raise RuntimeError("temporary")
        return _upper(records)

    runner = StageRunner(
        stage="t", bus=bus, consumer=bus.consumer("g", ["in"]), handler=flaky, backoff_s=0
    )
    stats = runner.run(until_idle=True, idle_timeout_s=0.01)
    assert [r.value for r in _drain(bus, "out")] == [b"A"]
    assert stats.retries == 2 and _drain(bus, DLQ) == []


def test_persistent_failure_dead_letters_with_attempt_count(tmp_path: Path) -> None:
    bus = _bus_with(tmp_path, [b"a"])

    def broken(records: Sequence[Record]) -> BatchResult:
        raise RuntimeError("always")

    runner = StageRunner(
        stage="t",
        bus=bus,
        consumer=bus.consumer("g", ["in"]),
        handler=broken,
        backoff_s=0,
        max_attempts=3,
    )
    runner.run(until_idle=True, idle_timeout_s=0.01)
    dead = [DeadLetter.model_validate_json(r.value) for r in _drain(bus, DLQ)]
    assert [(d.attempts, d.message) for d in dead] == [(3, "always")]


def test_store_outage_does_not_commit_and_catches_up(tmp_path: Path) -> None:
    bus = _bus_with(tmp_path, [b"a", b"b"])
    seen: list[bytes] = []
    outages = {"left": 2}

    def sink(records: Sequence[Record]) -> BatchResult:
        if outages["left"]:
            outages["left"] -= 1
            raise SinkUnavailableError("store down", retry_after=0)
        seen.extend(r.value for r in records)
        return BatchResult()

    consumer = bus.consumer("g", ["in"])
    runner = StageRunner(stage="sink", bus=bus, consumer=consumer, handler=sink, backoff_s=0)
    runner.run(until_idle=True, idle_timeout_s=0.01)
    assert seen == [b"a", b"b"]
    assert runner.stats.retries == 2 and consumer.lag() == 0


def test_bus_outage_during_flush_is_retried_without_losing_or_committing(tmp_path: Path) -> None:
    bus = _bus_with(tmp_path, [b"a", b"b"])
    real_flush = bus.flush
    failures = {"left": 2}

    def flaky_flush(timeout_s: float | None = None) -> None:
        if failures["left"]:
            failures["left"] -= 1
            bus._pending.clear()  # the broker lost what was in flight
            raise BusUnavailableError("broker at 127.0.0.1:9 unreachable")
        real_flush(timeout_s)

    bus.flush = flaky_flush  # type: ignore[method-assign]
    consumer = bus.consumer("g", ["in"])
    runner = StageRunner(stage="t", bus=bus, consumer=consumer, handler=_upper, backoff_s=0)
    runner.run(until_idle=True, idle_timeout_s=0.01)
    assert sorted(r.value for r in _drain(bus, "out")) == [b"A", b"B"]
    assert runner.stats.retries == 2 and consumer.lag() == 0
