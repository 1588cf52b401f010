"""The Elasticsearch index layout for articles: names, the versioned template, doc conversion.

Pure functions, no I/O. `build_template(settings)` is the single source of truth for the
mapping; `deploy/elasticsearch/articles-template.v1.json` is generated from it with default
settings (`python -m sinks.es_template > deploy/elasticsearch/articles-template.v1.json`) for
operators who manage templates with curl or Kibana, and a test keeps the two identical.

Layout (prefix `newswatch` shown):

    newswatch-articles                 alias: reads span every index, writes go to the write index
    newswatch-articles-v1-000001       concrete indices made from template `newswatch-articles-v1`
    newswatch-articles-v1-000002       ... after a rollover

The `v1` in the names is the mapping version: an incompatible mapping ships as template `v2`
with indices `...-v2-000001`, filled by replaying the enriched topic, then the alias is moved.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from newswatch import SCHEMA_VERSION, ElasticSettings, EnrichedArticle

TEMPLATE_VERSION = 1
"""Bump with every mapping change; the index names carry it (`-v1-`)."""

ENTITY_FIELDS: dict[str, str] = {
    "PERSON": "entities_person",
    "ORG": "entities_org",
    "GPE": "entities_gpe",
    "LOC": "entities_loc",
    "NORP": "entities_norp",
    "EVENT": "entities_event",
}
"""spaCy entity label -> flat keyword array: Kibana aggregates "who/where" without nested aggs."""

OTHER_ENTITIES = "entities_other"
"""Canonical names of entities whose label has no field of its own (PRODUCT, LAW, ...)."""

DERIVED_FIELDS: tuple[str, ...] = (*ENTITY_FIELDS.values(), OTHER_ENTITIES, "indexed_at")
"""Fields the sink adds to the article JSON; `EnrichedArticle` ignores them when read back."""

_KEYWORD: dict[str, Any] = {"type": "keyword"}
_DATE: dict[str, Any] = {"type": "date"}
_STORED_ONLY: dict[str, Any] = {"type": "keyword", "index": False, "doc_values": False}
"""Kept in _source for `get`, never searched (saves index space)."""


def alias_name(prefix: str) -> str:
    """The alias clients read and write: `<prefix>-articles`."""
    return f"{prefix}-articles"


def template_name(prefix: str) -> str:
    """The index template: `<prefix>-articles-v<N>`."""
    return f"{prefix}-articles-v{TEMPLATE_VERSION}"


def first_index_name(prefix: str) -> str:
    """The bootstrap index behind the alias; rollover counts on from its `-000001` suffix."""
    return f"{prefix}-articles-v{TEMPLATE_VERSION}-000001"


def index_pattern(prefix: str) -> str:
    """Every concrete index of this mapping version."""
    return f"{prefix}-articles-v{TEMPLATE_VERSION}-*"


def _text(analyzer: str, *, keyword: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": analyzer}
    if keyword:
        field["fields"] = {"keyword": {"type": "keyword", "ignore_above": 512}}
    return field


def build_mappings(analyzer: str = "standard") -> dict[str, Any]:
    """Explicit mappings for one `EnrichedArticle` document plus the sink's derived fields.

    `dynamic: strict`: the document is built from the schema by `to_document`, so an unmapped
    field can only be a code change that forgot the template; strict makes that fail in the
    contract tests instead of silently storing unsearchable data. Records from newer producers
    cannot trip it, because `EnrichedArticle` drops unknown fields when it parses them.
    """
    entity_flat = {name: _KEYWORD for name in (*ENTITY_FIELDS.values(), OTHER_ENTITIES)}
    return {
        "dynamic": "strict",
        "_meta": {"template_version": TEMPLATE_VERSION, "schema_version": SCHEMA_VERSION},
        "properties": {
            "schema_version": {"type": "integer"},
            "article_id": _KEYWORD,
            "url": _KEYWORD,
            "original_url": _STORED_ONLY,
            "guid": _STORED_ONLY,
            "title": _text(analyzer, keyword=True),
            "summary": _text(analyzer),
            "text": _text(analyzer),
            "published_at": _DATE,
            "published_source": _KEYWORD,
            "fetched_at": _DATE,
            "processed_at": _DATE,
            "indexed_at": _DATE,
            "feed_url": _KEYWORD,
            "outlet": _KEYWORD,
            "language": _KEYWORD,
            "authors": _KEYWORD,
            "categories": _KEYWORD,
            "replay_run": _KEYWORD,
            "classifier_version": _KEYWORD,
            "topics": {
                "type": "object",
                "properties": {
                    "label": _KEYWORD,
                    "iptc_code": _KEYWORD,
                    "iptc_name": _KEYWORD,
                    "score": {"type": "float"},
                    "evidence": _KEYWORD,
                },
            },
            "entities": {
                "type": "object",
                "properties": {
                    "text": _STORED_ONLY,
                    "label": _KEYWORD,
                    "canonical": {"type": "keyword", "fields": {"text": _text(analyzer)}},
                    "count": {"type": "integer"},
                },
            },
            **entity_flat,
        },
    }


def build_template(settings: ElasticSettings, *, shards: int = 1) -> dict[str, Any]:
    """The composable index template body for `indices.put_index_template`.

    No alias inside: the rollover API refuses templates that carry the rollover alias, so the
    alias is attached to the bootstrap index by `ElasticStore.setup` instead.
    """
    prefix = settings.index_prefix
    return {
        "index_patterns": [index_pattern(prefix)],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "newswatch", "alias": alias_name(prefix)},
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": shards,
                    "number_of_replicas": settings.replicas,
                    "refresh_interval": settings.refresh_interval,
                }
            },
            "mappings": build_mappings(settings.analyzer),
        },
    }


def derived_fields(article: EnrichedArticle, indexed_at: datetime) -> dict[str, Any]:
    """What the sink adds to the record: entity names per type (deduplicated) and indexed_at."""
    flat: dict[str, Any] = {name: [] for name in (*ENTITY_FIELDS.values(), OTHER_ENTITIES)}
    for ent in article.entities:
        names = flat[ENTITY_FIELDS.get(ent.label, OTHER_ENTITIES)]
        if ent.canonical not in names:
            names.append(ent.canonical)
    flat["indexed_at"] = indexed_at.isoformat()
    return flat


def to_source(article: EnrichedArticle, indexed_at: datetime) -> bytes:
    """The stored JSON body, serialised once: the record (pydantic's own JSON) plus derived fields.

    Built as bytes because the bulk helper forwards bytes untouched; serialising the record via a
    Python dict and json.dumps costs about 3x more CPU per document.
    """
    record = article.model_dump_json()
    extra = json.dumps(
        derived_fields(article, indexed_at), ensure_ascii=False, separators=(",", ":")
    )
    return f"{record[:-1]},{extra[1:]}".encode()


def to_document(article: EnrichedArticle, indexed_at: datetime) -> dict[str, Any]:
    """The stored body as a dict (for inspection, tests and the benchmark's raw baseline)."""
    doc: dict[str, Any] = json.loads(to_source(article, indexed_at))
    return doc


def from_document(source: dict[str, Any]) -> EnrichedArticle:
    """Read a stored document back into the record (the derived fields are ignored)."""
    return EnrichedArticle.model_validate(source)


def main() -> None:
    """Print the template for the default settings (how the deploy/ JSON file is regenerated)."""
    json.dump(build_template(ElasticSettings()), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
