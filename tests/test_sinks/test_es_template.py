"""The index template and document conversion: pure, no server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newswatch import ElasticSettings, EnrichedArticle, Entity
from sinks.es_template import (
    DERIVED_FIELDS,
    alias_name,
    build_template,
    first_index_name,
    from_document,
    index_pattern,
    to_document,
)

ROOT = Path(__file__).resolve().parents[2]
INDEXED_AT = datetime(2024, 3, 9, 8, 30, tzinfo=UTC)


def _mapped_paths(properties: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in properties.items():
        paths.add(prefix + name)
        if "properties" in field:
            paths |= _mapped_paths(field["properties"], f"{prefix}{name}.")
    return paths


def _doc_paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, list):
        return set().union(*(_doc_paths(v, prefix) for v in value)) if value else set()
    if isinstance(value, dict):
        paths: set[str] = set()
        for key, inner in value.items():
            paths.add(prefix + key)
            paths |= _doc_paths(inner, f"{prefix}{key}.")
        return paths
    return set()


def test_deploy_json_is_generated_from_the_python_template() -> None:
    on_disk = json.loads((ROOT / "deploy/elasticsearch/articles-template.v1.json").read_text())
    assert on_disk == build_template(ElasticSettings()), (
        "regenerate: .venv/bin/python -m sinks.es_template "
        "> deploy/elasticsearch/articles-template.v1.json"
    )


def test_every_document_field_is_mapped(corpus: list[EnrichedArticle]) -> None:
    """dynamic=strict rejects a field the template forgot: catch that drift without a server."""
    mapped = _mapped_paths(build_template(ElasticSettings())["template"]["mappings"]["properties"])
    for article in corpus:
        assert _doc_paths(to_document(article, INDEXED_AT)) <= mapped


def test_mapping_is_strict_with_configurable_analyzer_and_replicas() -> None:
    template = build_template(ElasticSettings(index_prefix="acme", analyzer="english", replicas=2))
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    for field in ("title", "summary", "text"):
        assert mappings["properties"][field] == mappings["properties"][field] | {
            "type": "text",
            "analyzer": "english",
        }
    assert mappings["properties"]["topics"]["properties"]["score"] == {"type": "float"}
    assert template["template"]["settings"]["index"]["number_of_replicas"] == 2
    assert template["index_patterns"] == [index_pattern("acme")] == ["acme-articles-v1-*"]
    assert "aliases" not in template["template"], "rollover refuses templates that carry the alias"


def test_names() -> None:
    assert alias_name("nw") == "nw-articles"
    assert first_index_name("nw") == "nw-articles-v1-000001"


def test_document_flattens_entities_by_type(corpus: list[EnrichedArticle]) -> None:
    article = corpus[4].model_copy(
        update={
            "entities": (
                *corpus[4].entities,
                Entity(text="ECB", label="ORG", canonical="European Central Bank", count=2),
                Entity(text="Euro", label="MONEY", canonical="euro"),
            )
        }
    )
    doc = to_document(article, INDEXED_AT)
    assert doc["entities_org"] == ["European Central Bank"]
    assert doc["entities_person"] == ["Christine Lagarde"]
    assert doc["entities_other"] == ["euro"]
    assert doc["entities_gpe"] == []
    assert doc["indexed_at"] == "2024-03-09T08:30:00+00:00"
    assert set(DERIVED_FIELDS) <= set(doc)


@pytest.mark.parametrize("index", range(7))
def test_document_round_trips(corpus: list[EnrichedArticle], index: int) -> None:
    article = corpus[index]
    assert from_document(json.loads(json.dumps(to_document(article, INDEXED_AT)))) == article
