"""Issue 8: `maintain(settings)` applies every retention bound on the embedded pipeline, and each
place stays bounded: old log records, old articles, old archive bodies and old volume rows go;
recent ones and every consumer group's progress stay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors import RawArchive
from collectors.volume import VolumeLog
from newswatch import (
    Article,
    EmbeddedBus,
    EmbeddedStore,
    EnrichedArticle,
    Entity,
    SearchQuery,
    Settings,
    TopicLabel,
    topics,
)
from newswatch.cli.ops import maintain

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _article(n: int, published: datetime) -> EnrichedArticle:
    raw = Article.create(
        link=f"https://news.example/{n}", title=f"Story {n} about ports", summary="Ports and shipping.",
        text="Ports and shipping news in Rotterdam.", published_at=published, fetched_at=published, outlet="Example",
    )
    return EnrichedArticle.from_article(
        raw, topics=[TopicLabel(label="trade", iptc_code="20000344", score=1.0)],
        entities=[Entity(text="Rotterdam", label="GPE", canonical="Rotterdam")], classifier_version="t",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "feeds.toml").write_text("", encoding="utf-8")
    return Settings(
        data_dir=tmp_path, bus_retention_days=7, dlq_retention_days=30, store_retention_days=90,
        archive_retention_days=365, volume_history_days=60,
    )


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def test_maintain_applies_every_embedded_bound(settings: Settings) -> None:
    data = settings.data_dir
    bus = EmbeddedBus(data / "bus.db")
    for topic, age_days in ((topics.RAW, 8), (topics.RAW, 1), (topics.ENRICHED, 8), (topics.DLQ, 8), (topics.DLQ, 31)):
        bus.produce(topic, "k", b"v", timestamp_ms=_ms(NOW - timedelta(days=age_days)))
    bus.flush()
    consumer = bus.consumer("newswatch.sink", [topics.RAW])
    consumer.commit(consumer.poll(10, 0.1))
    bus.close()

    store = EmbeddedStore(data / "store.db")
    store.setup()
    store.write([_article(1, NOW - timedelta(days=100)), _article(2, NOW - timedelta(days=10))])
    store.close()

    archive = RawArchive(data / "archive", retention_days=0)  # no prune while seeding
    archive.add("https://news.example/feed", b"<rss>old</rss>", NOW - timedelta(days=400))
    archive.add("https://news.example/feed", b"<rss>new</rss>", NOW - timedelta(days=2))
    archive.close()

    volume = VolumeLog(data / "collector.db")
    volume.record("https://news.example/feed", NOW - timedelta(days=90), 3)
    volume.record("https://news.example/feed", NOW - timedelta(days=1), 3)
    volume.close()

    report = maintain(settings, now=NOW)

    assert report.ok, report.steps
    removed = {s.name: s.removed for s in report.steps}
    assert removed == {"bus log": 3, "store": 1, "archive": 1, "volume history": 1, "seen ids": 0}
    bus = EmbeddedBus(data / "bus.db")
    assert bus.topic_stats(0) == {topics.RAW: (1, 1), topics.DLQ: (1, 1)}
    assert bus.group_lags() == {"newswatch.sink": 0}  # progress survives the purge
    bus.close()
    store = EmbeddedStore(data / "store.db")
    assert store.count() == 1 and store.get(_article(2, NOW).article_id) is not None
    assert store.search(SearchQuery(text="Rotterdam")) and store.topic_counts() == {"trade": 1}
    store.close()
    assert len(list((data / "archive" / "blobs").glob("*/*.zst"))) == 1


def test_retention_zero_keeps_everything(settings: Settings) -> None:
    forever = settings.model_copy(update={"bus_retention_days": 0, "dlq_retention_days": 0, "store_retention_days": 0})
    bus = EmbeddedBus(forever.data_dir / "bus.db")
    bus.produce(topics.RAW, "k", b"v", timestamp_ms=_ms(NOW - timedelta(days=3000)))
    bus.close()
    store = EmbeddedStore(forever.data_dir / "store.db")
    store.setup()
    store.write([_article(1, NOW - timedelta(days=3000))])
    store.close()
    report = maintain(forever, now=NOW)
    assert report.ok and sum(s.removed for s in report.steps) == 0


def test_a_failing_bound_is_reported_and_the_others_still_run(settings: Settings) -> None:
    broken = settings.model_copy(update={"store": "ftp://nowhere"})
    report = maintain(broken, now=NOW)
    failed = [s for s in report.steps if not s.ok]
    assert [s.name for s in failed] == ["store"] and "NEWSWATCH_STORE" in failed[0].detail
    assert {s.name for s in report.steps if s.ok} >= {"bus log", "archive", "seen ids"}


def test_store_retention_deletes_in_chunks_and_keeps_the_index_consistent(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store.db")
    store.setup()
    store.write([_article(n, NOW - timedelta(days=200 if n % 2 else 1)) for n in range(2500)])
    assert store.delete_published_before(NOW - timedelta(days=90), chunk=300) == 1250
    assert store.count() == 1250
    assert len(store.search(SearchQuery(text="Rotterdam", limit=5000))) == 1250
    store.close()


def test_maintain_rolls_over_and_expires_elasticsearch_indices(es_url: str, unique_name: str, tmp_path: Path) -> None:
    from sinks import ElasticStore

    settings = Settings(
        data_dir=tmp_path, store=es_url,
        elastic={"index_prefix": unique_name, "retention_days": 0, "rollover_max_age": "1s"},  # type: ignore[arg-type]
    )
    store = ElasticStore(es_url, settings.elastic)
    store.setup()
    try:
        store.write([_article(n, NOW) for n in range(3)])
        store.refresh()
        first = set(store.client.indices.get_alias(name=store.alias).body)
        time.sleep(1.5)
        report = maintain(settings)
        [step] = [s for s in report.steps if s.name == "store"]
        assert step.ok and step.removed == 1 and min(first) in step.detail, step
        now_behind = set(store.client.indices.get_alias(name=store.alias).body)
        assert not (first & now_behind) and len(now_behind) == 1  # the old index went, a fresh write index stays
        assert store.count() == 0
    finally:
        store.drop()
        store.close()


def test_maintain_reports_kafka_retention(kafka_bootstrap: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, bus=f"kafka://{kafka_bootstrap}")
    report = maintain(settings)
    [step] = [s for s in report.steps if s.name == "bus log"]
    assert step.ok, step
    assert "Kafka enforces" in step.detail
