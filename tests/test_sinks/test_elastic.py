"""ElasticStore on a real node: layout, rejections, retries, outages, rollover, retention."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Collection
from datetime import timedelta

import pytest
from elasticsearch import Elasticsearch
from pydantic import ValidationError

from newswatch import (
    ConfigError,
    ElasticSettings,
    EnrichedArticle,
    Entity,
    SearchQuery,
    SinkUnavailableError,
    utcnow,
)
from sinks import ElasticStore, alias_name, build_template, es_admin
from sinks.es_template import first_index_name, template_name

pytestmark = pytest.mark.integration

StoreFactory = Callable[..., ElasticStore]
FailingClientFactory = Callable[[str, Collection[int]], tuple[Elasticsearch, list[int]]]


def unmappable(article: EnrichedArticle, n: int) -> EnrichedArticle:
    """A copy with a new id and an entity count beyond the mapping's integer: a rejection."""
    return article.model_copy(
        update={
            "article_id": f"reject-{n}",
            "entities": (Entity(text="x", label="ORG", canonical="x", count=2**40),),
        }
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_setup_is_idempotent_and_builds_template_alias_and_index(es_store: ElasticStore) -> None:
    es_store.setup()
    es_store.setup()
    prefix = es_store.settings.index_prefix
    client = es_store.client
    (template,) = client.indices.get_index_template(name=template_name(prefix))["index_templates"]
    assert template["index_template"]["version"] == 1
    assert (
        template["index_template"]["template"]["mappings"]
        == build_template(es_store.settings)["template"]["mappings"]
    )
    aliases = client.indices.get_alias(name=alias_name(prefix)).body
    assert aliases == {
        first_index_name(prefix): {"aliases": {alias_name(prefix): {"is_write_index": True}}}
    }
    settings = client.indices.get_settings(index=first_index_name(prefix))[
        first_index_name(prefix)
    ]["settings"]
    assert settings["index"]["number_of_replicas"] == "0"
    assert es_store.health() in {"green", "yellow"}


def test_mapping_rejection_is_returned_and_the_rest_indexed(
    es_store: ElasticStore, corpus: list[EnrichedArticle]
) -> None:
    bad = unmappable(corpus[0], 1)
    rejections = es_store.write([*corpus, bad])
    assert [r.article_id for r in rejections] == ["reject-1"]
    assert "entities.count" in rejections[0].reason and rejections[0].reason.startswith("400 ")
    es_store.refresh()
    assert es_store.count() == len(corpus)
    assert es_store.get("reject-1") is None


def test_strict_mapping_rejects_unknown_fields(
    es_store: ElasticStore, corpus: list[EnrichedArticle]
) -> None:
    with pytest.raises(Exception, match="strict_dynamic_mapping_exception"):
        es_store.client.index(
            index=es_store.alias, id="x", document={"article_id": "x", "surprise": 1}
        )


def test_missing_alias_is_unavailable_not_a_rejection(
    es_store_factory: StoreFactory, corpus: list[EnrichedArticle]
) -> None:
    store = es_store_factory(backoff_s=0.0, max_backoff_s=0.01)
    with pytest.raises(SinkUnavailableError, match="setup"):
        store.write(corpus[:2])
    with pytest.raises(ConfigError, match="does not exist"):
        store.count()
    assert not store.client.indices.exists(index=store.alias), (
        "require_alias must stop auto-creation"
    )


def test_unreachable_cluster_raises_after_bounded_retries(corpus: list[EnrichedArticle]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    store = ElasticStore(
        url,
        ElasticSettings(index_prefix="nw-unreachable"),
        max_attempts=3,
        backoff_s=0.0,
        max_backoff_s=0.05,
    )
    started = time.monotonic()
    with pytest.raises(SinkUnavailableError) as info:
        store.write(corpus)
    assert time.monotonic() - started < 10
    assert url in str(info.value) and "after 3 attempts" in str(info.value)
    assert info.value.retry_after == 0.05
    with pytest.raises(SinkUnavailableError, match="unreachable"):
        store.setup()
    store.close()


def test_connection_error_on_a_bulk_call_is_retried_in_place(
    es_url: str,
    es_store_factory: StoreFactory,
    failing_bulk_client: FailingClientFactory,
    corpus: list[EnrichedArticle],
) -> None:
    client, calls = failing_bulk_client(es_url, fail_calls={2})
    store = es_store_factory(client=client, backoff_s=0.0, bulk_docs=3)
    store.setup()
    assert store.write(corpus) == []
    store.refresh()
    assert store.count() == len(corpus)
    assert calls == [1, 2, 3, 4], (
        "chunks of 3: call 1 ok, call 2 fails, the 4 unconfirmed docs are re-sent"
    )


def test_rollover_keeps_reads_whole_and_retention_drops_old_indices(
    es_store: ElasticStore, corpus: list[EnrichedArticle]
) -> None:
    es_store.write(corpus[:4])
    assert es_store.rollover(max_docs=1_000_000).rolled_over is False
    result = es_store.rollover()
    assert result.rolled_over and result.new_index.endswith("-000002")
    es_store.write(corpus[4:])
    es_store.refresh()
    assert es_store.count() == len(corpus)
    assert es_store.get(corpus[0].article_id) == corpus[0]
    assert es_store.get(corpus[6].article_id) == corpus[6]
    assert es_store.delete_expired() == [], "nothing is older than retention_days yet"

    later = utcnow() + timedelta(days=es_store.settings.retention_days + 1)
    assert es_admin.delete_expired(es_store.client, es_store.settings, now=later) == [
        result.old_index
    ]
    es_store.refresh()
    assert es_store.count() == len(corpus) - 4, "the write index is never deleted"


def test_rewrite_after_rollover_shows_once_in_search(
    es_store: ElasticStore, corpus: list[EnrichedArticle]
) -> None:
    es_store.write(corpus)
    es_store.rollover()
    changed = corpus[0].model_copy(update={"title": "India and Russia sign missile deal, update"})
    es_store.write([changed])
    es_store.refresh()
    hits = es_store.search(SearchQuery(text="missile"))
    assert len(hits) == 1, "collapse on article_id hides the copy left in the old index"
    assert es_store.get(changed.article_id) == changed, "get returns the newest copy"


def _refresh_interval(store: ElasticStore, index: str) -> str:
    found = store.client.indices.get_settings(index=index, name="index.refresh_interval")
    return str(found[index]["settings"]["index"]["refresh_interval"])


def test_refresh_interval_reaches_the_live_write_index_and_later_ones(
    es_store_factory: Callable[..., ElasticStore],
) -> None:
    """Issue 3, latency: `elastic.refresh_interval` bounds how soon an indexed article is
    searchable. A changed value applies at the next start to the index being written, and the
    template carries it to indices created by rollover."""
    first = es_store_factory()
    first.setup()
    index = first_index_name(first.settings.index_prefix)
    assert _refresh_interval(first, index) == "500ms"

    restarted = ElasticStore(
        first.url, first.settings.model_copy(update={"refresh_interval": "250ms"})
    )
    restarted.setup()
    assert _refresh_interval(restarted, index) == "250ms"
    new_index = restarted.rollover().new_index
    assert _refresh_interval(restarted, new_index) == "250ms"
    restarted.close()


@pytest.mark.parametrize("value", ["1s", "500ms", "2m", "1h", "-1"])
def test_refresh_interval_accepts_elasticsearch_time_values(value: str) -> None:
    assert ElasticSettings(refresh_interval=value).refresh_interval == value


@pytest.mark.parametrize("value", ["fast", "0", "1 s", "2d"])
def test_refresh_interval_refuses_what_elasticsearch_would(value: str) -> None:
    with pytest.raises(ValidationError, match="refresh_interval"):
        ElasticSettings(refresh_interval=value)
