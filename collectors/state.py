"""Persistent collector memory in one SQLite file (`<data_dir>/collector.db`).

`FeedStateStore` keeps one row per feed (validators, body hash, health, cadence, counters);
`SeenIds` is a bounded memory of published article ids, so a re-poll publishes nothing twice.
Both are safe to share across the scheduler's worker threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

from newswatch import connect_sqlite

DB_NAME = "collector.db"

FAILURE_WEIGHTS: dict[str, float] = {
    "timeout": 0.5,
    "network": 0.5,
    "dns": 1.0,
    "http-error": 1.0,
    "not-a-feed": 1.0,
    "bad-encoding": 1.0,
    "too-large": 2.0,
    "too-many-redirects": 2.0,
    "not-found": 2.0,
    "blocked": 3.0,
    "bad-url": 3.0,
    "empty-body": 0.5,
    "rate-limited": 0.0,
    "bus": 0.0,
}
"""How much one failure of each kind counts towards back-off: transient network trouble counts
less than a feed that is plainly wrong; rate limiting counts nothing (Retry-After rules instead),
nor does a bus outage (not the feed's fault). Unknown kinds count 1.0."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_state (
  feed_url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, body_hash TEXT,
  last_poll TEXT, last_success TEXT, last_new_item TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0, failure_weight REAL NOT NULL DEFAULT 0,
  last_error_kind TEXT, last_error_reason TEXT, last_result TEXT, last_reason TEXT,
  interval_s REAL, next_poll TEXT,
  polls_new INTEGER NOT NULL DEFAULT 0, polls_not_modified INTEGER NOT NULL DEFAULT 0,
  polls_same_body INTEGER NOT NULL DEFAULT 0, polls_error INTEGER NOT NULL DEFAULT 0,
  articles_published INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seen_ids (article_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_ids_seq ON seen_ids (seq);
CREATE TABLE IF NOT EXISTS seen_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
"""
_TIME_FIELDS = frozenset({"last_poll", "last_success", "last_new_item", "next_poll"})


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating) the collector database in WAL mode, shareable across threads."""
    return connect_sqlite(path, _SCHEMA)


@dataclass(frozen=True)
class FeedState:
    """Everything remembered about one feed between polls; the pure `after_*` methods make the next one."""

    feed_url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_poll: datetime | None = None
    last_success: datetime | None = None
    last_new_item: datetime | None = None
    consecutive_failures: int = 0
    failure_weight: float = 0.0
    last_error_kind: str | None = None
    last_error_reason: str | None = None
    last_result: str | None = None
    last_reason: str | None = None
    interval_s: float | None = None
    next_poll: datetime | None = None
    polls_new: int = 0
    polls_not_modified: int = 0
    polls_same_body: int = 0
    polls_error: int = 0
    articles_published: int = 0

    def after_success(
        self,
        now: datetime,
        *,
        result: str,
        reason: str,
        published: int = 0,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
    ) -> FeedState:
        """State after a poll that worked: result is "new", "same-body" or "not-modified"."""
        counters = {
            "new": {"polls_new": self.polls_new + 1},
            "same-body": {"polls_same_body": self.polls_same_body + 1},
            "not-modified": {"polls_not_modified": self.polls_not_modified + 1},
        }[result]
        weight = self.failure_weight / 2  # a flapping feed keeps some memory of its failures
        return replace(
            self,
            etag=etag if etag is not None else self.etag,
            last_modified=last_modified if last_modified is not None else self.last_modified,
            body_hash=body_hash if body_hash is not None else self.body_hash,
            last_poll=now,
            last_success=now,
            last_new_item=now if published else self.last_new_item,
            consecutive_failures=0,
            failure_weight=weight if weight >= 0.25 else 0.0,
            last_result=result,
            last_reason=reason,
            articles_published=self.articles_published + published,
            **counters,
        )

    def after_failure(self, now: datetime, *, kind: str, reason: str) -> FeedState:
        """State after a failed poll; the failure adds its kind's weight (see FAILURE_WEIGHTS)."""
        return replace(
            self,
            last_poll=now,
            consecutive_failures=self.consecutive_failures + 1,
            failure_weight=self.failure_weight + FAILURE_WEIGHTS.get(kind, 1.0),
            last_error_kind=kind,
            last_error_reason=reason,
            last_result="error",
            last_reason=reason,
            polls_error=self.polls_error + 1,
        )

    def reset(self) -> FeedState:
        """Forget failures and validators (the `feeds reset` command): the next poll is a full fetch, now."""
        return replace(
            self,
            etag=None,
            last_modified=None,
            body_hash=None,
            consecutive_failures=0,
            failure_weight=0.0,
            last_error_kind=None,
            last_error_reason=None,
            next_poll=None,
        )


def _to_db(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _from_row(row: sqlite3.Row) -> FeedState:
    data = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a dict
    for key in _TIME_FIELDS:
        if data[key] is not None:
            data[key] = datetime.fromisoformat(data[key]).astimezone(UTC)
    return FeedState(**data)


class FeedStateStore:
    """The per-feed state table; `get` returns a fresh default for a feed never polled."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._columns = [f.name for f in fields(FeedState)]

    def get(self, feed_url: str) -> FeedState:
        """The stored state of `feed_url`, or a default one."""
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM feed_state WHERE feed_url=?", (feed_url,)
            ).fetchone()
        return _from_row(row) if row else FeedState(feed_url=feed_url)

    def put(self, state: FeedState) -> None:
        """Insert or replace the row for `state.feed_url`."""
        values = [_to_db(v) for v in asdict(state).values()]
        marks = ",".join("?" for _ in self._columns)
        with self._lock:
            self._conn.execute(
                f"INSERT OR REPLACE INTO feed_state ({','.join(self._columns)}) VALUES ({marks})",
                values,
            )

    def all(self) -> list[FeedState]:
        """Every stored feed state, by URL."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM feed_state ORDER BY feed_url").fetchall()
        return [_from_row(r) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class SeenIds:
    """Bounded persistent set of article ids; past `max_ids` the least recently seen are forgotten."""

    def __init__(self, path: Path, max_ids: int) -> None:
        if max_ids < 1:
            raise ValueError(
                "SeenIds needs max_ids >= 1; set NEWSWATCH_SEEN_IDS_MAX to a positive number"
            )
        self.path = path
        self.max_ids = max_ids
        self._conn = connect(path)
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _meta(self, key: str, compute: str) -> int:
        row = self._conn.execute("SELECT v FROM seen_meta WHERE k=?", (key,)).fetchone()
        return int(row[0]) if row else int(self._conn.execute(compute).fetchone()[0])

    def _contains(self, wanted: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            rows = self._conn.execute(
                f"SELECT article_id FROM seen_ids WHERE article_id IN ({marks})", chunk
            )
            found.update(r[0] for r in rows)
        return found

    def contains_many(self, ids: Iterable[str]) -> set[str]:
        """The subset of `ids` already seen."""
        with self._lock:
            return self._contains(list(dict.fromkeys(ids)))

    def add_many(self, ids: Iterable[str]) -> None:
        """Remember `ids` as most recently seen (refreshing old ones), then evict past the bound."""
        batch = list(dict.fromkeys(ids))
        if not batch:
            return
        with self._transaction() as conn:
            known = self._contains(batch)
            seq = self._meta("seq", "SELECT COALESCE(MAX(seq), 0) FROM seen_ids")
            count = self._meta("count", "SELECT COUNT(*) FROM seen_ids")
            conn.executemany(
                "INSERT INTO seen_ids(article_id, seq) VALUES (?, ?) "
                "ON CONFLICT(article_id) DO UPDATE SET seq=excluded.seq",
                [(aid, seq + i + 1) for i, aid in enumerate(batch)],
            )
            count += len([aid for aid in batch if aid not in known])
            if count > self.max_ids:
                conn.execute(
                    "DELETE FROM seen_ids WHERE seq IN (SELECT seq FROM seen_ids ORDER BY seq LIMIT ?)",
                    (count - self.max_ids,),
                )
                count = self.max_ids
            conn.executemany(
                "INSERT OR REPLACE INTO seen_meta(k, v) VALUES (?, ?)",
                [("seq", seq + len(batch)), ("count", count)],
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM seen_ids").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
