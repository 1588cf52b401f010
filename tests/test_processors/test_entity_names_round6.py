"""Canonical names by the round-five annotation rules (eval/data/README.md): abbreviations take their
full name, the U.S. capital is "Washington, D.C."."""

import pytest

from processors.entities import Gazetteer, full_name

GAZ = Gazetteer.load()


@pytest.mark.parametrize(
    ("canonical", "label", "text", "expected"),
    [
        pytest.param("NBA", "ORG", "The NBA season", "National Basketball Association", id="league"),
        pytest.param("BBC", "ORG", "The BBC said", "BBC", id="title-is-the-abbreviation"),
        pytest.param("NBA", "PERSON", "NBA", "NBA", id="org-only"),
        pytest.param("Washington", "GPE", "talks in Washington", "Washington, D.C.", id="capital"),
        pytest.param("Washington", "GPE", "wildfires in Washington state", "Washington", id="state"),
    ],
)
def test_full_name(canonical: str, label: str, text: str, expected: str) -> None:
    assert full_name(canonical, label, text, GAZ) == expected


def test_capital_aliases() -> None:
    assert {GAZ.aliases[k] for k in ("Washington, DC", "Washington DC", "D.C.")} == {"Washington, D.C."}
