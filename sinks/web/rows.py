"""The JSON rows the live view sends to the browser, and the reader contract behind them.

A reader answers the page's questions over one concrete store: the newest articles, the articles
indexed after a cursor (the live stream), topic volumes over time, top entities and searches in
the alerts' Lucene syntax. `Store` (newswatch core) has none of these, so each store gets a reader
of its own: `EmbeddedReader` reads the SQLite file, `ElasticReader` the alias with aggregations.

Cursors are opaque strings made by the reader that also decodes them: "" means "from now".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sinks.alerts import ParsedQuery

Interval = Literal["hour", "day"]
ENTITY_KINDS: dict[str, str] = {"person": "PERSON", "org": "ORG", "gpe": "GPE"}
"""Entity groups shown on the page -> spaCy label (people, organisations, countries/places)."""


@dataclass(frozen=True)
class ArticleRow:
    """One article as the page shows it; every string is feed data and is rendered as text."""

    article_id: str
    title: str
    url: str
    outlet: str
    published_at: datetime
    topics: tuple[str, ...] = ()
    entities: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict; `published_at` as ISO 8601."""
        return {
            "article_id": self.article_id, "title": self.title, "url": self.url, "outlet": self.outlet,
            "published_at": self.published_at.isoformat(), "topics": list(self.topics),
            "entities": self.entities,
        }


@dataclass(frozen=True)
class Page:
    """Articles plus the cursor to continue from (the newest indexed one seen)."""

    articles: list[ArticleRow]
    cursor: str


@dataclass(frozen=True)
class SearchResult:
    """Search hits, newest first; `scanned` counts articles a reader had to test one by one."""

    articles: list[ArticleRow]
    scanned: int = 0
    truncated: bool = False


class StoreReader(Protocol):
    """Read-only questions the live view asks a store; called from worker threads."""

    def recent(self, limit: int) -> Page:
        """The `limit` most recently indexed articles (newest first) and the current cursor."""
        ...

    def indexed_after(self, cursor: str, limit: int) -> Page:
        """Articles indexed after `cursor`, oldest first; "" starts at the current end."""
        ...

    def topic_volume(self, interval: Interval, buckets: int) -> dict[str, Any]:
        """{"interval", "buckets": [{"start": iso, "counts": {topic: n}}]}, ending at the newest article."""
        ...

    def top_entities(self, size: int) -> dict[str, list[dict[str, Any]]]:
        """{"person"|"org"|"gpe": [{"name", "count"}]}, most frequent first."""
        ...

    def search(self, query: ParsedQuery, limit: int) -> SearchResult:
        """Articles matching an alert-syntax query, newest published first."""
        ...

    def close(self) -> None:
        """Release connections the reader opened itself."""
        ...
