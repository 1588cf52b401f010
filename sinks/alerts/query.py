"""Alert queries: Lucene syntax parsed by luqum into a small tree of our own.

    query   := words, "phrases", AND / OR / NOT (also +term, -term), ( grouping ), wild*cards?
    fields  := title: summary: text: topic: entity: entity.<label>: outlet: lang: feed:
    default := title, summary and text; terms side by side mean AND (`putin modi` = both)

Matching is case-insensitive, accent-insensitive and on word boundaries (see `text.py`).
A query that cannot be used raises `QueryError`, whose message shows the query with a caret
under the position and says what was expected there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from luqum import tree as lq
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.thread import parse as luqum_parse

from sinks.alerts import text

TEXT_FIELDS = ("title", "summary", "text")
FIELDS = ("default", *TEXT_FIELDS, "topic", "entity", "outlet", "lang", "feed")
FIELD_ALIASES = {
    "language": "lang",
    "body": "text",
    "entities": "entity",
    "topics": "topic",
    "*": "default",
}
ENTITY_LABELS = {
    "person": "PERSON",
    "org": "ORG",
    "gpe": "GPE",
    "loc": "LOC",
    "norp": "NORP",
    "event": "EVENT",
    "product": "PRODUCT",
    "fac": "FAC",
    "law": "LAW",
    "work_of_art": "WORK_OF_ART",
    "language": "LANGUAGE",
}
_EXPECTED_TERM = 'expected a word, a "phrase", a field:value or "(" here'


class QueryError(ValueError):
    """A query that does not parse or uses something alerts cannot evaluate."""

    def __init__(self, query: str, position: int | None, problem: str) -> None:
        self.query = query
        self.position = position
        self.problem = problem
        super().__init__(self.render())

    def render(self) -> str:
        """The problem, then the query with a caret under the position (when known)."""
        if self.position is None:
            return self.problem
        return (
            f"{self.problem} (position {self.position})\n  {self.query}\n  {' ' * self.position}^"
        )


@dataclass(frozen=True)
class Term:
    """One leaf: `field` is one of FIELDS; `label` narrows entity: to a spaCy label."""

    field: str
    value: str
    phrase: bool = False
    label: str | None = None
    position: int = 0
    parts: tuple[str, ...] = ()
    wildcard: bool = False

    @property
    def key(self) -> str:
        """The normalised needle (" s 400 "), or the literal part a wildcard match must contain."""
        if self.wildcard:
            return text.longest_literal(list(self.parts))
        return " " + " ".join(self.parts) + " "

    @property
    def exists(self) -> bool:
        """`field:*`: the field is present and non-empty."""
        return self.wildcard and all(set(p) <= {"*"} for p in self.parts)

    def display(self) -> str:
        """How the term is shown in alerts, e.g. entity.person:"Vladimir Putin"."""
        name = self.field if self.label is None else f"{self.field}.{self.label.lower()}"
        value = f'"{self.value}"' if self.phrase else self.value
        return value if name == "default" else f"{name}:{value}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class MatchAll:
    """`*` or `*:*`: every article."""


Node = Term | And | Or | Not | MatchAll


@dataclass
class ParsedQuery:
    """A usable query: its tree, the source text and advice that did not stop it (lowercase `and`).

    `entity_names` maps an entity value as written to the other names its term also matches,
    when the query went through `resolve_entities` ("NBA" -> ("National Basketball Association",)).
    """

    source: str
    root: Node
    warnings: list[str] = field(default_factory=list)
    entity_names: dict[str, tuple[str, ...]] = field(default_factory=dict)


EntityResolver = Callable[[str, str | None], Sequence[str]]
"""(name as written, entity label or None) -> every name an entity filter on it should match, the
name itself included. The CLI wiring supplies one built on the extractor's gazetteer; the sinks
never import the processors."""


def parse_query(source: str) -> ParsedQuery:
    """Parse and check a query; raises QueryError pointing at the problem."""
    if not source.strip():
        raise QueryError(
            source, 0, 'empty query: write words, "phrases" or field:value, e.g. topic:defence'
        )
    _check_balance(source)
    try:
        tree = luqum_parse(source)
    except IllegalCharacterError as exc:
        raise QueryError(
            source, _position(exc, source), "illegal character: " + _EXPECTED_TERM
        ) from None
    except ParseError as exc:
        raise _syntax_error(source, exc) from None
    warnings: list[str] = []
    root = _convert(tree, source, None, warnings)
    return ParsedQuery(source=source, root=root, warnings=warnings)


def _check_balance(source: str) -> None:
    """Quotes and parentheses, checked first so the caret lands on the opening one."""
    opened: list[int] = []
    quote: int | None = None
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if quote is not None:
            quote = None if ch == '"' else quote
        elif ch == '"':
            quote = i
        elif ch == "(":
            opened.append(i)
        elif ch == ")":
            if not opened:
                raise QueryError(source, i, 'unexpected ")": no "(" is open here')
            opened.pop()
        i += 1
    if quote is not None:
        raise QueryError(
            source, quote, 'unterminated phrase: expected a closing " for the quote opened here'
        )
    if opened:
        raise QueryError(source, opened[-1], 'unclosed group: expected ")" for the "(" opened here')


def _position(exc: Exception, source: str) -> int:
    found = re.search(r"position (\d+)", str(exc))
    return int(found.group(1)) if found else len(source)


def _syntax_error(source: str, exc: Exception) -> QueryError:
    found = re.search(r"unexpected\s+'(.*)' at position (\d+)", str(exc))
    if found is None:
        return QueryError(
            source,
            len(source),
            "unexpected end of query: "
            + _EXPECTED_TERM.replace(" here", " after the last operator or field"),
        )
    token, position = found.group(1), int(found.group(2))
    if token in {"AND", "OR", "NOT"}:
        return QueryError(source, position, f"unexpected operator {token}: {_EXPECTED_TERM}")
    return QueryError(source, position, f"unexpected {token!r}: {_EXPECTED_TERM}")


def _field_of(name: str, source: str, position: int) -> tuple[str, str | None]:
    lowered = name.lower()
    lowered = FIELD_ALIASES.get(lowered, lowered)
    if lowered.startswith("entity."):
        label = lowered.split(".", 1)[1]
        if label not in ENTITY_LABELS:
            known = ", ".join(f"entity.{k}" for k in ENTITY_LABELS)
            raise QueryError(
                source, position, f"unknown entity label {label!r}: expected one of {known}"
            )
        return "entity", ENTITY_LABELS[label]
    if lowered not in FIELDS or lowered == "default":
        known = ", ".join(f"{f}:" for f in FIELDS if f != "default")
        raise QueryError(
            source, position, f"unknown field {name!r}: expected one of {known} or entity.<label>:"
        )
    return lowered, None


def _convert(
    node: lq.Item, source: str, scope: tuple[str, str | None] | None, warnings: list[str]
) -> Node:
    pos = getattr(node, "pos", None) or 0
    if isinstance(node, lq.SearchField):
        if scope is not None:
            raise QueryError(
                source,
                pos,
                "a field inside a field: expected a plain value or (group) after the first field",
            )
        if node.name == "*":
            return _convert(node.expr, source, ("default", None), warnings)
        return _convert(node.expr, source, _field_of(node.name, source, pos), warnings)
    if isinstance(node, (lq.Group, lq.FieldGroup)):
        return _convert(node.expr, source, scope, warnings)
    if isinstance(node, lq.AndOperation | lq.UnknownOperation):
        children = list(node.children)
        if isinstance(node, lq.UnknownOperation):
            for child in children:
                if isinstance(child, lq.Word) and child.value in {"and", "or", "not"}:
                    warnings.append(
                        f"lowercase {child.value!r} at position {child.pos} is searched as a word; write {child.value.upper()} for the operator"
                    )
        return And(_flat(And, [_convert(c, source, scope, warnings) for c in children]))
    if isinstance(node, lq.OrOperation):
        return Or(_flat(Or, [_convert(c, source, scope, warnings) for c in node.children]))
    if isinstance(node, lq.Not | lq.Prohibit):
        return Not(_convert(node.a, source, scope, warnings))
    if isinstance(node, lq.Plus):
        return _convert(node.a, source, scope, warnings)
    if isinstance(node, lq.Boost):
        return _convert(node.expr, source, scope, warnings)
    if isinstance(node, lq.Word | lq.Phrase):
        return _term(node, source, scope or ("default", None), pos)
    unsupported = {
        lq.Proximity: 'proximity ("a b"~N) is not supported in alert rules: use a phrase or AND',
        lq.Fuzzy: "fuzzy terms (word~) are not supported in alert rules: use OR or a wildcard",
        lq.Range: "ranges ([a TO b]) are not supported in alert rules",
        lq.Regex: "regular expressions are not supported in alert rules: use a wildcard (missil*)",
    }
    for kind, message in unsupported.items():
        if isinstance(node, kind):
            raise QueryError(source, pos, message)
    raise QueryError(
        source, pos, f"{type(node).__name__} is not supported in alert rules: {_EXPECTED_TERM}"
    )


def _flat(kind: type[And | Or], children: list[Node]) -> tuple[Node, ...]:
    """(a AND b) AND c -> AND(a, b, c): same meaning, shallower tree, simpler ES bodies."""
    out: list[Node] = []
    for child in children:
        out.extend(child.children if isinstance(child, kind) else (child,))
    return tuple(out)


def _term(node: lq.Word | lq.Phrase, source: str, scope: tuple[str, str | None], pos: int) -> Node:
    name, label = scope
    phrase = isinstance(node, lq.Phrase)
    raw = node.value[1:-1] if phrase else node.value.replace("\\", "")
    if not phrase and name == "default" and raw == "*":
        return MatchAll()
    wildcard = not phrase and any(ch in raw for ch in "*?")
    parts = text.wildcard_tokens(raw) if wildcard else text.tokens(raw)
    if not parts:
        raise QueryError(
            source,
            pos,
            f"term {raw!r} has no letters or digits: {_EXPECTED_TERM} (operators are AND, OR, NOT)",
        )
    return Term(
        field=name,
        value=raw,
        phrase=phrase,
        label=label,
        position=pos,
        parts=tuple(parts),
        wildcard=wildcard,
    )


def iter_terms(node: Node, negated: bool = False) -> list[tuple[Term, bool]]:
    """Every leaf with whether it sits under an odd number of NOTs."""
    if isinstance(node, Term):
        return [(node, negated)]
    if isinstance(node, Not):
        return iter_terms(node.child, not negated)
    if isinstance(node, And | Or):
        return [pair for child in node.children for pair in iter_terms(child, negated)]
    return []


def resolve_entities(query: ParsedQuery, resolve: EntityResolver) -> ParsedQuery:
    """The query with every `entity:` term widened to the names `resolve` gives for it:
    `entity:"NBA"` becomes `(entity:"NBA" OR entity:"National Basketball Association")`, so a rule
    written with an abbreviation or alias matches the canonical names the extractor stores, and
    still the name as written. Wildcards and `entity:*` are left as they are."""
    found: dict[str, tuple[str, ...]] = {}
    root = _resolve_node(query.root, resolve, found)
    return replace(query, root=root, entity_names={**query.entity_names, **found})


def _resolve_node(node: Node, resolve: EntityResolver, found: dict[str, tuple[str, ...]]) -> Node:
    if isinstance(node, And | Or):
        children = tuple(_resolve_node(c, resolve, found) for c in node.children)
        return type(node)(children)
    if isinstance(node, Not):
        return Not(_resolve_node(node.child, resolve, found))
    if not isinstance(node, Term) or node.field != "entity" or node.wildcard:
        return node
    extra: list[Term] = []
    seen = {node.parts}
    for name in resolve(node.value, node.label):
        parts = tuple(text.tokens(name))
        if parts and parts not in seen:
            seen.add(parts)
            extra.append(replace(node, value=name, phrase=True, parts=parts))
    if not extra:
        return node
    found[node.value] = tuple(t.value for t in extra)
    return Or((node, *extra))
