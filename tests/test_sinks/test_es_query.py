"""SearchQuery -> Elasticsearch body: pure, no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newswatch import SearchQuery
from sinks.es_query import filter_clauses, hit_from_es, search_body, text_query, text_terms


@pytest.mark.parametrize(
    ("text", "phrases", "words"),
    [
        pytest.param("steel tariffs", [], ["steel", "tariffs"], id="words"),
        pytest.param('"central bank" rates', ["central bank"], ["rates"], id="phrase-and-word"),
        pytest.param("oil AND gas OR not coal", [], ["oil", "gas", "coal"], id="operators-dropped"),
        pytest.param("-steel | (gas*) ~2", [], ["steel", "gas", "2"], id="syntax-stripped"),
        pytest.param('"unclosed phrase', [], ["unclosed", "phrase"], id="unbalanced-quote"),
        pytest.param('""', [], [], id="empty-phrase"),
    ],
)
def test_text_terms(text: str, phrases: list[str], words: list[str]) -> None:
    assert text_terms(text) == (phrases, words)


def test_text_query_ands_words_with_syntax_off_and_title_boosted() -> None:
    q = text_query('"central bank" rates')
    assert q is not None
    sqs = q["simple_query_string"]
    assert sqs["query"] == '"central bank" rates'
    assert sqs["default_operator"] == "and" and sqs["flags"] == "PHRASE|WHITESPACE"
    assert sqs["fields"][0] == "title^10"


def test_text_query_with_nothing_left_is_none() -> None:
    assert text_query("AND OR") is None


def test_filters() -> None:
    since, until = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 5, tzinfo=UTC)
    clauses = filter_clauses(
        SearchQuery(
            topics=("trade", "energy"),
            entities=("russia",),
            outlets=("Wire", "Desk"),
            language="en",
            since=since,
            until=until,
        )
    )
    assert clauses == [
        {"term": {"topics.label": "trade"}},
        {"term": {"topics.label": "energy"}},
        {"term": {"entities.canonical": {"value": "russia", "case_insensitive": True}}},
        {"terms": {"outlet": ["Wire", "Desk"]}},
        {"term": {"language": "en"}},
        {"range": {"published_at": {"gte": since.isoformat(), "lt": until.isoformat()}}},
    ]


def test_no_text_sorts_newest_first() -> None:
    body = search_body(SearchQuery(limit=5))
    assert body["sort"] == [{"published_at": "desc"}, {"article_id": "asc"}]
    assert body["size"] == 5 and "must" not in body["query"]["bool"]
    assert body["collapse"] == {"field": "article_id"}


def test_text_sorts_by_score_then_date() -> None:
    body = search_body(SearchQuery(text="steel"))
    assert body["sort"][0] == "_score"
    assert body["query"]["bool"]["must"][0]["simple_query_string"]["query"] == "steel"


def test_hit_conversion_scores_zero_when_sorted_by_date() -> None:
    hit = hit_from_es(
        {
            "_score": None,
            "_source": {
                "article_id": "a1",
                "title": "T",
                "url": "https://x/1",
                "outlet": "Wire",
                "published_at": "2024-03-01T12:00:00Z",
                "topics": [{"label": "trade"}, {"label": "energy"}],
            },
        }
    )
    assert hit.score == 0.0 and hit.topics == ("trade", "energy")
    assert hit.published_at == datetime(2024, 3, 1, 12, tzinfo=UTC)
