"""Entity names as a user types them -> the canonical names the extractor stores.

The extractor (`processors.entities`) writes canonical names: a gazetteer alias or pattern gives
the canonical ("US", "U.S.", "America" -> "United States"; "S400" -> "S-400"), a NORP demonym
names its country ("Russian" -> "Russia", labelled GPE), in U.S. copy a bare service name is the
U.S. one ("Army" -> "U.S. Army"), and last `full_name` gives an ORG abbreviation its full name
("NBA" -> "National Basketball Association") and GPE "Washington" the capital ("Washington,
D.C."). A search or alert filter on "NBA" would otherwise find nothing, so the CLI resolves the
name the same way, with the extractor's own `Gazetteer` and `full_name`, and the filter matches
any of: the name as typed, what it resolves to, and the short form a full name had before the
full-name change (records enriched earlier still say "NBA").

This module is where the two stages meet (newswatch/cli); the sinks only receive plain names.
Loading the gazetteer reads one TOML file and imports no spaCy (`processors.entities` imports
spaCy only when a model is loaded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processors.entities import Gazetteer


def _squash(name: str) -> str:
    return " ".join(name.split())


def _keys(table: Mapping[str, str], name: str) -> list[str]:
    """The table's keys for `name`: the exact key, else every key equal to it ignoring case."""
    if name in table:
        return [name]
    folded = name.casefold()
    return [key for key in table if key.casefold() == folded]


class EntityNames:
    """Resolve query names through the extractor's gazetteer (build once, call per name)."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        short: dict[str, list[str]] = {}
        for abbreviation, full in gazetteer.full_names.items():
            short.setdefault(full, []).append(abbreviation)
        self._short_forms = short  # "National Basketball Association" -> ["NBA"]

    @classmethod
    def load(cls) -> EntityNames:
        """From the packaged gazetteer (`processors/gazetteer.toml`)."""
        from processors.entities import Gazetteer

        return cls(Gazetteer.load())

    def resolve(self, name: str, label: str | None = None) -> tuple[str, ...]:
        """Every name a filter on `name` should match, the name as typed first, no duplicates
        (ignoring case). `label` (PERSON, ORG, GPE, ...) narrows the rules that apply to those
        the extractor applies to that label; None applies all of them."""
        from processors.entities import full_name

        typed = _squash(name)
        if not typed:
            return ()
        gaz = self.gazetteer
        found: list[str] = [typed]
        # the gazetteer's normalisation tables, as `_mention` / `refine_mentions` apply them
        tables: list[Mapping[str, str]] = [gaz.aliases, gaz.v4_aliases]  # v4: "NZ" -> "New Zealand"
        if label in (None, "GPE", "NORP"):
            tables.append(gaz.all_demonyms)  # a NORP demonym becomes its country (v4: more of them)
        if label in (None, "ORG"):
            tables.append(gaz.us_aliases)  # in U.S. copy: "Army" -> "U.S. Army"
        for table in tables:
            found += [table[key] for key in _keys(table, typed)]
        # last, the annotation rules' full names (`full_name`): ORG abbreviations, GPE Washington
        labels = [lab for lab in ("ORG", "GPE") if label in (None, lab)]
        for canonical in list(found):
            for spelled in _spellings(canonical, gaz.full_names):
                found += [full_name(spelled, lab, "", gaz) for lab in labels]
        # the short form a full name had before the full-name change ("NBA" in older records)
        if label in (None, "ORG"):
            for canonical in list(found):
                found += self._short_forms.get(canonical, [])
        return _unique(found)

    def describe(self, name: str, label: str | None = None) -> str:
        """ "NBA -> National Basketball Association", or "" when the name resolves to itself only."""
        names = self.resolve(name, label)
        if len(names) < 2:
            return ""
        return f"{names[0]} -> {' / '.join(names[1:])}"


def _spellings(name: str, full_names: Mapping[str, str]) -> list[str]:
    """`name` as the extractor would hold it: the exact `[full_names]` key when the user typed it
    in other case ("nba" -> "NBA"), and a lower-case name capitalised ("washington")."""
    out = [name, *_keys(full_names, name)]
    if name.islower():
        out.append(" ".join(word[:1].upper() + word[1:] for word in name.split()))
    return out


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for name in names:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            out.append(name)
    return tuple(out)


@cache
def entity_names() -> EntityNames:
    """The process's resolver over the packaged gazetteer, loaded on first use."""
    return EntityNames.load()
