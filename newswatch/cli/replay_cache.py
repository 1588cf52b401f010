"""What a replay parsed and what the processors made of it, remembered: the analyst's second backtest is fast.

An analyst backtests, edits a rule, backtests again: the archive, the parser and the processors
are the same, only the rules changed. Without a cache the re-run repeats feedparser (most of a
cached re-run's cost once spaCy is skipped) and spaCy (most of a first run's). Two tables:

    parsed     (collector fingerprint, feed URL, fetch time, outlet, content type, SHA-256 of the
               bytes handed to the parser) -> the ParseResult, articles as JSON
    enriched   (processors fingerprint, title, summary, text, language) -> topics, entities, language

A fingerprint hashes the code and versions that could change the output for the same input
(the stage package's own files, the core's schema and ids, feedparser, the classifier version,
the spaCy model and version), so an upgrade misses the cache instead of serving stale results.
Stored in `<data_dir>/replays/enrich-cache.db`. Writes are buffered and committed in chunks
with `synchronous=NORMAL`: one fsync per commit cost 66 ms, and a crash can only lose the last
chunk of a cache, which the next run recomputes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from collectors import ArchiveEntry, ParseResult, parse_entry
from newswatch.schema import Article, EnrichedArticle

CACHE_FILE = "enrich-cache.db"
WRITE_EVERY = 2000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS enriched (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


def _hash_package(digest: hashlib._Hash, package: Path, base: Path) -> None:
    for path in sorted(package.rglob("*")):
        if path.suffix in {".py", ".toml", ".json", ".txt"} and "__pycache__" not in path.parts:
            digest.update(path.relative_to(base).as_posix().encode() + path.read_bytes())


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def model_meta(model: str) -> str:
    """`name-version` of an installed spaCy model package, read from its meta.json without loading it."""
    spec = importlib.util.find_spec(model)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        meta = Path(folder) / "meta.json"
        if meta.is_file():
            data = json.loads(meta.read_text(encoding="utf-8"))
            return f"{data.get('name')}-{data.get('version')}"
    return f"{model}-?"


def processors_fingerprint(classifier_version: str, model: str) -> str:
    """Changes whenever the processors could produce something else for the same text."""
    import processors

    digest = hashlib.sha256(f"{classifier_version}\0{model_meta(model)}".encode())
    digest.update(f"spacy-{_dist_version('spacy')}".encode())
    package = Path(processors.__file__).parent
    _hash_package(digest, package, package)
    return digest.hexdigest()


def collector_fingerprint() -> str:
    """Changes whenever the collector could parse the same bytes into other articles."""
    import collectors
    import newswatch

    digest = hashlib.sha256(f"feedparser-{_dist_version('feedparser')}".encode())
    digest.update(f"url-normalize-{_dist_version('url-normalize')}".encode())
    package = Path(collectors.__file__).parent
    _hash_package(digest, package, package)
    core = Path(newswatch.__file__).parent
    for name in ("schema.py", "ids.py"):
        digest.update(name.encode() + (core / name).read_bytes())
    return digest.hexdigest()


def enrich_key(fingerprint: str, article: Article) -> str:
    """The cache key of an article's enrichment: only the fields the processors read."""
    text = f"{fingerprint}\x1f{article.title}\x1f{article.summary}\x1f{article.text}\x1f{article.language}"
    return hashlib.sha256(text.encode()).hexdigest()


def enrichment_value(done: EnrichedArticle) -> str:
    """What the processors added to an article, as stored in the cache and sent back by workers."""
    return json.dumps({"topics": [t.model_dump() for t in done.topics],
                       "entities": [e.model_dump() for e in done.entities], "language": done.language})  # fmt: skip


def rebuild(article: Article, value: str, version: str, now: datetime) -> EnrichedArticle:
    """The enriched article from the article and a cached value, processed at the replay's `now`."""
    data = json.loads(value)
    # what `EnrichedArticle.from_article(...).model_copy(update={"processed_at": now})` makes, in
    # one validation: no utcnow() default to overwrite, no TopicLabel/Entity built twice
    fields = article.model_dump()
    fields.update(topics=data["topics"], entities=data["entities"], classifier_version=version,
                  language=data["language"], processed_at=now)  # fmt: skip
    return EnrichedArticle.model_validate(fields)


def parse_key(fingerprint: str, feed_url: str, fetched_at: datetime, outlet: str,
              content_type: str, body: bytes) -> str:  # fmt: skip
    """The cache key of one parse: everything `parse_feed` is given."""
    head = (
        f"{fingerprint}\x1f{feed_url}\x1f{fetched_at.isoformat()}\x1f{outlet}\x1f{content_type}\x1f"
    )
    return hashlib.sha256(head.encode() + hashlib.sha256(body).digest()).hexdigest()


def _parse_value(parsed: ParseResult) -> str:
    return json.dumps({
        "articles": [a.model_dump(mode="json") for a in parsed.articles], "status": parsed.status,
        "reason": parsed.reason, "bozo": parsed.bozo, "feed_title": parsed.feed_title, "skipped": parsed.skipped,
    })  # fmt: skip


def _parse_result(value: str) -> ParseResult:
    data = json.loads(value)
    return ParseResult(tuple(Article.model_validate(a) for a in data["articles"]), data["status"],
                       data["reason"], data["bozo"], data["feed_title"], data["skipped"])  # fmt: skip


class ReplayCache:
    """Both tables in one SQLite file; writes are buffered until `WRITE_EVERY` rows or `flush`/`close`.

    `hits` and `misses` count lookups per table, for the summary line and the benchmark.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._pending: dict[str, list[tuple[str, str]]] = {"enriched": [], "parsed": []}
        self.hits = {"enriched": 0, "parsed": 0}
        self.misses = {"enriched": 0, "parsed": 0}

    def enriched(self, keys: Sequence[str]) -> dict[str, str]:
        """Cached enrichment values for those keys that have one."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self._conn.execute(
                f"SELECT key, value FROM enriched WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update(rows.fetchall())
        self.hits["enriched"] += len(found)
        self.misses["enriched"] += len(set(keys)) - len(found)
        return found

    def put_enriched(self, rows: Iterable[tuple[str, str]]) -> None:
        """Remember (key, value) pairs made by the processors."""
        self._put("enriched", rows)

    def parsed(self, key: str) -> ParseResult | None:
        """A cached parse, or None."""
        row = self._conn.execute("SELECT value FROM parsed WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses["parsed"] += 1
            return None
        self.hits["parsed"] += 1
        return _parse_result(row[0])

    def put_parsed(self, key: str, parsed: ParseResult) -> None:
        """Remember one parse."""
        self._put("parsed", [(key, _parse_value(parsed))])

    def _put(self, table: str, rows: Iterable[tuple[str, str]]) -> None:
        self._pending[table].extend(rows)
        if sum(map(len, self._pending.values())) >= WRITE_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows in one transaction."""
        if not any(self._pending.values()):
            return
        with self._conn:
            self._conn.execute("BEGIN")
            for table, rows in self._pending.items():
                self._conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", rows)
        self._pending = {"enriched": [], "parsed": []}

    def close(self) -> None:
        """Flush, then release the connection."""
        try:
            self.flush()
        finally:
            self._conn.close()


class CachedParse:
    """`collectors.parse_entry` through the cache: the `parse` hook of `collectors.replay_entries`."""

    def __init__(self, cache: ReplayCache) -> None:
        self.cache = cache
        self.fingerprint = collector_fingerprint()

    def __call__(self, entry: ArchiveEntry, body: bytes) -> ParseResult:
        key = parse_key(self.fingerprint, entry.feed_url, entry.fetched_at, entry.outlet,
                        entry.content_type, body)  # fmt: skip
        parsed = self.cache.parsed(key)
        if parsed is None:
            parsed = parse_entry(entry, body)
            self.cache.put_parsed(key, parsed)
        return parsed
