"""Records round-trip through bus bytes and keep UTC times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from newswatch import (
    SCHEMA_VERSION,
    Article,
    DeadLetter,
    EmbeddedBus,
    EnrichedArticle,
    Entity,
    TopicLabel,
    decode_batch,
)


def _article(**over: object) -> Article:
    fields: dict[str, object] = {
        "link": "https://example.com/a?utm_source=x",
        "title": "Title",
        "summary": "Sum",
        "text": "Body",
        "published_at": datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        "fetched_at": datetime(2024, 5, 1, 7),
        "feed_url": "https://example.com/feed",
        "outlet": "Example",
    }
    fields.update(over)
    return Article.create(**fields)  # type: ignore[arg-type]


def test_article_create_derives_canonical_url_and_utc_times() -> None:
    art = _article()
    assert art.url == "https://example.com/a"
    assert art.original_url == "https://example.com/a?utm_source=x"
    assert art.published_at.utcoffset() == timedelta(0)
    assert art.published_at.hour == 6 and art.published_at.minute == 30
    assert art.fetched_at.tzinfo is not None  # naive input is taken as UTC
    assert art.schema_version == SCHEMA_VERSION


def test_enriched_round_trip_through_bytes() -> None:
    art = _article()
    enriched = EnrichedArticle.from_article(
        art,
        topics=[
            TopicLabel(label="defence", iptc_code="medtop:x", score=2.5, evidence=("missile",))
        ],
        entities=[Entity(text="Putin", label="PERSON", canonical="Vladimir Putin", count=2)],
        classifier_version="lexicon.v1",
    )
    again = EnrichedArticle.from_bytes(enriched.to_bytes())
    assert again == enriched
    assert again.topic_names == ["defence"]
    assert "Sum" in again.full_text and "Body" in again.full_text


def test_raw_bytes_that_are_not_a_record_fail_validation() -> None:
    with pytest.raises(ValidationError):
        Article.from_bytes(b"\x00\xffnot json")


def test_dead_letter_keeps_original_payload() -> None:
    dl = DeadLetter.build(stage="processor", error=ValueError("boom"), payload=b"\x00raw", key="k")
    back = DeadLetter.from_bytes(dl.to_bytes())
    assert isinstance(back, DeadLetter)
    assert back.payload == b"\x00raw"
    assert (back.error_class, back.message, back.stage) == ("ValueError", "boom", "processor")


def test_a_record_from_a_newer_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    """schema.py promises consumers reject records of a newer version; the runner dead-letters them."""
    newer = _article().model_dump(mode="json") | {"schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(ValidationError, match="upgrade newswatch"):
        Article.model_validate(newer)
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.produce("in", "k", json.dumps(newer).encode())
    bus.flush()
    good, dead = decode_batch(bus.consumer("g", ["in"]).poll(10, 0.1), Article, "processor")
    assert good == [] and dead[0].error_class == "PoisonRecordError" and "newer" in dead[0].message
    bus.close()
