"""The records that travel between stages: one article schema shared by all, versioned.

`Article` is what a collector publishes on `news.raw`; `EnrichedArticle` adds topics and
entities and travels on `news.enriched`; `DeadLetter` carries anything that failed on `news.dlq`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from newswatch.ids import article_id as make_article_id
from newswatch.ids import canonical_url, stable_hash

SCHEMA_VERSION = 1
"""Bump when a field changes meaning or type; consumers reject records from a newer major."""


def utcnow() -> datetime:
    """Timezone-aware now in UTC (never naive datetimes anywhere in newswatch)."""
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_bytes(self) -> bytes:
        """JSON bytes for the bus."""
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> _Record:
        """Parse bus bytes; raises pydantic.ValidationError on anything that is not this record."""
        return cls.model_validate_json(raw)


class FeedSpec(BaseModel):
    """One feed to poll: a URL (http(s), file://, or a local directory of snapshots) and its cadence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    name: str = ""
    outlet: str = ""
    interval_s: float | None = Field(
        default=None, gt=0, description="poll interval; default from settings"
    )
    enabled: bool = True
    tags: tuple[str, ...] = ()


class TopicLabel(BaseModel):
    """A topic assigned to an article, with the evidence that fired so it can be explained."""

    model_config = ConfigDict(frozen=True)

    label: str
    iptc_code: str
    iptc_name: str = ""
    score: float
    evidence: tuple[str, ...] = ()


class Entity(BaseModel):
    """A named entity: surface text, spaCy label, canonical name and how often it occurred."""

    model_config = ConfigDict(frozen=True)

    text: str
    label: str
    canonical: str
    count: int = 1


class Article(_Record):
    """A collected article, as published on the raw topic; `article_id` is the bus key and store id."""

    schema_version: int = SCHEMA_VERSION
    article_id: str
    url: str = Field(description="canonical URL")
    original_url: str = ""
    guid: str = ""
    title: str = ""
    summary: str = ""
    text: str = ""
    published_at: datetime
    published_source: Literal["feed", "inferred"] = "feed"
    fetched_at: datetime
    feed_url: str = ""
    outlet: str = ""
    language: str = ""
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    replay_run: str = Field(
        default="", description="set when the record comes from a replay, not live"
    )

    @field_validator("published_at", "fetched_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > SCHEMA_VERSION:
            raise ValueError(
                f"record schema version {value} is newer than this newswatch's ({SCHEMA_VERSION}): "
                "upgrade newswatch, then `newswatch dlq replay` re-drives the dead-lettered records"
            )
        return value

    @classmethod
    def create(cls, *, link: str, guid: str = "", feed_url: str = "", **fields: object) -> Article:
        """Build an article, deriving the canonical URL and id from the link (or GUID)."""
        try:
            url = canonical_url(link) if link else ""
        except ValueError:
            url = ""
        ident = stable_hash(url) if url else make_article_id(None, guid or None, feed_url)
        return cls(
            article_id=ident, url=url, original_url=link, guid=guid, feed_url=feed_url, **fields
        )  # type: ignore[arg-type]

    @property
    def full_text(self) -> str:
        """Title, summary and body joined: what the processors read."""
        parts = [self.title, self.summary]
        if self.text and self.text != self.summary:
            parts.append(self.text)
        return "\n\n".join(p for p in parts if p)


class EnrichedArticle(Article):
    """An article after processing: topics, entities and the version of the classifier that made them."""

    topics: tuple[TopicLabel, ...] = ()
    entities: tuple[Entity, ...] = ()
    classifier_version: str = ""
    processed_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def from_article(
        cls,
        article: Article,
        *,
        topics: tuple[TopicLabel, ...] | list[TopicLabel],
        entities: tuple[Entity, ...] | list[Entity],
        classifier_version: str,
        language: str | None = None,
    ) -> EnrichedArticle:
        """Copy an article and attach the processing results."""
        data = article.model_dump()
        if language is not None:
            data["language"] = language
        return cls(
            **data,
            topics=tuple(topics),
            entities=tuple(entities),
            classifier_version=classifier_version,
        )

    @property
    def topic_names(self) -> list[str]:
        """Labels only, e.g. ['defence', 'trade']."""
        return [t.label for t in self.topics]


class DeadLetter(_Record):
    """A record that failed in a stage: the original bytes, where and why, and how often it was tried."""

    stage: str
    error_class: str
    message: str
    payload_b64: str
    key: str | None = None
    source_topic: str = ""
    partition: int | None = None
    offset: int | None = None
    attempts: int = 1
    failed_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def build(
        cls, *, stage: str, error: BaseException, payload: bytes, **where: object
    ) -> DeadLetter:
        """Wrap a failure; the message is truncated so a huge exception cannot bloat the DLQ."""
        return cls(
            stage=stage,
            error_class=type(error).__name__,
            message=str(error)[:2000],
            payload_b64=base64.b64encode(payload).decode("ascii"),
            **where,  # type: ignore[arg-type]
        )

    @property
    def payload(self) -> bytes:
        """The original record bytes, as they arrived."""
        return base64.b64decode(self.payload_b64)
