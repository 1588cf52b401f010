"""Entity filters that take resolved names: search groups (both stores) and alert rules' `entity:`
terms widened at load. The sinks get only names and a resolver callable, as the CLI wiring passes
them (the gazetteer resolution itself: tests/test_newswatch/test_entity_names.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from newswatch import EmbeddedStore, EnrichedArticle, SearchQuery, Store
from sinks.alerts import (
    ArticleView,
    Matcher,
    build_engine,
    compile_query,
    load_rules,
    parse_query,
    resolve_entities,
    to_elasticsearch,
)
from sinks.alerts.highlight import highlights
from sinks.alerts.query import Or, Term
from sinks.es_query import filter_clauses
from tests.test_sinks.conftest import make_article

RESOLVED = {
    "NBA": ("NBA", "National Basketball Association"),
    "EU": ("EU", "European Union"),
    "US": ("US", "United States"),
}
calls: list[tuple[str, str | None]] = []


def resolve(name: str, label: str | None) -> Sequence[str]:
    calls.append((name, label))
    return RESOLVED.get(name, (name,))


def _articles() -> list[EnrichedArticle]:
    return [
        make_article(1, "Finals tonight", entities=(("ORG", "National Basketball Association"),)),
        make_article(2, "Old record", entities=(("ORG", "NBA"),)),  # enriched before full names
        make_article(3, "Brussels summit", entities=(("ORG", "European Union"),)),
        make_article(4, "Tariffs", entities=(("GPE", "United States"), ("ORG", "European Union"))),
        make_article(5, "Unrelated", entities=(("PERSON", "Vladimir Putin"),)),
    ]


@pytest.fixture(params=["embedded", pytest.param("elastic", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "embedded":
        made: Store = EmbeddedStore(tmp_path / "store.db")
        made.setup()
    else:
        made = request.getfixturevalue("es_store")
    assert made.write(_articles()) == []
    refresh = getattr(made, "refresh", None)
    if refresh is not None:
        refresh()
    yield made
    if request.param == "embedded":
        made.close()


def _found(store: Store, *entities: str | tuple[str, ...]) -> list[int]:
    hits = store.search(SearchQuery(entities=entities))
    return sorted(int(h.url.rsplit("/", 1)[1]) for h in hits)


def test_a_group_matches_any_of_its_names_ignoring_case(store: Store) -> None:
    assert _found(store, ("NBA", "National Basketball Association")) == [1, 2]
    assert _found(store, ("nba", "national basketball association")) == [1, 2]
    assert _found(store, ("EU", "European Union")) == [3, 4]


def test_every_group_and_plain_name_is_still_required(store: Store) -> None:
    assert _found(store, ("EU", "European Union"), ("US", "United States")) == [4]
    assert _found(store, ("EU", "European Union"), "United States") == [4]
    assert _found(store, "NBA") == [2]  # a plain name: that name only, as before
    assert _found(store, ("Nobody", "No One")) == []


def test_search_query_groups() -> None:
    query = SearchQuery(entities=("Vladimir Putin", ("EU", "European Union"), ""))
    assert query.entity_groups == (("Vladimir Putin",), ("EU", "European Union"))


def test_es_filter_for_a_group_is_one_should_clause() -> None:
    clauses = filter_clauses(SearchQuery(entities=("Putin", ("EU", "European Union"))))
    assert clauses[0] == {"term": {"entities.canonical": {"value": "Putin", "case_insensitive": True}}}
    assert clauses[1] == {
        "bool": {
            "should": [
                {"term": {"entities.canonical": {"value": "EU", "case_insensitive": True}}},
                {"term": {"entities.canonical": {"value": "European Union", "case_insensitive": True}}},
            ],
            "minimum_should_match": 1,
        }
    }


def test_entity_terms_are_widened_and_others_left_alone() -> None:
    calls.clear()
    parsed = resolve_entities(
        parse_query('entity:"EU" AND entity.org:NBA AND EU AND topic:trade AND entity:Vlad* AND NOT entity:US'),
        resolve,
    )
    assert parsed.entity_names == {
        "EU": ("European Union",),
        "NBA": ("National Basketball Association",),
        "US": ("United States",),
    }
    assert calls == [("EU", None), ("NBA", "ORG"), ("US", None)]  # no wildcard, no default field
    first = parsed.root.children[0]  # type: ignore[union-attr]
    assert isinstance(first, Or)
    assert [t.display() for t in first.children if isinstance(t, Term)] == [
        'entity:"EU"',
        'entity:"European Union"',
    ]
    labelled = parsed.root.children[1]  # type: ignore[union-attr]
    assert isinstance(labelled, Or)
    assert all(isinstance(t, Term) and t.label == "ORG" for t in labelled.children)
    assert isinstance(parsed.root.children[2], Term)  # type: ignore[union-attr]
    unchanged = resolve_entities(parse_query('entity:"Vladimir Putin"'), resolve)
    assert unchanged.root == parse_query('entity:"Vladimir Putin"').root
    assert unchanged.entity_names == {}


def test_a_resolved_rule_matches_the_canonical_and_the_typed_name() -> None:
    articles = _articles()
    plain = parse_query('entity:"NBA"')
    wide = resolve_entities(plain, resolve)
    for query, expected in ((plain, [2]), (wide, [1, 2])):
        matcher = Matcher([compile_query("r", query)])
        assert [n for n, a in enumerate(articles, 1) if matcher.match(a)] == expected
        assert [n for n, a in enumerate(articles, 1) if matcher.match_naive(a)] == expected
    found = highlights(wide.root, ArticleView.of(articles[0]))
    assert [h.term for h in found] == ['entity:"National Basketball Association"']
    body = to_elasticsearch(wide)
    assert body["bool"]["minimum_should_match"] == 1
    assert body["bool"]["should"][1] == {
        "match_phrase": {"entities.canonical.text": "national basketball association"}
    }


RULES = """
rules:
  - name: eu
    query: 'entity:"EU"'
  - name: putin
    query: 'entity:"Vladimir Putin"'
"""


def test_rules_file_and_engine_resolve_at_load_and_on_reload(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES, encoding="utf-8")
    assert [r.compiled.query.entity_names for r in load_rules(path, resolve=resolve).rules] == [
        {"EU": ("European Union",)},
        {},
    ]
    assert load_rules(path).rules[0].compiled.query.entity_names == {}  # no resolver: as written
    engine = build_engine(path, ":memory:", env={}, resolve=resolve)
    try:
        articles = _articles()
        assert [r.rule for r in engine.evaluate(articles[2])] == ["eu"]
        path.write_text(RULES.replace('"EU"', '"US"'), encoding="utf-8")
        os.utime(path, ns=(1, 1))  # a different mtime than the first load's, whatever the clock
        assert engine.reload_if_changed()
        assert [r.rule for r in engine.evaluate(articles[3])] == ["eu"]  # now entity:"US"
        assert engine.evaluate(articles[2]) == []
    finally:
        engine.close()
