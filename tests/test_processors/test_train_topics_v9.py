"""lexicon.v9's pieces (round ten): v8's recipe on the explicit file list `V9_FILES` (topics_fresh3 in,
topics_fresh4 never), the current taxonomy with round ten's phrases, the registered classifier and
its artifact, and the hard cases a model trained on more headlines must still get right."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from eval import train_topics as tt
from eval.splits import split_of
from processors import load_classifier
from processors.classify import CLASSIFIERS, TAXONOMY, V8_TAXONOMY
from processors.linear import LinearTopicModel

ROOT = Path(__file__).resolve().parents[2]


def _sha(name: str) -> str:
    return hashlib.sha256((ROOT / "processors" / name).read_bytes()).hexdigest()


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_v9_reads_only_the_files_it_names_never_fresh4(tmp_path: Path) -> None:
    tuning_id = next(f"item-{n}" for n in range(100) if split_of(f"item-{n}") == "tuning")
    _write(tmp_path / "topics_tuning.jsonl", [{"id": tuning_id, "title": "Tariffs", "labels": ["trade"]}])
    for n, name in enumerate(tt.V9_FILES[1:]):
        _write(tmp_path / name, [{"id": f"feed-{n}", "title": "Oil", "labels": ["energy"]}])
    for unseen in ("topics_fresh4.jsonl", "topics_fresh4.labels.jsonl"):
        (tmp_path / unseen).write_text("not json, and never read\n", encoding="utf-8")
    (tmp_path / "headlines-history").mkdir()
    tuning, feed, batch = tt.read_v8(tmp_path, tt.V9_FILES)
    assert [it.id for it in tuning] == [tuning_id]
    assert [it.id for it in feed] == [f"feed-{n}" for n in range(len(tt.V9_FILES) - 1)]
    assert batch == list(tt.V9_FILES[1:])
    assert tt.V9_FILES == ("topics_tuning.jsonl", "topics_fresh1.jsonl", "topics_fresh2.jsonl",
                           "topics_train1.jsonl", "topics_fresh3.jsonl")
    assert not any("fresh4" in name or "history" in name for name in tt.V9_FILES)
    assert tt.V9_FRESH3 in tt.V9_FILES


def test_v9_is_v8s_recipe_on_the_current_taxonomy() -> None:
    v8, v9 = tt.HEADLINE_RECIPES["v8"], tt.HEADLINE_RECIPES["v9"]
    assert v9.files == tt.V9_FILES and v9.rule_batch == tt.V9_FRESH3 and v9.taxonomy == TAXONOMY
    assert v8.taxonomy == V8_TAXONOMY and v9.files[: len(v8.files)] == v8.files


def test_v9_is_registered_and_its_artifact_records_data_gates_cv_and_headlines() -> None:
    assert "lexicon.v9" in CLASSIFIERS
    path = ROOT / "processors" / "models" / "topics-v9.json"
    artifact = json.loads(path.read_text(encoding="utf-8"))
    assert path.stat().st_size < 1_000_000
    assert artifact["taxonomy_sha256"] == _sha(TAXONOMY) != _sha(V8_TAXONOMY)
    assert set(artifact["trained_on"]) == {*tt.V9_FILES, "feed views"}
    for label, spec in artifact["labels"].items():
        assert spec["min_terms"] in tt.V8_GATES, label
        assert 0.0 < spec["threshold"] < 1.0 and 0.0 < spec["threshold_headlines"] < 1.0, label
        assert {"tuning", "feed", "fresh1", "fresh2", "train1", "fresh3", "fresh3_weighted", "headlines"} <= set(spec["cv"])
        assert tt.TITLE_ONLY in spec["weights"] and "lex:conflict" in spec["weights"]
    model = LinearTopicModel.load(path)
    assert {m.min_terms for m in model.labels.values()} <= set(tt.V8_GATES)
    v9 = load_classifier("lexicon.v9")
    assert v9.version.startswith("lexicon.v9+") and v9.model is not None


def test_round_ten_phrases_are_in_the_current_taxonomy_only() -> None:
    v8, v9 = load_classifier("lexicon.v8"), load_classifier("lexicon.v9")
    for label, phrase in (("defence", "nuclear triad"), ("defence", "defence ties"), ("defence", "iron dome"),
                          ("defence", "lashkar-e-taiba"), ("defence", "hindustan aeronautics"),
                          ("trade", "unctad"), ("trade", "trade adviser"), ("trade", "russian oil"),
                          ("energy", "south pars"), ("energy", "ntpc"), ("energy", "thorium"),
                          ("energy", "petrol prices")):
        assert phrase in v9.rules[label].terms and phrase not in v8.rules[label].terms, phrase
    scores = {s.label: s for s in v9.scores("India commissions a new submarine for its nuclear triad", "", "")}
    assert "nuclear triad" in scores["defence"].evidence and v9.enough_terms("defence", scores["defence"].evidence, 1)


@pytest.mark.parametrize(("title", "summary"), [
    ("A strong defence", ""), ("Trade in your old phone", ""), ("The team showed real energy", ""),
    ("Arms and legs", ""), ("Rebel Wilson stars in new comedy", ""), ("Coup de grace: Federer wins fifth title", ""),
    ("Houston Rockets beat Lakers", ""), ("K-pop star begins military service", "The singer enlisted on Monday."),
    ("Five bath bombs to try this winter", ""), ("The film bombed at the box office", ""),
    ("Energy drink maker reports record sales", ""), ("Lakers trade star guard to Celtics", ""),
    ("Five tips to cut your household budget", "Day trading on a trading app is risky."),
    ("A new start for the club after a bad season", ""), ("Bricks and mortar shops close", ""),
])
def test_v9_hard_cases_get_no_core_label(title: str, summary: str) -> None:
    labels = {t.label for t in load_classifier("lexicon.v9").classify(title, summary, "")}
    assert labels & {"defence", "trade", "energy"} == set(), title


def test_weak_words_still_never_carry_a_v9_label() -> None:
    v9 = load_classifier("lexicon.v9")
    for label, word in (("defence", "ins"), ("defence", "quad"), ("defence", "escalation"), ("defence", "shells"),
                        ("defence", "rebel"), ("trade", "cargo"), ("trade", "smuggling"), ("trade", "price cap")):
        assert v9.rules[label].terms[word] <= 1.0 and not v9.enough_terms(label, (word,), 1), word
