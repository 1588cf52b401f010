"""Name rules of processors.names: people read as organisations, acronyms, run-on spans."""

from __future__ import annotations

import pytest

from processors.names import (
    acronym_definitions,
    initials_match,
    is_bare_acronym,
    is_place_not_person,
    is_sentence,
    looks_like_person,
    refine_mentions,
    split_list,
    split_run_on,
    strip_lowercase_lead,
    trim_lowercase_tail,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Theodor Lessing", True, id="given-name-surname"),
        pytest.param("Megan Schutt", True, id="female-given-name"),
        pytest.param("Lin-Manuel Miranda", True, id="hyphenated-given-name"),
        pytest.param("Rod Laver Arena", False, id="organisation-word"),
        pytest.param("Martin Marietta Group", False, id="group"),
        pytest.param("Cyber Crew", False, id="not-a-given-name"),
        pytest.param("Madonna", False, id="one-word"),
        pytest.param("NBC News", False, id="acronym"),
    ],
)
def test_looks_like_person(text: str, expected: bool) -> None:
    assert looks_like_person(text) is expected


def test_acronym_definitions() -> None:
    text = ("The Aerophysics Research Facility, or ARF, fired a shot. It moves into Low-Rate Initial "
            "Production (LRIP) after the United Kingdom Maritime Trade Operations (UKMTO) said so.")
    assert acronym_definitions(text) == {
        "ARF": "Aerophysics Research Facility",
        "LRIP": "Low-Rate Initial Production",
        "UKMTO": "United Kingdom Maritime Trade Operations",
    }


def test_acronym_helpers() -> None:
    assert is_bare_acronym("261st COS") == "COS"
    assert is_bare_acronym("NATO") == "NATO"
    assert is_bare_acronym("Nato") == ""
    assert initials_match("COS", "261st Cyberspace Operations Squadron")
    assert not initials_match("RTS", "Ronald Reagan Ballistic Missile Defense Test Site")


def test_strip_lowercase_lead() -> None:
    assert strip_lowercase_lead("read Sue Gray") == "Sue Gray"
    assert strip_lowercase_lead("Sue Gray") == "Sue Gray"
    assert strip_lowercase_lead("de") == "de"


def test_split_run_on() -> None:
    aliases = {"Air Force": "U.S. Air Force"}
    us = {"Navy": "U.S. Navy"}
    assert split_run_on("Navy Hung Cao", "ORG", aliases, us) == [
        ("Navy", "ORG", "Navy"), ("Hung Cao", "PERSON", "Hung Cao")]
    assert split_run_on("Hawaii Cameron Smith", "GPE", aliases, us) == [
        ("Hawaii", "GPE", "Hawaii"), ("Cameron Smith", "PERSON", "Cameron Smith")]
    assert split_run_on("Brian Austin Green", "PERSON", aliases, us) == []


def _refine(mentions: list[tuple[str, str, str]], text: str) -> set[tuple[str, str]]:
    out = refine_mentions(mentions, text, aliases={"U.S.": "United States"}, us_aliases={"Army": "U.S. Army"},
                          us_markers=["Pentagon"], acronyms=["FBI"])
    return {(canonical, label) for _t, label, canonical in out}


@pytest.mark.parametrize(
    ("mentions", "text", "expected"),
    [
        pytest.param([("Army", "ORG", "Army"), ("U.S.", "GPE", "United States")], "The U.S. Army and ...",
                     {("U.S. Army", "ORG"), ("United States", "GPE")}, id="us-copy-by-entity"),
        pytest.param([("Army", "ORG", "Army")], "The Pentagon said the Army ...", {("U.S. Army", "ORG")},
                     id="us-copy-by-marker"),
        pytest.param([("Army", "ORG", "Army")], "The Army paraded in London.", {("Army", "ORG")},
                     id="not-us-copy"),
        pytest.param([("FRP", "ORG", "FRP"), ("FBI", "ORG", "FBI")], "FRP was approved; the FBI ...",
                     {("FBI", "ORG")}, id="unknown-acronym-dropped-known-kept"),
        pytest.param([("COS", "ORG", "COS"), ("x", "ORG", "Cyberspace Operations Squadron")], "...",
                     {("Cyberspace Operations Squadron", "ORG")}, id="acronym-of-an-org-in-the-text"),
    ],
)
def test_refine_mentions(mentions: list[tuple[str, str, str]], text: str, expected: set[tuple[str, str]]) -> None:
    assert _refine(mentions, text) == expected


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        pytest.param("Ajax, Arsenal", "ORG", ["Ajax", "Arsenal"], id="comma-list"),
        pytest.param("British Menopause Society / ITN Productions", "ORG",
                     ["British Menopause Society", "ITN Productions"], id="slash-list"),
        pytest.param("Apple, Inc.", "ORG", ["Apple, Inc."], id="corporate-suffix-stays"),
        pytest.param("Leuven, Belgium", "GPE", ["Leuven, Belgium"], id="only-org-spans"),
        pytest.param("Department of Labor and Employment", "ORG", ["Department of Labor and Employment"],
                     id="and-is-not-a-list"),
    ],
)
def test_split_list(text: str, label: str, expected: list[str]) -> None:
    assert split_list(text, label) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Flynn prosecution", "Flynn", id="lowercase-tail"),
        pytest.param("Bank of", "Bank", id="dangling-function-word"),
        pytest.param("Department of Labor", "Department of Labor", id="inner-function-word-kept"),
        pytest.param("bank", "", id="nothing-left"),
    ],
)
def test_trim_lowercase_tail(text: str, expected: str) -> None:
    assert trim_lowercase_tail(text) == expected


def test_is_sentence() -> None:
    assert is_sentence("Trump moves to replace watchdog who identified critical medical shortages")
    assert not is_sentence("Flynn prosecution")
    assert not is_sentence("Bank of England and the Treasury")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Dunedin", True, id="town"),
        pytest.param("New Zealand", True, id="country"),
        pytest.param("Lincoln", False, id="also-a-given-name"),
        pytest.param("Theodor Lessing", False, id="person"),
    ],
)
def test_is_place_not_person(text: str, expected: bool) -> None:
    assert is_place_not_person(text) is expected


def test_org_cue() -> None:
    from processors.names import has_org_cue

    assert (
        has_org_cue("Acme Corp")
        and has_org_cue("Ministry of Health")
        and has_org_cue("Ulster Bank")
    )
    assert not has_org_cue("West Bank", strict=True) and not has_org_cue("Acme")


def test_title_case_headline_end() -> None:
    from processors.names import title_case_headline_end

    text = "Venezuela Proposes Major Overhaul of Energy Sector. Venezuela's government is proposing"
    assert title_case_headline_end(text) == text.index(".")
    assert (
        title_case_headline_end("Trump's defense secretary denies there were orders. He said") == 0
    )
    assert title_case_headline_end("Only A Headline With No Body At All") == 0


def test_plausible_person_and_common_words() -> None:
    from processors.names import plausible_person, used_as_common_word

    assert plausible_person("Phil Lavelle")
    assert (
        not plausible_person("Kill You")
        and not plausible_person("DOLE")
        and not plausible_person("a/b")
    )
    assert used_as_common_word("Overhaul", "Overhaul of Energy. a sweeping overhaul of it")
    assert not used_as_common_word("Trump", "pro-Trump rioters")


def test_refine_mentions_with_known_names_made_once() -> None:
    """`known` (Gazetteer.known_names) gives the same result as the set refine_mentions builds itself."""
    mentions = [("FRP", "ORG", "FRP"), ("FBI", "ORG", "FBI"), ("USA", "ORG", "USA"), ("NATO", "GPE", "NATO")]
    kwargs = {"aliases": {"USA": "United States"}, "us_aliases": {}, "us_markers": [], "acronyms": ["FBI"]}
    built = refine_mentions(mentions, "FRP, FBI, USA", **kwargs)  # type: ignore[arg-type]
    given = refine_mentions(mentions, "FRP, FBI, USA", known={"USA", "United States", "FBI"},
                            **kwargs)  # type: ignore[arg-type]
    assert built == given == [("FBI", "ORG", "FBI"), ("USA", "ORG", "USA"), ("NATO", "GPE", "NATO")]


@pytest.mark.parametrize(
    "text",
    [
        "WASHINGTON (Reuters) - The U.S. said", "GROTON, Conn. -- A sub", "x\nSINGAPORE (STOMP) - y",
        "Jan 5, 2024 PARIS - z", "10:00 AM LONDON - q", "ABC DEF GHI JKL (x)", "A.B. CD, Xy zz",
        "no dateline here", "U.S. NEWS - IT'S\nNEW YORK - ok", "1999 2024 ROME (AP)", "",
    ],
)
def test_dateline_matches_are_the_pattern_s(text: str) -> None:
    """The dateline scan tries `_DATELINE` only where capitals start, with the same matches as finditer."""
    from processors.names import _DATELINE, _dateline_matches

    def spans(matches: object) -> list[tuple[int, int]]:
        return [m.span(1) for m in matches]  # type: ignore[attr-defined]

    assert spans(_dateline_matches(text)) == spans(_DATELINE.finditer(text))
