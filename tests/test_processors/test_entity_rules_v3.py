"""entities-v3's canonical-form and common-noun rules (processors/entities.py, applied with a v3 scorer only)."""

from __future__ import annotations

import pytest

from processors import EntityExtractor
from processors.entities import _canonical_form, undotted
from processors.entity_scorer import SpanScorer


@pytest.mark.parametrize(
    ("mention", "expected"),
    [
        pytest.param(("S. Korea", "GPE", "S. Korea"), ("S. Korea", "GPE", "South Korea"), id="compass-place"),
        pytest.param(("N. Korea", "GPE", "N. Korea"), ("N. Korea", "GPE", "North Korea"), id="north"),
        pytest.param(("S. Korean", "PERSON", "S. Korean"), ("S. Korean", "GPE", "South Korea"), id="compass-demonym"),
        pytest.param(("S. Jaishankar", "PERSON", "S. Jaishankar"), ("S. Jaishankar", "PERSON", "S. Jaishankar"),
                     id="an-initial-is-no-compass"),
        pytest.param(("Santa Monica City", "GPE", "Santa Monica City"), ("Santa Monica City", "GPE", "Santa Monica"),
                     id="x-city"),
        pytest.param(("Quezon City", "GPE", "Quezon City"), ("Quezon City", "GPE", "Quezon City"),
                     id="a-city-named-city"),
        pytest.param(("Luis Antonio Gokim Cardinal Tagle", "PERSON", "Luis Antonio Gokim Cardinal Tagle"),
                     ("Luis Antonio Gokim Cardinal Tagle", "PERSON", "Luis Antonio Gokim Tagle"), id="inner-cardinal"),
        pytest.param(("Cardinal Tagle", "PERSON", "Cardinal Tagle"), ("Cardinal Tagle", "PERSON", "Tagle"),
                     id="leading-cardinal"),
        pytest.param(("David Amess MP", "PERSON", "David Amess MP"), ("David Amess MP", "PERSON", "David Amess"),
                     id="post-nominal"),
    ],
)
def test_canonical_form(extractor: EntityExtractor, mention: tuple[str, str, str],
                        expected: tuple[str, str, str]) -> None:
    assert _canonical_form(mention, extractor.gazetteer) == expected


@pytest.mark.parametrize(
    ("name", "label", "expected"),
    [("N.A.A.C.P.", "ORG", "NAACP"), ("F.B.I.", "ORG", "FBI"), ("U.A.E.", "GPE", "United Arab Emirates"),
     ("N.A.A.C.P.", "PERSON", "N.A.A.C.P."), ("U.S. Army", "ORG", "U.S. Army")],
)
def test_abbreviations_with_periods_map_like_their_plain_form(extractor: EntityExtractor, name: str, label: str,
                                                             expected: str) -> None:
    assert undotted(name, label, extractor.gazetteer) == expected


@pytest.fixture(scope="module")
def extractor_v3(extractor: EntityExtractor) -> EntityExtractor:
    return EntityExtractor(extractor.nlp, extractor.gazetteer, scorer=SpanScorer.load(version="entities-v3"))


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        pytest.param("The writer's ashes may be moved when the N.A.A.C.P. moves its headquarters to Baltimore.",
                     {("NAACP", "ORG")}, {("N.A.A.C.P.", "ORG")}, id="dotted-abbreviation"),
        pytest.param("A magnitude-3.8 quake struck near Ridgecrest, Calif.. No damage was reported.",
                     {("California", "GPE")}, {("Calif", "GPE")}, id="period-swallowed-by-full-stop"),
        pytest.param("The 2022 summit drew Korean President Yoon Suk-yeol, who spoke on June 29.",
                     {("Yoon Suk-yeol", "PERSON")}, {("Yoon Suk", "PERSON")}, id="hyphenated-given-name"),
        pytest.param("The appointment of the former Archbishop of Manila, Luis Antonio Gokim Cardinal Tagle, "
                     "was welcomed.", {("Luis Antonio Gokim Tagle", "PERSON")},
                     {("Archbishop", "GPE"), ("Luis Antonio Gokim Cardinal Tagle", "PERSON")}, id="titles"),
        pytest.param("The Armed Forces acted in line with the Government's circuit breaker measures.",
                     set(), {("Government", "ORG")}, id="generic-body"),
        pytest.param("Cost was not why workers stayed, said Manpower Minister Josephine Teo yesterday.",
                     {("Josephine Teo", "PERSON")}, {("Manpower", "ORG")}, id="subject-of-a-title"),
    ],
)
def test_v3_rules(extractor_v3: EntityExtractor, text: str, present: set[tuple[str, str]],
                  absent: set[tuple[str, str]]) -> None:
    found = {(e.canonical, e.label) for e in extractor_v3.extract(text)}
    assert present <= found
    assert not absent & found


def test_v2_scorer_ignores_the_v3_rules(extractor: EntityExtractor) -> None:
    v2 = EntityExtractor(extractor.nlp, extractor.gazetteer, scorer=SpanScorer.load(version="entities-v2"))
    found = {(e.canonical, e.label) for e in v2.extract("The writer's ashes may move when the N.A.A.C.P. moves.")}
    assert ("NAACP", "ORG") not in found  # entities-v2 as shipped
