"""Kibana saved objects against the real index: every field they use exists with the right type.

The articles index is built by the pipeline's own sink (ElasticStore, unique prefix) from the seed
feed, parsed by the collector and enriched by the processor; the alerts index is created by the
sink's ElasticAlertIndex (the mapping deploy/kibana/alerts-index.json is generated from) and holds
AlertRecords made by the alert engine from the seed rules. Then `GET <index>/_field_caps?fields=*`, the call Kibana makes, is checked against every
field use of the saved objects. A renamed or retyped field in the mapping must fail the check.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from collectors import parse_feed
from newswatch import ElasticSettings, EnrichedArticle, utcnow
from processors import build_processor, enrich_batch
from sinks import ElasticAlertIndex, ElasticStore
from sinks.alerts import build_engine
from sinks.es_template import build_mappings

REPO = Path(__file__).resolve().parents[2]
KIBANA = REPO / "deploy" / "kibana"


def _validate_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kibana_validate_fields", KIBANA / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validate = _validate_module()


@pytest.fixture(scope="module")
def seed_articles() -> list[EnrichedArticle]:
    """The seed feed through the collector's parser and the processor (spaCy: loaded once)."""
    feed = REPO / "seeds" / "feeds" / "seed.xml"
    parsed = parse_feed(feed.read_bytes(), feed_url=feed.as_uri(), fetched_at=utcnow(), outlet="newswatch seed")
    processor = build_processor()
    enriched = enrich_batch(list(parsed.articles), processor.classifier, processor.extractor, processor.detector)
    assert enriched and "defence" in enriched[0].topic_names
    return enriched


@pytest.fixture
def indexed(es_url: str, unique_name: str, seed_articles: list[EnrichedArticle]) -> Iterator[ElasticStore]:
    """`<unique>-articles` written by the sink and `<unique>-alerts` holding the seed's alerts."""
    store = ElasticStore(es_url, ElasticSettings(index_prefix=unique_name))
    store.setup()
    alerts_index = f"{unique_name}-alerts"
    try:
        assert store.write(seed_articles) == []
        store.refresh()
        alert_index = ElasticAlertIndex(store.client, ElasticSettings(index_prefix=unique_name))
        alert_index.setup()  # the sink's own alerts index, as the pipeline creates it
        engine = build_engine(REPO / "seeds" / "alerts.yaml", ":memory:", env={})
        alerts = [a for art in seed_articles for a in engine.evaluate(art)]
        engine.close()
        assert alerts, "the seed rules should fire on the seed article"
        alert_index.write(alerts)
        store.client.indices.refresh(index=alerts_index)
        yield store
    finally:
        store.client.indices.delete(index=alerts_index, ignore_unavailable=True)
        store.drop()
        store.close()


def _objects(prefix: str) -> list[dict[str, Any]]:
    return validate.with_prefix(validate.load(KIBANA / "newswatch.ndjson"), prefix)


def _caps(store: ElasticStore, objects: list[dict[str, Any]], override: dict[str, str] | None = None) -> dict[str, Any]:
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    return {t: validate.field_caps(store.client, (override or {}).get(t, t)) for t in titles}


def test_every_field_the_dashboards_use_exists_with_a_usable_type(indexed: ElasticStore, unique_name: str) -> None:
    objects = _objects(unique_name)
    caps = _caps(indexed, objects)
    assert caps[f"{unique_name}-articles"]["published_at"]["date"]["aggregatable"] is True
    assert caps[f"{unique_name}-alerts"]["fired_at"]["date"]["aggregatable"] is True
    uses = validate.field_uses(objects)
    assert len(uses) > 20
    assert validate.check_fields(uses, caps) == []


def test_alert_records_fit_the_expected_alerts_mapping(indexed: ElasticStore, unique_name: str) -> None:
    """dynamic: strict would have refused any AlertRecord field the mapping lacks."""
    hits = indexed.client.search(index=f"{unique_name}-alerts", query={"term": {"rule": "putin-defence"}})
    assert hits["hits"]["total"]["value"] == 1


def _index_with(store: ElasticStore, name: str, change: str) -> str:
    mappings = copy.deepcopy(build_mappings())
    props = mappings["properties"]
    if change == "rename":
        props["entities_country"] = props.pop("entities_gpe")
    else:
        props["outlet"] = {"type": "text"}
    store.client.indices.create(index=name, mappings=mappings,
                                settings={"number_of_shards": 1, "number_of_replicas": 0})
    return name


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param("rename", "field 'entities_gpe'", id="entities_gpe-renamed"),
    pytest.param("retype", "field 'outlet'", id="outlet-made-text"),
])
def test_a_changed_mapping_fails_the_check(indexed: ElasticStore, unique_name: str, change: str, expected: str) -> None:
    objects = _objects(unique_name)
    changed = _index_with(indexed, f"{unique_name}-changed-{change}", change)
    try:
        caps = _caps(indexed, objects, override={f"{unique_name}-articles": changed})
        problems = validate.check_fields(validate.field_uses(objects), caps)
    finally:
        indexed.client.indices.delete(index=changed)
    assert problems and all(expected in p for p in problems), problems
    if change == "rename":
        assert {p.split(":")[0] for p in problems} == {"nw-vis-top-countries", "nw-vis-topic-by-country",
                                                        "nw-search-topic-defence", "nw-search-topic-trade",
                                                        "nw-search-topic-energy", "nw-search-topic-conflict",
                                                        "nw-search-topic-politics", "nw-search-topic-economy"}
        assert all("missing" in p for p in problems)
    else:
        assert all("must be aggregatable" in p for p in problems)


def test_a_renamed_field_in_the_caps_fails_offline(indexed: ElasticStore, unique_name: str) -> None:
    """The same rename applied to the real field-caps answer (what a stale dashboard meets)."""
    objects = _objects(unique_name)
    caps = _caps(indexed, objects)
    articles = caps[f"{unique_name}-articles"]
    articles["topics.label_v2"] = articles.pop("topics.label")
    problems = validate.check_fields(validate.field_uses(objects), caps)
    assert any("nw-vis-volume-by-topic: field 'topics.label'" in p and "missing" in p for p in problems)


def test_alerts_index_json_is_generated_from_the_sink() -> None:
    """deploy/kibana/alerts-index.json is `python -m sinks.alert_index`: one source of truth."""
    from sinks.alert_index import index_body

    assert json.loads((KIBANA / "alerts-index.json").read_text(encoding="utf-8")) == index_body()
