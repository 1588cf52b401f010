"""Index life cycle on a cluster without ILM: template, bootstrap alias, rollover, retention.

The integ-test zip (and some managed clusters) have no ILM, so newswatch does it explicitly:

- `ensure_layout` puts the versioned template and, if the alias is missing, creates the
  bootstrap index `<prefix>-articles-v1-000001` carrying `<prefix>-articles` as its write alias.
- `rollover` asks Elasticsearch to start a new index behind the alias when a condition holds
  (age, doc count, primary shard size); older indices stay behind the alias for reads.
- `delete_expired` drops whole indices behind the alias, never the write index, once the newest
  `indexed_at` in them is older than `retention_days`. An article thus stays searchable for at
  least `retention_days` after it was indexed, and at most that plus one rollover period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from newswatch import ConfigError, ElasticSettings, utcnow
from sinks.es_template import alias_name, build_template, first_index_name, template_name

log = logging.getLogger("sinks.elastic")


@dataclass(frozen=True)
class RolloverResult:
    """What a rollover call did: the index written to before and after."""

    rolled_over: bool
    old_index: str
    new_index: str


def ensure_layout(client: Elasticsearch, settings: ElasticSettings, *, shards: int = 1) -> None:
    """Put the template and create the bootstrap index + write alias if absent; idempotent."""
    prefix = settings.index_prefix
    alias = alias_name(prefix)
    try:
        client.indices.put_index_template(
            name=template_name(prefix), **build_template(settings, shards=shards)
        )
        if client.indices.exists_alias(name=alias):
            return
        index = first_index_name(prefix)
        try:
            client.indices.create(index=index, aliases={alias: {"is_write_index": True}})
        except ApiError as exc:
            if _error_type(exc) != "resource_already_exists_exception":
                raise
            client.indices.put_alias(index=index, name=alias, is_write_index=True)
        client.cluster.health(index=index, wait_for_status="yellow", timeout="30s")
    except ApiError as exc:
        if exc.status_code == 400:
            raise ConfigError(_setup_hint(exc, settings)) from exc
        raise


def _setup_hint(exc: ApiError, settings: ElasticSettings) -> str:
    text = str(exc)
    if "analyzer" in text:
        return (
            f"Elasticsearch refused the articles template: {text}. The analyzer "
            f"{settings.analyzer!r} needs the analysis-common module (absent from the integ-test "
            "zip); set NEWSWATCH_ELASTIC__ANALYZER=standard or use the full distribution."
        )
    return f"Elasticsearch refused the articles template or index: {text}"


def _error_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", {})
    return str(error.get("type", "")) if isinstance(error, dict) else ""


def indices_behind(client: Elasticsearch, alias: str) -> dict[str, bool]:
    """Concrete index -> is it the write index, for every index the alias points at."""
    found = client.indices.get_alias(name=alias).body
    return {
        index: bool(info["aliases"][alias].get("is_write_index", len(found) == 1))
        for index, info in found.items()
    }


def rollover(
    client: Elasticsearch,
    settings: ElasticSettings,
    *,
    max_age: str | None = None,
    max_docs: int | None = None,
    max_primary_shard_size: str | None = None,
) -> RolloverResult:
    """Roll the write alias to a fresh index if any condition holds (no conditions: always)."""
    conditions: dict[str, Any] = {}
    if max_age:
        conditions["max_age"] = max_age
    if max_docs:
        conditions["max_docs"] = max_docs
    if max_primary_shard_size:
        conditions["max_primary_shard_size"] = max_primary_shard_size
    resp = client.indices.rollover(
        alias=alias_name(settings.index_prefix), conditions=conditions or None
    )
    result = RolloverResult(bool(resp["rolled_over"]), resp["old_index"], resp["new_index"])
    if result.rolled_over:
        log.info("elastic rollover: %s -> %s", result.old_index, result.new_index)
    return result


def delete_expired(
    client: Elasticsearch, settings: ElasticSettings, *, now: datetime | None = None
) -> list[str]:
    """Delete read-only indices whose newest document was indexed before the retention cut-off."""
    cutoff = (now or utcnow()) - timedelta(days=settings.retention_days)
    deleted: list[str] = []
    for index, is_write in sorted(
        indices_behind(client, alias_name(settings.index_prefix)).items()
    ):
        if is_write:
            continue
        resp = client.search(index=index, size=0, aggs={"newest": {"max": {"field": "indexed_at"}}})
        newest_ms = resp["aggregations"]["newest"]["value"]
        if newest_ms is None or newest_ms < cutoff.timestamp() * 1000:
            client.indices.delete(index=index)
            deleted.append(index)
            log.info(
                "elastic retention: deleted %s (newest doc before %s)", index, cutoff.isoformat()
            )
    return deleted


def drop_layout(client: Elasticsearch, settings: ElasticSettings) -> None:
    """Delete every index behind the alias and the template (tests and `--reset` only)."""
    alias = alias_name(settings.index_prefix)
    if client.indices.exists_alias(name=alias):
        for index in indices_behind(client, alias):
            client.indices.delete(index=index, ignore_unavailable=True)
    client.options(ignore_status=404).indices.delete_index_template(
        name=template_name(settings.index_prefix)
    )
