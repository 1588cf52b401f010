"""What a replay parsed and what the processors made of it, remembered: the analyst's second backtest is fast.

An analyst backtests, edits a rule, backtests again: the archive, the parser and the processors
are the same, only the rules changed. Without a cache the re-run repeats feedparser (most of a
cached re-run's cost once spaCy is skipped) and spaCy (most of a first run's). Two tables:

    parsed     (collector fingerprint, feed URL, fetch time, outlet, content type, SHA-256 of the
               bytes handed to the parser) -> the ParseResult, articles as JSON
    parts      one row per enrichment part, keyed by that part's fingerprint and the fields it reads:
               language  (title, summary, text, declared language) -> the language code
               entities  (full text)                               -> the entities, as JSON
               topics    (title, summary, text)                    -> the topics, as JSON

The enrichment is split by what each part depends on, so an analyst who changes the taxonomy
(or switches `lexicon.v5` to `lexicon.v4`) re-runs only the classifier (~0.3 ms an article) and
reuses the month's entities (spaCy, ~10 ms an article); a new spaCy model or gazetteer re-runs
entities only. Topics and entities are computed only for articles whose language is English or
unknown (`processors.is_english`); the sink applies that rule to the cached parts as
`processors.enrich_batch` does (the tests check both give the same records).

A fingerprint hashes the code and versions that could change the output for the same input, so
an upgrade misses the cache instead of serving stale results. Collector: the stage package's own
files, the core's schema and ids, feedparser and url-normalize. Processors, per part (`PART_FILES`):
    language  language.py, py3langid's version
    entities  entities.py, entity_scorer.py, names.py, gazetteer.toml, given_names.txt, places.txt,
              models/entities-*.json, spaCy's version and the model's name and version (meta.json)
    topics    classify.py, linear.py, phrases.py, taxonomy*.toml, models/topics-*.json, the
              classifier version
Every other file of the processors package (enrich.py: the language gate; service.py, __init__.py)
and the core's schema.py are in every part's fingerprint: a file nobody assigned to a part
(a new module) misses the whole cache rather than serve a stale part.

Stored in `<data_dir>/replays/enrich-cache.db`. Writes are buffered and committed in chunks
with `synchronous=NORMAL`: one fsync per commit cost 66 ms, and a crash can only lose the last
chunk of a cache, which the next run recomputes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata
import importlib.util
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from collectors import ArchiveEntry, ParseResult, parse_entry
from newswatch.schema import Article, EnrichedArticle
from newswatch.sqlite_db import connect_sqlite

CACHE_FILE = "enrich-cache.db"
WRITE_EVERY = 2000
CACHE_VERSION = 2
"""PRAGMA user_version of the cache file. Version 1 (or 0) keyed hex text and kept whole
enrichments in `enriched`; its tables are dropped (a cache is only ever a shortcut)."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS parts (key BLOB PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parsed (key BLOB PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

PART_FILES: dict[str, tuple[str, ...]] = {
    "language": ("language.py",),
    "entities": (
        "entities.py",
        "entity_scorer.py",
        "names.py",
        "gazetteer.toml",
        "given_names.txt",
        "places.txt",
        "models/entities-*.json",
    ),
    "topics": ("classify.py", "linear.py", "phrases.py", "taxonomy*.toml", "models/topics-*.json"),
}
"""Files of the processors package (glob patterns, relative to it) each part depends on alone."""
_HASHED = {".py", ".toml", ".json", ".txt"}


def _package_files(package: Path) -> list[Path]:
    return [p for p in sorted(package.rglob("*"))
            if p.suffix in _HASHED and "__pycache__" not in p.parts and p.is_file()]  # fmt: skip


def _hash_files(digest: Any, files: Iterable[Path], base: Path) -> None:
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())


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


def part_files(part: str, package: Path | None = None) -> list[Path]:
    """The processors files in `part`'s fingerprint: its own, plus every file no part claims."""
    if package is None:
        import processors

        package = Path(processors.__file__).parent
    files = _package_files(package)
    claimed = {name: [p for p in files if any(fnmatch.fnmatch(p.relative_to(package).as_posix(), g)
                                                for g in globs)] for name, globs in PART_FILES.items()}  # fmt: skip
    everyone = [p for p in files if not any(p in mine for mine in claimed.values())]
    return sorted(claimed[part] + everyone)


@dataclass(frozen=True)
class Fingerprints:
    """One fingerprint per enrichment part; each changes whenever that part could change."""

    language: str
    entities: str
    topics: str


def part_fingerprint(part: str, versions: str, package: Path | None = None) -> str:
    """The fingerprint of one part: `versions` (libraries, model, classifier) and its files in
    `package` (the installed processors package by default)."""
    import newswatch
    import processors

    package = package or Path(processors.__file__).parent
    digest = hashlib.sha256(f"{part}\0{versions}\0".encode())
    _hash_files(digest, part_files(part, package), package)
    core = Path(newswatch.__file__).parent
    digest.update(b"schema.py\0" + (core / "schema.py").read_bytes())
    return digest.hexdigest()


def processors_fingerprints(classifier_version: str, model: str) -> Fingerprints:
    """What the processors could produce for the same text, per part (see the module docstring)."""
    return Fingerprints(
        language=part_fingerprint("language", f"py3langid-{_dist_version('py3langid')}"),
        entities=part_fingerprint(
            "entities", f"spacy-{_dist_version('spacy')}\0{model_meta(model)}"
        ),
        topics=part_fingerprint("topics", classifier_version),
    )


def collector_fingerprint() -> str:
    """Changes whenever the collector could parse the same bytes into other articles."""
    import collectors
    import newswatch

    digest = hashlib.sha256(f"feedparser-{_dist_version('feedparser')}".encode())
    digest.update(f"url-normalize-{_dist_version('url-normalize')}".encode())
    package = Path(collectors.__file__).parent
    _hash_files(digest, _package_files(package), package)
    core = Path(newswatch.__file__).parent
    for name in ("schema.py", "ids.py"):
        digest.update(name.encode() + (core / name).read_bytes())
    return digest.hexdigest()


def _key(*fields: str) -> bytes:
    return hashlib.sha256("\x1f".join(fields).encode()).digest()


@dataclass(frozen=True)
class PartKeys:
    """The cache keys of one article's three parts: only the fields each part reads."""

    language: bytes
    entities: bytes
    topics: bytes


def part_keys(prints: Fingerprints, article: Article, full_text: str) -> PartKeys:
    """Keys of the article's language, entities (of `full_text`) and topics."""
    title, summary, text = article.title, article.summary, article.text
    return PartKeys(
        _key(prints.language, title, summary, text, article.language),
        _key(prints.entities, full_text),
        _key(prints.topics, title, summary, text),
    )


def entities_value(entities: Iterable[Any]) -> str:
    """Entities (`newswatch.Entity`) as stored and sent back by workers: compact JSON rows."""
    return json.dumps([[e.text, e.label, e.canonical, e.count] for e in entities])


def topics_value(topics: Iterable[Any]) -> str:
    """Topics (`newswatch.TopicLabel`) as stored and sent back by workers: compact JSON rows."""
    return json.dumps(
        [[t.label, t.iptc_code, t.iptc_name, t.score, list(t.evidence)] for t in topics]
    )


_ENTITY_FIELDS = ("text", "label", "canonical", "count")
_TOPIC_FIELDS = ("label", "iptc_code", "iptc_name", "score", "evidence")


def rebuild(article: Article, language: str, entities: str | None, topics: str | None,
            version: str, now: datetime) -> EnrichedArticle:  # fmt: skip
    """The enriched article from the article and its parts (None: no topics or entities, the
    article is not English), processed at the replay's `now`."""
    # what `EnrichedArticle.from_article(...).model_copy(update={"processed_at": now})` makes, in
    # one validation: no utcnow() default to overwrite, no TopicLabel/Entity built twice
    fields = article.model_dump()
    fields.update(
        topics=[dict(zip(_TOPIC_FIELDS, row, strict=True)) for row in json.loads(topics)] if topics else (),
        entities=[dict(zip(_ENTITY_FIELDS, row, strict=True)) for row in json.loads(entities)] if entities else (),
        classifier_version=version, language=language, processed_at=now,
    )  # fmt: skip
    return EnrichedArticle.model_validate(fields)


def parse_key(fingerprint: str, feed_url: str, fetched_at: datetime, outlet: str,
              content_type: str, body: bytes) -> bytes:  # fmt: skip
    """The cache key of one parse: everything `parse_feed` is given."""
    head = (
        f"{fingerprint}\x1f{feed_url}\x1f{fetched_at.isoformat()}\x1f{outlet}\x1f{content_type}\x1f"
    )
    return hashlib.sha256(head.encode() + hashlib.sha256(body).digest()).digest()


class _ParsedRow(BaseModel):
    """A ParseResult as the `parsed` table holds it (pydantic's own JSON, both ways)."""

    articles: tuple[Article, ...]
    status: str
    reason: str
    bozo: bool
    feed_title: str
    skipped: int


def _parse_value(parsed: ParseResult) -> str:
    return _ParsedRow.model_construct(
        articles=parsed.articles, status=parsed.status, reason=parsed.reason, bozo=parsed.bozo,
        feed_title=parsed.feed_title, skipped=parsed.skipped,
    ).model_dump_json()  # fmt: skip


def _parse_result(value: str) -> ParseResult:
    row = _ParsedRow.model_validate_json(value)
    return ParseResult(row.articles, row.status, row.reason, row.bozo, row.feed_title, row.skipped)  # type: ignore[arg-type]


class ReplayCache:
    """Both tables in one SQLite file; writes are buffered until `WRITE_EVERY` rows or `flush`/`close`.

    `hits` and `misses` count lookups per table (`parts`: per part, not per article), for the
    summary line and the benchmark.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect_sqlite(path)
        if int(self._conn.execute("PRAGMA user_version").fetchone()[0]) < CACHE_VERSION:
            self._conn.executescript("DROP TABLE IF EXISTS enriched; DROP TABLE IF EXISTS parsed; "
                                     f"DROP TABLE IF EXISTS parts; PRAGMA user_version={CACHE_VERSION};")  # fmt: skip
        self._conn.executescript(_SCHEMA)
        self._pending: dict[str, list[tuple[bytes, str]]] = {"parts": [], "parsed": []}
        self.hits = {"parts": 0, "parsed": 0}
        self.misses = {"parts": 0, "parsed": 0}

    def parts(self, keys: Sequence[bytes]) -> dict[bytes, str]:
        """Cached part values for those keys that have one."""
        found: dict[bytes, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self._conn.execute(
                f"SELECT key, value FROM parts WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update(rows.fetchall())
        self.hits["parts"] += len(found)
        self.misses["parts"] += len(set(keys)) - len(found)
        return found

    def put_parts(self, rows: Iterable[tuple[bytes, str]]) -> None:
        """Remember (key, value) pairs made by the processors."""
        self._put("parts", rows)

    def parsed(self, key: bytes) -> ParseResult | None:
        """A cached parse, or None."""
        row = self._conn.execute("SELECT value FROM parsed WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses["parsed"] += 1
            return None
        self.hits["parsed"] += 1
        return _parse_result(row[0])

    def put_parsed(self, key: bytes, parsed: ParseResult) -> None:
        """Remember one parse."""
        self._put("parsed", [(key, _parse_value(parsed))])

    def _put(self, table: str, rows: Iterable[tuple[bytes, str]]) -> None:
        self._pending[table].extend(rows)
        if sum(map(len, self._pending.values())) >= WRITE_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows in one transaction."""
        if not any(self._pending.values()):
            return
        self._conn.execute("BEGIN")
        try:
            for table, rows in self._pending.items():
                self._conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", rows)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._pending = {"parts": [], "parsed": []}

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
