"""Entity harness: run the extractor over hand-checked paragraphs, score by type on canonical names.

    python -m eval.entities --gold eval/data/entities_gold.jsonl [--misses N] [--json]
    newswatch eval entities --gold eval/data/entities_gold.jsonl

Per paragraph, the gold and the predicted sets of (canonical name, type) are compared, for the
types in `TYPES` (PERSON, ORG, GPE); counts are summed over paragraphs (micro-average by type),
so a name counts once per paragraph however often it occurs. Names compare after whitespace
and case folding. Other types the extractor emits (NORP, LOC, PRODUCT, ...) are not scored,
but a PERSON/ORG/GPE name predicted with another of the three types counts as FP and FN.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from eval.gold import EntityItem, read_entity_gold
from eval.metrics import Counts, bootstrap_micro_f1, set_counts
from processors import EntityExtractor

TYPES = ("PERSON", "ORG", "GPE")


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class EntityReport:
    """Counts by type, the overall micro figures, and the wrong names per paragraph."""

    gold_file: str
    items: int
    counts: dict[str, Counts]
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, type, name, item id)
    per_item: list[Counts] = field(default_factory=list)  # pooled counts of each paragraph, for the interval

    @cached_property
    def interval(self) -> tuple[float, float]:
        """95% bootstrap interval of the overall F1, resampling paragraphs (fixed seed)."""
        return bootstrap_micro_f1(self.per_item)

    @property
    def overall(self) -> Counts:
        """Micro-average over the scored types."""
        total = Counts()
        for c in self.counts.values():
            total += c
        return total

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures."""
        def fig(c: Counts) -> dict[str, float | int]:
            return {"precision": round(c.precision, 4), "recall": round(c.recall, 4), "f1": round(c.f1, 4),
                    "tp": c.tp, "fp": c.fp, "fn": c.fn}
        return {"gold_file": self.gold_file, "items": self.items,
                "types": {k: fig(v) for k, v in self.counts.items()}, "overall": fig(self.overall),
                "overall_f1_interval_95": [round(x, 4) for x in self.interval],
                "errors": [list(e) for e in self.errors]}

    def lines(self, misses: int = 10) -> list[str]:
        """The human report, with up to `misses` wrong names per type and kind."""
        out = [f"gold {self.gold_file}: {self.items} paragraphs; scored types {', '.join(TYPES)}", ""]
        out.append(f"{'type':<8}{'P':>7}{'R':>7}{'F1':>7}{'TP':>6}{'FP':>6}{'FN':>6}")
        for kind, c in [*self.counts.items(), ("all", self.overall)]:
            out.append(f"{kind:<8}{c.precision:7.3f}{c.recall:7.3f}{c.f1:7.3f}{c.tp:6d}{c.fp:6d}{c.fn:6d}")
        low, high = self.interval
        out.append(f"overall F1 95% bootstrap over paragraphs: {low:.3f}-{high:.3f}")
        shown: dict[tuple[str, str], int] = {}
        wrong = []
        for kind, etype, name, item in self.errors:
            shown[(kind, etype)] = shown.get((kind, etype), 0) + 1
            if shown[(kind, etype)] <= misses:
                wrong.append(f"  {kind} {etype:<7} {name}  ({item})")
        if wrong:
            out += ["", "wrong names (FP = predicted, not in gold; FN = in gold, missed)", *wrong]
        return out


def evaluate(items: Sequence[EntityItem], extractor: EntityExtractor, *, gold_file: str = "") -> EntityReport:
    """Extract from every paragraph in one batch and compare with the gold names."""
    counts = {t: Counts() for t in TYPES}
    errors = []
    per_item: list[Counts] = []
    predicted_all = extractor.extract_many([item.text for item in items])
    for item, predicted in zip(items, predicted_all, strict=True):
        gold = {(_key(e.canonical), e.label) for e in item.entities if e.label in TYPES}
        pred = {(_key(e.canonical), e.label) for e in predicted if e.label in TYPES}
        item_total = Counts()
        for etype, c in set_counts(gold, pred).items():
            counts[etype] += c
            item_total += c
        per_item.append(item_total)
        errors += [("FP", t, n, item.id) for n, t in sorted(pred - gold, key=lambda x: (x[1], x[0]))]
        errors += [("FN", t, n, item.id) for n, t in sorted(gold - pred, key=lambda x: (x[1], x[0]))]
    errors.sort(key=lambda e: (e[0], e[1]))
    return EntityReport(gold_file=gold_file, items=len(items), counts=counts, errors=errors, per_item=per_item)


def run(gold: Path, *, extractor: EntityExtractor | None = None, scorer: str | None = None) -> EntityReport:
    """Load the gold file and the extractor (once; `scorer` "rules" or an artifact version such as
    "entities-v1", the default artifact if None), evaluate."""
    if extractor is None:
        extractor = (EntityExtractor.load(rules_only=True) if scorer == "rules"
                     else EntityExtractor.load(scorer_version=scorer) if scorer else EntityExtractor.load())
    return evaluate(read_entity_gold(gold), extractor, gold_file=str(gold))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; exit 0 after printing the report."""
    parser = argparse.ArgumentParser(description="entity extraction evaluation over a gold JSONL file")
    parser.add_argument("--gold", type=Path, required=True, help="gold JSONL (id, text, entities)")
    parser.add_argument("--misses", type=int, default=10, help="wrong names shown per type and kind")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--scorer", default=None,
                        help='"rules" (no span scorer) or an artifact version ("entities-v1"); default: the default')
    args = parser.parse_args(argv)
    report = run(args.gold, scorer=args.scorer)
    print(json.dumps(report.as_dict(), indent=2) if args.json else "\n".join(report.lines(args.misses)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
