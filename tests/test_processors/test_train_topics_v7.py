"""lexicon.v7's training pieces (eval/train_topics.py): feed views, the explicit file list, sample
weights, the gate and threshold choice; and the per-label gate the classifier reads from an artifact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from eval import train_topics as tt
from eval.gold import TopicItem
from eval.splits import split_of
from processors import Classifier
from processors.linear import LabelModel, LinearTopicModel

ROOT = Path(__file__).resolve().parents[2]


def _item(item_id: str, title: str, summary: str = "", text: str = "", labels: tuple[str, ...] = ()) -> TopicItem:
    return TopicItem(item_id, title, summary, text, frozenset(labels), frozenset({"defence", "trade", "energy"}))


def test_feed_view_keeps_the_title_and_the_first_two_sentences() -> None:
    body = ("Oil prices rose on Monday. OPEC said it would cut output.\n  Analysts expected more. "
            "A fourth sentence follows.")
    view = tt.feed_view(_item("r1", "OIL PRICES RISE", "", body, ("energy",)))
    assert view.id == "r1#feed" and view.title == "OIL PRICES RISE" and view.labels == frozenset({"energy"})
    assert view.summary == view.text == "Oil prices rose on Monday. OPEC said it would cut output."


def test_feed_view_reads_the_summary_first_and_caps_the_length() -> None:
    item = _item("g1", "Title", "A standfirst. Second.", "Body text. More body.")
    assert tt.feed_view(item).summary == "A standfirst. Second."
    long = " ".join(["word"] * 200)  # one sentence far over FEED_CHARS: cut at a word boundary
    view = tt.feed_view(_item("r2", "T", "", long))
    assert 0 < len(view.summary) <= tt.FEED_CHARS and view.summary.endswith("word")


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_v7_reads_only_the_files_it_names(tmp_path: Path) -> None:
    tuning_id = next(f"item-{n}" for n in range(100) if split_of(f"item-{n}") == "tuning")
    _write(tmp_path / "topics_tuning.jsonl", [{"id": tuning_id, "title": "Tariffs", "labels": ["trade"]}])
    _write(tmp_path / "topics_fresh1.jsonl", [{"id": "tf1-1", "title": "Oil", "labels": ["energy"], "weight": 0.5}])
    (tmp_path / "topics_fresh2.jsonl").write_text("not json, and never read\n", encoding="utf-8")
    tuning, fresh = tt.read_v7(tmp_path)
    assert [it.id for it in tuning] == [tuning_id] and [it.id for it in fresh] == ["tf1-1"]
    assert tt.V7_FILES == ("topics_tuning.jsonl", "topics_fresh1.jsonl")
    assert not any("fresh2" in name for name in tt.V7_FILES)


def test_v7_refuses_held_out_tuning_items(tmp_path: Path) -> None:
    held = next(f"item-{n}" for n in range(100) if split_of(f"item-{n}") == "heldout")
    _write(tmp_path / "topics_tuning.jsonl", [{"id": held, "title": "x", "labels": []}])
    _write(tmp_path / "topics_fresh1.jsonl", [])
    with pytest.raises(SystemExit, match="held-out"):
        tt.read_v7(tmp_path)


def _toy() -> tuple[tt.Matrix, np.ndarray]:
    features = [{"w:a": 1.0}, {"w:a": 1.0}, {"w:b": 1.0}, {"w:b": 1.0}, {"w:a": 0.5, "w:b": 0.5}]
    y = np.array([1.0, 1.0, 0.0, 0.0, 1.0])
    return tt.build_matrix(features, ["w:a", "w:b"]), y


def test_unit_sample_weights_fit_the_unweighted_model() -> None:
    x, y = _toy()
    plain = tt.fit(x, y, 1e-3)
    assert np.allclose(tt.fit(x, y, 1e-3, sample=np.ones(5)), plain, atol=1e-6)
    heavier = tt.fit(x, y, 1e-3, sample=np.array([1.0, 1.0, 1.0, 1.0, 5.0]))
    mixed = np.array([0.5, 0.5, 1.0])  # the fifth row (a positive) weighs more: its score rises
    assert float(mixed @ heavier) > float(mixed @ plain)


def test_choose_rule_prefers_the_stricter_gate_on_a_tie_and_scores_fresh_and_tuning() -> None:
    p = np.array([0.9, 0.8, 0.2, 0.7, 0.1, 0.9])
    y = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    units = np.array([2, 2, 0, 2, 0, 0])  # the false positive (last) has no lexicon phrase
    pushed = np.ones(6, dtype=bool)
    fresh = np.array([True, True, True, False, False, False])
    gate, threshold, scored = tt.choose_rule(p, y, units, pushed, fresh, np.ones(6))
    assert gate == 2 and scored.fresh[2] == 1.0 and scored.tuning[2] == 1.0
    assert threshold <= 0.7
    units = np.array([1, 1, 0, 1, 0, 0])  # the positives have one weak phrase each: gate 2 loses them
    gate, _t, scored = tt.choose_rule(p, y, units, pushed, fresh, np.ones(6))
    assert gate == 1 and scored.objective == 1.0


def test_weighted_prf() -> None:
    pred = np.array([True, True, False])
    y = np.array([1.0, 0.0, 1.0])
    assert tt.prf(pred, y) == (0.5, 0.5, 0.5)
    p, r, f = tt.prf(pred, y, np.array([3.0, 1.0, 1.0]))
    assert (p, r) == (0.75, 0.75) and f == pytest.approx(0.75)


def _classifier(min_terms: int | None) -> Classifier:
    # v7's taxonomy (frozen as taxonomy-v7.toml in round nine; the current one names "houthis", "truce")
    digest = hashlib.sha256((ROOT / "processors" / "taxonomy-v7.toml").read_bytes()).hexdigest()
    weights = {"w:houthis": 6.0, "w:truce": 6.0, "lex:conflict": 2.0}
    model = LinearTopicModel({"defence": LabelModel(-3.0, weights, 0.5, min_terms)}, digest, "test")
    return Classifier.from_taxonomy(name="lexicon.test", strong_phrases=True, model=model,
                                    packaged="taxonomy-v7.toml")


def test_a_gate_of_zero_lets_the_model_label_with_its_own_words_as_evidence() -> None:
    title = "Houthis reject talks as truce ends"
    assert "defence" not in {t.label for t in _classifier(None).classify(title, "", "")}  # taxonomy gate
    label = next(t for t in _classifier(0).classify(title, "", "") if t.label == "defence")
    assert label.evidence and set(label.evidence) <= {"houthis", "truce", "truce ends", "houthis reject"}


def test_a_label_without_any_evidence_is_never_assigned() -> None:
    digest = hashlib.sha256((ROOT / "processors" / "taxonomy.toml").read_bytes()).hexdigest()
    model = LinearTopicModel({"defence": LabelModel(5.0, {}, 0.5, 0)}, digest, "test")  # always sure
    clf = Classifier.from_taxonomy(name="lexicon.test", strong_phrases=True, model=model)
    assert clf.classify("Quarterly sales rose", "", "") == []


def test_artifact_min_terms_is_read_and_optional(tmp_path: Path) -> None:
    spec = {"format": "newswatch.linear-topics.v1", "taxonomy_sha256": "x",
            "labels": {"trade": {"bias": 0.0, "weights": {}, "threshold": 0.5, "min_terms": 1},
                       "energy": {"bias": 0.0, "weights": {}, "threshold": 0.5}}}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    model = LinearTopicModel.load(path)
    assert model.labels["trade"].min_terms == 1 and model.labels["energy"].min_terms is None


@pytest.mark.parametrize("gate", [0, 1])
def test_a_weak_word_alone_never_carries_a_label_under_a_relaxed_gate(gate: int) -> None:
    digest = hashlib.sha256((ROOT / "processors" / "taxonomy.toml").read_bytes()).hexdigest()
    sure = {"w:defence": 9.0, "w:strong": 9.0, "w:missile": 9.0}
    model = LinearTopicModel({"defence": LabelModel(2.0, sure, 0.5, gate)}, digest, "test")
    clf = Classifier.from_taxonomy(name="lexicon.test", strong_phrases=True, model=model)
    assert clf.classify("A strong defence", "", "") == []  # "defence" weighs 1.0: ambiguous
    assert clf.enough_terms("defence", ("defence",), gate) is False
    assert clf.enough_terms("defence", ("missile",), gate) is True  # 2.5: one phrase is enough
    assert clf.enough_terms("defence", ("missile",), 2) is False  # the taxonomy's rule wants two
    assert clf.enough_terms("defence", (), gate) is (gate == 0)
    assert "defence" in {t.label for t in clf.classify("Missile test", "", "")}


def test_gate_passes_matches_the_classifier_rule() -> None:
    strictest = np.array([-1, -1, 0, 1, 2])  # no phrase (twice), weak words only, gate 1, gate 2
    pushed = np.array([True, False, True, True, True])
    assert tt.gate_passes(2, strictest, pushed).tolist() == [False, False, False, False, True]
    assert tt.gate_passes(1, strictest, pushed).tolist() == [False, False, False, True, True]
    assert tt.gate_passes(0, strictest, pushed).tolist() == [True, False, False, True, True]


def test_v7_artifact_records_its_data_gates_and_cv() -> None:
    path = ROOT / "processors" / "models" / "topics-v7.json"
    artifact = json.loads(path.read_text(encoding="utf-8"))
    assert path.stat().st_size < 1_000_000
    # trained on taxonomy.toml as it was then; frozen as taxonomy-v7.toml when round nine edited it
    frozen = hashlib.sha256((ROOT / "processors" / "taxonomy-v7.toml").read_bytes()).hexdigest()
    assert artifact["taxonomy_sha256"] == frozen
    assert set(artifact["trained_on"]) == {*tt.V7_FILES, "feed views"}
    assert artifact["settings"]["taxonomy"] == "taxonomy.toml"
    for label, spec in artifact["labels"].items():
        assert spec["min_terms"] in tt.V7_GATES and 0.0 < spec["threshold"] < 1.0, label
        assert set(spec["cv"]) == {"fresh1", "fresh1_weighted", "tuning"}
        assert any(k.startswith("w:") for k in spec["weights"]) and "lex:conflict" in spec["weights"]
    model = LinearTopicModel.load(path)
    assert {m.min_terms for m in model.labels.values()} <= set(tt.V7_GATES)
