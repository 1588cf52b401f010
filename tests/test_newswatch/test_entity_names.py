"""Query entity names resolved as the extractor resolves a mention (`newswatch.cli.entity_names`)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from newswatch.cli import wiring
from newswatch.cli.entity_names import EntityNames, entity_names
from processors.entities import Gazetteer

# a small gazetteer in the packaged file's shape, so the rules are tested apart from its contents
GAZETTEER: dict[str, Any] = {
    "aliases": {
        "US": "United States",
        "U.S.": "United States",
        "America": "United States",
        "EU": "European Union",
        "Washington DC": "Washington, D.C.",
        "AP": "AP",  # an alias to an abbreviation that has a full name: both steps apply
    },
    "demonyms": {"Russian": "Russia", "American": "United States"},
    "v4_demonyms": {"Danish": "Denmark"},  # round nine's tables: entities-v4 records these names
    "v4_aliases": {"NZ": "New Zealand"},
    "us_aliases": {"Army": "U.S. Army"},
    "full_names": {"NBA": "National Basketball Association", "AP": "Associated Press"},
    "entity": [{"canonical": "S-400", "label": "PRODUCT", "patterns": ["S-400", "S400"]}],
    "organisations": {"Agence France-Presse": ["Agence France-Presse", "AFP"]},
}


@pytest.fixture(scope="module")
def names() -> EntityNames:
    return EntityNames(Gazetteer.from_dict(GAZETTEER))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        pytest.param("NBA", ("NBA", "National Basketball Association"), id="full-name"),
        pytest.param("nba", ("nba", "National Basketball Association"), id="full-name-any-case"),
        pytest.param("US", ("US", "United States"), id="alias"),
        pytest.param("U.S.", ("U.S.", "United States"), id="alias-dotted"),
        pytest.param("us", ("us", "United States"), id="alias-any-case"),
        pytest.param("America", ("America", "United States"), id="alias-name"),
        pytest.param("EU", ("EU", "European Union"), id="eu"),
        pytest.param("S400", ("S400", "S-400"), id="ruler-pattern"),
        pytest.param("AFP", ("AFP", "Agence France-Presse"), id="organisation-pattern"),
        pytest.param("Russian", ("Russian", "Russia"), id="demonym"),
        pytest.param("Danish", ("Danish", "Denmark"), id="v4-demonym"),
        pytest.param("NZ", ("NZ", "New Zealand"), id="v4-alias"),
        pytest.param("Army", ("Army", "U.S. Army"), id="us-alias"),
        pytest.param("Washington", ("Washington", "Washington, D.C."), id="capital-by-full_name"),
        pytest.param("washington", ("washington", "Washington, D.C."), id="capital-lower-case"),
        pytest.param("Washington DC", ("Washington DC", "Washington, D.C."), id="capital-alias"),
        pytest.param("AP", ("AP", "Associated Press"), id="alias-then-full-name"),
        pytest.param(
            "National Basketball Association",
            ("National Basketball Association", "NBA"),
            id="full-name-finds-older-short-form",
        ),
        pytest.param("Vladimir Putin", ("Vladimir Putin",), id="unknown-stays"),
        pytest.param("  Vladimir   Putin ", ("Vladimir Putin",), id="spaces-squashed"),
        pytest.param("United States", ("United States",), id="canonical-stays"),
        pytest.param("", (), id="empty"),
    ],
)
def test_resolve(names: EntityNames, typed: str, expected: tuple[str, ...]) -> None:
    assert names.resolve(typed) == expected


@pytest.mark.parametrize(
    ("typed", "label", "expected"),
    [
        pytest.param("NBA", "ORG", ("NBA", "National Basketball Association"), id="org-full-name"),
        pytest.param("NBA", "PERSON", ("NBA",), id="full-names-are-org-only"),
        pytest.param("Washington", "GPE", ("Washington", "Washington, D.C."), id="gpe-capital"),
        pytest.param("Washington", "ORG", ("Washington",), id="capital-is-gpe-only"),
        pytest.param("Russian", "GPE", ("Russian", "Russia"), id="demonym-gpe"),
        pytest.param("Russian", "PERSON", ("Russian",), id="demonym-not-person"),
        pytest.param("Army", "GPE", ("Army",), id="us-alias-org-only"),
        pytest.param("US", "PERSON", ("US", "United States"), id="aliases-any-label"),
    ],
)
def test_resolve_for_a_label(
    names: EntityNames, typed: str, label: str, expected: tuple[str, ...]
) -> None:
    assert names.resolve(typed, label) == expected


def test_describe(names: EntityNames) -> None:
    assert names.describe("NBA") == "NBA -> National Basketball Association"
    assert names.describe("Vladimir Putin") == ""


def test_the_packaged_gazetteer_resolves_the_reported_names() -> None:
    packaged = entity_names()
    assert "National Basketball Association" in packaged.resolve("NBA")
    assert "United States" in packaged.resolve("US")
    assert "United States" in packaged.resolve("America")
    assert "European Union" in packaged.resolve("EU")
    assert "Washington, D.C." in packaged.resolve("Washington")
    assert packaged.resolve("NBA")[0] == "NBA"  # the name as typed always stays


def test_wiring_resolves_and_falls_back_to_the_name_as_typed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert wiring.resolve_entity("EU") == ("EU", "European Union")

    def broken() -> EntityNames:
        raise OSError("gazetteer.toml: no such file")

    wiring._entity_names.cache_clear()
    monkeypatch.setattr("newswatch.cli.entity_names.entity_names", broken)
    try:
        assert wiring.resolve_entity(" EU ") == ("EU",)
        assert "the gazetteer did not load" in caplog.text
    finally:
        wiring._entity_names.cache_clear()


def test_resolving_does_not_import_spacy() -> None:
    code = (
        "import sys\n"
        "from newswatch.cli import wiring\n"
        "assert wiring.resolve_entity('NBA')[1] == 'National Basketball Association'\n"
        "heavy = sorted(m for m in ('spacy', 'thinc', 'torch') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
