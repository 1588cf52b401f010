"""The entity gold sets follow eval/data/README.md's canonical-name rules, and the ceiling maths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.entity_ceiling import covers, occurrences, oracle_f1, trimmed
from eval.gold import read_entity_gold

DATA = Path(__file__).resolve().parents[2] / "eval" / "data"
GOLD_FILES = sorted(DATA.glob("entities_*.jsonl"))
KNOWN_BY_ABBREVIATION = frozenset({"BBC", "CNN", "ESPN", "ITV", "PAGASA", "NATO", "TSMC", "HLN", "NZME", "GEICO", "G7", "G20"})
"""Entities whose English Wikipedia article is titled by the abbreviation: it stays the canonical."""
NOT_ABBREVIATIONS = frozenset({"ITZY", "STOMP"})
"""Names written in capitals that abbreviate nothing."""
_ABBREVIATION = re.compile(r"^(?:[A-Z0-9&]{2,}|(?:[A-Z]\.){2,})$")


def abbreviations_kept_as_written() -> list[str]:
    """Gold ORG/GPE entries whose whole surface is an abbreviation that the canonical keeps (rule a)."""
    out = []
    for path in GOLD_FILES:
        for item in read_entity_gold(path):
            for e in item.entities:
                if (e.label in {"ORG", "GPE"} and _ABBREVIATION.match(e.text) and e.canonical == e.text
                        and e.text not in KNOWN_BY_ABBREVIATION | NOT_ABBREVIATIONS):
                    out.append(f"{path.name} {item.id} {e.label} {e.text!r}")
    return out


def capital_not_named_washington_dc() -> list[str]:
    """Gold GPE entries for the U.S. capital whose canonical is not "Washington, D.C." (rule b)."""
    out = []
    for path in GOLD_FILES:
        for item in read_entity_gold(path):
            for e in item.entities:
                state = e.text.lower() == "washington state"  # the state, named so: canonical "Washington"
                capital = not state and (e.canonical == "Washington" or e.text in {"D.C.", "DC"} or "Washington" in e.text)
                if e.label == "GPE" and capital and e.canonical != "Washington, D.C.":
                    out.append(f"{path.name} {item.id} {e.text!r} -> {e.canonical!r}")
    return out


def test_abbreviations_take_the_full_name() -> None:
    assert abbreviations_kept_as_written() == []


def test_the_us_capital_is_washington_dc() -> None:
    # no gold paragraph names the state of Washington; if one ever does, list its id here
    assert capital_not_named_washington_dc() == []


@pytest.mark.parametrize(
    ("span", "occ", "expected"),
    [
        pytest.param((0, 5), (0, 5), True, id="exact"),
        pytest.param((0, 11), (4, 11), True, id="one-token-more"),
        pytest.param((0, 15), (8, 15), False, id="two-tokens-more"),
        pytest.param((4, 11), (0, 11), False, id="too-short"),
    ],
)
def test_covers(span: tuple[int, int], occ: tuple[int, int], expected: bool) -> None:
    tokens = [(0, 3), (4, 7), (8, 11), (12, 15)]  # "the Fed Res ..." as four tokens
    assert covers(span, occ, tokens) is expected


def test_occurrences_respect_word_edges() -> None:
    text = "US and USA; pro-US rally, US."
    assert occurrences(text, "US") == [(0, 2), (16, 18), (26, 28)]


def test_oracle_f1_is_f1_at_precision_one() -> None:
    assert oracle_f1(0.0) == 0.0
    assert oracle_f1(1.0) == 1.0
    assert abs(oracle_f1(0.8) - 2 * 0.8 / 1.8) < 1e-12


def test_trimmed_drops_only_the_and_possessive() -> None:
    text = "the Fed's rate and Sgt Lee"
    tokens = [(0, 3), (4, 7), (7, 9), (10, 14), (15, 18), (19, 22), (23, 26)]
    assert trimmed((0, 9), tokens, text) == (4, 7)  # "the Fed's" -> "Fed"
    assert trimmed((19, 26), tokens, text) == (19, 26)  # "Sgt Lee": a rank is not trimmed
