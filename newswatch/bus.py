"""The bus that carries records between stages: a small contract and its embedded implementation.

`EmbeddedBus` is a durable append-only log per topic in SQLite with consumer-group offsets: the
zero-setup default. `newswatch.kafka_bus.KafkaBus` implements the same contract on Kafka.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from newswatch.sqlite_db import connect_sqlite

StartAt = Literal["committed", "earliest", "latest"]


@dataclass(frozen=True)
class Record:
    """One message as read from the bus."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    timestamp_ms: int


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: partition count and retention (Kafka honours both; embedded, retention)."""

    name: str
    partitions: int = 1
    retention_ms: int | None = None


class Consumer(Protocol):
    """A member of a consumer group reading some topics.

    Lifecycle: `poll` repeatedly; after the output of a batch is durably written, `commit` it;
    after a failure, `seek_to_committed` re-reads from the last commit (at-least-once).
    """

    group: str
    """The consumer group this member belongs to."""

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        """Next records after the current position; empty list when nothing arrives in time."""
        ...

    def commit(self, records: Sequence[Record]) -> None:
        """Mark these records (and everything before them per partition) as done for the group."""
        ...

    def seek_to_committed(self) -> None:
        """Rewind every assigned partition to the group's committed offset."""
        ...

    def lag(self) -> int:
        """Records not yet committed by this group on its topics (for status and drain)."""
        ...

    def partition_lags(self) -> dict[tuple[str, int], int]:
        """The same lag per (topic, partition), every partition of the topics (for metrics)."""
        ...

    def close(self) -> None:
        """Leave the group; uncommitted records will be re-delivered to another member."""
        ...


class Bus(Protocol):
    """Produce keyed records and open consumers; implemented by EmbeddedBus and KafkaBus."""

    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        """Create missing topics (idempotent)."""
        ...

    def produce(
        self, topic: str, key: str | None, value: bytes, timestamp_ms: int | None = None
    ) -> None:
        """Queue one record; durable only after `flush` returns."""
        ...

    def flush(self, timeout_s: float | None = None) -> None:
        """Block until every queued record is durably written; raises BusUnavailableError."""
        ...

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        start: StartAt = "committed",
        from_timestamp_ms: int | None = None,
    ) -> Consumer:
        """Join `group` on `topics`; with no commit yet, begin at earliest (or at a timestamp)."""
        ...

    def close(self) -> None:
        """Flush and release connections."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
  topic TEXT NOT NULL, offset INTEGER NOT NULL, key TEXT, value BLOB NOT NULL, ts INTEGER NOT NULL,
  PRIMARY KEY (topic, offset)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_ts ON messages (topic, ts);
CREATE TABLE IF NOT EXISTS offsets (
  grp TEXT NOT NULL, topic TEXT NOT NULL, offset INTEGER NOT NULL, PRIMARY KEY (grp, topic));
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, retention_ms INTEGER);
"""


def _connect(path: Path) -> sqlite3.Connection:
    return connect_sqlite(path, _SCHEMA)


def _end_offset(conn: sqlite3.Connection, topic: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(MAX(offset) + 1, 0) FROM messages WHERE topic=?", (topic,)
    ).fetchone()
    return int(row[0])


def _now_ms() -> int:
    return int(time.time() * 1000)


class EmbeddedBus:
    """Durable single-partition log per topic in one SQLite file; safe across threads and processes.

    Values are zlib-compressed on disk. Every topic has partition 0 only: one machine needs no more.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = _connect(path)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str | None, bytes, int]] = []

    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        with self._lock:
            for spec in specs:
                self._conn.execute(
                    "INSERT INTO topics(name, retention_ms) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET retention_ms=excluded.retention_ms",
                    (spec.name, spec.retention_ms),
                )

    def produce(
        self, topic: str, key: str | None, value: bytes, timestamp_ms: int | None = None
    ) -> None:
        with self._lock:
            self._pending.append((topic, key, value, timestamp_ms or _now_ms()))

    def flush(self, timeout_s: float | None = None) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            if not pending:
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                next_offset: dict[str, int] = {}
                for topic, key, value, ts in pending:
                    if topic not in next_offset:
                        next_offset[topic] = _end_offset(self._conn, topic)
                    self._conn.execute(
                        "INSERT INTO messages(topic, offset, key, value, ts) VALUES (?, ?, ?, ?, ?)",
                        (topic, next_offset[topic], key, zlib.compress(value, 3), ts),
                    )
                    next_offset[topic] += 1
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._pending = pending + self._pending
                raise

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        start: StartAt = "committed",
        from_timestamp_ms: int | None = None,
    ) -> EmbeddedConsumer:
        return EmbeddedConsumer(self, group, list(topics), start, from_timestamp_ms)

    def end_offset(self, topic: str) -> int:
        """Offset the next produced record on `topic` will get."""
        with self._lock:
            return _end_offset(self._conn, topic)

    def purge_older_than(self, topic: str, cutoff_ms: int) -> int:
        """Retention: delete records older than `cutoff_ms`; returns how many went."""
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM messages WHERE topic=? AND ts < ?", (topic, cutoff_ms)
            )
            return cur.rowcount

    def topic_stats(self, since_ms: int) -> dict[str, tuple[int, int]]:
        """topic -> (records kept, records produced since `since_ms`): status throughput and size."""
        with self._lock:
            kept = dict(
                self._conn.execute("SELECT topic, COUNT(*) FROM messages GROUP BY topic").fetchall()
            )
            recent = dict(
                self._conn.execute(
                    "SELECT topic, COUNT(*) FROM messages WHERE ts >= ? GROUP BY topic", (since_ms,)
                ).fetchall()
            )
        return {
            str(t): (int(kept.get(t, 0)), int(recent.get(t, 0))) for t in set(kept) | set(recent)
        }

    def group_lags(self) -> dict[str, int]:
        """Consumer group -> records not yet committed on the topics it has committed on."""
        lags: dict[str, int] = {}
        for (grp, _topic, _partition), lag in self.group_partition_lags().items():
            lags[grp] = lags.get(grp, 0) + lag
        return lags

    def group_partition_lags(self) -> dict[tuple[str, str, int], int]:
        """(group, topic, partition 0) -> records not yet committed, for the topics each group committed on."""
        with self._lock:
            rows = self._conn.execute("SELECT grp, topic, offset FROM offsets").fetchall()
            return {
                (str(grp), str(topic), 0): max(0, _end_offset(self._conn, topic) - int(offset))
                for grp, topic, offset in rows
            }

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database and truncate it (after a purge, bounds disk)."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.flush()
        self._conn.close()


def sqlite_disk_bytes(path: Path) -> int:
    """Bytes a SQLite database takes on disk, its -wal and -shm files included."""
    return sum(
        p.stat().st_size
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
        if p.exists()
    )


class EmbeddedConsumer:
    """A consumer of EmbeddedBus; its own connection, so each worker thread can hold one."""

    def __init__(
        self, bus: EmbeddedBus, group: str, topics: list[str], start: StartAt, from_ts: int | None
    ) -> None:
        self._bus = bus
        self.group = group
        self.topics = topics
        self._conn = _connect(bus.path)
        self._position: dict[str, int] = {}
        for topic in topics:
            self._position[topic] = self._initial_position(topic, start, from_ts)

    def _committed(self, topic: str) -> int | None:
        row = self._conn.execute(
            "SELECT offset FROM offsets WHERE grp=? AND topic=?", (self.group, topic)
        ).fetchone()
        return None if row is None else int(row[0])

    def _initial_position(self, topic: str, start: StartAt, from_ts: int | None) -> int:
        if from_timestamp := from_ts:
            row = self._conn.execute(
                "SELECT MIN(offset) FROM messages WHERE topic=? AND ts >= ?",
                (topic, from_timestamp),
            ).fetchone()
            return int(row[0]) if row[0] is not None else _end_offset(self._conn, topic)
        if start == "latest":
            return _end_offset(self._conn, topic)
        committed = self._committed(topic)
        if start == "committed" and committed is not None:
            return committed
        return 0

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        while True:
            records: list[Record] = []
            for topic in self.topics:
                rows = self._conn.execute(
                    "SELECT offset, key, value, ts FROM messages WHERE topic=? AND offset>=? "
                    "ORDER BY offset LIMIT ?",
                    (topic, self._position[topic], max_records - len(records)),
                ).fetchall()
                for offset, key, value, ts in rows:
                    records.append(
                        Record(topic, 0, int(offset), key, zlib.decompress(value), int(ts))
                    )
                if rows:
                    self._position[topic] = int(rows[-1][0]) + 1
                if len(records) >= max_records:
                    break
            if records or time.monotonic() >= deadline:
                return records
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def commit(self, records: Sequence[Record]) -> None:
        latest: dict[str, int] = {}
        for rec in records:
            latest[rec.topic] = max(latest.get(rec.topic, -1), rec.offset + 1)
        if not latest:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        for topic, offset in latest.items():
            self._conn.execute(
                "INSERT INTO offsets(grp, topic, offset) VALUES (?, ?, ?) "
                "ON CONFLICT(grp, topic) DO UPDATE SET offset=MAX(offset, excluded.offset)",
                (self.group, topic, offset),
            )
        self._conn.execute("COMMIT")

    def seek_to_committed(self) -> None:
        for topic in self.topics:
            self._position[topic] = self._committed(topic) or 0

    def lag(self) -> int:
        return sum(self.partition_lags().values())

    def partition_lags(self) -> dict[tuple[str, int], int]:
        """One partition (0) per embedded topic."""
        return {
            (t, 0): max(0, _end_offset(self._conn, t) - (self._committed(t) or 0))
            for t in self.topics
        }

    def close(self) -> None:
        self._conn.close()
