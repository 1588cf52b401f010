"""An alert query as an Elasticsearch query body, so a dashboard or backtest can show its matches.

Field names follow the article index mapping (`title`/`summary`/`text` analysed text,
`topics.label`, `entities.canonical.text`, flat keyword arrays `entities_<label>`, `outlet`,
`language`, `feed_url`). The analysed fields give word-boundary, case-insensitive matching like
the stream matcher; keyword fields are matched with case-insensitive whole-value or
space-bounded wildcards, which is the same rule. Accent folding depends on the index analyzer.
"""

from __future__ import annotations

from typing import Any

from sinks.alerts.query import TEXT_FIELDS, And, MatchAll, Node, Not, Or, ParsedQuery, Term

_ENTITY_FIELDS = {
    "PERSON": "entities_person",
    "ORG": "entities_org",
    "GPE": "entities_gpe",
    "LOC": "entities_loc",
    "NORP": "entities_norp",
    "EVENT": "entities_event",
}
_OTHER_ENTITIES = "entities_other"


def to_elasticsearch(query: ParsedQuery) -> dict[str, Any]:
    """The `query` part of a search body, e.g. {"bool": {"must": [...]}}."""
    return _node(query.root)


def _node(node: Node) -> dict[str, Any]:
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, And):
        return {"bool": {"must": [_node(c) for c in node.children]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_node(c) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [_node(node.child)]}}
    return _term(node)


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return (
        clauses[0]
        if len(clauses) == 1
        else {"bool": {"should": clauses, "minimum_should_match": 1}}
    )


def _text(fields: tuple[str, ...], term: Term) -> dict[str, Any]:
    if term.exists:
        return _any([{"exists": {"field": f}} for f in fields])
    if term.wildcard:
        return _any(
            [
                {"wildcard": {f: {"value": " ".join(term.parts), "case_insensitive": True}}}
                for f in fields
            ]
        )
    phrase = " ".join(term.parts)
    return _any([{"match_phrase": {f: phrase}} for f in fields])


def _keyword_words(field: str, term: Term) -> dict[str, Any]:
    """Whole value, or the words space-bounded inside it: `outlet:guardian` finds "The Guardian"."""
    if term.exists:
        return {"exists": {"field": field}}
    value = " ".join(term.parts) if term.wildcard else term.value
    if term.wildcard:
        patterns = [value, f"* {value}", f"{value} *", f"* {value} *"]
    else:
        escaped = value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
        patterns = [f"* {escaped}", f"{escaped} *", f"* {escaped} *"]
    clauses: list[dict[str, Any]] = (
        [] if term.wildcard else [{"term": {field: {"value": value, "case_insensitive": True}}}]
    )
    clauses += [{"wildcard": {field: {"value": p, "case_insensitive": True}}} for p in patterns]
    return _any(clauses)


def _term(term: Term) -> dict[str, Any]:
    if term.field == "default":
        return _text(TEXT_FIELDS, term)
    if term.field in TEXT_FIELDS:
        return _text((term.field,), term)
    if term.field == "topic":
        value = " ".join(term.parts) if term.wildcard else term.value.lower()
        kind = "wildcard" if term.wildcard else "term"
        return _any(
            [
                {kind: {f: {"value": value, "case_insensitive": True}}}
                for f in ("topics.label", "topics.iptc_code")
            ]
        )
    if term.field == "lang":
        return {"prefix": {"language": {"value": term.value.lower(), "case_insensitive": True}}}
    if term.field == "outlet":
        return _keyword_words("outlet", term)
    if term.field == "feed":
        return {"wildcard": {"feed_url": {"value": f"*{term.value}*", "case_insensitive": True}}}
    if term.label is None:
        return _text(("entities.canonical.text",), term)
    return _keyword_words(_ENTITY_FIELDS.get(term.label, _OTHER_ENTITIES), term)
