"""Why a rule matched: the positive terms that hold, with snippets of the article marked **so**.

Runs only for rules that matched, so it may be slower than the matcher: it locates each term
in the original (not normalised) title, summary or text and cuts a snippet around it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from newswatch import Entity
from sinks.alerts import text
from sinks.alerts.document import ArticleView, compile_term
from sinks.alerts.query import TEXT_FIELDS, And, Node, Not, Or, Term


class Highlight(BaseModel):
    """One matched term: where it matched and a snippet of the article around it."""

    model_config = ConfigDict(frozen=True)

    term: str
    field: str
    snippet: str = ""


def true_terms(node: Node, view: ArticleView) -> list[Term]:
    """Terms outside any NOT that hold for the article (all true branches of an OR)."""
    if isinstance(node, Term):
        return [node] if compile_term(node)(view) else []
    if isinstance(node, And | Or):
        return [t for child in node.children for t in true_terms(child, view)]
    if isinstance(node, Not):
        return []
    return []


def highlights(node: Node, view: ArticleView) -> list[Highlight]:
    """Highlights of every matched term, first occurrence per field, in query order."""
    out: list[Highlight] = []
    seen: set[tuple[str, str]] = set()
    for term in true_terms(node, view):
        for found in _term_highlights(term, view):
            if (found.term, found.field) not in seen:
                seen.add((found.term, found.field))
                out.append(found)
    return out


def _term_highlights(term: Term, view: ArticleView) -> list[Highlight]:
    article = view.article
    shown = term.display()
    if term.field == "topic":
        wanted = " ".join(term.parts)
        labels = [
            t
            for t in article.topics
            if term.exists
            or term.wildcard
            or wanted in {text.normalize(t.label).strip(), text.normalize(t.iptc_code).strip()}
        ]
        return [
            Highlight(term=shown, field="topic", snippet=f"{t.label} ({', '.join(t.evidence)})")
            for t in labels[:1]
        ]
    if term.field == "entity":
        names = [
            e
            for e in article.entities
            if (term.label is None or e.label == term.label) and _entity_matches(term, e)
        ]
        return [
            Highlight(term=shown, field=f"entity.{e.label.lower()}", snippet=e.canonical)
            for e in names[:3]
        ]
    if term.field in {"lang", "outlet", "feed"}:
        value = {"lang": article.language, "outlet": article.outlet, "feed": article.feed_url}[
            term.field
        ]
        return [Highlight(term=shown, field=term.field, snippet=value)]
    fields = TEXT_FIELDS if term.field == "default" else (term.field,)
    out: list[Highlight] = []
    for name in fields:
        original = getattr(article, name)
        if name == "text" and original == article.summary:
            continue
        span = None if term.exists else text.locate(original, list(term.parts))
        if span is not None:
            out.append(Highlight(term=shown, field=name, snippet=text.snippet(original, span)))
        elif term.exists and original:
            out.append(Highlight(term=shown, field=name, snippet=original[:140]))
    return out or [Highlight(term=shown, field=term.field)]


def _entity_matches(term: Term, entity: Entity) -> bool:
    names = (text.normalize(entity.canonical), text.normalize(entity.text))
    if term.exists:
        return True
    if term.wildcard:
        regex = text.wildcard_regex(list(term.parts))
        return any(regex.search(n) for n in names)
    return any(term.key in n for n in names)
