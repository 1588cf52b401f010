"""Precision, recall and F1 for multi-label topic gold and for entity sets; pure functions.

Topic gold is multi-label and partly judged: an item asserts the presence or absence of each
label in its `judged` set only (Reuters-21578, for instance, has no defence category, so a
Reuters item says nothing about defence). For a label L and an item that judges L:

    TP: L in gold and L predicted      FN: L in gold, not predicted
    FP: L not in gold, L predicted     TN: neither

Items that do not judge L are left out of L's counts. Precision = TP/(TP+FP), recall =
TP/(TP+FN), F1 their harmonic mean; each is 0.0 when its denominator is 0 (the convention
scikit-learn uses with zero_division=0). Macro-F1 = unweighted mean of the per-label F1s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Counts:
    """Confusion counts of one label (or one entity type)."""

    tp: float = 0  # ints, except in design-weighted counts (`weighted=True`)
    fp: float = 0
    fn: float = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """TP / (TP + FP), 0.0 when nothing was predicted."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """TP / (TP + FN), 0.0 when there is no gold positive."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall, 0.0 when both are 0."""
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    @property
    def support(self) -> float:
        """Gold positives."""
        return self.tp + self.fn


def _ratio(num: float, den: float) -> float:
    return 0.0 if den == 0 else num / den


@dataclass(frozen=True)
class Judgement:
    """One item: gold labels, predicted labels and the labels the gold speaks about."""

    gold: frozenset[str]
    predicted: frozenset[str]
    judged: frozenset[str]
    weight: float = 1.0


def label_counts(items: Iterable[Judgement], labels: Sequence[str], *, weighted: bool = False) -> dict[str, Counts]:
    """Per-label TP/FP/FN over the items that judge each label; `weighted`: each item counts its
    design weight (a sample drawn with unequal probabilities estimates its population this way)."""
    out = {label: Counts() for label in labels}
    for item in items:
        w = item.weight if weighted else 1
        for label in labels:
            if label not in item.judged:
                continue
            g, p = label in item.gold, label in item.predicted
            out[label] += Counts(tp=w * (g and p), fp=w * (p and not g), fn=w * (g and not p))
    return out


def bootstrap_macro_f1(
    items: Sequence[Judgement], labels: Sequence[str], *, weighted: bool = False, rounds: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95% percentile interval for macro-F1: items resampled with replacement, `rounds` times,
    with a fixed seed so the interval is the same on every run."""
    return _interval(lambda sample: macro_f1(label_counts(sample, labels, weighted=weighted)), items, rounds, seed)


def bootstrap_micro_f1(per_item: Sequence[Counts], *, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """A 95% percentile interval for micro-F1 over items (entity paragraphs): each item's pooled
    counts resampled with replacement, `rounds` times, with a fixed seed."""
    return _interval(lambda sample: sum(sample, Counts()).f1, per_item, rounds, seed)


def _interval(statistic: Callable[[list[T]], float], items: Sequence[T], rounds: int, seed: int) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of `statistic` over `rounds` resamples of `items` (with
    replacement, a fixed seed); (0.0, 0.0) for no items."""
    import random

    rng = random.Random(seed)
    n = len(items)
    if n == 0:
        return 0.0, 0.0
    values = sorted(statistic([items[rng.randrange(n)] for _ in range(n)]) for _ in range(rounds))
    return values[int(0.025 * rounds)], values[min(rounds - 1, int(0.975 * rounds))]


def macro_f1(counts: dict[str, Counts]) -> float:
    """Unweighted mean F1 over the labels given (0.0 for none)."""
    return sum(c.f1 for c in counts.values()) / len(counts) if counts else 0.0


def confusion(items: Iterable[Judgement], labels: Sequence[str]) -> Counter[tuple[str, str]]:
    """(gold, predicted) pairs for judged labels, "-" standing for "no core label".

    For each item: every gold label paired with every judged predicted label (so a correct
    label gives (L, L)), a gold label with nothing predicted gives (L, "-"), and a
    prediction on an item with no gold label gives ("-", L).
    """
    pairs: Counter[tuple[str, str]] = Counter()
    core = set(labels)
    for item in items:
        gold = sorted(item.gold & core & item.judged)
        pred = sorted(item.predicted & core & item.judged)
        for g in gold or ["-"]:
            for p in pred or ["-"]:
                if g == "-" and p == "-":
                    continue
                pairs[(g, p)] += 1
    return pairs


def set_counts(gold: Iterable[tuple[str, str]], predicted: Iterable[tuple[str, str]]) -> dict[str, Counts]:
    """Per-type counts for one document from (name, type) sets: what entity scoring uses."""
    g, p = set(gold), set(predicted)
    out: dict[str, Counts] = {}
    for name, kind in g | p:
        out[kind] = out.get(kind, Counts()) + Counts(
            tp=int((name, kind) in g and (name, kind) in p),
            fp=int((name, kind) in p and (name, kind) not in g),
            fn=int((name, kind) in g and (name, kind) not in p),
        )
    return out
