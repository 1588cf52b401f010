"""An enriched article seen the way queries look at it, and query trees compiled to predicates.

`ArticleView` holds each searchable field normalised once (see `text.py`). A compiled query is
a plain function `view -> bool`, built in one of two modes. `indexed=True` expects the
automaton prefilter to have run: `view.hits` then holds, per section, every normalised term of
every rule that occurs there, so a plain term is a set lookup. `indexed=False` (the naive
reference) tests the same term as a substring of the normalised field. Both give one answer.
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
    hits_text: set[str] = field(default_factory=set)
    all_text: str = ""

    @classmethod
    def of(cls, article: EnrichedArticle) -> ArticleView:
        body = article.text if article.text != article.summary else ""
        entities = [
            (e.label, text.normalize(e.canonical), text.normalize(e.text)) for e in article.entities
        ]
        sections = {
            "title": text.normalize(article.title),
            "summary": text.normalize(article.summary),
            "text": text.normalize(body),
            "entity": "".join(c + t for _, c, t in entities),
            "outlet": text.normalize(article.outlet),
            "feed": text.normalize(article.feed_url),
        }
        topics = frozenset(
            name
            for t in article.topics
            for name in (text.normalize(t.label).strip(), text.normalize(t.iptc_code).strip())
        )
        all_text = "\x00".join(sections[s] for s in TEXT_FIELDS)
        return cls(
            article,
            sections,
            entities,
            topics,
            text.normalize(article.language).strip(),
            all_text=all_text,
        )


def compile_node(node: Node, indexed: bool = False) -> Predicate:
    """A query tree as a function of the article view (see the module docstring for `indexed`)."""
    if isinstance(node, MatchAll):
        return lambda v: True
    if isinstance(node, Not):
        inner = compile_node(node.child, indexed)
        return lambda v: not inner(v)
    if isinstance(node, And):
        return _all(tuple(compile_node(c, indexed) for c in node.children))
    if isinstance(node, Or):
        return _any(tuple(compile_node(c, indexed) for c in node.children))
    return compile_term(node, indexed)


def _all(parts: tuple[Predicate, ...]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda v: first(v) and second(v)

    def every(v: ArticleView) -> bool:
        for part in parts:
            if not part(v):
                return False
        return True

    return every


def _any(parts: tuple[Predicate, ...]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda v: first(v) or second(v)

    def some(v: ArticleView) -> bool:
        for part in parts:
            if part(v):
                return True
        return False

    return some


def compile_term(term: Term, indexed: bool = False) -> Predicate:
    """One leaf as a predicate."""
    if term.field == "topic":
        return _topic(term)
    if term.field == "lang":
        wanted = " ".join(term.parts)
        return lambda v: v.lang == wanted or v.lang.startswith(wanted + " ")
    if term.field == "entity" and term.label is not None:
        return _labelled_entity(term, indexed)
    sections = TEXT_FIELDS if term.field == "default" else (term.field,)
    if term.exists:
        return lambda v: any(v.sections[s].strip() for s in sections)
    if term.wildcard:
        regex = text.wildcard_regex(list(term.parts))
        if term.field == "entity":
            return lambda v: any(regex.search(c) or regex.search(t) for _, c, t in v.entities)
        if term.field == "default":
            return lambda v: regex.search(v.all_text) is not None
        only = sections[0]
        return lambda v: regex.search(v.sections[only]) is not None
    key = term.key
    if term.field == "default":
        return (lambda v: key in v.hits_text) if indexed else (lambda v: key in v.all_text)
    section = sections[0]
    if indexed:
        return lambda v: key in v.hits[section]  # type: ignore[index]
    return lambda v: key in v.sections[section]


def _topic(term: Term) -> Predicate:
    if term.exists:
        return lambda v: bool(v.topics)
    if term.wildcard:
        regex = text.wildcard_regex(list(term.parts))
        return lambda v: any(regex.fullmatch(f" {t} ") for t in v.topics)
    wanted = " ".join(term.parts)
    return lambda v: wanted in v.topics


def _labelled_entity(term: Term, indexed: bool) -> Predicate:
    label = term.label
    if term.exists:
        return lambda v: any(lab == label for lab, _, _ in v.entities)
    if term.wildcard:
        regex = text.wildcard_regex(list(term.parts))
        return lambda v: any(
            lab == label and (regex.search(c) or regex.search(t)) for lab, c, t in v.entities
        )
    key = term.key

    def labelled(v: ArticleView) -> bool:
        if indexed and key not in v.hits["entity"]:  # type: ignore[index]
            return False
        return any(lab == label and (key in c or key in t) for lab, c, t in v.entities)

    return labelled
