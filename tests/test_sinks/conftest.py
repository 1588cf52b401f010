"""Fixtures for the sink tests: a shared article set and an ElasticStore on a uniquely named alias.

`es_url` and `unique_name` come from tests/servers.py (real Elasticsearch, started once per run).
Every ElasticStore made here gets its own index prefix and is dropped (indices + template) after.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch import Elasticsearch

from newswatch import Article, ElasticSettings, EnrichedArticle, Entity, TopicLabel
from sinks import ElasticStore


def make_article(
    n: int,
    title: str,
    *,
    topics: tuple[str, ...] = (),
    entities: tuple[tuple[str, str], ...] = (),
    outlet: str = "Wire",
    language: str = "en",
    text: str = "",
    day: int | None = None,
) -> EnrichedArticle:
    """An enriched article with id from https://example.com/<n>, published on 2024-03-<day or n>."""
    when = datetime(2024, 3, day or n, 12, 0, tzinfo=UTC)
    art = Article.create(
        link=f"https://example.com/{n}",
        title=title,
        summary=f"Summary of story {n}.",
        text=text or f"{title}. Body of story {n}.",
        published_at=when,
        fetched_at=when,
        outlet=outlet,
        language=language,
        feed_url="https://example.com/feed.xml",
    )
    return EnrichedArticle.from_article(
        art,
        topics=[
            TopicLabel(
                label=t, iptc_code=f"iptc-{t}", iptc_name=t.title(), score=0.75, evidence=(t,)
            )
            for t in topics
        ],
        entities=[Entity(text=name, label=label, canonical=name) for label, name in entities],
        classifier_version="keywords.v1",
    )


@pytest.fixture(scope="session")
def corpus() -> list[EnrichedArticle]:
    """Seven frozen articles: three outlets, two languages, overlapping topics and entities."""
    return [
        make_article(
            1,
            "India and Russia sign missile deal",
            topics=("defence", "trade"),
            entities=(("GPE", "India"), ("GPE", "Russia")),
        ),
        make_article(
            2,
            "Oil prices climb after OPEC cut",
            topics=("energy",),
            entities=(("ORG", "OPEC"), ("GPE", "Saudi Arabia")),
            outlet="Desk",
        ),
        make_article(
            3, "Tariffs on steel imports", topics=("trade",), entities=(("GPE", "United States"),)
        ),
        make_article(
            4,
            "Regierung plant neue Steuer",
            topics=("economy",),
            entities=(("GPE", "Berlin"),),
            outlet="Zeitung",
            language="de",
        ),
        make_article(
            5,
            "Central bank holds rates",
            topics=("economy", "trade"),
            entities=(("ORG", "European Central Bank"), ("PERSON", "Christine Lagarde")),
            outlet="Desk",
        ),
        make_article(
            6, "Weather report", text="Sunny with a mention of steel bridges in the body."
        ),
        make_article(
            7,
            "Russia expands gas exports",
            topics=("energy", "trade"),
            entities=(("GPE", "Russia"), ("ORG", "Gazprom")),
        ),
    ]


@pytest.fixture
def es_store_factory(es_url: str, unique_name: str) -> Iterator[Callable[..., ElasticStore]]:
    """Make ElasticStores on this test's unique prefix (suffixable); all are dropped afterwards."""
    made: list[ElasticStore] = []

    def make(suffix: str = "", **kwargs: object) -> ElasticStore:
        settings = ElasticSettings(
            index_prefix=f"{unique_name}{suffix}", bulk_docs=kwargs.pop("bulk_docs", 500)
        )  # type: ignore[arg-type]
        store = ElasticStore(es_url, settings, **kwargs)  # type: ignore[arg-type]
        made.append(store)
        return store

    yield make
    for store in made:
        cleaner = ElasticStore(es_url, store.settings)
        cleaner.drop()
        cleaner.close()
        store.close()


@pytest.fixture
def es_store(es_store_factory: Callable[..., ElasticStore]) -> ElasticStore:
    """A set-up ElasticStore with zero back-off, on a fresh alias."""
    store = es_store_factory(backoff_s=0.0, max_backoff_s=0.01)
    store.setup()
    return store


def _failing_bulk_client(url: str, fail_calls: Collection[int]) -> tuple[Elasticsearch, list[int]]:
    """The real client, but bulk calls numbered in `fail_calls` (1-based) raise ConnectionError.

    `streaming_bulk` re-creates the client through `options()`, so the counter lives in the closure.
    """
    counter = itertools.count(1)
    seen: list[int] = []

    class FailingBulkClient(Elasticsearch):
        def bulk(self, *args: Any, **kwargs: Any) -> Any:
            call = next(counter)
            seen.append(call)
            if call in fail_calls:
                raise EsConnectionError(f"injected failure of bulk call {call}")
            return super().bulk(*args, **kwargs)

    return FailingBulkClient(url, request_timeout=10), seen


@pytest.fixture
def failing_bulk_client() -> Callable[[str, Collection[int]], tuple[Elasticsearch, list[int]]]:
    """Factory: (url, bulk call numbers to fail) -> (client, list of bulk call numbers seen)."""
    return _failing_bulk_client
