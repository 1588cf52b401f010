"""lexicon.v8's pieces (round nine): the explicit file list, the headline feature and its own cut-off,
the frozen taxonomy-v7.toml that lexicon.v6 and v7 read, and the phrases added for headlines; since round
ten lexicon.v8 and `--model v8` read the frozen taxonomy-v8.toml."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from eval import train_topics as tt
from eval.splits import split_of
from processors import Classifier, load_classifier
from processors.classify import CLASSIFIERS, V7_TAXONOMY, V8_TAXONOMY, shape_features
from processors.linear import LabelModel, LinearTopicModel

ROOT = Path(__file__).resolve().parents[2]


def _sha(name: str) -> str:
    return hashlib.sha256((ROOT / "processors" / name).read_bytes()).hexdigest()


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _folder(tmp_path: Path, tuning_id: str) -> None:
    _write(tmp_path / "topics_tuning.jsonl", [{"id": tuning_id, "title": "Tariffs", "labels": ["trade"]}])
    _write(tmp_path / "topics_fresh1.jsonl", [{"id": "tf1-1", "title": "Oil", "labels": ["energy"], "weight": 0.5}])
    _write(tmp_path / "topics_fresh2.jsonl", [{"id": "tf2-1", "title": "Troops", "labels": ["defence"]}])
    _write(tmp_path / "topics_train1.jsonl", [{"id": "tt1-1", "title": "FTA talks", "labels": ["trade"]}])


def test_v8_reads_only_the_files_it_names_never_fresh3(tmp_path: Path) -> None:
    tuning_id = next(f"item-{n}" for n in range(100) if split_of(f"item-{n}") == "tuning")
    _folder(tmp_path, tuning_id)
    (tmp_path / "topics_fresh3.jsonl").write_text("not json, and never read\n", encoding="utf-8")
    tuning, feed, batch = tt.read_v8(tmp_path)
    assert [it.id for it in tuning] == [tuning_id]
    assert [it.id for it in feed] == ["tf1-1", "tf2-1", "tt1-1"]
    assert batch == ["topics_fresh1.jsonl", "topics_fresh2.jsonl", "topics_train1.jsonl"]
    assert tt.V8_FILES == ("topics_tuning.jsonl", "topics_fresh1.jsonl", "topics_fresh2.jsonl", "topics_train1.jsonl")
    assert not any("fresh3" in name for name in tt.V8_FILES) and tt.V8_FRESH2 in tt.V8_FILES


def test_v8_refuses_held_out_tuning_items_and_repeated_ids(tmp_path: Path) -> None:
    held = next(f"item-{n}" for n in range(100) if split_of(f"item-{n}") == "heldout")
    _folder(tmp_path, held)
    with pytest.raises(SystemExit, match="held-out"):
        tt.read_v8(tmp_path)
    tuning_id = next(f"item-{n}" for n in range(100) if split_of(f"item-{n}") == "tuning")
    _folder(tmp_path, tuning_id)
    _write(tmp_path / "topics_train1.jsonl", [{"id": "tf2-1", "title": "Troops again", "labels": ["defence"]}])
    with pytest.raises(SystemExit, match="twice"):
        tt.read_v8(tmp_path)


def test_shape_features_mark_a_headline_alone() -> None:
    assert shape_features("Why power demand is rising", "", "") == {"shape:title_only": 1.0}
    assert shape_features("Why power demand is rising", "A summary.", "") == {}
    assert shape_features("Title", "", "Body") == {}
    assert shape_features("", "", "") == {}
    assert tt.TITLE_ONLY in shape_features("Headline", " ", "")


def test_choose_rule_v8_gives_headlines_their_own_threshold() -> None:
    # Headlines (first four) score lower than full items for the same label: one threshold loses
    # one of them; their own lower threshold gets both, and does not touch the full items.
    p = np.array([0.35, 0.30, 0.10, 0.05, 0.9, 0.8, 0.5, 0.45])
    y = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    units = np.full(8, 2)
    heads = np.array([True] * 4 + [False] * 4)
    feed = np.array([True] * 4 + [False, False, True, True])
    gate, threshold, head_t, objective = tt.choose_rule_v8(p, y, units, heads, feed)
    assert gate == 2 and objective == 1.0
    assert 0.1 < head_t <= 0.30 and 0.5 < threshold <= 0.8


def test_choose_rule_v8_keeps_the_stricter_gate_on_a_tie_and_never_passes_weak_words() -> None:
    p = np.array([0.9, 0.9, 0.9])
    y = np.array([1.0, 0.0, 1.0])
    units = np.array([2, 0, 1])  # the negative has weak words only: no gate lets it through
    heads = np.zeros(3, dtype=bool)
    gate, _t, _h, objective = tt.choose_rule_v8(p, y, units, heads, np.array([True, True, False]))
    assert gate == 1 and objective == 1.0
    gate, _t, _h, _o = tt.choose_rule_v8(p, y, np.array([2, 0, 2]), heads, np.array([True, True, False]))
    assert gate == 2


@pytest.mark.parametrize(("threshold", "head_t"), [(0.5, 0.3), (0.41, 0.41), (0.2, 0.6)])
def test_the_headline_shift_folded_into_the_weight_is_the_headline_threshold(threshold: float, head_t: float) -> None:
    shift = tt._logit(threshold) - tt._logit(head_t)
    for z in np.linspace(-4, 4, 81):
        raw = 1.0 / (1.0 + math.exp(-z))
        shifted = 1.0 / (1.0 + math.exp(-(z + shift)))
        if abs(raw - head_t) > 1e-9:
            assert (shifted >= threshold) == (raw >= head_t)


def test_a_headline_weight_moves_headlines_only() -> None:
    model = LinearTopicModel({"defence": LabelModel(-1.0, {"lex:defence": 3.0, tt.TITLE_ONLY: 2.0}, 0.5, 1)},
                             _sha("taxonomy.toml"), "test")
    clf = Classifier.from_taxonomy(name="lexicon.test", strong_phrases=True, model=model)
    head = {s.label: s for s in clf.scores("Rebel groups sign peace deal", "", "")}["defence"]
    full = {s.label: s for s in clf.scores("Rebel groups sign peace deal", "After years of fighting.", "")}["defence"]
    lexicon = {s.label: s.raw for s in load_classifier("lexicon.v2").scores("Rebel groups sign peace deal", "", "")}
    z = -1.0 + 3.0 * math.log1p(lexicon["defence"]) / 3.0 + 2.0
    assert head.probability == pytest.approx(1.0 / (1.0 + math.exp(-z)), abs=1e-4)
    assert full.probability is not None and head.probability is not None and full.probability < head.probability


def test_older_models_ignore_the_headline_feature() -> None:
    for name in ("lexicon.v5", "lexicon.v6", "lexicon.v7"):
        model = load_classifier(name).model
        assert model is not None
        assert all(tt.TITLE_ONLY not in m.weights for m in model.labels.values()), name


def test_v6_and_v7_read_the_frozen_taxonomy_v7() -> None:
    frozen = _sha(V7_TAXONOMY)
    assert frozen != _sha("taxonomy.toml")
    for model in ("topics-v6.json", "topics-v7.json"):
        artifact = json.loads((ROOT / "processors" / "models" / model).read_text(encoding="utf-8"))
        assert artifact["taxonomy_sha256"] == frozen
    for name in ("lexicon.v6", "lexicon.v7"):
        assert load_classifier(name).version.startswith(name + "+")
    assert tt.RECIPES["v6"].taxonomy == V7_TAXONOMY and tt.RECIPES["v6"].recorded_as == "taxonomy.toml"


def test_round_nine_phrases_are_in_the_current_taxonomy_only() -> None:
    v7, v8 = load_classifier("lexicon.v7"), load_classifier("lexicon.v8")
    for label, phrase in (("energy", "power demand"), ("energy", "power system"), ("defence", "rebel groups"),
                          ("defence", "drone attack"), ("trade", "fta"), ("trade", "trade truce")):
        assert phrase in v8.rules[label].terms and phrase not in v7.rules[label].terms, phrase
    scores = {s.label: s for s in v8.scores("How heatwave has driven an early surge in India's power demand", "", "")}
    assert "power demand" in scores["energy"].evidence and v8.enough_terms("energy", scores["energy"].evidence, 1)
    sudan = {s.label: s for s in v8.scores("Sudan signs peace deal with rebel groups", "", "")}
    assert v8.enough_terms("defence", sudan["defence"].evidence, 1)


def test_weak_words_still_never_carry_a_v8_label() -> None:
    v8 = load_classifier("lexicon.v8")
    for title in ("A strong defence", "Trade in your old phone", "The team showed real energy", "Arms and legs"):
        assert {t.label for t in v8.classify(title, "", "")} & {"defence", "trade", "energy"} == set(), title
    # round nine's single words with other senses are weak too: alone they pass no gate
    for label, word in (("defence", "rebel"), ("defence", "coup"), ("defence", "rockets"), ("trade", "cargo")):
        assert v8.rules[label].terms[word] <= 1.0 and not v8.enough_terms(label, (word,), 1), word
    for title in ("Rebel Wilson stars in new comedy", "Coup de grace: Federer wins fifth title",
                  "Houston Rockets beat Lakers"):
        assert "defence" not in {t.label for t in v8.classify(title, "", "")}, title


def test_v8_is_registered_and_its_artifact_records_data_gates_cv_and_headlines() -> None:
    assert "lexicon.v8" in CLASSIFIERS
    path = ROOT / "processors" / "models" / "topics-v8.json"
    artifact = json.loads(path.read_text(encoding="utf-8"))
    assert path.stat().st_size < 1_000_000
    assert artifact["taxonomy_sha256"] == _sha(V8_TAXONOMY)
    assert artifact["settings"]["taxonomy"] == "taxonomy.toml"  # the name it was trained under
    assert set(artifact["trained_on"]) == {*tt.V8_FILES, "feed views"}
    for label, spec in artifact["labels"].items():
        assert spec["min_terms"] in tt.V8_GATES, label
        assert 0.0 < spec["threshold"] < 1.0 and 0.0 < spec["threshold_headlines"] < 1.0, label
        assert {"tuning", "feed", "fresh1", "fresh2", "train1", "fresh2_weighted", "headlines"} <= set(spec["cv"])
        assert tt.TITLE_ONLY in spec["weights"] and "lex:conflict" in spec["weights"]
    model = LinearTopicModel.load(path)
    assert {m.min_terms for m in model.labels.values()} <= set(tt.V8_GATES)


def test_v8_reads_the_frozen_taxonomy_v8() -> None:
    # round ten froze round nine's taxonomy.toml as taxonomy-v8.toml before editing taxonomy.toml
    assert _sha(V8_TAXONOMY) != _sha("taxonomy.toml")
    v8 = load_classifier("lexicon.v8")
    assert v8.version == "lexicon.v8+39141c241257"  # as recorded before the freeze
    recipe = tt.HEADLINE_RECIPES["v8"]
    assert recipe.taxonomy == V8_TAXONOMY and recipe.files == tt.V8_FILES and recipe.rule_batch == tt.V8_FRESH2
