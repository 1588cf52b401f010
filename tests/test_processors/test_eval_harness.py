"""The evaluation harnesses on the committed gold samples, the split, the prep and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval import entities as entity_harness
from eval import topics as topic_harness
from eval.gold import GoldFileError, read_entity_gold, read_topic_gold
from eval.splits import split_of, story_groups
from processors import Classifier, EntityExtractor

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "eval" / "data"
CORPORA = ROOT / ".." / "shared" / "corpora"


def test_topic_harness_on_the_committed_sample(classifier: Classifier) -> None:
    report = topic_harness.evaluate(read_topic_gold(DATA / "topics_sample.jsonl"), classifier, misses=5)
    assert report.items == 17
    assert report.counts["trade"].support == 4 and report.counts["energy"].support == 2
    # the hard cases stay hard-case-proof: no false positives on any core label
    assert all(c.fp == 0 for c in report.counts.values())
    # lexicon.v3 misses one of the two energy items ("EU weighs gas import ban as sanctions on
    # Russia tighten": P(energy) 0.48 under its Reuters-calibrated 0.67); v2 found it.
    assert report.macro_f1 >= 0.85
    lines = "\n".join(report.lines())
    assert "macro-F1 over defence, trade, energy" in lines
    for miss in report.misses:  # every miss is explained with what fired
        assert miss.kind in {"FP", "FN"} and miss.threshold > 0


def test_topic_report_shows_evidence_of_misses(classifier: Classifier, tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps({"id": "x", "title": "Oil prices jump as OPEC cuts output",
                                "text": "Brent crude rose.", "labels": ["trade"]}) + "\n", encoding="utf-8")
    report = topic_harness.evaluate(read_topic_gold(gold), classifier)
    kinds = {(m.kind, m.label) for m in report.misses}
    assert kinds == {("FN", "trade"), ("FP", "energy")}
    fp = next(m for m in report.misses if m.kind == "FP")
    assert "opec" in fp.evidence


def test_weighted_gold_gives_a_population_estimate(classifier: Classifier, tmp_path: Path) -> None:
    """Items with design weights get a second, weighted table; plain gold files do not."""
    rows = [
        {"id": "a", "title": "Oil prices jump as OPEC cuts output", "text": "Brent crude rose.",
         "labels": ["energy"], "weight": 0.2},
        {"id": "b", "title": "Council approves new library hours", "text": "", "labels": ["energy"], "weight": 3.0},
    ]
    gold = tmp_path / "w.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = topic_harness.evaluate(read_topic_gold(gold), classifier)
    assert report.counts["energy"].recall == 0.5
    assert report.weighted is not None
    assert report.weighted["energy"].recall == pytest.approx(0.2 / 3.2)
    assert "design-weighted" in "\n".join(report.lines())
    plain = topic_harness.evaluate(read_topic_gold(DATA / "topics_sample.jsonl"), classifier)
    assert plain.weighted is None and plain.macro_ci[0] <= plain.macro_f1 <= plain.macro_ci[1]


@pytest.mark.parametrize("weight", [0, -1, "2", True])
def test_gold_weight_must_be_a_positive_number(tmp_path: Path, weight: object) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "title": "x", "labels": [], "weight": weight}) + "\n", encoding="utf-8")
    with pytest.raises(GoldFileError, match=r"bad.jsonl:1: 'weight' must be a positive number"):
        read_topic_gold(bad)


def test_entity_harness_on_the_committed_gold(extractor: EntityExtractor) -> None:
    items = read_entity_gold(DATA / "entities_gold.jsonl")
    assert len(items) >= 40
    assert all(e.text in item.text for item in items for e in item.entities)
    report = entity_harness.evaluate(items, extractor)
    assert set(report.counts) == {"PERSON", "ORG", "GPE"}
    # regression floor a little under issue 4's round-two figures on this set (0.85 / 0.77 / 0.88)
    assert report.counts["PERSON"].f1 >= 0.80
    assert report.counts["ORG"].f1 >= 0.72
    assert report.counts["GPE"].f1 >= 0.84


@pytest.mark.parametrize("name", ["entities_gold.jsonl", "entities_heldout.jsonl", "entities_fresh.jsonl"])
def test_entity_gold_files_are_well_formed(name: str) -> None:
    items = read_entity_gold(DATA / name)
    assert len(items) >= 15 and len({item.id for item in items}) == len(items)
    assert all(e.text in item.text for item in items for e in item.entities)
    assert {e.label for item in items for e in item.entities} <= {"PERSON", "ORG", "GPE"}


def test_entity_gold_sets_do_not_overlap() -> None:
    texts = [{item.text for item in read_entity_gold(DATA / name)}
             for name in ("entities_gold.jsonl", "entities_heldout.jsonl", "entities_fresh.jsonl")]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])


def test_gold_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "x"}\n', encoding="utf-8")
    with pytest.raises(GoldFileError, match=r"bad.jsonl:1: missing 'labels'"):
        read_topic_gold(bad)


def test_split_is_a_stable_function_of_the_id() -> None:
    ids = [f"reuters21578-{n}" for n in range(2000)]
    splits = [split_of(i) for i in ids]
    assert splits == [split_of(i) for i in ids]
    assert 0.27 < splits.count("heldout") / len(ids) < 0.33
    assert split_of("dvids-gold-g001") == split_of("dvids-gold-g001")


def test_story_groups_join_near_duplicates_only() -> None:
    flash = "OPEC ministers agree to cut crude oil output by one million barrels a day from March"
    full = flash + ". The cut was agreed in Vienna after three days of talks, delegates said."
    table = "Fed adds reserves via customer repurchases of 1.5 billion dlrs, a spokesman said on Monday"
    other = "Fed adds reserves via customer repurchases of 2.0 billion dlrs, a spokesman said on Tuesday"
    unrelated = "Lakers trade star guard to Celtics before the deadline for two draft picks"
    ids = ["e", "d", "c", "b", "a"]
    groups = story_groups(ids, [full, flash, table, other, unrelated])
    assert groups == ["d", "d", "b", "b", "a"]  # each story named by its smallest id
    assert groups == story_groups(ids, [full, flash, table, other, unrelated])


def test_prepare_builds_disjoint_splits(tmp_path: Path) -> None:
    if not (CORPORA / "labeled" / "reuters21578.jsonl").is_file():
        pytest.skip(f"shared corpora not found at {CORPORA.resolve()} (../shared is absent)")
    from eval.prepare import main

    assert main(["--corpora", str(CORPORA), "--out", str(tmp_path)]) == 0
    tuning = [json.loads(x)["id"] for x in (tmp_path / "topics_tuning.jsonl").read_text(encoding="utf-8").splitlines()]
    heldout = [json.loads(x)["id"] for x in (tmp_path / "topics_heldout.jsonl").read_text(encoding="utf-8").splitlines()]
    assert not set(tuning) & set(heldout)
    assert all(split_of(i) == "heldout" for i in heldout)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["heldout"]["positive:defence"] > 100


def test_cli_eval_topics(tmp_path: Path) -> None:
    from newswatch.cli.context import AppContext
    from newswatch.cli.evaluate import app
    from newswatch.settings import load_settings

    result = CliRunner().invoke(
        app, ["topics", "--gold", str(DATA / "topics_sample.jsonl"), "--json"],
        obj=AppContext(settings=load_settings(None, data_dir=tmp_path)),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["labels"]["trade"]["tp"] == 4


@pytest.mark.parametrize(
    ("codes", "labels", "judged", "rules"),
    [
        pytest.param({"crude"}, ["energy"], ["energy", "trade"], [], id="plain-energy"),
        pytest.param({"pet-chem"}, [], ["energy", "trade"], ["R1-petchem-only"], id="petchem-is-not-energy"),
        pytest.param({"pet-chem", "crude"}, ["energy"], ["energy", "trade"], [], id="petchem-with-crude"),
        pytest.param({"bop", "trade"}, [], ["energy"], ["R2-bop"], id="bop-unjudged"),
        pytest.param({"trade", "money-fx"}, [], ["energy"], ["R3-currency"], id="currency-unjudged"),
        pytest.param({"grain", "wheat"}, [], ["energy"], ["R4-commodity"], id="commodity-unjudged"),
        pytest.param({"grain", "trade"}, ["trade"], ["energy", "trade"], [], id="commodity-coded-trade"),
        pytest.param({"crude", "ship"}, [], ["trade"], ["R5-gulf-shipping"], id="tanker-war-unjudged"),
        pytest.param({"earn"}, [], ["energy", "trade"], [], id="other"),
    ],
)
def test_reuters_gold_rules(codes: set[str], labels: list[str], judged: list[str], rules: list[str]) -> None:
    from eval.prepare import reuters_gold

    assert reuters_gold(frozenset(codes)) == (labels, judged, rules)
    plain = reuters_gold(frozenset(codes), rules=False)
    assert plain[2] == []
