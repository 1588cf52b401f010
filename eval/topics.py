"""Topic harness: run the classifier over a gold JSONL file and report how right it is.

    python -m eval.topics --gold FILE.jsonl [--misses N] [--taxonomy T] [--json]
    newswatch eval topics --gold FILE.jsonl            (same thing through the CLI)

Prints per-label precision, recall and F1 (see `eval.metrics` for the judged-label rule),
the macro-F1 over defence/trade/energy, F1 per source, a confusion summary and the worst misses
with the evidence terms that fired: false positives with the highest score first, false
negatives closest to nothing first. The classifier reads title, summary and text exactly as the
processor does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.gold import CORE_LABELS, TopicItem, read_topic_gold
from eval.metrics import Counts, Judgement, bootstrap_macro_f1, confusion, label_counts, macro_f1
from processors import Classifier, TopicScore, load_classifier


@dataclass(frozen=True)
class Miss:
    """One wrong decision on one label, with what the classifier saw."""

    kind: str  # "FP" or "FN"
    label: str
    item_id: str
    title: str
    raw: float
    threshold: float
    evidence: tuple[str, ...]
    negatives: tuple[str, ...]
    other_labels: tuple[str, ...]


@dataclass
class TopicReport:
    """Everything the harness measured; `lines()` renders it as text."""

    gold_file: str
    classifier_version: str
    items: int
    counts: dict[str, Counts]
    macro_f1: float
    by_source: dict[str, dict[str, Counts]]
    confusion: list[tuple[str, str, int]]
    misses: list[Miss] = field(default_factory=list)
    unjudged: dict[str, tuple[int, int]] = field(default_factory=dict)  # label -> (predicted, items)
    macro_ci: tuple[float, float] = (0.0, 0.0)
    weighted: dict[str, Counts] | None = None  # design-weighted counts, when items carry weights
    weighted_macro_f1: float | None = None
    weighted_macro_ci: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures (no misses' text beyond titles)."""
        def fig(c: Counts) -> dict[str, float | int]:
            return {"precision": round(c.precision, 4), "recall": round(c.recall, 4), "f1": round(c.f1, 4),
                    "tp": c.tp, "fp": c.fp, "fn": c.fn, "support": c.support}
        return {
            "gold_file": self.gold_file, "classifier_version": self.classifier_version, "items": self.items,
            "labels": {k: fig(v) for k, v in self.counts.items()}, "macro_f1": round(self.macro_f1, 4),
            "by_source": {s: {k: fig(v) for k, v in c.items()} for s, c in self.by_source.items()},
            "confusion": [[g, p, n] for g, p, n in self.confusion],
            "misses": [m.__dict__ for m in self.misses],
            "unjudged_predictions": {k: {"predicted": p, "items": n} for k, (p, n) in self.unjudged.items()},
            "macro_f1_ci95": [round(v, 4) for v in self.macro_ci],
            "weighted": None if self.weighted is None else {
                "labels": {k: fig(v) for k, v in self.weighted.items()},
                "macro_f1": round(self.weighted_macro_f1 or 0.0, 4),
                "macro_f1_ci95": [round(v, 4) for v in self.weighted_macro_ci or (0.0, 0.0)],
            },
        }

    def lines(self) -> list[str]:
        """The human report."""
        out = [f"gold {self.gold_file}: {self.items} items; classifier {self.classifier_version}", ""]
        out.append(f"{'label':<10}{'P':>7}{'R':>7}{'F1':>7}{'TP':>6}{'FP':>6}{'FN':>6}{'support':>9}")
        for label, c in self.counts.items():
            out.append(f"{label:<10}{c.precision:7.3f}{c.recall:7.3f}{c.f1:7.3f}{c.tp:6d}{c.fp:6d}{c.fn:6d}{c.support:9d}")
        low, high = self.macro_ci
        out.append(f"macro-F1 over {', '.join(self.counts)}: {self.macro_f1:.3f} (95% bootstrap {low:.3f}-{high:.3f})")
        if self.weighted is not None:
            out += ["", "design-weighted (the sample's items weighted back to the population it was drawn from)"]
            for label, c in self.weighted.items():
                out.append(f"{label:<10}{c.precision:7.3f}{c.recall:7.3f}{c.f1:7.3f}"
                           f"{c.tp:6.0f}{c.fp:6.0f}{c.fn:6.0f}{c.support:9.0f}")
            low, high = self.weighted_macro_ci or (0.0, 0.0)
            out.append(f"weighted macro-F1: {self.weighted_macro_f1:.3f} (95% bootstrap {low:.3f}-{high:.3f})")
        for label, (hits, total) in self.unjudged.items():
            if total:
                out.append(f"  ({label} also fired on {hits} of {total} items that do not judge it)")
        out += ["", "F1 by source (label: F1 [TP/FP/FN])"]
        for source, counts in self.by_source.items():
            cells = ", ".join(f"{k}: {c.f1:.3f} [{c.tp}/{c.fp}/{c.fn}]" for k, c in counts.items()
                              if c.tp + c.fp + c.fn)
            out.append(f"  {source}: {cells or 'no positives, no predictions'}")
        out += ["", "confusion (gold -> predicted, '-' = no core label), off-diagonal first"]
        for g, p, n in self.confusion:
            out.append(f"  {g:>8} -> {p:<8} {n}")
        if self.misses:
            out += ["", "worst misses"]
            for m in self.misses:
                also = f" also={','.join(m.other_labels)}" if m.other_labels else ""
                out.append(f"  {m.kind} {m.label:<8} score={m.raw:5.2f}/{m.threshold:g} {m.item_id}{also}")
                out.append(f"      title: {m.title[:110]}")
                out.append(f"      evidence: {', '.join(m.evidence) or '-'}; negatives: {', '.join(m.negatives) or '-'}")
        return out


def evaluate(
    items: Sequence[TopicItem], classifier: Classifier, *, labels: Sequence[str] = CORE_LABELS,
    misses: int = 10, gold_file: str = "",
) -> TopicReport:
    """Classify every item and compare with its gold; `misses` worst errors kept per label and kind."""
    judgements: list[Judgement] = []
    sources: dict[str, list[Judgement]] = {}
    wrong: list[tuple[float, Miss]] = []
    for item in items:
        scores = {s.label: s for s in classifier.scores(item.title, item.summary, item.text)}
        predicted = frozenset(label for label, s in scores.items() if s.assigned)
        judgement = Judgement(item.labels, predicted, item.judged, item.weight)
        judgements.append(judgement)
        sources.setdefault(item.source or "-", []).append(judgement)
        for label in labels:
            if label not in item.judged or (label in item.labels) == (label in predicted):
                continue
            wrong.append(_miss(item, label, scores.get(label), classifier, predicted))
    counts = label_counts(judgements, labels)
    has_weights = any(j.weight != 1.0 for j in judgements)
    weighted = label_counts(judgements, labels, weighted=True) if has_weights else None
    unjudged = {label: (sum(label in j.predicted for j in judgements if label not in j.judged),
                        sum(label not in j.judged for j in judgements)) for label in labels}
    pairs = confusion(judgements, labels)
    ordered = sorted(pairs.items(), key=lambda kv: (kv[0][0] == kv[0][1], -kv[1], kv[0]))
    return TopicReport(
        gold_file=gold_file, classifier_version=classifier.version, items=len(items), counts=counts,
        macro_f1=macro_f1(counts),
        by_source={s: label_counts(j, labels) for s, j in sorted(sources.items())},
        confusion=[(g, p, n) for (g, p), n in ordered], misses=_worst(wrong, misses),
        unjudged=unjudged, macro_ci=bootstrap_macro_f1(judgements, labels),
        weighted=weighted, weighted_macro_f1=macro_f1(weighted) if weighted else None,
        weighted_macro_ci=bootstrap_macro_f1(judgements, labels, weighted=True) if weighted else None,
    )


def _miss(item: TopicItem, label: str, score: TopicScore | None, classifier: Classifier,
          predicted: frozenset[str]) -> tuple[float, Miss]:
    rule = classifier.rules[label]
    kind = "FN" if label in item.labels else "FP"
    raw = score.raw if score else 0.0
    threshold = rule.threshold
    if score is not None and score.probability is not None and score.cutoff is not None:
        raw, threshold = score.probability, score.cutoff  # a learned model decided (lexicon.v3)
    miss = Miss(
        kind=kind, label=label, item_id=item.id, title=item.title or item.summary[:110] or item.text[:110],
        raw=raw, threshold=threshold, evidence=score.evidence if score else (),
        negatives=score.negatives if score else (), other_labels=tuple(sorted(predicted - {label})),
    )
    badness = raw if kind == "FP" else -raw  # confident FPs and hopeless FNs first
    return badness, miss


def _worst(wrong: list[tuple[float, Miss]], per_group: int) -> list[Miss]:
    groups: dict[tuple[str, str], list[tuple[float, Miss]]] = {}
    for badness, miss in wrong:
        groups.setdefault((miss.label, miss.kind), []).append((badness, miss))
    out = []
    for key in sorted(groups):
        out += [m for _b, m in sorted(groups[key], key=lambda bm: (-bm[0], bm[1].item_id))[:per_group]]
    return out


def run(gold: Path, *, taxonomy: Path | None = None, classifier: str | None = None, misses: int = 10) -> TopicReport:
    """Load the gold file and the classifier, evaluate; what the CLI and `main` call."""
    clf = load_classifier(classifier, taxonomy) if classifier else load_classifier(taxonomy=taxonomy)
    return evaluate(read_topic_gold(gold), clf, misses=misses, gold_file=str(gold))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; exit 0 after printing the report."""
    parser = argparse.ArgumentParser(description="topic classifier evaluation over a gold JSONL file")
    parser.add_argument("--gold", type=Path, required=True, help="gold JSONL (id, title, summary, text, labels)")
    parser.add_argument("--taxonomy", type=Path, default=None, help="taxonomy TOML (default: the packaged one)")
    parser.add_argument("--classifier", default=None, help="registered classifier name (default: the default)")
    parser.add_argument("--misses", type=int, default=10, help="worst misses shown per label and kind")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    report = run(args.gold, taxonomy=args.taxonomy, classifier=args.classifier, misses=args.misses)
    print(json.dumps(report.as_dict(), indent=2) if args.json else "\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
