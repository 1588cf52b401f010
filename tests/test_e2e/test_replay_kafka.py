"""Replay from the real broker by time range, and into a replay index on the real Elasticsearch.

Kafka: enriched records are produced with chosen timestamps on a topic of the test's own; the
replay starts at the offsets for --from (offsets_for_times), stops at --to, in a group of its
own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch import Article, EnrichedArticle, KafkaSettings, Settings, TopicSpec
from newswatch.cli import replay_pipeline as rp
from newswatch.kafka_bus import KafkaBus

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archive" / "wire"


def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """NEWSWATCH_LOCAL_KAFKA / NEWSWATCH_LOCAL_ES (server addresses for the fixtures) would read as Settings fields."""
    for name in ("NEWSWATCH_LOCAL_KAFKA", "NEWSWATCH_LOCAL_ES"):
        monkeypatch.delenv(name, raising=False)


def enriched(n: int, at: datetime) -> EnrichedArticle:
    raw = Article.create(link=f"https://wire.example/k{n}", title=f"Sanctions story {n}", summary="sanctions",
                         published_at=at, fetched_at=at)  # fmt: skip
    return EnrichedArticle.from_article(raw, topics=(), entities=(), classifier_version="test")


def test_kafka_replay_reads_only_the_time_window_in_a_group_of_its_own(
    kafka_bootstrap: str, unique_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env(monkeypatch)
    kafka = KafkaSettings(partitions=2, group_prefix=unique_name)
    bus = KafkaBus([kafka_bootstrap], kafka, client_id=unique_name)
    bus.ensure_topics([TopicSpec(unique_name, partitions=2)])
    times = [T0 + timedelta(hours=h) for h in range(6)]  # window: hours 1..3
    for n, at in enumerate(times):
        bus.produce(
            unique_name,
            enriched(n, at).article_id,
            enriched(n, at).to_bytes(),
            timestamp_ms=int(at.timestamp() * 1000),
        )
    bus.flush()
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: sanctions\n    query: sanctions\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", kafka=kafka)
    target = rp.open_target(settings, "k1")
    from sinks.backtest import Backtester

    tester = Backtester(rules)
    try:
        result = rp.replay_bus(settings, bus, rp.ReplaySink(target, None, tester), "k1", unique_name,
                               times[1], times[4], enriched=True, poll_s=1.0)  # fmt: skip
        stored = [
            target.store.get(enriched(n, at).article_id) is not None for n, at in enumerate(times)
        ]
        count = target.store.count()
    finally:
        target.close()
        tester.close()
        bus.delete_topics([unique_name])
        bus.close()
    assert (result.articles, count) == (3, 3)
    assert stored == [False, True, True, True, False, False]
    assert sorted(a.alert.title for a in result.alerts) == [
        f"Sanctions story {n}" for n in (1, 2, 3)
    ]
    assert all(a.delivery == "no-channels" and not a.alert.live for a in result.alerts)


def test_archive_replay_into_its_own_elasticsearch_index(
    es_url: str, unique_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env(monkeypatch)
    from collectors import RawArchive, find_snapshots, import_snapshots
    from processors import build_processor
    from sinks import ElasticStore

    settings = Settings(
        data_dir=tmp_path / "data", store=es_url, elastic={"index_prefix": unique_name}
    )
    archive = RawArchive.for_settings(settings)
    import_snapshots(archive, find_snapshots(FIXTURE)[0])
    archive.close()
    target = rp.open_target(settings, "wire")
    try:
        result = rp.replay_archive(settings, rp.ReplaySink(target, build_processor(), None), "wire",
                                   T0.replace(year=2020, month=5, day=1), T0.replace(year=2020, month=6, day=1))  # fmt: skip
        assert isinstance(target.store, ElasticStore)
        target.store.refresh()
        assert target.store.alias == f"{unique_name}-replay-wire-articles"
        assert (result.articles, target.store.count()) == (7, 7)
        live = ElasticStore(es_url, settings.elastic)
        assert not live.client.indices.exists_alias(
            name=live.alias
        )  # the live alias was never created
        live.close()
    finally:
        target.store.drop()  # type: ignore[attr-defined]
        target.store.client.indices.delete(
            index=f"{unique_name}-replay-wire-alerts", ignore_unavailable=True
        )  # type: ignore[attr-defined]
        target.close()
