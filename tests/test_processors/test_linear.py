"""The lexicon.v3-v6 linear model: features, artifact loading, and the training script's guard."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from newswatch import ConfigError
from processors.linear import FORMAT, LabelModel, LinearTopicModel, lexicon_features, word_features

ROOT = Path(__file__).resolve().parents[2]


def test_word_features_are_unit_length_with_bigrams_and_title_weight() -> None:
    feats = word_features("Oil prices", "", "Oil prices fell.")
    assert math.isclose(math.sqrt(sum(v * v for v in feats.values())), 1.0)
    assert {"oil", "prices", "fell", "oil prices", "prices fell"} == set(feats)
    assert feats["oil"] > feats["fell"]  # title counted twice, body once


def test_body_equal_to_summary_counts_once() -> None:
    assert word_features("", "Tariffs rise", "Tariffs rise") == word_features("", "Tariffs rise", "")


def test_lexicon_features() -> None:
    feats = lexicon_features({"trade": math.e**3 - 1, "sport": 0.0}, ["trade"], ["defence", "trade"])
    assert feats == {"lex:trade": pytest.approx(1.0), "lex+:trade": 1.0}


def test_model_probability_and_top_terms() -> None:
    model = LabelModel(bias=0.0, weights={"w:tariff": 2.0, "w:the": -1.0, "lex:trade": 1.0}, threshold=0.5)
    feats = {"w:tariff": 1.0, "w:the": 1.0, "lex:trade": 1.0}
    assert model.probability(feats) == pytest.approx(1 / (1 + math.exp(-2.0)))
    joint = LinearTopicModel({"trade": model}, "", "")
    assert joint.top_terms("trade", {"tariff": 1.0, "the": 1.0}) == ("tariff",)
    assert joint.probabilities({"tariff": 1.0, "the": 1.0}, {"lex:trade": 1.0}) == {
        "trade": pytest.approx(model.probability(feats))}


def test_packaged_artifact_loads_and_is_small() -> None:
    model = LinearTopicModel.load()
    assert set(model.labels) == {"defence", "trade", "energy"}
    assert all(0.0 < m.threshold < 1.0 for m in model.labels.values())
    for name in ("topics-v3.json", "topics-v4.json", "topics-v5.json", "topics-v6.json"):
        assert (ROOT / "processors" / "models" / name).stat().st_size < 400_000
    assert not any(k.startswith("w:") for k in model.labels["defence"].weights)  # lexicon only


def test_bad_artifact_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="eval.train_topics"):
        LinearTopicModel.load(bad)
    bad.write_text(json.dumps({"format": FORMAT, "labels": {}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="eval.train_topics"):
        LinearTopicModel.load(bad)


def test_training_refuses_held_out_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eval.splits import split_of
    from eval.train_topics import main

    held = next(f"item-{n}" for n in range(100) if split_of(f"item-{n}") == "heldout")
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps({"id": held, "title": "x", "text": "", "labels": []}) + "\n", encoding="utf-8")
    assert main(["--gold", str(gold), "--out", str(tmp_path / "m.json")]) == 2
    assert "held-out" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_v5_keeps_v4_defence_and_trade_and_blends_energy() -> None:
    v4 = json.loads((ROOT / "processors" / "models" / "topics-v4.json").read_text(encoding="utf-8"))
    v5 = json.loads((ROOT / "processors" / "models" / "topics-v5.json").read_text(encoding="utf-8"))
    assert v5["taxonomy_sha256"] == v4["taxonomy_sha256"]
    assert v5["labels"]["defence"] == v4["labels"]["defence"]
    assert v5["labels"]["trade"] == v4["labels"]["trade"]
    assert v5["settings"]["fold_by"] == "story" and v5["settings"]["blend_words"] == ["energy"]
    energy = v5["labels"]["energy"]["weights"]
    assert any(k.startswith("lex:") for k in energy) and sum(k.startswith("w:") for k in energy) > 3000


def test_v6_retrains_every_label_on_the_current_taxonomy() -> None:
    # Every model reads the energy lexicon's score ("lex:energy", "lex+:energy"), so round five's
    # energy lexicon means retraining all three, against taxonomy.toml, not the frozen copy.
    v5 = json.loads((ROOT / "processors" / "models" / "topics-v5.json").read_text(encoding="utf-8"))
    v6 = json.loads((ROOT / "processors" / "models" / "topics-v6.json").read_text(encoding="utf-8"))
    assert v6["settings"]["taxonomy"] == "taxonomy.toml" and "copied_from" not in v6["settings"]
    assert v6["settings"]["trained"] == ["defence", "energy", "trade"]
    assert v6["settings"]["fold_by"] == "story" and v6["settings"]["blend_words"] == ["energy"]
    assert v6["trained_on"] == v5["trained_on"]  # the same tuning split
    assert not any(k.startswith("w:") for k in v6["labels"]["defence"]["weights"])
    assert sum(k.startswith("w:") for k in v6["labels"]["energy"]["weights"]) > 3000
