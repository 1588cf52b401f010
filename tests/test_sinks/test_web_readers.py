"""The live view's readers agree on both stores: the embedded SQLite file and real Elasticsearch.

`corpus`, `make_article` and `es_store` come from tests/test_sinks/conftest.py; the Elasticsearch
cases use the session's real node (marked integration automatically).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newswatch import EmbeddedStore, EnrichedArticle
from sinks import ElasticStore
from sinks.alerts import parse_query, resolve_entities
from sinks.web import StoreReader, reader_for
from tests.test_sinks.conftest import make_article

Loaded = tuple[StoreReader, Callable[[list[EnrichedArticle]], None]]


@pytest.fixture(params=["embedded", "elastic"])
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Loaded]:
    """(reader, write) over an empty store of each kind; `write` makes articles visible at once."""
    if request.param == "embedded":
        embedded = EmbeddedStore(tmp_path / "store.db")
        embedded.setup()
        yield reader_for(embedded), lambda arts: (embedded.write(arts), None)[1]
        embedded.close()
        return
    store: ElasticStore = request.getfixturevalue("es_store")

    def write(arts: list[EnrichedArticle]) -> None:
        assert store.write(arts) == []
        store.refresh()

    yield reader_for(store), write


def test_stream_pages_through_new_articles_in_order(loaded: Loaded, corpus: list[EnrichedArticle]) -> None:
    reader, write = loaded
    write(corpus[:2])
    start = reader.recent(10)
    assert [a.title for a in start.articles][-2:] != [] and len(start.articles) == 2
    write(corpus[2:])  # one batch: on Elasticsearch every document shares one indexed_at
    seen: list[str] = []
    cursor = start.cursor
    for _ in range(10):
        page = reader.indexed_after(cursor, 2)
        if not page.articles:
            break
        seen += [a.article_id for a in page.articles]
        cursor = page.cursor
    assert sorted(seen) == sorted(a.article_id for a in corpus[2:])
    assert reader.indexed_after(cursor, 10).articles == []


def test_empty_cursor_means_from_now(loaded: Loaded, corpus: list[EnrichedArticle]) -> None:
    reader, write = loaded
    write(corpus[:3])
    first = reader.indexed_after("", 10)
    assert first.articles == []
    write(corpus[3:4])
    assert [a.title for a in reader.indexed_after(first.cursor, 10).articles] == [corpus[3].title]


def test_topic_volume_ends_at_the_newest_article(loaded: Loaded, corpus: list[EnrichedArticle]) -> None:
    reader, write = loaded
    write(corpus)
    volume = reader.topic_volume("day", 7)
    assert [b["start"][:10] for b in volume["buckets"]] == [f"2024-03-0{d}" for d in range(1, 8)]
    by_day = {b["start"][:10]: b for b in volume["buckets"]}
    assert by_day["2024-03-01"]["counts"] == {"defence": 1, "trade": 1}
    assert by_day["2024-03-06"] == {"start": "2024-03-06T00:00:00+00:00", "total": 1, "counts": {}}
    assert sum(b["counts"].get("trade", 0) for b in volume["buckets"]) == 4


def test_top_entities_count_articles_per_type(loaded: Loaded, corpus: list[EnrichedArticle]) -> None:
    reader, write = loaded
    write(corpus)
    top = reader.top_entities(3)
    assert top["gpe"][0] == {"name": "Russia", "count": 2}
    assert top["person"] == [{"name": "Christine Lagarde", "count": 1}]
    assert {row["name"] for row in top["org"]} == {"European Central Bank", "Gazprom", "OPEC"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("topic:trade AND entity.gpe:Russia", [7, 1], id="topic-and-entity"),
        pytest.param('"central bank" OR outlet:zeitung', [5, 4], id="phrase-or-outlet"),
        pytest.param("steel NOT topic:trade", [6], id="not"),
        pytest.param("lang:de", [4], id="language"),
    ],
)
def test_search_uses_the_alert_syntax_on_both_stores(
    loaded: Loaded, corpus: list[EnrichedArticle], query: str, expected: list[int]
) -> None:
    reader, write = loaded
    write(corpus)
    result = reader.search(parse_query(query), 10)
    assert [a.url for a in result.articles] == [f"https://example.com/{n}" for n in expected]


def test_rows_carry_entities_by_type(loaded: Loaded) -> None:
    reader, write = loaded
    write([make_article(9, "Modi meets Putin", topics=("defence",),
                        entities=(("PERSON", "Narendra Modi"), ("PERSON", "Vladimir Putin"), ("GPE", "India")))])
    row = reader.recent(1).articles[0].to_json()
    assert row["entities"] == {"person": ["Narendra Modi", "Vladimir Putin"], "org": [], "gpe": ["India"]}
    assert row["topics"] == ["defence"] and row["published_at"] == "2024-03-09T12:00:00+00:00"


def test_a_resolved_entity_search_finds_every_name_on_both_stores(loaded: Loaded) -> None:
    """What the page's search sends when the CLI passes a resolver: `entity:EU` widened to
    "European Union" (sinks/web/app.py), answered alike by the matcher and by Elasticsearch."""
    reader, write = loaded
    write([
        make_article(1, "Brussels summit", entities=(("ORG", "European Union"),)),
        make_article(2, "Old record", entities=(("ORG", "EU"),)),
        make_article(3, "Unrelated", entities=(("GPE", "United States"),)),
    ])
    names = {"EU": ("EU", "European Union")}
    query = resolve_entities(parse_query("entity.org:EU"), lambda name, _label: names.get(name, (name,)))
    result = reader.search(query, 10)
    assert [a.url for a in result.articles] == ["https://example.com/2", "https://example.com/1"]
    assert [a.url for a in reader.search(parse_query("entity.org:EU"), 10).articles] == ["https://example.com/2"]
