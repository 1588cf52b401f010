"""What alerting must remember across restarts and replays, in one SQLite file.

    claimed    (rule, article)          an article alerted once per rule, never again
    events     (rule, key, article, t)  matches inside aggregate windows (an article counts once)
    terms      (rule, term)             terms a new_term rule has seen
    marks      (rule, name, key) -> t   watch start, last fired, last seen, throttle clocks
    outbox     pending notifications (immediate or digest), retried until sent or given up
    emitted    input record (topic:partition:offset) -> the alerts it produced, so a batch the
               runner re-reads (its output never reached the bus) yields the same alerts again

Times are POSIX seconds (UTC). `transaction()` groups a batch's writes into one commit.
`AlertState(":memory:")` keeps nothing: what a backtest uses so it never marks anything as sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from newswatch import connect_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS claimed (rule TEXT, article_id TEXT, at REAL, PRIMARY KEY (rule, article_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (rule TEXT, key TEXT, article_id TEXT, t REAL,
  PRIMARY KEY (rule, key, article_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_time ON events (rule, key, t);
CREATE TABLE IF NOT EXISTS terms (rule TEXT, term TEXT, t REAL, PRIMARY KEY (rule, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS marks (rule TEXT, name TEXT, key TEXT, t REAL, n INTEGER DEFAULT 0,
  PRIMARY KEY (rule, name, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, rule TEXT, channel TEXT, grp TEXT, due REAL,
  payload TEXT, attempts INTEGER DEFAULT 0, status TEXT DEFAULT 'pending', error TEXT DEFAULT '');
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, due);
CREATE TABLE IF NOT EXISTS emitted (src TEXT PRIMARY KEY, article_id TEXT, t REAL, alerts TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS emitted_time ON emitted (t);
"""


@dataclass(frozen=True)
class OutboxItem:
    """One queued notification: the alert JSON for one channel, grouped for digests by `grp`."""

    id: int
    rule: str
    channel: str
    grp: str
    due: float
    payload: str
    attempts: int


class AlertState:
    """The alert stage's durable memory; one instance per process, safe across threads."""

    def __init__(self, path: Path | str) -> None:
        # Path(":memory:") still opens an in-memory database (WAL is then a no-op, no folder made)
        self._conn = connect_sqlite(Path(path), _SCHEMA, synchronous="FULL")
        self._lock = threading.RLock()
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything inside at once (nested calls join the outer one)."""
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._depth == 1:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                if self._depth == 1:
                    self._conn.execute("COMMIT")
            finally:
                self._depth -= 1

    def claim(self, rule: str, article_id: str, at: float) -> bool:
        """True the first time (rule, article) is claimed, False ever after."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO claimed VALUES (?, ?, ?)", (rule, article_id, at)
            )
            return cur.rowcount == 1

    def add_event(self, rule: str, key: str, article_id: str, t: float) -> bool:
        """Record a match in a window; False when this article was already counted."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", (rule, key, article_id, t)
            )
            return cur.rowcount == 1

    def count(self, rule: str, key: str, after: float, until: float) -> int:
        """Matches with after < t <= until."""
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM events WHERE rule=? AND key=? AND t>? AND t<=?",
                (rule, key, after, until),
            ).fetchone()
            return int(row[0])

    def recent_articles(
        self, rule: str, key: str, after: float, until: float, limit: int = 20
    ) -> list[str]:
        """Newest article ids in a window."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT article_id FROM events WHERE rule=? AND key=? AND t>? AND t<=? ORDER BY t DESC LIMIT ?",
                (rule, key, after, until, limit),
            ).fetchall()
            return [r[0] for r in rows]

    def prune(self, rule: str, before: float) -> None:
        """Forget window events older than any window still needs."""
        with self._lock:
            self._conn.execute("DELETE FROM events WHERE rule=? AND t<=?", (rule, before))

    def new_term(self, rule: str, term: str, t: float) -> bool:
        """True the first time this rule sees `term`."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO terms VALUES (?, ?, ?)", (rule, term, t)
            )
            return cur.rowcount == 1

    def mark(self, rule: str, name: str, key: str = "") -> tuple[float, int] | None:
        """(time, counter) of a named mark, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT t, n FROM marks WHERE rule=? AND name=? AND key=?", (rule, name, key)
            ).fetchone()
            return (float(row[0]), int(row[1])) if row else None

    def set_mark(self, rule: str, name: str, key: str, t: float, n: int = 0) -> None:
        """Set (or overwrite) a mark."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO marks VALUES (?, ?, ?, ?, ?)", (rule, name, key, t, n)
            )

    def marks(self, name: str) -> list[tuple[str, str, float, int]]:
        """Every (rule, key, time, counter) of a mark name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT rule, key, t, n FROM marks WHERE name=?", (name,)
            ).fetchall()
            return [(r[0], r[1], float(r[2]), int(r[3])) for r in rows]

    def first_mark(self, rule: str, name: str, key: str, t: float) -> float:
        """Set the mark only if absent; returns the time it holds."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO marks VALUES (?, ?, ?, ?, 0)", (rule, name, key, t)
            )
            mark = self.mark(rule, name, key)
            assert mark is not None
            return mark[0]

    def enqueue(self, rule: str, channel: str, grp: str, due: float, payload: str) -> None:
        """Queue one notification."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO outbox (rule, channel, grp, due, payload) VALUES (?, ?, ?, ?, ?)",
                (rule, channel, grp, due, payload),
            )

    def due(self, now: float) -> list[OutboxItem]:
        """Pending notifications whose time has come, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, rule, channel, grp, due, payload, attempts FROM outbox WHERE status='pending' AND due<=? ORDER BY id",
                (now,),
            ).fetchall()
            return [OutboxItem(*r) for r in rows]

    def finish(
        self, ids: list[int], status: str, error: str = "", retry_at: float | None = None
    ) -> None:
        """Mark items sent or dead, or put them back with a later due time."""
        with self._lock:
            for item in ids:
                if retry_at is None:
                    self._conn.execute(
                        "UPDATE outbox SET status=?, error=? WHERE id=?", (status, error, item)
                    )
                else:
                    self._conn.execute(
                        "UPDATE outbox SET attempts=attempts+1, due=?, error=? WHERE id=?",
                        (retry_at, error, item),
                    )

    def outbox_counts(self) -> dict[str, int]:
        """Notifications per status (pending, sent, dead)."""
        with self._lock:
            return dict(
                self._conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
            )

    def emitted(self, src: str, article_id: str) -> str | None:
        """The alerts (JSON list) this input record produced, if it was handled before."""
        with self._lock:
            row = self._conn.execute(
                "SELECT alerts FROM emitted WHERE src=? AND article_id=?", (src, article_id)
            ).fetchone()
            return str(row[0]) if row else None

    def remember(self, src: str, article_id: str, t: float, alerts: str) -> None:
        """Record what an input record produced (overwrites: a recreated topic reuses offsets)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO emitted VALUES (?, ?, ?, ?)", (src, article_id, t, alerts)
            )

    def forget_emitted(self, before: float) -> None:
        """Drop memories of records handled before `before` (long since committed)."""
        with self._lock:
            self._conn.execute("DELETE FROM emitted WHERE t<?", (before,))

    def close(self) -> None:
        """Release the file."""
        with self._lock:
            self._conn.close()
