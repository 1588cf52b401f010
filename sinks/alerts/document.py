"""An enriched article seen the way queries look at it, and query trees compiled to predicates.

`ArticleView` holds each searchable field normalised once (see `text.py`). A compiled query is
a plain function `view -> bool`. When the automaton prefilter has run, `view.hits` holds, per
section, every normalised term of every rule that occurs there, so a plain term is a set
lookup; without it (the naive path) the same term is a substring test. Both give one answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from newswatch import EnrichedArticle
from sinks.alerts import text
from sinks.alerts.query import TEXT_FIELDS, And, MatchAll, Node, Not, Or, Term

Predicate = Callable[["ArticleView"], bool]
SECTIONS = (*TEXT_FIELDS, "entity", "outlet", "feed")
"""Sections scanned by the automaton; `default` is title + summary + text."""


@dataclass
class ArticleView:
    """Normalised fields of one article; `hits` is filled by the prefilter, or None (naive)."""

    article: EnrichedArticle
    sections: dict[str, str]
    entities: list[tuple[str, str, str]]
    topics: frozenset[str]
    lang: str
    hits: dict[str, set[str]] | None = field(default=None)

    @classmethod
    def of(cls, article: EnrichedArticle) -> "ArticleView":
        body = article.text if article.text != article.summary else ""
        entities = [(e.label, text.normalize(e.canonical), text.normalize(e.text)) for e in article.entities]
        sections = {
            "title": text.normalize(article.title),
            "summary": text.normalize(article.summary),
            "text": text.normalize(body),
            "entity": "".join(c + t for _, c, t in entities),
            "outlet": text.normalize(article.outlet),
            "feed": text.normalize(article.feed_url),
        }
        topics = frozenset(
            name for t in article.topics for name in (text.normalize(t.label).strip(), text.normalize(t.iptc_code).strip())
        )
        return cls(article, sections, entities, topics, text.normalize(article.language).strip())


def compile_node(node: Node) -> Predicate:
    """A query tree as a function of the article view."""
    if isinstance(node, MatchAll):
        return lambda v: True
    if isinstance(node, Not):
        inner = compile_node(node.child)
        return lambda v: not inner(v)
    if isinstance(node, And):
        parts = tuple(compile_node(c) for c in node.children)
        return lambda v: all(p(v) for p in parts)
    if isinstance(node, Or):
        options = tuple(compile_node(c) for c in node.children)
        return lambda v: any(p(v) for p in options)
    return compile_term(node)


def compile_term(term: Term) -> Predicate:
    """One leaf as a predicate."""
    if term.field == "topic":
        return _topic(term)
    if term.field == "lang":
        wanted = " ".join(term.parts)
        return lambda v: v.lang == wanted or v.lang.startswith(wanted + " ")
    if term.field == "entity" and term.label is not None:
        return _labelled_entity(term)
    sections = TEXT_FIELDS if term.field == "default" else (term.field,)
    if term.exists:
        return lambda v: any(v.sections[s].strip() for s in sections)
    if term.wildcard:
        regex = text.wildcard_regex(list(term.parts))
        if term.field == "entity":
            return lambda v: any(regex.search(c) or regex.search(t) for _, c, t in v.entities)
        return lambda v: any(regex.search(v.sections[s]) for s in sections)
    key = term.key

    def plain(v: ArticleView) -> bool:
        if v.hits is not None:
            return any(key in v.hits[s] for s in sections)
        return any(key in v.sections[s] for s in sections)

    return plain


def _topic(term: Term) -> Predicate:
    if term.exists:
        return lambda v: bool(v.topics)
    if term.wildcard:
        regex = text.wildcard_regex(list(term.parts))
        return lambda v: any(regex.fullmatch(f" {t} ") for t in v.topics)
    wanted = " ".join(term.parts)
    return lambda v: wanted in v.topics


def _labelled_entity(term: Term) -> Predicate:
    label = term.label
    if term.exists:
        return lambda v: any(lab == label for lab, _, _ in v.entities)
    if term.wildcard:
        regex = text.wildcard_regex(list(term.parts))
        return lambda v: any(lab == label and (regex.search(c) or regex.search(t)) for lab, c, t in v.entities)
    key = term.key

    def labelled(v: ArticleView) -> bool:
        if v.hits is not None and key not in v.hits["entity"]:
            return False
        return any(lab == label and (key in c or key in t) for lab, c, t in v.entities)

    return labelled
