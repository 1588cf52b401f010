"""SearchQuery -> Elasticsearch request body, and hits back to SearchHit. Pure, no I/O.

Semantics follow the embedded store so `newswatch search` answers alike on either backend:
every word must occur (in title, summary, text or an entity name), quoted phrases match as
phrases, the words AND/OR/NOT are ignored rather than parsed, and ranking weighs the title
most. Filters: every topic and every entity must be present (entity names case-insensitive; an
entity filter may be a group of names, any one of which is enough),
any one outlet may match, `since` is inclusive and `until` exclusive. Without text, newest first.
"""

from __future__ import annotations

import re
from typing import Any

from newswatch import SearchHit, SearchQuery

TEXT_FIELDS: tuple[str, ...] = ("title^10", "summary^4", "text", "entities.canonical.text^2")
"""Same relative weights as the embedded store's bm25 column weights."""

HIT_SOURCE: tuple[str, ...] = (
    "article_id",
    "title",
    "url",
    "outlet",
    "published_at",
    "topics.label",
)
"""The only fields a search result needs; the article body stays on the server."""

_PHRASE = re.compile(r'"([^"]+)"')
_WORD = re.compile(r"[\w][\w'\-]*", re.UNICODE)
_OPERATORS = frozenset({"AND", "OR", "NOT"})


def text_terms(text: str) -> tuple[list[str], list[str]]:
    """Split user text into quoted phrases and loose words, dropping operators, as embedded does."""
    phrases = [p.strip() for p in _PHRASE.findall(text) if p.strip()]
    rest = re.sub(r'"[^"]*"', " ", text)
    words = [w for w in _WORD.findall(rest) if w.upper() not in _OPERATORS]
    return phrases, words


def text_query(text: str) -> dict[str, Any] | None:
    """A `simple_query_string` that ANDs every word and phrase; None when nothing is left to match.

    Only the PHRASE and WHITESPACE flags are on, and the string is rebuilt from sanitised words,
    so user input can never be read as operators (`-`, `|`, `*`, `~`, parentheses).
    """
    phrases, words = text_terms(text)
    parts = [f'"{p}"' for p in phrases] + words
    if not parts:
        return None
    return {
        "simple_query_string": {
            "query": " ".join(parts),
            "fields": list(TEXT_FIELDS),
            "default_operator": "and",
            "flags": "PHRASE|WHITESPACE",
        }
    }


def filter_clauses(query: SearchQuery) -> list[dict[str, Any]]:
    """The non-scoring part: topics, entities, outlets, language and the published_at window."""
    filters: list[dict[str, Any]] = [{"term": {"topics.label": topic}} for topic in query.topics]
    filters += [_any_entity(names) for names in query.entity_groups]
    if query.outlets:
        filters.append({"terms": {"outlet": list(query.outlets)}})
    if query.language:
        filters.append({"term": {"language": query.language}})
    window: dict[str, str] = {}
    if query.since:
        window["gte"] = query.since.isoformat()
    if query.until:
        window["lt"] = query.until.isoformat()
    if window:
        filters.append({"range": {"published_at": window}})
    return filters


def _any_entity(names: tuple[str, ...]) -> dict[str, Any]:
    """One entity filter: any of its names (a name as typed or what it resolves to), ignoring case."""
    terms = [
        {"term": {"entities.canonical": {"value": name, "case_insensitive": True}}} for name in names
    ]
    return terms[0] if len(terms) == 1 else {"bool": {"should": terms, "minimum_should_match": 1}}


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The full `_search` body: bool query, sort, size, source filter and collapse on article_id.

    Collapsing keeps one hit per article when a rollover left an older copy in a previous index.
    """
    must = text_query(query.text) if query.text else None
    bool_query: dict[str, Any] = {"filter": filter_clauses(query)}
    if must is not None:
        bool_query["must"] = [must]
        sort: list[Any] = ["_score", {"published_at": "desc"}, {"article_id": "asc"}]
    else:
        sort = [{"published_at": "desc"}, {"article_id": "asc"}]
    return {
        "query": {"bool": bool_query},
        "sort": sort,
        "size": query.limit,
        "_source": list(HIT_SOURCE),
        "collapse": {"field": "article_id"},
        "track_total_hits": False,
    }


def hit_from_es(hit: dict[str, Any]) -> SearchHit:
    """One `hits.hits[]` entry -> SearchHit; score is 0.0 when the results are sorted by date."""
    src = hit["_source"]
    return SearchHit(
        article_id=src["article_id"],
        title=src.get("title", ""),
        url=src.get("url", ""),
        outlet=src.get("outlet", ""),
        published_at=src["published_at"],
        topics=tuple(t["label"] for t in src.get("topics", [])),
        score=float(hit.get("_score") or 0.0),
    )
