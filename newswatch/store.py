"""The store contract that sinks write to and `newswatch search`/`status` read from.

`newswatch.embedded_store.EmbeddedStore` (SQLite FTS5) is the default; `sinks.elastic.ElasticStore`
implements the same contract on Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from newswatch.schema import EnrichedArticle


class SearchQuery(BaseModel):
    """What a user can ask: free text plus filters, newest first when there is no text."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    topics: tuple[str, ...] = ()
    entities: tuple[str | tuple[str, ...], ...] = Field(
        default=(),
        description="entity filters, all required: a canonical name, or a group of names any one of "
        "which matches (e.g. a name as typed and the canonical names it resolves to)",
    )
    outlets: tuple[str, ...] = ()
    language: str = ""
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=20, ge=1, le=10_000)

    @property
    def entity_groups(self) -> tuple[tuple[str, ...], ...]:
        """Every entity filter as a group of alternative names (a plain name is a group of one)."""
        return tuple((e,) if isinstance(e, str) else e for e in self.entities if e)


class SearchHit(BaseModel):
    """One search result row."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    title: str
    url: str
    outlet: str
    published_at: datetime
    topics: tuple[str, ...] = ()
    score: float = 0.0


class Rejection(BaseModel):
    """A document the store refused for good (e.g. a mapping error): goes to the DLQ, not retried."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    reason: str


class Store(Protocol):
    """Where enriched articles land.

    Lifecycle: `setup` once at start (tables, templates, aliases); `write` batches, idempotent by
    `article_id`; raising SinkUnavailableError means nothing may be committed and the caller retries.
    """

    def setup(self) -> None:
        """Create what the store needs; idempotent."""
        ...

    def write(self, articles: Sequence[EnrichedArticle]) -> list[Rejection]:
        """Upsert by id; durable when it returns. Per-document permanent failures are returned."""
        ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Full text plus filters."""
        ...

    def get(self, article_id: str) -> EnrichedArticle | None:
        """One stored article, or None."""
        ...

    def count(self) -> int:
        """Number of stored articles."""
        ...

    def topic_counts(self) -> dict[str, int]:
        """Articles per topic label."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
