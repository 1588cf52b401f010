"""Evaluate many rules per article: one Aho-Corasick pass picks candidates, then their trees run.

Every normalised term of every rule goes into one automaton. For each rule we also choose
*anchors*: terms at least one of which must occur in any article the rule matches (an OR needs
an anchor in every branch; an AND needs them in one branch, the cheapest). A rule is a
candidate when one of its anchors occurs; rules with no possible anchor (only NOT, `*`,
`field:*`, short wildcards) are always candidates. Topic and language anchors are looked up in
dicts, not scanned. `match_naive` evaluates every rule without the prefilter: the reference the
property tests and the benchmark compare against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from newswatch import EnrichedArticle
from sinks.alerts.document import SECTIONS, ArticleView, Predicate, compile_node
from sinks.alerts.query import And, MatchAll, Node, Not, Or, ParsedQuery, Term, iter_terms

Anchor = tuple[str, str]
"""("key", normalised needle) | ("common", needle of a field with few values: outlet, feed) | ("topic", label)."""
_FEW_VALUES = {"outlet", "feed"}

_MIN_WILDCARD_LITERAL = 3


def anchors(node: Node) -> frozenset[Anchor] | None:
    """Anchors of a tree, or None when the tree can match without any of its terms."""
    if isinstance(node, Term):
        return _term_anchor(node)
    if isinstance(node, MatchAll | Not):
        return None
    if isinstance(node, Or):
        branches = [anchors(c) for c in node.children]
        if any(b is None for b in branches):
            return None
        return frozenset().union(*[b for b in branches if b is not None])
    if isinstance(node, And):
        options = [a for a in (anchors(c) for c in node.children) if a is not None]
        return min(options, key=_cost) if options else None
    return None


def _term_anchor(term: Term) -> frozenset[Anchor] | None:
    if term.exists:
        return None
    if term.field == "topic":
        return None if term.wildcard else frozenset({("topic", " ".join(term.parts))})
    if term.field == "lang":
        return None
    key = term.key
    if term.wildcard and len(key.strip()) < _MIN_WILDCARD_LITERAL:
        return None
    return frozenset({("common" if term.field in _FEW_VALUES else "key", key)})


def _cost(options: frozenset[Anchor]) -> float:
    """Guess how often a set of anchors fires: topics and short words often, phrases rarely."""
    total = 0.0
    for kind, value in options:
        total += (
            50.0
            if kind in {"topic", "common"}
            else 1.0 + 20.0 / (len(value) * (value.count(" ") or 1))
        )
    return total


@dataclass(frozen=True)
class CompiledQuery:
    """A parsed query with its predicate and anchors."""

    name: str
    query: ParsedQuery
    predicate: Predicate
    naive: Predicate
    anchors: frozenset[Anchor] | None


def compile_query(name: str, query: ParsedQuery) -> CompiledQuery:
    """Compile one rule's query."""
    root = query.root
    return CompiledQuery(
        name, query, compile_node(root, indexed=True), compile_node(root), anchors(root)
    )


class Matcher:
    """Many compiled queries behind one automaton; `match` returns the indexes of matching ones."""

    def __init__(self, queries: Sequence[CompiledQuery]) -> None:
        self.queries = list(queries)
        self.always: list[int] = []
        self._predicates = [q.predicate for q in self.queries]
        self._by_key: dict[str, list[int]] = defaultdict(list)
        self._by_topic: dict[str, list[int]] = defaultdict(list)
        keys: set[str] = set()
        for index, compiled in enumerate(self.queries):
            keys.update(
                t.key
                for t, _ in iter_terms(compiled.query.root)
                if not t.exists and t.field != "topic"
            )
            if compiled.anchors is None:
                self.always.append(index)
                continue
            for kind, value in compiled.anchors:
                (self._by_topic if kind == "topic" else self._by_key)[value].append(index)
        self._automaton = ahocorasick.Automaton()
        for key in keys:
            if key.strip():
                self._automaton.add_word(key, key)
        if keys:
            self._automaton.make_automaton()
        self._empty = not keys

    def scan(self, view: ArticleView) -> dict[str, set[str]]:
        """Every rule term occurring in each section of the article."""
        hits: dict[str, set[str]] = {}
        for section in SECTIONS:
            found: set[str] = set()
            if not self._empty:
                found.update(key for _, key in self._automaton.iter(view.sections[section]))
            hits[section] = found
        return hits

    def candidates(self, view: ArticleView) -> list[int]:
        """Queries worth evaluating for this article (fills `view.hits`)."""
        view.hits = self.scan(view)
        view.hits_text = view.hits["title"] | view.hits["summary"] | view.hits["text"]
        chosen: set[int] = set(self.always)
        by_key = self._by_key
        for found in view.hits.values():
            for key in found:
                rules = by_key.get(key)
                if rules:
                    chosen.update(rules)
        for topic in view.topics:
            rules = self._by_topic.get(topic)
            if rules:
                chosen.update(rules)
        return sorted(chosen)

    def match(self, article: EnrichedArticle | ArticleView) -> list[int]:
        """Indexes of the queries that match, via the prefilter."""
        view = article if isinstance(article, ArticleView) else ArticleView.of(article)
        predicates = self._predicates
        return [i for i in self.candidates(view) if predicates[i](view)]

    def match_naive(self, article: EnrichedArticle | ArticleView) -> list[int]:
        """Indexes of the queries that match, evaluating every query (the reference)."""
        view = article if isinstance(article, ArticleView) else ArticleView.of(article)
        view.hits = None
        return [i for i, q in enumerate(self.queries) if q.naive(view)]
