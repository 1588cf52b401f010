"""The alert stage as `newswatch alerts run --once` wires it, on both deployments (issue 5).

Embedded (SQLite log + SQLite alerts table) and scaled out (a Kafka broker of the test's own,
since the topic names are fixed, and the session's Elasticsearch with `<unique>-alerts`): the seed
rule fires once for the seed article, the alert is on `news.alerts` and in the alerts index, and a
redelivered copy of the article processed by a restarted stage fires nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from newswatch import ElasticSettings, Settings, topics
from newswatch.cli import wiring
from sinks.alerts import AlertRecord, write_document
from tests.test_sinks.test_alerts_delivery import seed_article

RULES = {"rules": [{"name": "putin-defence", "query": 'entity:"Vladimir Putin" AND topic:defence'}]}


@pytest.fixture(params=["embedded", "kafka-elasticsearch"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    write_document(tmp_path / "rules.yaml", RULES)
    if request.param == "embedded":
        yield Settings(data_dir=tmp_path, alerts_file=tmp_path / "rules.yaml")
        return
    kafka = request.getfixturevalue("private_kafka")
    es_url = request.getfixturevalue("es_url")
    prefix = request.getfixturevalue("unique_name")
    yield Settings(
        data_dir=tmp_path,
        alerts_file=tmp_path / "rules.yaml",
        bus=f"kafka://{kafka.addresses['kafka']}",
        store=es_url,
        elastic=ElasticSettings(index_prefix=prefix),
    )
    with Elasticsearch(es_url) as es:
        es.indices.delete(index=f"{prefix}-alerts", ignore_unavailable=True)


def _alerts_run_once(settings: Settings) -> tuple[int, list[AlertRecord]]:
    """What `newswatch alerts run --once` does; returns (alerts produced, alerts in the index)."""
    bus = wiring.open_bus(settings)
    try:
        runner, engine = wiring.alerts_stage(settings, bus)
        produced = runner.run(
            until_idle=True, idle_timeout_s=wiring.drain_timeout_s(settings)
        ).produced
        wiring.tick_alerts(engine, bus)
        engine.close()
        index = wiring.open_alert_index(settings)
        wiring.alert_index_runner(settings, bus, index).run(
            until_idle=True, idle_timeout_s=wiring.drain_timeout_s(settings)
        )
        if settings.uses_elasticsearch:
            with Elasticsearch(settings.store) as es:
                es.indices.refresh(index=f"{settings.elastic.index_prefix}-alerts")
        indexed = index.recent(10)
        index.close()
        return produced, indexed
    finally:
        bus.close()


def _publish_seed(settings: Settings) -> None:
    bus = wiring.open_bus(settings)
    bus.produce(topics.ENRICHED, "seed", seed_article().to_bytes())
    bus.flush()
    bus.close()


def _alerts_on_topic(settings: Settings) -> list[AlertRecord]:
    bus = wiring.open_bus(settings)
    consumer = bus.consumer(f"check-{settings.kafka.group_prefix}", [topics.ALERTS])
    found: list[AlertRecord] = []
    for _ in range(30):  # a Kafka consumer may need a few polls to join and fetch
        batch = consumer.poll(100, 0.5)
        found += [AlertRecord.model_validate_json(r.value) for r in batch]
        if found and not batch:  # read up to the end once something arrived
            break
    consumer.close()
    bus.close()
    return found


def test_seed_rule_fires_once_is_indexed_and_never_fires_again(settings: Settings) -> None:
    _publish_seed(settings)
    produced, indexed = _alerts_run_once(settings)
    assert produced == 1
    assert [(a.rule, a.article_id) for a in indexed] == [("putin-defence", "seed")]

    _publish_seed(settings)  # the same article delivered again (a re-fetch, a redelivery, a replay)
    produced, indexed = _alerts_run_once(settings)  # a new process: state comes from alerts.db
    assert produced == 0
    assert len(indexed) == 1
    assert [a.article_id for a in _alerts_on_topic(settings)] == ["seed"]
    if settings.uses_elasticsearch:
        assert indexed[0].matched_terms == ('entity:"Vladimir Putin"', "topic:defence")
