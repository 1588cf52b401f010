"""Phrase matching for the lexicon: one Aho-Corasick automaton, whole words, leftmost-longest.

`build_automaton` takes (label, positive phrases, negative phrases) per topic and maps every
surface form (the phrase and its simple plurals) to its canonical phrase; `longest_matches`
returns the canonical phrases found in lower-cased text, non-overlapping, longest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ahocorasick

Target = tuple[str, float, bool]  # (topic label, weight, is a negative)


def _variants(phrase: str) -> set[str]:
    """The phrase and its simple plural forms, so "tariff" also matches "tariffs"."""
    out = {phrase}
    if phrase[-1:].isalpha() and not phrase.endswith("s"):
        out.add(phrase + "s")
        if phrase.endswith(("ch", "sh", "x")):
            out.add(phrase + "es")
        if phrase.endswith("y") and len(phrase) > 2 and phrase[-2] not in "aeiou":
            out.add(phrase[:-1] + "ies")
    return out


def build_automaton(
    tables: Iterable[tuple[str, Mapping[str, float], Mapping[str, float]]],
) -> tuple[ahocorasick.Automaton, dict[str, list[Target]]]:
    """One automaton for all topics (surface form -> canonical phrase) and each phrase's targets."""
    targets: dict[str, list[Target]] = {}
    for label, terms, negatives in tables:
        for table, is_negative in ((terms, False), (negatives, True)):
            for phrase, weight in table.items():
                targets.setdefault(phrase, []).append((label, weight, is_negative))
    forms: dict[str, str] = {}
    for phrase in targets:
        for form in _variants(phrase):
            if form not in targets:  # an explicit phrase always owns its own spelling
                forms.setdefault(form, phrase)
        forms[phrase] = phrase
    automaton = ahocorasick.Automaton()
    for form, phrase in forms.items():
        automaton.add_word(form, (len(form), phrase))
    automaton.make_automaton()
    return automaton, targets


def longest_matches(automaton: ahocorasick.Automaton, text: str) -> list[str]:
    """Whole-word matches, leftmost-longest and non-overlapping, as canonical phrases."""
    found = []
    for end, (length, phrase) in automaton.iter(text):
        start = end - length + 1
        if _is_boundary(text, start - 1) and _is_boundary(text, end + 1):
            found.append((start, end, phrase))
    found.sort(key=lambda m: (m[0], m[0] - m[1]))
    chosen = []
    last_end = -1
    for start, end, phrase in found:
        if start > last_end:
            chosen.append(phrase)
            last_end = end
    return chosen


def _is_boundary(text: str, index: int) -> bool:
    return index < 0 or index >= len(text) or not (text[index].isalnum() or text[index] == "_")
