"""Evaluation metrics: precision, recall, F1, macro-F1, judged labels and confusion, by hand."""

from __future__ import annotations

import pytest

from eval.metrics import (
    Counts,
    Judgement,
    bootstrap_macro_f1,
    confusion,
    label_counts,
    macro_f1,
    set_counts,
)

CORE = ("defence", "trade", "energy")


def _j(gold: set[str], pred: set[str], judged: set[str] | None = None) -> Judgement:
    return Judgement(frozenset(gold), frozenset(pred), frozenset(CORE if judged is None else judged))


@pytest.mark.parametrize(
    ("counts", "precision", "recall", "f1"),
    [
        pytest.param(Counts(tp=3, fp=1, fn=2), 0.75, 0.6, 2 * 0.75 * 0.6 / 1.35, id="ordinary"),
        pytest.param(Counts(tp=0, fp=0, fn=4), 0.0, 0.0, 0.0, id="nothing-predicted"),
        pytest.param(Counts(tp=0, fp=2, fn=0), 0.0, 0.0, 0.0, id="no-gold-positive"),
        pytest.param(Counts(), 0.0, 0.0, 0.0, id="empty"),
        pytest.param(Counts(tp=5), 1.0, 1.0, 1.0, id="perfect"),
    ],
)
def test_counts_ratios(counts: Counts, precision: float, recall: float, f1: float) -> None:
    assert (counts.precision, counts.recall, counts.f1) == pytest.approx((precision, recall, f1))


def test_label_counts_and_macro_f1() -> None:
    items = [
        _j({"defence"}, {"defence"}),
        _j({"defence", "trade"}, {"defence"}),
        _j(set(), {"energy"}),
        _j({"energy"}, {"energy", "trade"}),
    ]
    counts = label_counts(items, CORE)
    assert counts["defence"] == Counts(tp=2)
    assert counts["trade"] == Counts(fp=1, fn=1)
    assert counts["energy"] == Counts(tp=1, fp=1)
    assert macro_f1(counts) == pytest.approx((1.0 + 0.0 + 2 / 3) / 3)


def test_unjudged_labels_are_left_out() -> None:
    # A Reuters item says nothing about defence: a defence prediction there is not an FP.
    counts = label_counts([_j({"trade"}, {"trade", "defence"}, judged={"trade", "energy"})], CORE)
    assert counts["defence"] == Counts()
    assert counts["trade"] == Counts(tp=1)


def test_confusion_pairs() -> None:
    pairs = confusion([_j({"trade"}, {"energy"}), _j(set(), {"defence"}), _j({"energy"}, set()),
                       _j(set(), set())], CORE)
    assert pairs == {("trade", "energy"): 1, ("-", "defence"): 1, ("energy", "-"): 1}


def test_set_counts_by_type() -> None:
    gold = {("vladimir putin", "PERSON"), ("russia", "GPE"), ("nato", "ORG")}
    pred = {("vladimir putin", "PERSON"), ("russia", "ORG"), ("nato", "ORG")}
    counts = set_counts(gold, pred)
    assert counts["PERSON"] == Counts(tp=1)
    assert counts["ORG"] == Counts(tp=1, fp=1)
    assert counts["GPE"] == Counts(fn=1)


def test_weighted_counts_scale_each_item_by_its_design_weight() -> None:
    items = [
        Judgement(frozenset({"trade"}), frozenset({"trade"}), frozenset(CORE), weight=0.25),
        Judgement(frozenset({"trade"}), frozenset(), frozenset(CORE), weight=2.0),
        Judgement(frozenset(), frozenset({"trade"}), frozenset(CORE), weight=0.5),
    ]
    plain = label_counts(items, CORE)["trade"]
    weighted = label_counts(items, CORE, weighted=True)["trade"]
    assert (plain.tp, plain.fp, plain.fn) == (1, 1, 1)
    assert (weighted.tp, weighted.fp, weighted.fn) == (0.25, 0.5, 2.0)
    assert weighted.recall == pytest.approx(0.25 / 2.25)
    assert weighted.precision == pytest.approx(0.25 / 0.75)


def test_bootstrap_interval_brackets_the_estimate_and_is_reproducible() -> None:
    items = [_j({"trade"}, {"trade"})] * 30 + [_j({"trade"}, set())] * 10 + [_j(set(), {"energy"})] * 5 \
        + [_j({"defence"}, {"defence"})] * 20 + [_j({"energy"}, {"energy"})] * 15
    estimate = macro_f1(label_counts(items, CORE))
    low, high = bootstrap_macro_f1(items, CORE, rounds=300, seed=7)
    assert low <= estimate <= high
    assert high - low > 0.01  # a sample this small cannot pin macro-F1 down
    assert (low, high) == bootstrap_macro_f1(items, CORE, rounds=300, seed=7)


def test_bootstrap_micro_f1_brackets_the_pooled_figure_and_is_repeatable() -> None:
    from eval.metrics import Counts, bootstrap_micro_f1

    per_item = [Counts(tp=3, fp=1, fn=0), Counts(tp=1, fp=0, fn=2), Counts(tp=2, fp=1, fn=1)] * 20
    pooled = sum(per_item, Counts())
    low, high = bootstrap_micro_f1(per_item)
    assert low <= pooled.f1 <= high and low < high
    assert bootstrap_micro_f1(per_item) == (low, high)
    assert bootstrap_micro_f1([Counts(tp=2)] * 5) == (1.0, 1.0)
    assert bootstrap_micro_f1([]) == (0.0, 0.0)
