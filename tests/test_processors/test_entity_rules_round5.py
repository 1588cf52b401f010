"""Round five's two rule fixes (issue 4), found by eval.entity_ceiling's "relabelled by our rules"
and "filtered by our rules" causes and judged on the development sets only."""

from __future__ import annotations

from processors import EntityExtractor
from processors.names import looks_like_person


def test_corps_is_an_organisation_word() -> None:
    # "Marine" is a given name: without "corps" as an organisation word the Marine Corps was a person
    assert not looks_like_person("Marine Corps")
    assert looks_like_person("Marine Le Pen")


def test_newspaper_in_a_title_cased_headline_is_kept(extractor: EntityExtractor) -> None:
    text = ("Morning Briefing: Top Stories From The Straits Times On April 28. Good morning! Here are "
            "our top stories to kick-start your Tuesday.")
    names = {(e.canonical, e.label) for e in extractor.extract(text)}
    assert ("Straits Times", "ORG") in names


def test_marine_corps_in_us_copy(extractor: EntityExtractor) -> None:
    text = "The Air Force softball team defeated the Marine Corps, 9-4, at Fort Sill, Okla."
    names = {(e.canonical, e.label) for e in extractor.extract(text)}
    assert ("U.S. Marine Corps", "ORG") in names
    assert not any(label == "PERSON" for _c, label in names)
