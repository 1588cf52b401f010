"""The raw archive: every feed body the collector saw as new, kept for replays and backtests.

    <data_dir>/archive/index.db          one row per (feed URL, fetch time, body): the SQLite index
    <data_dir>/archive/blobs/ab/<sha>.zst the body, zstd-compressed, named by the SHA-256 of its bytes

Content-addressed: a body fetched twice (or shared by two feeds) is stored once. Blobs are
compressed one by one (zstd level 10: about 5x on RSS, and each blob stays readable on its
own, so retention can delete any of them). Retention: live rows older than
`archive_retention_days` and, past `archive_max_bytes`, the oldest rows go first; imported
rows (`archive import`) are kept until removed by the byte bound, since they were added on
purpose and their fetch times are years old. A blob goes when no row names it any more.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import zstandard

from newswatch import FeedError, Settings, connect_sqlite, utcnow

log = logging.getLogger("collectors.archive")

ARCHIVE_DIR = "archive"
DEFAULT_RETENTION_DAYS = 365
"""Until Settings has `archive_retention_days`: a year, so year-on-year backtests work."""
PRUNE_EVERY_S = 3600.0
ZSTD_LEVEL = 10
Origin = Literal["live", "import"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
  feed_url TEXT NOT NULL, fetched_at TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  stored INTEGER NOT NULL, outlet TEXT NOT NULL DEFAULT '', content_type TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '', origin TEXT NOT NULL DEFAULT 'live',
  PRIMARY KEY (feed_url, fetched_at, sha256)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_time ON entries (fetched_at);
CREATE INDEX IF NOT EXISTS entries_sha ON entries (sha256);
"""


@dataclass(frozen=True)
class ArchiveEntry:
    """One archived fetch: which feed, when (UTC), which body (by hash) and how big it is."""

    feed_url: str
    fetched_at: datetime
    sha256: str
    size: int
    stored: int
    outlet: str = ""
    content_type: str = ""
    source: str = ""
    origin: Origin = "live"


@dataclass(frozen=True)
class ArchiveStats:
    """Totals for `archive stats`."""

    entries: int
    blobs: int
    feeds: int
    raw_bytes: int
    stored_bytes: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class FeedSummary:
    """One feed's row in `archive list`."""

    feed_url: str
    outlet: str
    entries: int
    first: datetime
    last: datetime
    raw_bytes: int


@dataclass(frozen=True)
class PruneResult:
    """What one retention pass removed."""

    entries: int
    blobs: int
    bytes_freed: int


def _iso(when: datetime) -> str:
    """Sortable UTC text with fixed width, so string order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def sha256_of(body: bytes) -> str:
    """The content address of a body."""
    return hashlib.sha256(body).hexdigest()


def retention_from(settings: Settings) -> tuple[int, int]:
    """(days, max bytes) from settings, with defaults until Settings carries the fields; 0 = no bound."""
    days = getattr(settings, "archive_retention_days", DEFAULT_RETENTION_DAYS)
    max_bytes = getattr(settings, "archive_max_bytes", 0)
    return int(days), int(max_bytes)


class RawArchive:
    """Blobs plus index; safe to share across the scheduler's threads (one lock, one connection)."""

    def __init__(
        self, root: Path, *, retention_days: int = DEFAULT_RETENTION_DAYS, max_bytes: int = 0
    ) -> None:
        self.root = root
        self.retention_days = retention_days
        self.max_bytes = max_bytes
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        self._conn = connect_sqlite(root / "index.db", _SCHEMA, synchronous="FULL")
        self._lock = threading.Lock()
        self._pruned_at = float("-inf")

    @classmethod
    def for_settings(cls, settings: Settings) -> RawArchive:
        """The archive under `<data_dir>/archive/` with the configured retention."""
        days, max_bytes = retention_from(settings)
        return cls(settings.data_dir / ARCHIVE_DIR, retention_days=days, max_bytes=max_bytes)

    def blob_path(self, sha256: str) -> Path:
        """Where the compressed body of `sha256` lives."""
        return self.root / "blobs" / sha256[:2] / f"{sha256}.zst"

    def add(
        self,
        feed_url: str,
        body: bytes,
        fetched_at: datetime,
        *,
        outlet: str = "",
        content_type: str = "",
        source: str = "",
        origin: Origin = "live",
    ) -> ArchiveEntry:
        """Store a body (once per content) and index this fetch of it; idempotent per (feed, time, body)."""
        digest = sha256_of(body)
        path = self.blob_path(digest)
        self._lock.acquire()  # blob and row land together, so a concurrent prune never sees an orphan
        try:
            stored = path.stat().st_size if path.exists() else self._write_blob(path, body)
            self._insert(feed_url, fetched_at, digest, len(body), stored, outlet, content_type, source, origin)
        finally:
            self._lock.release()
        entry = ArchiveEntry(
            feed_url,
            fetched_at.astimezone(UTC),
            digest,
            len(body),
            stored,
            outlet,
            content_type,
            source,
            origin,
        )
        if origin == "live" and time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self.prune()
        return entry

    def _insert(self, feed_url: str, fetched_at: datetime, *values: object) -> None:
        """Index one fetch (lock held)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (feed_url, _iso(fetched_at.astimezone(UTC)), *values),
        )

    def _write_blob(self, path: Path, body: bytes) -> int:
        """Compress to a temp file and rename: a reader never sees half a blob."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)  # per call: contexts are not thread-safe
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)
        return len(data)

    def read(self, sha256: str) -> bytes:
        """The body with this hash; FeedError(kind="archive") if it is missing or corrupt."""
        path = self.blob_path(sha256)
        try:
            body = zstandard.ZstdDecompressor().decompress(path.read_bytes())
        except (OSError, zstandard.ZstdError) as exc:
            raise FeedError(
                f"archived body {sha256[:12]} unreadable ({exc}); run `newswatch archive stats` "
                "and re-import the snapshots if blobs were deleted by hand",
                kind="archive",
            ) from None
        if sha256_of(body) != sha256:
            raise FeedError(
                f"archived body {sha256[:12]} is corrupt (hash mismatch)", kind="archive"
            )
        return body

    def entries(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        feeds: Sequence[str] = (),
    ) -> list[ArchiveEntry]:
        """Fetches with since <= fetched_at < until, in replay order: time, then feed URL, then hash."""
        sql = "SELECT * FROM entries WHERE fetched_at >= ? AND fetched_at < ?"
        params: list[object] = [_iso(since) if since else "", _iso(until) if until else "~"]
        if feeds:
            sql += f" AND feed_url IN ({','.join('?' * len(feeds))})"
            params.extend(feeds)
        with self._lock:
            rows = self._conn.execute(
                sql + " ORDER BY fetched_at, feed_url, sha256", params
            ).fetchall()
        return [_entry(row) for row in rows]

    def feeds(self) -> list[FeedSummary]:
        """Per feed: entries, time span, raw bytes; by feed URL."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT feed_url, MAX(outlet), COUNT(*), MIN(fetched_at), MAX(fetched_at), SUM(size) "
                "FROM entries GROUP BY feed_url ORDER BY feed_url"
            ).fetchall()
        return [
            FeedSummary(u, o, int(n), _parse_iso(a), _parse_iso(b), int(s))
            for u, o, n, a, b, s in rows
        ]

    def stats(self) -> ArchiveStats:
        """Totals; stored bytes count each blob once."""
        with self._lock:
            n, feeds, raw, first, last = self._conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT feed_url), COALESCE(SUM(size), 0), MIN(fetched_at), "
                "MAX(fetched_at) FROM entries"
            ).fetchone()
            blobs, stored = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(stored), 0) FROM "
                "(SELECT sha256, MAX(stored) AS stored FROM entries GROUP BY sha256)"
            ).fetchone()
        return ArchiveStats(
            int(n),
            int(blobs),
            int(feeds),
            int(raw),
            int(stored),
            _parse_iso(first) if first else None,
            _parse_iso(last) if last else None,
        )

    def prune(self, now: datetime | None = None) -> PruneResult:
        """Apply retention: live rows past the age bound, then oldest rows past the byte bound."""
        self._pruned_at = time.monotonic()
        removed = 0
        with self._lock:
            if self.retention_days > 0:
                cutoff = _iso((now or utcnow()) - timedelta(days=self.retention_days))
                removed += self._conn.execute(
                    "DELETE FROM entries WHERE origin='live' AND fetched_at < ?", (cutoff,)
                ).rowcount
            if self.max_bytes > 0:
                removed += self._trim_to_bytes()
            orphans = self._orphans()
            freed = 0
            for digest in orphans:  # under the lock: an add in flight cannot lose its blob
                path = self.blob_path(digest)
                freed += path.stat().st_size if path.exists() else 0
                path.unlink(missing_ok=True)
        if removed or orphans:
            log.info(
                "archive pruned", extra={"entries": removed, "blobs": len(orphans), "bytes": freed}
            )
        return PruneResult(removed, len(orphans), freed)

    def _trim_to_bytes(self) -> int:
        """Drop the oldest rows until the distinct blobs fit in `max_bytes` (lock held)."""
        total = self._conn.execute(
            "SELECT COALESCE(SUM(s), 0) FROM (SELECT MAX(stored) AS s FROM entries GROUP BY sha256)"
        ).fetchone()[0]
        removed = 0
        while total > self.max_bytes:
            row = self._conn.execute(
                "SELECT feed_url, fetched_at, sha256, stored FROM entries ORDER BY fetched_at LIMIT 1"
            ).fetchone()
            if row is None:
                break
            self._conn.execute(
                "DELETE FROM entries WHERE feed_url=? AND fetched_at=? AND sha256=?", row[:3]
            )
            removed += 1
            still_used = self._conn.execute(
                "SELECT 1 FROM entries WHERE sha256=? LIMIT 1", (row[2],)
            ).fetchone()
            total -= 0 if still_used else int(row[3])
        return removed

    def _orphans(self) -> list[str]:
        """Hashes of blob files no row names any more (lock held)."""
        used = {r[0] for r in self._conn.execute("SELECT DISTINCT sha256 FROM entries")}
        return sorted(p.stem for p in self._blob_files() if p.stem not in used)

    def _blob_files(self) -> Iterator[Path]:
        yield from (self.root / "blobs").glob("*/*.zst")

    def close(self) -> None:
        """Release the index connection."""
        with self._lock:
            self._conn.close()


def _entry(row: tuple[object, ...]) -> ArchiveEntry:
    url, at, sha, size, stored, outlet, ctype, source, origin = row
    return ArchiveEntry(
        str(url),
        _parse_iso(str(at)),
        str(sha),
        int(size),
        int(stored),  # type: ignore[call-overload]
        str(outlet),
        str(ctype),
        str(source),
        "import" if origin == "import" else "live",
    )
