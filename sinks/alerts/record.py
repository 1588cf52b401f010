"""The alert record published on `news.alerts` (key: `alert_id`) and sent to channels."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from newswatch import EnrichedArticle, stable_hash, utcnow
from sinks.alerts.highlight import Highlight

ALERT_SCHEMA_VERSION = 1


class AlertRecord(BaseModel):
    """One fired alert: a rule matching an article, or an aggregate condition (count, spike, …).

    `alert_id` is stable (rule + article, or rule + key + window), so a consumer or an index
    that sees it twice overwrites instead of duplicating.
    """

    model_config = ConfigDict(frozen=True)

    schema_version: int = ALERT_SCHEMA_VERSION
    alert_id: str
    rule: str
    rule_type: str
    message: str
    event_time: datetime
    fired_at: datetime = Field(default_factory=utcnow)
    article_id: str = ""
    title: str = ""
    url: str = ""
    outlet: str = ""
    published_at: datetime | None = None
    matched_terms: tuple[str, ...] = ()
    highlights: tuple[Highlight, ...] = ()
    key: str = Field(default="", description="group_by value (entity, outlet, …) or new terms")
    count: int = 0
    baseline: float | None = None
    window_s: float | None = None
    article_ids: tuple[str, ...] = ()
    live: bool = True
    channels: tuple[str, ...] = Field(
        default=(), description="channels the notification was queued for"
    )
    suppressed: str = Field(
        default="", description="why nothing was queued: silenced, throttled, replay, no-channels"
    )

    def to_bytes(self) -> bytes:
        """JSON bytes for the bus."""
        return self.model_dump_json().encode("utf-8")


def article_fields(article: EnrichedArticle) -> dict[str, object]:
    """The article part of an alert."""
    return {
        "article_id": article.article_id,
        "title": article.title,
        "url": article.url or article.original_url,
        "outlet": article.outlet,
        "published_at": article.published_at,
    }


def alert_id(*parts: str) -> str:
    """Stable id from the parts that make an alert unique."""
    return stable_hash("\x1f".join(parts))
