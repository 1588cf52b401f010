"""EmbeddedStore: idempotent upserts, FTS search and filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch import Article, EmbeddedStore, EnrichedArticle, Entity, SearchQuery, TopicLabel
from newswatch.embedded_store import fts_match_expression


def _enriched(n: int, title: str, topics: list[str], entities: list[str], outlet: str = "Wire") -> EnrichedArticle:
    art = Article.create(
        link=f"https://example.com/{n}", title=title, summary=f"summary {n}", text=f"{title} body text",
        published_at=datetime(2024, 1, n, tzinfo=UTC), fetched_at=datetime(2024, 1, n, tzinfo=UTC), outlet=outlet,
        language="en",
    )
    return EnrichedArticle.from_article(
        art,
        topics=[TopicLabel(label=t, iptc_code="c", score=1.0) for t in topics],
        entities=[Entity(text=e, label="GPE", canonical=e) for e in entities],
        classifier_version="test",
    )


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    s = EmbeddedStore(tmp_path / "store.db")
    s.setup()
    s.write([
        _enriched(1, "India and Russia sign missile deal", ["defence", "trade"], ["India", "Russia"]),
        _enriched(2, "Oil prices climb", ["energy"], ["Saudi Arabia"], outlet="Desk"),
        _enriched(3, "Tariffs on steel imports", ["trade"], ["United States"]),
    ])
    return s


def test_write_is_idempotent_by_id(store: EmbeddedStore) -> None:
    store.write([_enriched(1, "India and Russia sign missile deal (updated)", ["defence"], ["India"])])
    assert store.count() == 3
    updated = store.get(_enriched(1, "", [], []).article_id)
    assert updated is not None and updated.title.endswith("(updated)")
    assert store.topic_counts() == {"trade": 1, "defence": 1, "energy": 1}


def test_an_id_written_twice_in_one_batch_keeps_the_last_version_everywhere(store: EmbeddedStore) -> None:
    store.write([
        _enriched(4, "Grain corridor reopens", ["trade"], ["Ukraine"]),
        _enriched(4, "Grain corridor closes again", ["defence"], ["Turkey"]),
        _enriched(2, "Oil prices fall", [], ["Norway"], outlet="Desk"),
    ])
    assert store.count() == 4
    assert store.topic_counts() == {"trade": 2, "defence": 2}
    assert [h.title for h in store.search(SearchQuery(text="corridor"))] == ["Grain corridor closes again"]
    assert store.search(SearchQuery(text="reopens")) == [] and store.search(SearchQuery(text="climb")) == []
    assert [h.title for h in store.search(SearchQuery(entities=("Norway",)))] == ["Oil prices fall"]
    assert store.search(SearchQuery(entities=("Saudi Arabia",))) == []


def test_full_text_search_ranks_title_hits(store: EmbeddedStore) -> None:
    hits = store.search(SearchQuery(text="missile"))
    assert [h.title for h in hits] == ["India and Russia sign missile deal"]
    assert hits[0].topics == ("defence", "trade")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(SearchQuery(topics=("trade",)), [3, 1], id="topic-newest-first"),
        pytest.param(SearchQuery(entities=("russia",)), [1], id="entity-case-insensitive"),
        pytest.param(SearchQuery(outlets=("Desk",)), [2], id="outlet"),
        pytest.param(SearchQuery(since=datetime(2024, 1, 2, tzinfo=UTC)), [3, 2], id="since"),
        pytest.param(SearchQuery(text="oil OR steel"), [], id="words-are-anded"),
        pytest.param(SearchQuery(text='"steel imports"', topics=("trade",)), [3], id="phrase-and-filter"),
        pytest.param(SearchQuery(limit=1), [3], id="limit"),
    ],
)
def test_filters(store: EmbeddedStore, query: SearchQuery, expected: list[int]) -> None:
    ids = {_enriched(n, "", [], []).article_id: n for n in (1, 2, 3)}
    assert [ids[h.article_id] for h in store.search(query)] == expected


@pytest.mark.parametrize("text", ['"', "AND", "NEAR(", "x*", "a' OR 1=1 --", "^foo:bar"])
def test_hostile_query_text_never_raises(store: EmbeddedStore, text: str) -> None:
    assert isinstance(store.search(SearchQuery(text=text)), list)
    expression = fts_match_expression(text)
    assert expression.count('"') % 2 == 0  # every term is a closed, quoted FTS5 string


def test_persistence_across_reopen(store: EmbeddedStore, tmp_path: Path) -> None:
    store.close()
    again = EmbeddedStore(tmp_path / "store.db")
    again.setup()
    assert again.count() == 3


def test_version_1_file_is_migrated_and_stays_searchable(tmp_path: Path) -> None:
    """Files written before the FTS rows shared the articles' rowid are re-indexed on setup."""
    import sqlite3

    path = tmp_path / "old.db"
    art = _enriched(1, "India and Russia sign missile deal", ["defence"], ["India"])
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE articles (article_id TEXT PRIMARY KEY, url TEXT, title TEXT, outlet TEXT, language TEXT,"
            " published_at TEXT NOT NULL, doc TEXT NOT NULL);"
            "CREATE VIRTUAL TABLE articles_fts USING fts5(article_id UNINDEXED, title, summary, text, entities);"
        )
        conn.execute("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (art.article_id, art.url, art.title, art.outlet, "en", art.published_at.isoformat(), art.model_dump_json()))
    store = EmbeddedStore(path)
    store.setup()
    assert [h.article_id for h in store.search(SearchQuery(text="missile"))] == [art.article_id]
    store.write([art])  # an upsert after migration replaces, never duplicates
    assert store.count() == 1 and len(store.search(SearchQuery(text="missile"))) == 1
    store.close()
