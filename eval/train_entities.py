"""Train the entity span scorer (`processors/models/entities-v1.json`) on the development gold sets.

    python -m eval.train_entities            # cross-validate, choose, write the artifact
    python -m eval.train_entities --cv-only  # the cross-validation table only

Data: every paragraph of the development sets (`DEV_SETS`: every entity set that has been run,
fresh8 excluded). The pipeline ([gazetteer ruler, ner]) runs once; every candidate mention the
extractor would look at (`processors.entities._scored_mentions`) is recorded with its features
and labelled from the paragraph's gold: the gold type of the name whose canonical or surface it
matches (a lone word that ends or starts a gold PERSON counts as that person), else NONE.

Model: multinomial logistic regression over PERSON/ORG/GPE/NONE, L2-penalised, full-batch
gradient descent from zero with fixed steps (numpy; deterministic, so the artifact is
reproduced byte for byte on the same numpy). Choice: feature groups and penalty by 5-fold
cross-validation grouped by paragraph (the fold of a paragraph is fixed by a hash of its id),
scored end to end like `eval.entities` (micro F1 over PERSON/ORG/GPE on canonical names, after
the document-level rules) against the rules' own figure on the same paragraphs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.entities import TYPES, _key
from eval.gold import EntityItem, read_entity_gold
from eval.metrics import Counts, set_counts
from processors import EntityExtractor
from processors.entities import entities_from_doc
from processors.entity_scorer import CLASSES, FORMAT, SpanScorer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "eval" / "data"
OUT = REPO / "processors" / "models" / "entities-v1.json"
DEV_SETS = ("gold", "heldout", "fresh", "fresh4", "fresh5", "fresh6", "fresh7")
GROUPS = ("context", "words")
GROUP_PREFIX = {"context": ("p=", "n="), "words": ("first=", "last=")}
_GROUP_SETS: tuple[tuple[str, ...], ...] = ((), ("context",), ("words",), ("context", "words"))
CONFIGS = [(g, lam) for g in _GROUP_SETS for lam in (0.001, 0.003, 0.01)]
FOLDS = 5
STEPS = 600
RATE = 0.5


@dataclass
class Recorder:
    """A `MentionDecider` that records every candidate and lets the rules decide."""

    groups: tuple[str, ...] = GROUPS
    rows: list[tuple[tuple[str, str, str], list[str]]] = field(default_factory=list)

    def decide(self, mention: tuple[str, str, str], rule_keeps: bool, features: Sequence[str]) -> str | None:
        """Record, then answer as the rules would."""
        self.rows.append((mention, list(features)))
        return mention[1] if rule_keeps else None


def gold_class(mention: tuple[str, str, str], item: EntityItem) -> str:
    """The gold type of the name a candidate mention stands for, NONE if it names no gold entity."""
    surface, _label, canonical = mention
    by_name: dict[str, str] = {}
    for e in item.entities:
        if e.label in TYPES:
            by_name.setdefault(_key(e.canonical), e.label)
            by_name.setdefault(_key(e.text), e.label)
    for name in (_key(canonical), _key(surface)):
        if name in by_name:
            return by_name[name]
    if " " not in surface:
        word = _key(surface)
        for e in item.entities:
            parts = _key(e.canonical).split()
            if e.label == "PERSON" and len(parts) > 1 and word in (parts[0], parts[-1]):
                return "PERSON"
    return "NONE"


def fold_of(item_id: str) -> int:
    """The cross-validation fold of a paragraph: a hash of its id, so a set's order does not matter."""
    return int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % FOLDS


def keep_feature(feature: str, groups: Sequence[str]) -> bool:
    """True if the feature belongs to the base set or to one of `groups`."""
    for group, prefixes in GROUP_PREFIX.items():
        if feature.startswith(prefixes):
            return group in groups
    return True


def fit(rows: Sequence[tuple[list[str], str]], lam: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Multinomial logistic regression: (feature names, weights [features x classes], bias)."""
    names = sorted({f for feats, _c in rows for f in feats})
    index = {f: i for i, f in enumerate(names)}
    cols = [sorted({index[f] for f in feats}) for feats, _c in rows]
    flat = np.array([i for c in cols for i in c], dtype=np.int64)
    row_of = np.repeat(np.arange(len(rows)), [len(c) for c in cols])
    y = np.zeros((len(rows), len(CLASSES)))
    for r, (_feats, c) in enumerate(rows):
        y[r, CLASSES.index(c)] = 1.0
    w = np.zeros((len(names), len(CLASSES)))
    b = np.zeros(len(CLASSES))
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    n = len(rows)
    for _ in range(STEPS):
        z = np.zeros((n, len(CLASSES)))
        np.add.at(z, row_of, w[flat])  # x @ w for binary x, row by row in a fixed order
        z += b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = p - y
        gw = np.zeros_like(w)
        np.add.at(gw, flat, g[row_of])
        gw = gw / n + lam * w
        gb = g.mean(axis=0)
        vw = 0.9 * vw - RATE * gw
        vb = 0.9 * vb - RATE * gb
        w += vw
        b += vb
    return names, w, b


def scorer_from(names: list[str], w: np.ndarray, b: np.ndarray, groups: Sequence[str]) -> SpanScorer:
    """The inference object for fitted weights (rounded as the artifact stores them)."""
    return SpanScorer.from_dict(artifact(names, w, b, groups, lam=0.0))


def artifact(names: list[str], w: np.ndarray, b: np.ndarray, groups: Sequence[str], *, lam: float) -> dict[str, object]:
    """The JSON artifact: weights rounded to 4 decimals, features sorted, zero rows left out."""
    weights = {}
    for i, f in enumerate(names):
        row = [round(float(v), 4) + 0.0 for v in w[i]]
        if any(row):
            weights[f] = row
    return {"format": FORMAT, "version": "entities-v1", "classes": list(CLASSES), "groups": list(groups),
            "l2": lam, "steps": STEPS, "dev_sets": list(DEV_SETS),
            "bias": [round(float(v), 4) + 0.0 for v in b], "weights": weights}


def score(items: Sequence[EntityItem], docs: Sequence[object], extractor: EntityExtractor,
          scorer: SpanScorer | None) -> dict[str, Counts]:
    """End-to-end counts by type, as `eval.entities` scores them."""
    counts = {t: Counts() for t in TYPES}
    for item, doc in zip(items, docs, strict=True):
        predicted = entities_from_doc(doc, extractor.gazetteer, item.text, scorer)  # type: ignore[arg-type]
        gold = {(_key(e.canonical), e.label) for e in item.entities if e.label in TYPES}
        pred = {(_key(e.canonical), e.label) for e in predicted if e.label in TYPES}
        for t, c in set_counts(gold, pred).items():
            counts[t] += c
    return counts


def total(counts: dict[str, Counts]) -> Counts:
    """Micro sum over the types."""
    out = Counts()
    for c in counts.values():
        out += c
    return out


def line(name: str, counts: dict[str, Counts]) -> str:
    """One table row: F1 by type and micro."""
    return f"{name:<28}" + " / ".join(f"{counts[t].f1:.3f}" for t in TYPES) + f" ({total(counts).f1:.3f})"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-only", action="store_true", help="print the cross-validation table, write nothing")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    extractor = EntityExtractor.load(rules_only=True)
    items = [it for s in DEV_SETS for it in read_entity_gold(DATA / f"entities_{s}.jsonl")]
    docs = list(extractor.nlp.pipe([it.text for it in items]))
    rows: list[tuple[str, list[str], str]] = []  # (item id, features, gold class)
    for item, doc in zip(items, docs, strict=True):
        recorder = Recorder()
        entities_from_doc(doc, extractor.gazetteer, item.text, recorder)
        rows += [(item.id, feats, gold_class(m, item)) for m, feats in recorder.rows]
    print(f"{len(items)} paragraphs, {len(rows)} candidate mentions "
          f"({', '.join(f'{c} {sum(1 for r in rows if r[2] == c)}' for c in CLASSES)})")
    print(line("rules (no scorer)", score(items, docs, extractor, None)))
    best: tuple[float, tuple[str, ...], float] | None = None
    for groups, lam in CONFIGS:
        counts = {t: Counts() for t in TYPES}
        for k in range(FOLDS):
            train = [([f for f in feats if keep_feature(f, groups)], c) for i, feats, c in rows if fold_of(i) != k]
            scorer = scorer_from(*fit(train, lam), groups)
            test = [(it, d) for it, d in zip(items, docs, strict=True) if fold_of(it.id) == k]
            for t, c in score([it for it, _d in test], [d for _it, d in test], extractor, scorer).items():
                counts[t] += c
        f1 = total(counts).f1
        print(line(f"cv {'+'.join(groups) or 'base'} l2={lam}", counts))
        if best is None or f1 > best[0] + 1e-9:
            best = (f1, groups, lam)
    assert best is not None
    _f1, groups, lam = best
    print(f"chosen: groups {'+'.join(groups) or 'base'}, l2 {lam} (cv F1 {best[0]:.3f})")
    by_set = {s: {t: Counts() for t in TYPES} for s in DEV_SETS}
    set_of = {it.id: s for s in DEV_SETS for it in read_entity_gold(DATA / f"entities_{s}.jsonl")}
    for k in range(FOLDS):
        train = [([f for f in feats if keep_feature(f, groups)], c) for i, feats, c in rows if fold_of(i) != k]
        scorer = scorer_from(*fit(train, lam), groups)
        for it, d in zip(items, docs, strict=True):
            if fold_of(it.id) == k:
                for t, c in score([it], [d], extractor, scorer).items():
                    by_set[set_of[it.id]][t] += c
    for s in DEV_SETS:
        subset = [(it, d) for it, d in zip(items, docs, strict=True) if set_of[it.id] == s]
        rules = score([it for it, _d in subset], [d for _it, d in subset], extractor, None)
        print(line(f"{s}: rules", rules), "|", line("cv", by_set[s]))
    if args.cv_only:
        return 0
    names, w, b = fit([([f for f in feats if keep_feature(f, groups)], c) for _i, feats, c in rows], lam)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(artifact(names, w, b, groups, lam=lam), indent=0, sort_keys=True) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
