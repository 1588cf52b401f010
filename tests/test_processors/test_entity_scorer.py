"""The learned span scorer (processors/entity_scorer.py) and its committed artifact."""

from __future__ import annotations

import pytest

from newswatch import ConfigError
from processors import EntityExtractor
from processors.entity_scorer import CLASSES, FORMAT, SpanContext, SpanScorer, span_features


def _scorer(weights: dict[str, list[float]], bias: list[float]) -> SpanScorer:
    return SpanScorer.from_dict({"format": FORMAT, "groups": [], "bias": bias, "weights": weights})


def test_artifact_loads_with_four_classes() -> None:
    scorer = SpanScorer.load()
    assert set(scorer.bias) == set(CLASSES)
    assert scorer.weights["PERSON"]


def test_wrong_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="retrain"):
        SpanScorer.from_dict({"format": "other", "groups": [], "bias": [0, 0, 0, 0], "weights": {}})


@pytest.mark.parametrize(
    ("bias", "mention", "keeps", "expected"),
    [
        pytest.param([0, 1, 0, 0], ("Gucci", "ORG", "Gucci"), True, "PERSON", id="relabel"),
        pytest.param([1, 0, 0, 0], ("Glee", "PERSON", "Glee"), True, None, id="drop-a-scored-type"),
        pytest.param([1, 0, 0, 0], ("Bay Area", "LOC", "Bay Area"), True, "LOC", id="other-labels-left-to-rules"),
        pytest.param([1, 0, 0, 0], ("Bay Area", "LOC", "Bay Area"), False, None, id="rules-dropped-it"),
    ],
)
def test_decide(bias: list[float], mention: tuple[str, str, str], keeps: bool, expected: str | None) -> None:
    assert _scorer({}, bias).decide(mention, keeps, ["ner=ORG"]) == expected


def test_features_name_the_rules_label_and_shape() -> None:
    text = "NFL players said the NFL would pay."
    features = span_features("NFL", "ORG", "ORG", SpanContext(text, 0, 3, 0), aliases={}, demonyms={},
                             acronyms={"NFL"})
    assert {"ner=ORG|rule=ORG", "allcaps", "known_acronym", "recurs", "opens"} <= set(features)


def test_extractor_uses_the_scorer_by_default(extractor: EntityExtractor) -> None:
    assert extractor.scorer is not None
    found = {(e.canonical, e.label) for e in extractor.extract("Chancellor Olaf Scholz met officials in Berlin.")}
    assert {("Olaf Scholz", "PERSON"), ("Berlin", "GPE")} <= found
