"""The stage loop every consuming worker shares: consume -> handle -> produce -> flush -> commit.

Offsets are committed only after the batch's output and dead letters are durably on the bus (or
in the store): at-least-once, and deterministic ids make re-deliveries harmless. A failing batch
is retried, then split so a single poison record goes to the DLQ and the rest go on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from newswatch import metrics
from newswatch.bus import Bus, Consumer, Record
from newswatch.errors import BusUnavailableError, PoisonRecordError, SinkUnavailableError
from newswatch.schema import DeadLetter
from newswatch.topics import DLQ

log = logging.getLogger("newswatch.runner")

M = TypeVar("M", bound=BaseModel)


@dataclass
class Output:
    """A record for the bus, produced before the input batch is committed."""

    topic: str
    key: str | None
    value: bytes


@dataclass
class BatchResult:
    """What a handler made of one batch: records to produce and records that failed for good."""

    outputs: list[Output] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


Handler = Callable[[Sequence[Record]], BatchResult]


def dead_letter(record: Record, stage: str, error: BaseException, attempts: int = 1) -> DeadLetter:
    """Wrap a failed bus record with where it came from and why it failed."""
    return DeadLetter.build(
        stage=stage,
        error=error,
        payload=record.value,
        key=record.key,
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        attempts=attempts,
    )


def _feed_url(value: bytes) -> str | None:
    """The `feed_url` of an article record's JSON, for log fields; None when it is not one."""
    try:
        found = json.loads(value).get("feed_url")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def decode_batch(
    records: Sequence[Record], model: type[M], stage: str
) -> tuple[list[tuple[Record, M]], list[DeadLetter]]:
    """Parse record values into `model`; undecodable ones become dead letters (poison, never retried)."""
    good: list[tuple[Record, M]] = []
    dead: list[DeadLetter] = []
    for rec in records:
        try:
            good.append((rec, model.model_validate_json(rec.value)))
        except (ValidationError, ValueError, UnicodeDecodeError) as exc:
            poison = PoisonRecordError(f"not a valid {model.__name__} record: {_why(exc)}")
            dead.append(dead_letter(rec, stage, poison))
    return good, dead


def _why(exc: Exception) -> str:
    """What was wrong with a record, in one line: each failing field and pydantic's reason."""
    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:3]
        ]
        return "; ".join(problems).replace("\n", " ")
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@dataclass
class StageStats:
    """Counters a stage exposes to status and metrics."""

    consumed: int = 0
    produced: int = 0
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0


class StageRunner:
    """Runs one handler over one consumer until stopped (or until drained, for `run --once`)."""

    def __init__(
        self,
        *,
        stage: str,
        bus: Bus,
        consumer: Consumer,
        handler: Handler,
        batch_size: int = 64,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.stage = stage
        self.bus = bus
        self.consumer = consumer
        self.handler = handler
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.stats = StageStats()
        self.stop_event = threading.Event()
        self.lag_report_s = 15.0

    def run(
        self, *, until_idle: bool = False, idle_timeout_s: float = 1.0, max_idle_s: float = 60.0
    ) -> StageStats:
        """Loop until `stop_event` is set; with `until_idle`, also stop once nothing is left to read
        (an empty poll and no lag), or after `max_idle_s` of empty polls (e.g. a group that never joins).

        A store or bus outage never ends the loop: nothing is committed, the worker backs off
        (capped), rewinds to the last commit and reads again, so nothing is lost."""
        unavailable_since: float | None = None
        self._idle_since: float | None = None
        self._lag_reported = 0.0
        while not self.stop_event.is_set():
            try:
                if not self._step(until_idle, idle_timeout_s, max_idle_s):
                    break
                unavailable_since = None
            except (SinkUnavailableError, BusUnavailableError) as exc:
                unavailable_since = unavailable_since or time.monotonic()
                self._back_off(exc, time.monotonic() - unavailable_since)
        return self.stats

    def _step(self, until_idle: bool, idle_timeout_s: float, max_idle_s: float) -> bool:
        """One poll and, if it brought records, one handled batch; False when a drain is complete."""
        if time.monotonic() - self._lag_reported > self.lag_report_s:
            metrics.set_consumer_lag(self.consumer.group, self.consumer.partition_lags())
            self._lag_reported = time.monotonic()
        records = self.consumer.poll(self.batch_size, idle_timeout_s)
        if not records:
            self._idle_since = self._idle_since or time.monotonic()
            idle_for = time.monotonic() - self._idle_since
            return not (until_idle and (self.consumer.lag() == 0 or idle_for > max_idle_s))
        self._idle_since = None
        self._process(records)
        return True

    def _back_off(self, exc: SinkUnavailableError | BusUnavailableError, down_for: float) -> None:
        what = "store" if isinstance(exc, SinkUnavailableError) else "bus"
        retry_after = (
            exc.retry_after if isinstance(exc, SinkUnavailableError) else self.backoff_s * 4
        )
        wait = min(max(retry_after, self.backoff_s), self.max_backoff_s)
        log.warning(
            "%s: %s unavailable for %.0fs, retrying in %.1fs: %s",
            self.stage,
            what,
            down_for,
            wait,
            exc,
        )
        self.stats.retries += 1
        metrics.STAGE_RETRIES.labels(self.stage, f"{what}-unavailable").inc()
        self.stop_event.wait(wait)
        try:
            self.consumer.seek_to_committed()
        except BusUnavailableError:
            pass  # still down: the next poll fails and backs off again

    def _process(self, records: Sequence[Record]) -> None:
        with metrics.BATCH_SECONDS.labels(self.stage).time():
            result = self._handle_with_retries(records)
        for out in result.outputs:
            self.bus.produce(out.topic, out.key, out.value)
        for dl in result.dead:
            self.bus.produce(DLQ, dl.key, dl.to_bytes())
            log.error(
                "%s: dead-lettered %s@%s/%s: %s: %s",
                self.stage,
                dl.key,
                dl.source_topic,
                dl.offset,
                dl.error_class,
                dl.message,
                extra={
                    "stage": self.stage,
                    "article_id": dl.key,
                    "topic": dl.source_topic,
                    "partition": dl.partition,
                    "offset": dl.offset,
                    "feed_url": _feed_url(dl.payload),
                    "error_class": dl.error_class,
                },
            )
        self.bus.flush()
        self.consumer.commit(records)
        if log.isEnabledFor(logging.DEBUG):
            self._log_records(
                records, {(dl.source_topic, dl.partition, dl.offset) for dl in result.dead}
            )
        self.stats.batches += 1
        self.stats.consumed += len(records)
        self.stats.produced += len(result.outputs)
        self.stats.dead_lettered += len(result.dead)
        metrics.ARTICLES.labels(self.stage, "ok").inc(len(records) - len(result.dead))
        for dl in result.dead:
            metrics.DEAD_LETTERS.labels(self.stage, dl.error_class).inc()

    def _log_records(
        self, records: Sequence[Record], dead: set[tuple[str, int | None, int | None]]
    ) -> None:
        """One DEBUG line per committed record, carrying its article id and feed: with JSON logs,
        filtering on `article_id` follows one story from the collector through every stage."""
        for rec in records:
            log.debug(
                "%s: handled %s@%s/%s/%s",
                self.stage,
                rec.key,
                rec.topic,
                rec.partition,
                rec.offset,
                extra={
                    "stage": self.stage,
                    "article_id": rec.key,
                    "topic": rec.topic,
                    "partition": rec.partition,
                    "offset": rec.offset,
                    "feed_url": _feed_url(rec.value),
                    "outcome": "dead-lettered"
                    if (rec.topic, rec.partition, rec.offset) in dead
                    else "ok",
                },
            )

    def _handle_with_retries(self, records: Sequence[Record]) -> BatchResult:
        last: Exception | None = None
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            try:
                return self.handler(records)
            except SinkUnavailableError:
                raise
            except PoisonRecordError as exc:
                last = exc
                break
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then isolated
                last = exc
                if attempt < self.max_attempts:
                    self._sleep_backoff(attempt, exc)
        assert last is not None
        if len(records) == 1:
            return BatchResult(dead=[dead_letter(records[0], self.stage, last, attempt)])
        return self._isolate(records)

    def _sleep_backoff(self, attempt: int, exc: BaseException) -> None:
        self.stats.retries += 1
        metrics.STAGE_RETRIES.labels(self.stage, "handler-error").inc()
        wait = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
        log.warning(
            "%s: attempt %d failed (%s: %s); retrying in %.2fs",
            self.stage,
            attempt,
            type(exc).__name__,
            exc,
            wait,
        )
        self.stop_event.wait(wait)

    def _isolate(self, records: Sequence[Record]) -> BatchResult:
        """Handle records one by one so only the poison ones are dead-lettered."""
        merged = BatchResult()
        for rec in records:
            single = self._handle_with_retries([rec])
            merged.outputs.extend(single.outputs)
            merged.dead.extend(single.dead)
        return merged
