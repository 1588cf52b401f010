"""Issue 8: Elasticsearch bulk sizes and retries on /metrics, from a real sink run against a real
node whose client fails one bulk call (the real client wrapped, as the style guide asks)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import ConnectionError as EsConnectionError
from elasticsearch import Elasticsearch
from prometheus_client import REGISTRY

from newswatch import (
    Article,
    ElasticSettings,
    EmbeddedBus,
    EnrichedArticle,
    TopicLabel,
    load_settings,
    topics,
)
from sinks import ElasticStore, sink_runner


class FailingSecondBulkClient(Elasticsearch):
    """The real client; its second bulk call raises a connection error before reaching the node."""

    calls = itertools.count(1)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        if next(self.calls) == 2:
            raise EsConnectionError("injected failure of bulk call 2")
        return super().bulk(*args, **kwargs)


def _article(n: int) -> EnrichedArticle:
    when = datetime(2024, 3, 1, 12, tzinfo=UTC)
    art = Article.create(
        link=f"https://metrics.example/{n}",
        title=f"Story {n}",
        text=f"Body of story {n}.",
        published_at=when,
        fetched_at=when,
        feed_url="https://metrics.example/rss",
    )
    topic = TopicLabel(label="defence", iptc_code="medtop:20000065", score=1.0, evidence=("x",))
    return EnrichedArticle.from_article(art, topics=[topic], entities=[], classifier_version="t")


@pytest.fixture
def store(es_url: str, unique_name: str) -> Iterator[ElasticStore]:
    settings = ElasticSettings(index_prefix=unique_name, bulk_docs=4)
    client = FailingSecondBulkClient(es_url, request_timeout=10)
    made = ElasticStore(es_url, settings, client=client, backoff_s=0.0)
    made.setup()
    yield made
    made.drop()
    made.close()


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_bulk_sizes_and_retries_are_counted(store: ElasticStore, tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    for n in range(10):
        article = _article(n)
        bus.produce(topics.ENRICHED, article.article_id, article.to_bytes())
    bus.flush()
    before = {
        "retries": _value("newswatch_stage_retries_total", stage="sink", kind="bulk-retry"),
        "writes": _value("newswatch_sink_bulk_docs_count", store="elastic"),
        "docs": _value("newswatch_sink_bulk_docs_sum", store="elastic"),
    }
    settings = load_settings(None, data_dir=tmp_path, elastic=store.settings)
    stats = sink_runner(bus, store, settings, group="metrics-sink").run(
        until_idle=True, idle_timeout_s=0.2
    )
    bus.close()
    store.refresh()
    assert stats.consumed == 10 and store.count() == 10
    assert _value("newswatch_stage_retries_total", stage="sink", kind="bulk-retry") == (
        before["retries"] + 1
    )
    assert _value("newswatch_sink_bulk_docs_sum", store="elastic") == before["docs"] + 10
    assert _value("newswatch_sink_bulk_docs_count", store="elastic") == before["writes"] + 3
