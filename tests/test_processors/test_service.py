"""Enrichment and the processor handler: outputs on news.enriched, poison to dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch import (
    Article,
    DeadLetter,
    EmbeddedBus,
    EnrichedArticle,
    PoisonRecordError,
    Record,
    StageRunner,
    TopicSpec,
    topics,
)
from processors import Classifier, EntityExtractor, Processor, enrich_batch, make_handler

WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _article(n: int, *, title: str = "", summary: str = "", text: str = "", language: str = "en") -> Article:
    return Article.create(
        link=f"https://example.com/news/{n}", title=title, summary=summary, text=text,
        published_at=WHEN, fetched_at=WHEN, language=language,
    )


def _record(value: bytes, offset: int, key: str | None = None) -> Record:
    return Record(topic=topics.RAW, partition=0, offset=offset, key=key, value=value, timestamp_ms=0)


def test_enrich_batch_attaches_topics_entities_and_version(
    classifier: Classifier, extractor: EntityExtractor, seed: tuple[str, str]
) -> None:
    title, body = seed
    articles = [_article(1, title=title, text=body), _article(2, title="Putin meets Modi", language="")]
    out = enrich_batch(articles, classifier, extractor)
    assert [a.article_id for a in out] == [a.article_id for a in articles]
    assert {"defence", "trade"} <= set(out[0].topic_names)
    assert out[0].classifier_version == classifier.version
    assert {"Vladimir Putin", "Narendra Modi"} <= {e.canonical for e in out[1].entities}
    assert [a.language for a in out] == ["en", ""]  # detected; a 3-word title is too short, so unknown


def test_enrich_batch_rejects_an_article_without_text(classifier: Classifier, extractor: EntityExtractor) -> None:
    empty = _article(3)
    with pytest.raises(PoisonRecordError, match=empty.article_id):
        enrich_batch([_article(4, title="NATO summit"), empty], classifier, extractor)


def test_handler_enriches_good_records_and_dead_letters_poison(
    classifier: Classifier, extractor: EntityExtractor
) -> None:
    good = _article(5, title="Oil prices jump as OPEC cuts output", text="Brent crude rose to $90 a barrel.")
    empty = _article(6)
    records = [
        _record(good.to_bytes(), 0, good.article_id),
        _record(b"{not json", 1, "junk"),
        _record(empty.to_bytes(), 2, empty.article_id),
    ]
    result = make_handler(classifier, extractor, stage="processor")(records)

    assert [(o.topic, o.key) for o in result.outputs] == [(topics.ENRICHED, good.article_id)]
    enriched = EnrichedArticle.model_validate_json(result.outputs[0].value)
    assert "energy" in enriched.topic_names
    assert [(d.key, d.offset, d.error_class, d.stage) for d in result.dead] == [
        ("junk", 1, "PoisonRecordError", "processor"),
        (empty.article_id, 2, "PoisonRecordError", "processor"),
    ]
    assert result.dead[0].payload == b"{not json"


def test_runner_over_embedded_bus_routes_poison_to_dlq(
    tmp_path: Path, classifier: Classifier, extractor: EntityExtractor
) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.ensure_topics([TopicSpec(t) for t in topics.ALL_TOPICS])
    good = _article(7, title="Tariffs on steel imports spark trade war fears", text="Exports fell.")
    bus.produce(topics.RAW, good.article_id, good.to_bytes())
    bus.produce(topics.RAW, "poison", b"\xff\xfe")
    bus.flush()
    runner = StageRunner(
        stage="processor", bus=bus, consumer=bus.consumer("processors", [topics.RAW]),
        handler=Processor(classifier, extractor).handler(), backoff_s=0,
    )
    stats = runner.run(until_idle=True, idle_timeout_s=0.1)

    assert (stats.consumed, stats.produced, stats.dead_lettered) == (2, 1, 1)
    enriched = bus.consumer("check", [topics.ENRICHED], start="earliest").poll(10, 0.1)
    assert [r.key for r in enriched] == [good.article_id]
    dead = bus.consumer("check", [topics.DLQ], start="earliest").poll(10, 0.1)
    assert DeadLetter.model_validate_json(dead[0].value).payload == b"\xff\xfe"
    bus.close()
