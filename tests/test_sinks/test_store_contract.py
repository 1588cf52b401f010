"""The Store contract on both implementations: EmbeddedStore (SQLite) and ElasticStore (real ES).

Expectations are written out per query, so the two stores are held to the same answers rather
than to each other's quirks. Text queries use exact words: the embedded store stems (porter)
and the test node's `standard` analyzer does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newswatch import ElasticSettings, EmbeddedStore, EnrichedArticle, SearchQuery, Store
from sinks import ElasticStore


def _ids(corpus: list[EnrichedArticle], *numbers: int) -> list[str]:
    return [corpus[n - 1].article_id for n in numbers]


def settle(store: Store) -> None:
    """Make writes visible to search/count where the store is near-real-time."""
    refresh = getattr(store, "refresh", None)
    if refresh is not None:
        refresh()


@pytest.fixture(params=["embedded", pytest.param("elastic", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "embedded":
        embedded = EmbeddedStore(tmp_path / "store.db")
        embedded.setup()
        yield embedded
        embedded.close()
    else:
        yield request.getfixturevalue("es_store")


@pytest.fixture
def loaded(store: Store, corpus: list[EnrichedArticle]) -> Store:
    assert store.write(corpus) == []
    settle(store)
    return store


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("elastic", marks=pytest.mark.integration)]
)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """One loaded store per backend for the read-only queries (an ES index costs ~1 s to create)."""
    corpus = request.getfixturevalue("corpus")
    if request.param == "embedded":
        store: Store = EmbeddedStore(tmp_path_factory.mktemp("contract") / "store.db")
    else:
        store = ElasticStore(
            request.getfixturevalue("es_url"),
            ElasticSettings(index_prefix=f"nw-test-{uuid.uuid4().hex[:8]}"),
        )
    store.setup()
    assert store.write(corpus) == []
    settle(store)
    yield store
    if isinstance(store, ElasticStore):
        store.drop()
    store.close()


def test_count_get_and_topic_counts(loaded: Store, corpus: list[EnrichedArticle]) -> None:
    assert loaded.count() == 7
    assert loaded.get(corpus[4].article_id) == corpus[4]
    assert loaded.get("no-such-id") is None
    assert loaded.topic_counts() == {"trade": 4, "energy": 2, "economy": 2, "defence": 1}


def test_rewrite_is_idempotent_and_last_write_wins(
    loaded: Store, corpus: list[EnrichedArticle]
) -> None:
    changed = corpus[2].model_copy(update={"title": "Tariffs on aluminium imports"})
    assert loaded.write([*corpus, changed]) == []
    settle(loaded)
    assert loaded.count() == 7
    assert loaded.get(changed.article_id) == changed
    assert [h.article_id for h in loaded.search(SearchQuery(text="aluminium"))] == [
        changed.article_id
    ]


FILTER_CASES: list[Any] = [
    pytest.param(SearchQuery(), (7, 6, 5, 4, 3, 2, 1), id="all-newest-first"),
    pytest.param(SearchQuery(limit=2), (7, 6), id="limit"),
    pytest.param(SearchQuery(topics=("trade",)), (7, 5, 3, 1), id="topic"),
    pytest.param(SearchQuery(topics=("trade", "energy")), (7,), id="topics-all-required"),
    pytest.param(SearchQuery(entities=("russia",)), (7, 1), id="entity-case-insensitive"),
    pytest.param(SearchQuery(entities=("Russia", "Gazprom")), (7,), id="entities-all-required"),
    pytest.param(SearchQuery(outlets=("Desk", "Zeitung")), (5, 4, 2), id="outlets-any"),
    pytest.param(SearchQuery(language="de"), (4,), id="language"),
    pytest.param(
        SearchQuery(
            since=datetime(2024, 3, 3, 12, tzinfo=UTC), until=datetime(2024, 3, 5, 12, tzinfo=UTC)
        ),
        (4, 3),
        id="since-inclusive-until-exclusive",
    ),
    pytest.param(
        SearchQuery(topics=("trade",), outlets=("Wire",), since=datetime(2024, 3, 2, tzinfo=UTC)),
        (7, 3),
        id="combined",
    ),
    pytest.param(SearchQuery(topics=("sport",)), (), id="no-match"),
]


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES)
def test_filters_in_date_order(
    shared: Store, corpus: list[EnrichedArticle], query: SearchQuery, expected: tuple[int, ...]
) -> None:
    hits = shared.search(query)
    assert [h.article_id for h in hits] == _ids(corpus, *expected)
    assert all(h.score == 0.0 for h in hits)


TEXT_CASES: list[Any] = [
    pytest.param("steel", {3, 6}, id="title-or-body"),
    pytest.param("Russia", {1, 7}, id="case-insensitive"),
    pytest.param("russia gas", {7}, id="all-words-required"),
    pytest.param('"missile deal"', {1}, id="phrase"),
    pytest.param('"deal missile"', set(), id="phrase-order-matters"),
    pytest.param("Lagarde", {5}, id="entity-name"),
    pytest.param("steel AND imports", {3}, id="operator-words-ignored"),
    pytest.param("-steel", {3, 6}, id="minus-is-not-negation"),
    pytest.param("zeppelin", set(), id="no-match"),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_CASES)
def test_text_search(
    shared: Store, corpus: list[EnrichedArticle], text: str, expected: set[int]
) -> None:
    hits = shared.search(SearchQuery(text=text))
    assert {h.article_id for h in hits} == set(_ids(corpus, *expected))
    assert all(h.score > 0 for h in hits)


def test_title_match_ranks_above_body_match(shared: Store, corpus: list[EnrichedArticle]) -> None:
    hits = shared.search(SearchQuery(text="steel"))
    assert [h.article_id for h in hits] == _ids(corpus, 3, 6)


def test_text_with_filters(shared: Store, corpus: list[EnrichedArticle]) -> None:
    hits = shared.search(SearchQuery(text="Russia", topics=("defence",)))
    assert [h.article_id for h in hits] == _ids(corpus, 1)


def test_hit_fields(shared: Store, corpus: list[EnrichedArticle]) -> None:
    (hit,) = shared.search(SearchQuery(language="de"))
    art = corpus[3]
    assert (hit.title, hit.url, hit.outlet, hit.published_at, hit.topics) == (
        art.title,
        art.url,
        art.outlet,
        art.published_at,
        ("economy",),
    )


def test_empty_store(store: Store) -> None:
    assert store.count() == 0
    assert store.search(SearchQuery()) == []
    assert store.topic_counts() == {}
    assert store.write([]) == []
