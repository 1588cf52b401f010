"""What the processors made of an article, remembered across replays: the analyst's second backtest is fast.

An analyst backtests, edits a rule, backtests again: the articles and the processors are the same,
only the rules changed, and spaCy is most of the cost. Entries are keyed by the article's text
fields and a fingerprint of the processors (classifier version, spaCy model and version, and a
hash of the processors package's own files), so any change to the code, taxonomy or model
misses the cache instead of serving stale topics. Stored in `<data_dir>/replays/enrich-cache.db`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from newswatch.schema import Article, EnrichedArticle, Entity, TopicLabel
from processors import Processor, enrich_batch

CACHE_FILE = "enrich-cache.db"


def fingerprint(processor: Processor) -> str:
    """Changes whenever the processors could produce something else for the same text."""
    import processors

    digest = hashlib.sha256(processor.version.encode())
    nlp = getattr(processor.extractor, "nlp", None)
    meta = getattr(nlp, "meta", {}) or {}
    digest.update(f"{meta.get('name')}-{meta.get('version')}".encode())
    package = Path(processors.__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in {".py", ".toml", ".json", ".txt"} and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


class EnrichCache:
    """Enrichment results by (processors fingerprint, article text); a miss runs `enrich_batch`."""

    def __init__(self, path: Path, processor: Processor) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS enriched (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
        )
        self.processor = processor
        self._print = fingerprint(processor)
        self.hits = self.misses = 0

    def _key(self, article: Article) -> str:
        text = f"{self._print}\x1f{article.title}\x1f{article.summary}\x1f{article.text}\x1f{article.language}"
        return hashlib.sha256(text.encode()).hexdigest()

    def enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle]:
        """Same output as `enrich_batch(articles, …)`, from the cache where it can."""
        keys = [self._key(a) for a in articles]
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self._conn.execute(
                f"SELECT key, value FROM enriched WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update(rows.fetchall())
        missing = [i for i, k in enumerate(keys) if k not in found]
        p = self.processor
        made = (
            enrich_batch([articles[i] for i in missing], p.classifier, p.extractor, p.detector)
            if missing
            else []
        )
        rows = []
        for i, done in zip(missing, made, strict=True):
            value = json.dumps({"topics": [t.model_dump() for t in done.topics],
                                "entities": [e.model_dump() for e in done.entities], "language": done.language})  # fmt: skip
            found[keys[i]] = value
            rows.append((keys[i], value))
        if rows:
            self._conn.executemany("INSERT OR REPLACE INTO enriched VALUES (?, ?)", rows)
        self.hits += len(articles) - len(missing)
        self.misses += len(missing)
        return [self._rebuild(a, found[k]) for a, k in zip(articles, keys, strict=True)]

    def _rebuild(self, article: Article, value: str) -> EnrichedArticle:
        data = json.loads(value)
        return EnrichedArticle.from_article(
            article,
            topics=[TopicLabel.model_validate(t) for t in data["topics"]],
            entities=[Entity.model_validate(e) for e in data["entities"]],
            classifier_version=self.processor.version,
            language=data["language"],
        )

    def close(self) -> None:
        self._conn.close()
