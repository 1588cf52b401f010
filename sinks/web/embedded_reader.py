"""The live view's questions answered from the embedded store's SQLite file.

The cursor is the `articles` rowid: the store deletes and re-inserts a row on every upsert, so a
newly indexed (or re-indexed) article always gets a rowid above every earlier one.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newswatch import EnrichedArticle, connect_sqlite, utcnow
from sinks.alerts import Matcher, ParsedQuery, compile_query
from sinks.web.rows import ENTITY_KINDS, ArticleRow, Interval, Page, SearchResult

SCAN_CHUNK = 500


def row_of(article: EnrichedArticle) -> ArticleRow:
    """The page's view of one stored article."""
    entities: dict[str, list[str]] = {kind: [] for kind in ENTITY_KINDS}
    for ent in article.entities:
        for kind, label in ENTITY_KINDS.items():
            if ent.label == label and ent.canonical not in entities[kind]:
                entities[kind].append(ent.canonical)
    return ArticleRow(
        article_id=article.article_id, title=article.title, url=article.url or article.original_url,
        outlet=article.outlet, published_at=article.published_at, topics=tuple(article.topic_names),
        entities=entities,
    )


def bucket_starts(end: datetime, interval: Interval, buckets: int) -> list[datetime]:
    """`buckets` bucket starts (UTC), the last one holding `end`."""
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if interval == "day":
        last = last.replace(hour=0)
    return [last - step * i for i in range(buckets - 1, -1, -1)]


class EmbeddedReader:
    """Reads `store.db` through a connection of its own (WAL: never blocks the sink's writes)."""

    def __init__(self, path: Path, *, scan_limit: int = 20_000) -> None:
        self.path = path
        self.scan_limit = scan_limit
        self._conn = connect_sqlite(path)  # the store made it WAL already; this only reads
        self._lock = threading.Lock()

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _end(self) -> int:
        return int(self._rows("SELECT COALESCE(MAX(rowid), 0) FROM articles")[0][0])

    def recent(self, limit: int) -> Page:
        rows = self._rows("SELECT rowid, doc FROM articles ORDER BY rowid DESC LIMIT ?", (limit,))
        cursor = str(rows[0][0]) if rows else str(self._end())
        return Page([row_of(EnrichedArticle.model_validate_json(doc)) for _, doc in rows], cursor)

    def indexed_after(self, cursor: str, limit: int) -> Page:
        after = int(cursor) if cursor.isdigit() else self._end()
        rows = self._rows(
            "SELECT rowid, doc FROM articles WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit)
        )
        if not rows:
            return Page([], str(after))
        return Page([row_of(EnrichedArticle.model_validate_json(d)) for _, d in rows], str(rows[-1][0]))

    def topic_volume(self, interval: Interval, buckets: int) -> dict[str, Any]:
        newest = self._rows("SELECT MAX(published_at) FROM articles")[0][0]
        end = min(datetime.fromisoformat(newest), utcnow()) if newest else utcnow()
        starts = bucket_starts(end, interval, buckets)
        width = 13 if interval == "hour" else 10
        since = starts[0].isoformat()
        totals = dict(self._rows(
            f"SELECT substr(published_at, 1, {width}), COUNT(*) FROM articles "
            "WHERE published_at >= ? GROUP BY 1", (since,)))
        per_topic = self._rows(
            f"SELECT substr(a.published_at, 1, {width}), t.topic, COUNT(*) FROM articles a "
            "JOIN article_topics t USING (article_id) WHERE a.published_at >= ? GROUP BY 1, 2", (since,))
        counts: dict[str, dict[str, int]] = {}
        for key, topic, n in per_topic:
            counts.setdefault(key, {})[topic] = int(n)
        out = []
        for start in starts:
            key = start.isoformat()[:width]
            out.append({"start": start.isoformat(), "total": int(totals.get(key, 0)), "counts": counts.get(key, {})})
        return {"interval": interval, "buckets": out}

    def top_entities(self, size: int) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for kind, label in ENTITY_KINDS.items():
            rows = self._rows(
                "SELECT canonical, COUNT(DISTINCT article_id) AS n FROM article_entities WHERE label=? "
                "GROUP BY canonical ORDER BY n DESC, canonical LIMIT ?", (label, size))
            out[kind] = [{"name": name, "count": int(n)} for name, n in rows]
        return out

    def search(self, query: ParsedQuery, limit: int) -> SearchResult:
        """Newest first, every stored article tested with the alerts' own matcher (up to `scan_limit`)."""
        matcher = Matcher([compile_query("search", query)])
        found: list[ArticleRow] = []
        scanned = 0
        while scanned < self.scan_limit and len(found) < limit:
            rows = self._rows(
                "SELECT doc FROM articles ORDER BY published_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (min(SCAN_CHUNK, self.scan_limit - scanned), scanned))
            if not rows:
                return SearchResult(found, scanned, truncated=False)
            for (doc,) in rows:
                scanned += 1
                article = EnrichedArticle.model_validate_json(doc)
                if matcher.match(article):
                    found.append(row_of(article))
                    if len(found) >= limit:
                        break
        more = scanned >= self.scan_limit and bool(self._rows("SELECT 1 FROM articles LIMIT 1 OFFSET ?", (scanned,)))
        return SearchResult(found, scanned, truncated=more)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
