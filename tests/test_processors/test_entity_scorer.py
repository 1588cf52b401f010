"""The learned span scorer (processors/entity_scorer.py) and its committed artifact."""

from __future__ import annotations

import pytest

from newswatch import ConfigError
from processors import EntityExtractor
from processors.entities import _bare_country_codes
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


@pytest.mark.parametrize(("version", "features"), [("entities-v1", "v1"), ("entities-v2", "v2"), ("entities-v3", "v3"),
                                                   ("entities-v4", "v4")])
def test_every_artifact_loads_by_version(version: str, features: str) -> None:
    scorer = SpanScorer.load(version=version)
    assert (scorer.version, scorer.features) == (version, features)


def test_unknown_version_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="train_entities"):
        SpanScorer.load(version="entities-v0")


def test_v2_adds_organisation_cues_and_leaves_v1_as_it_was() -> None:
    text = "She joined the Civil Air Patrol and the Greens."
    ctx = SpanContext(text, 15, 31, 0)
    v1 = span_features("Civil Air Patrol", "ORG", "ORG", ctx, aliases={}, demonyms={})
    v2 = span_features("Civil Air Patrol", "ORG", "ORG", ctx, aliases={}, demonyms={}, feature_set="v2")
    assert v2[: len(v1)] == v1
    assert {"org_head", "org_head|rule=ORG", "the"} <= set(v2) - set(v1)
    plural = span_features("Greens", "NORP", "NORP", SpanContext(text, 40, 46, 0), aliases={}, demonyms={},
                           feature_set="v2")
    assert "the_plural" in plural


@pytest.fixture(scope="module")
def extractor_v2(extractor: EntityExtractor) -> EntityExtractor:
    return EntityExtractor(extractor.nlp, extractor.gazetteer, scorer=SpanScorer.load(version="entities-v2"))


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        pytest.param("Prices rose in the US last year, economists said on Monday.",
                     {("United States", "GPE")}, set(), id="bare-us"),
        pytest.param("Many Americans said they would vote early this year.",
                     set(), {("United States", "GPE")}, id="plural-demonym-is-people"),
    ],
)
def test_v2_rules(extractor_v2: EntityExtractor, text: str, present: set[tuple[str, str]],
                  absent: set[tuple[str, str]]) -> None:
    found = {(e.canonical, e.label) for e in extractor_v2.extract(text)}
    assert present <= found
    assert not absent & found


def test_v1_scorer_ignores_the_v2_rules(extractor: EntityExtractor) -> None:
    v1 = EntityExtractor(extractor.nlp, extractor.gazetteer, scorer=SpanScorer.load(version="entities-v1"))
    found = {(e.canonical, e.label) for e in v1.extract("Many Americans said they would vote early this year.")}
    assert ("United States", "GPE") in found  # the v1 extractor as shipped: the demonym table's reading


def test_bare_country_codes_skip_names_and_shouting(extractor: EntityExtractor) -> None:
    text = "TELL US MORE. The U.S. Army left the UK, and the US said so."
    found = [m for _start, m in _bare_country_codes(text, [], extractor.gazetteer)]
    assert found == [("UK", "GPE", "United Kingdom"), ("US", "GPE", "United States")]


def test_predict_ties_keep_the_earlier_class() -> None:
    """predict's explicit argmax keeps max()'s rule: of equal scores the first class in CLASSES wins."""
    assert _scorer({}, [0, 0, 0, 0]).predict([]) == "NONE"
    assert _scorer({}, [0, 1, 1, 0]).predict([]) == "PERSON"
    assert _scorer({"x": [0, 0, 2, 2]}, [0, 0, 0, 0]).predict(["x"]) == "ORG"


def test_scores_add_weights_in_feature_order() -> None:
    """The four running sums add the weights in feature order (the same floats as a sum per class)."""
    scorer = _scorer({"a": [0.1, 0.2, 0.3, 1e16], "b": [0.2, 0.1, 0.7, 1.0]}, [0.5, 0, 0, 0])
    scores = scorer.scores(["a", "b", "a", "unknown"])
    assert scores == {"NONE": 0.5 + (0.1 + 0.2 + 0.1), "PERSON": 0.2 + 0.1 + 0.2, "ORG": 0.3 + 0.7 + 0.3,
                      "GPE": 1e16 + 1.0 + 1e16}


def test_span_features_flags_in_order_and_crossed_with_the_rule() -> None:
    """Every active flag adds its name and its cross with the rules' label, in the order of _FLAGS."""
    from processors.entity_scorer import _FLAGS

    text = 'NASA said. "Smith-Jones Group (Smith-Jones Group)" and Smith-Jones Group\'s 2 U.S. Paris'
    start = text.index("Smith")
    ctx = SpanContext(text, start, start + len("Smith-Jones Group"), 0, gazetteer_span=True, weak=True)
    features = span_features("Smith-Jones Group", "ORG", "ORG", ctx, aliases={"Smith-Jones Group": "X"},
                             demonyms={})
    flags = [f for f in features if f in _FLAGS]
    assert flags == sorted(flags, key=_FLAGS.index)
    assert {"gaz", "weak", "hyphen", "alias", "defined", "orgcue", "orgword", "recurs", "quoted"} <= set(flags)
    assert all(f"{flag}|rule=ORG" in features for flag in flags)
    assert features[:4] == ["ner=ORG", "rule=ORG", "ner=ORG|rule=ORG", "ntok=2"]
