"""EmbeddedStore: enriched articles in SQLite with an FTS5 index, upserted by article id."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from newswatch.schema import EnrichedArticle
from newswatch.sqlite_db import connect_sqlite
from newswatch.store import Rejection, SearchHit, SearchQuery

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
  article_id TEXT PRIMARY KEY, url TEXT, title TEXT, outlet TEXT, language TEXT,
  published_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published_at);
CREATE TABLE IF NOT EXISTS article_topics (article_id TEXT, topic TEXT, PRIMARY KEY (article_id, topic));
CREATE INDEX IF NOT EXISTS article_topics_topic ON article_topics (topic);
CREATE TABLE IF NOT EXISTS article_entities (
  article_id TEXT, canonical TEXT COLLATE NOCASE, label TEXT, PRIMARY KEY (article_id, canonical, label));
CREATE INDEX IF NOT EXISTS article_entities_name ON article_entities (canonical);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
  title, summary, text, entities, tokenize='porter unicode61');
"""
# articles_fts rows share the rowid of their `articles` row, so an upsert or a retention delete
# finds its index row by rowid instead of scanning the whole FTS table.

SCHEMA_VERSION = 2
"""PRAGMA user_version of the store file; version 1 keyed the FTS rows by an unindexed article_id."""

_WORD = re.compile(r"[\w][\w'\-]*", re.UNICODE)


def fts_match_expression(text: str) -> str:
    """Turn user text into a safe FTS5 expression: quoted phrases kept, every other word ANDed.

    Hand-written because FTS5 syntax is tiny and user text must never reach it unquoted.
    """
    phrases = re.findall(r'"([^"]+)"', text)
    rest = re.sub(r'"[^"]*"', " ", text)
    terms = [f'"{p.strip()}"' for p in phrases if p.strip()]
    terms += [f'"{w}"' for w in _WORD.findall(rest) if w.upper() not in {"AND", "OR", "NOT"}]
    return " AND ".join(t.replace("'", "''") for t in terms)


class EmbeddedStore:
    """SQLite FTS5 store; one connection guarded by a lock (writes are batched by the sink)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect_sqlite(path, synchronous="FULL")  # the sink commits offsets after this
        self._lock = threading.Lock()

    def setup(self) -> None:
        with self._lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if version < SCHEMA_VERSION and self._has_v1_fts():
                self._conn.execute("DROP TABLE articles_fts")
            self._conn.executescript(_SCHEMA)
            if version < SCHEMA_VERSION:
                self._rebuild_fts()
                self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _has_v1_fts(self) -> bool:
        cols = [r[1] for r in self._conn.execute("PRAGMA table_info(articles_fts)").fetchall()]
        return "article_id" in cols

    def _rebuild_fts(self) -> None:
        """Re-index every stored article (migration from a version-1 file; a no-op on a new one)."""
        self._conn.execute("DELETE FROM articles_fts")
        for rowid, doc in self._conn.execute("SELECT rowid, doc FROM articles").fetchall():
            self._index_text(int(rowid), EnrichedArticle.model_validate_json(doc))

    def _index_text(self, rowid: int, art: EnrichedArticle) -> None:
        self._conn.execute(
            "INSERT INTO articles_fts(rowid, title, summary, text, entities) VALUES (?, ?, ?, ?, ?)",
            (rowid, art.title, art.summary, art.text, " ".join(e.canonical for e in art.entities)),
        )

    def _delete_ids(self, ids: Sequence[str]) -> None:
        """Remove these articles from every table (lock and transaction held by the caller)."""
        marks = ",".join("?" * len(ids))
        self._conn.execute(
            f"DELETE FROM articles_fts WHERE rowid IN (SELECT rowid FROM articles WHERE article_id IN ({marks}))",
            list(ids),
        )
        for table in ("article_topics", "article_entities", "articles"):
            self._conn.execute(f"DELETE FROM {table} WHERE article_id IN ({marks})", list(ids))

    def write(self, articles: Sequence[EnrichedArticle]) -> list[Rejection]:
        """Upsert by article id, in one transaction: a new id is one insert per table (rows of
        the side tables and the index batched per call), a known one is replaced in place."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._write(articles)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return []

    def _write(self, articles: Sequence[EnrichedArticle]) -> None:
        topics: list[tuple[str, str]] = []
        entities: list[tuple[str, str, str]] = []
        index: list[tuple[int, str, str, str, str]] = []
        for art in articles:
            aid = art.article_id
            row = (aid, art.url, art.title, art.outlet, art.language, art.published_at.isoformat(),
                   art.model_dump_json())  # fmt: skip
            cur = self._conn.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(article_id) DO NOTHING",
                row,
            )
            if cur.rowcount == 1:
                assert cur.lastrowid is not None
                rowid = cur.lastrowid
            else:  # a known id: write what is pending first, then replace the article's rows
                self._insert_rows(topics, entities, index)
                topics, entities, index = [], [], []
                rowid = self._replace(row)
            topics += [(aid, t.label) for t in art.topics]
            entities += [(aid, e.canonical, e.label) for e in art.entities]
            index.append((rowid, art.title, art.summary, art.text,
                          " ".join(e.canonical for e in art.entities)))  # fmt: skip
        self._insert_rows(topics, entities, index)

    def _replace(self, row: tuple[str, ...]) -> int:
        """Update a stored article in place (same rowid); drop its topics, entities and index row."""
        aid, *rest = row
        rowid = int(self._conn.execute(
            "UPDATE articles SET url=?, title=?, outlet=?, language=?, published_at=?, doc=? "
            "WHERE article_id=? RETURNING rowid", (*rest, aid),
        ).fetchone()[0])  # fmt: skip
        self._conn.execute("DELETE FROM articles_fts WHERE rowid=?", (rowid,))
        for table in ("article_topics", "article_entities"):
            self._conn.execute(f"DELETE FROM {table} WHERE article_id=?", (aid,))
        return rowid

    def _insert_rows(self, topics: list[tuple[str, str]], entities: list[tuple[str, str, str]],
                     index: list[tuple[int, str, str, str, str]]) -> None:  # fmt: skip
        self._conn.executemany("INSERT OR IGNORE INTO article_topics VALUES (?, ?)", topics)
        self._conn.executemany("INSERT OR IGNORE INTO article_entities VALUES (?, ?, ?)", entities)
        self._conn.executemany(
            "INSERT INTO articles_fts(rowid, title, summary, text, entities) VALUES (?, ?, ?, ?, ?)",
            index,
        )

    def search(self, query: SearchQuery) -> list[SearchHit]:
        where: list[str] = []
        params: list[object] = []
        select = "SELECT a.doc, 0.0 FROM articles a"
        order = "a.published_at DESC"
        match = fts_match_expression(query.text) if query.text else ""
        if match:
            select = "SELECT a.doc, -bm25(articles_fts, 10.0, 4.0, 1.0, 2.0) FROM articles_fts f JOIN articles a ON a.rowid = f.rowid"
            where.append("articles_fts MATCH ?")
            params.append(match)
            order = "bm25(articles_fts, 10.0, 4.0, 1.0, 2.0), a.published_at DESC"
        for topic in query.topics:
            where.append("a.article_id IN (SELECT article_id FROM article_topics WHERE topic=?)")
            params.append(topic)
        for names in query.entity_groups:  # any name of a group; `canonical` compares NOCASE
            where.append(
                "a.article_id IN (SELECT article_id FROM article_entities"
                f" WHERE canonical IN ({','.join('?' * len(names))}))"
            )
            params.extend(names)
        if query.outlets:
            where.append(f"a.outlet IN ({','.join('?' * len(query.outlets))})")
            params.extend(query.outlets)
        if query.language:
            where.append("a.language=?")
            params.append(query.language)
        if query.since:
            where.append("a.published_at >= ?")
            params.append(query.since.isoformat())
        if query.until:
            where.append("a.published_at < ?")
            params.append(query.until.isoformat())
        sql = (
            select
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY {order} LIMIT ?"
        )
        params.append(query.limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        hits = []
        for doc, score in rows:
            art = EnrichedArticle.model_validate_json(doc)
            hits.append(
                SearchHit(
                    article_id=art.article_id,
                    title=art.title,
                    url=art.url,
                    outlet=art.outlet,
                    published_at=art.published_at,
                    topics=tuple(art.topic_names),
                    score=float(score),
                )
            )
        return hits

    def get(self, article_id: str) -> EnrichedArticle | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT doc FROM articles WHERE article_id=?", (article_id,)
            ).fetchone()
        return None if row is None else EnrichedArticle.model_validate_json(row[0])

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def topic_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT topic, COUNT(*) FROM article_topics GROUP BY topic ORDER BY 2 DESC"
            ).fetchall()
        return {str(t): int(n) for t, n in rows}

    def delete_published_before(self, cutoff: datetime, chunk: int = 1000) -> int:
        """Retention: remove articles published before `cutoff` from every table; returns how many.

        Deletes in chunks (one short write transaction each) so a running sink is never held up long,
        then truncates the write-ahead log; freed pages are reused by later writes."""
        removed = 0
        while True:
            with self._lock:
                ids = [
                    r[0]
                    for r in self._conn.execute(
                        "SELECT article_id FROM articles WHERE published_at < ? LIMIT ?",
                        (cutoff.isoformat(), chunk),
                    ).fetchall()
                ]
                if not ids:
                    break
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._delete_ids(ids)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            removed += len(ids)
        if removed:
            with self._lock:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def close(self) -> None:
        with self._lock:
            self._conn.close()
