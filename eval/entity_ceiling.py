"""How far rules over en_core_web_sm can go: the candidate-recall ceiling, oracle F1s and the misses by cause.

    python -m eval.entity_ceiling                       # every entity set, then the unseen pool
    python -m eval.entity_ceiling --gold eval/data/entities_fresh7.jsonl --examples 8

Candidates are every span the pipeline proposes before our rules look at it: the ents of the
[gazetteer ruler, "ner"] pipeline the extractor runs (any label, titles included), the ents of
"ner" alone (ruler off), the named-operation and ship spans, and the all-capital datelines. A
gold (canonical, label) is *reachable* when a candidate covers one of its gold surfaces: the
same characters, or a span containing the surface with at most one token more ("the", "'s", a
rank). The ceiling is then the share of gold names reachable, by type and micro. Two more columns:
"model", the ceiling from "ner" alone (no gazetteer, no rule of ours), and "strict", the ceiling
when only the leading "the" and trailing "'s" that the extractor strips may be extra.

Three oracles on top of the candidates and of the extractor's output, per set and pooled:

* candidate oracle: a post-processor that keeps exactly the reachable gold names with the right
  label and canonical name and drops every other candidate; precision 1, recall = the ceiling.
* label oracle: the extractor's output as it is, but every name whose canonical matches a gold
  name of the paragraph takes the gold label (our filters and canonical names unchanged).
* output oracle: the extractor's output with every wrong name dropped and labels fixed;
  precision 1, recall = the gold names our output holds under any label.

Every gold name the extractor misses gets one cause, checked in this order: not proposed (no
candidate overlaps any gold surface), wrong boundaries (candidates overlap, none covers), cut by
the gazetteer (only "ner" alone covers it: a ruler pattern cut the longer name), canonical
mismatch (the output has the mention with the gold label under another name), wrong label (the
model's: no covering candidate of the pipeline has the gold label, or a demonym our table lacks),
relabelled by our rules (one had exactly the gold label, the output has another), filtered by our
rules (one had the gold label or a demonym, nothing came out).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

from eval.entities import TYPES, _key
from eval.gold import EntityItem, read_entity_gold
from eval.metrics import Counts, set_counts
from processors import EntityExtractor
from processors.names import dateline_places

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from newswatch import Entity

DATA = Path(__file__).resolve().parent / "data"
POOL = ("heldout", "fresh", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9")
"""The sets annotated before the extractor was run on them: `entities_<name>.jsonl`."""
SETS = ("gold", *POOL)
CAUSES = ("not proposed", "wrong boundaries", "cut by the gazetteer", "canonical mismatch", "wrong label",
          "relabelled by our rules", "filtered by our rules")
_COMPATIBLE = {"GPE": {"GPE", "NORP"}, "ORG": {"ORG"}, "PERSON": {"PERSON"}}
FALSE_KINDS = ("gold name, wrong label", "over a gold surface", "no gold name there")
"""A false positive is a gold name of the paragraph under another label; or a name over a gold
name's surface but not equal to it (boundaries, canonical); or over no gold name at all (not an
entity, or a type the gold does not annotate: FAC, LOC, PRODUCT, works)."""
"""Candidate labels a gold label can come from as the extractor is built (a demonym is NORP)."""


@dataclass(frozen=True)
class Candidate:
    """A proposed span: characters, label, the text, where it came from."""

    start: int
    end: int
    label: str
    text: str
    source: str  # "pipeline", "ner-only", "special", "dateline"


def occurrences(text: str, surface: str) -> list[tuple[int, int]]:
    """Every (start, end) of `surface` in `text` not glued to a letter or digit on either side."""
    pattern = re.compile(rf"(?<![^\W_]){re.escape(surface)}(?![^\W_])")
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def covers(span: tuple[int, int], occ: tuple[int, int], tokens: Sequence[tuple[int, int]]) -> bool:
    """True if `span` is `occ` or contains it with at most one token of `tokens` outside it."""
    if span == occ:
        return True
    if not (span[0] <= occ[0] and occ[1] <= span[1]):
        return False
    outside = sum(1 for s, e in tokens if span[0] <= s < span[1] and not (s < occ[1] and occ[0] < e))
    return outside <= 1


def trimmed(span: tuple[int, int], tokens: Sequence[tuple[int, int]], text: str) -> tuple[int, int]:
    """`span` without a leading "the" and a trailing "'s" token, the two our `_clean` removes."""
    inside = [(s, e) for s, e in tokens if span[0] <= s < span[1]]
    if len(inside) > 1 and text[inside[0][0] : inside[0][1]].lower() == "the":
        inside = inside[1:]
    if len(inside) > 1 and text[inside[-1][0] : inside[-1][1]] in {"'s", "’s"}:
        inside = inside[:-1]
    return (inside[0][0], inside[-1][1]) if inside else span


def overlaps(span: tuple[int, int], occ: tuple[int, int]) -> bool:
    """True if the two character ranges share a character."""
    return span[0] < occ[1] and occ[0] < span[1]


def oracle_f1(recall: float) -> float:
    """F1 at precision 1.0."""
    return 0.0 if recall == 0 else 2 * recall / (1 + recall)


def candidates(doc: Doc, bare: Doc, text: str, extractor: EntityExtractor) -> list[Candidate]:
    """Every span proposed for one text before the extractor's rules (see the module docstring)."""
    out = [Candidate(e.start_char, e.end_char, e.label_, e.text, "pipeline") for e in doc.ents]
    out += [Candidate(e.start_char, e.end_char, e.label_, e.text, "ner-only") for e in bare.ents]
    out += [Candidate(s, e, label, text[s:e], "special") for s, e, label in extractor.gazetteer.special_spans(text)]
    out += [Candidate(s, e, "GPE", text[s:e], "dateline") for s, e, _place in dateline_places(text)]
    return out


@dataclass
class Miss:
    """One gold name the extractor missed, with its cause and what was proposed over it."""

    set_name: str
    item: str
    label: str
    canonical: str
    cause: str
    detail: str


@dataclass
class CeilingReport:
    """Counts per type for the current output and the three oracles, plus the misses."""

    name: str
    items: int = 0
    gold: Counter[str] = field(default_factory=Counter)
    reachable: Counter[str] = field(default_factory=Counter)
    reachable_model: Counter[str] = field(default_factory=Counter)  # by "ner" alone (no gazetteer, no rules)
    reachable_strict: Counter[str] = field(default_factory=Counter)  # exact, once "the" and "'s" are trimmed
    held: Counter[str] = field(default_factory=Counter)  # gold names in our output under any label
    current: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})
    label_oracle: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})
    misses: list[Miss] = field(default_factory=list)
    false: Counter[str] = field(default_factory=Counter)  # false positives by kind
    false_examples: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, label, name, item)

    def __iadd__(self, other: CeilingReport) -> Self:
        self.items += other.items
        self.gold += other.gold
        self.reachable += other.reachable
        self.reachable_model += other.reachable_model
        self.reachable_strict += other.reachable_strict
        self.false += other.false
        self.false_examples += other.false_examples
        self.held += other.held
        for t in TYPES:
            self.current[t] += other.current[t]
            self.label_oracle[t] += other.label_oracle[t]
        self.misses += other.misses
        return self

    def lines(self, examples: int = 4) -> list[str]:
        """The human report: figures by type and micro, then the misses by cause."""
        out = [f"== {self.name}: {self.items} paragraphs, {sum(self.gold.values())} gold names", ""]
        out.append(f"{'type':<8}{'gold':>5}{'P':>7}{'R':>7}{'F1':>7} | {'ceiling':>7}{'oracle':>7}{'model':>7}"
                   f"{'strict':>7} |"
                   f"{'lblP':>7}{'lblR':>7}{'lblF1':>7} | {'outR':>6}{'outF1':>7}")
        for t in (*TYPES, "all"):
            cur = self._sum(self.current) if t == "all" else self.current[t]
            lab = self._sum(self.label_oracle) if t == "all" else self.label_oracle[t]
            gold = sum(self.gold.values()) if t == "all" else self.gold[t]
            reach = sum(self.reachable.values()) if t == "all" else self.reachable[t]
            model = sum(self.reachable_model.values()) if t == "all" else self.reachable_model[t]
            strict = sum(self.reachable_strict.values()) if t == "all" else self.reachable_strict[t]
            held = sum(self.held.values()) if t == "all" else self.held[t]
            ceiling, out_r = reach / gold if gold else 0.0, held / gold if gold else 0.0
            out.append(f"{t:<8}{gold:5d}{cur.precision:7.3f}{cur.recall:7.3f}{cur.f1:7.3f} | {ceiling:7.3f}"
                       f"{oracle_f1(ceiling):7.3f}{model / gold if gold else 0.0:7.3f}{strict / gold if gold else 0.0:7.3f} |{lab.precision:7.3f}{lab.recall:7.3f}{lab.f1:7.3f} |"
                       f" {out_r:6.3f}{oracle_f1(out_r):7.3f}")
        out += ["", "false positives: " + ", ".join(f"{k} {self.false[k]}" for k in FALSE_KINDS)]
        for kind in FALSE_KINDS:
            names = [f"{lab} {name!r} ({item})" for k, lab, name, item in self.false_examples if k == kind]
            if names[:examples]:
                out.append(f"  {kind}: " + "; ".join(names[:examples]))
        by_cause = Counter(m.cause for m in self.misses)
        by_type = Counter((m.cause, m.label) for m in self.misses)
        out += ["", f"misses of the current extractor by cause ({len(self.misses)}):"]
        for cause in CAUSES:
            split = ", ".join(f"{t} {by_type[(cause, t)]}" for t in TYPES if by_type[(cause, t)])
            out.append(f"  {cause:<22}{by_cause[cause]:4d}  ({split or '-'})")
            shown = [m for m in self.misses if m.cause == cause][:examples]
            out += [f"      {m.label:<7} {m.canonical!r} ({m.item}): {m.detail}" for m in shown]
        return out

    @staticmethod
    def _sum(counts: dict[str, Counts]) -> Counts:
        total = Counts()
        for c in counts.values():
            total += c
        return total


def _cause(
    gold: tuple[str, str], surfaces: list[str], cands: list[Candidate], tokens: list[tuple[int, int]],
    text: str, predicted: list[Entity],
) -> tuple[str, str]:
    """(cause, detail) for one missed gold name."""
    canonical, label = gold
    occs = [o for s in surfaces for o in occurrences(text, s)]
    over = [c for c in cands if any(overlaps((c.start, c.end), o) for o in occs)]
    cover = [c for c in over if any(covers((c.start, c.end), o, tokens) for o in occs)]
    proposed = "; ".join(sorted({f"{c.text!r} {c.label}" for c in over})) or "nothing"
    if not over:
        return "not proposed", f"surfaces {surfaces}"
    if not cover:
        return "wrong boundaries", f"proposed {proposed}"
    if all(c.source == "ner-only" for c in cover):
        return "cut by the gazetteer", f"proposed {proposed}"
    names = {_key(s) for s in surfaces} | {_key(c.text) for c in cover}
    out = "; ".join(f"{p.text!r} -> {p.canonical!r} {p.label}" for p in predicted
                    if _key(p.text) in names or _key(p.canonical) in names or _key(p.canonical) == canonical)
    if any(p.label == label and (_key(p.text) in names or _key(p.canonical) in names) for p in predicted):
        return "canonical mismatch", f"output {out}"
    if out and any(c.label == label for c in cover if c.source != "ner-only"):
        return "relabelled by our rules", f"output {out}"
    if out:
        return "wrong label", f"output {out}"
    if any(c.label in _COMPATIBLE[label] for c in cover):
        return "filtered by our rules", f"proposed {proposed}, nothing out"
    return "wrong label", f"proposed {proposed}, nothing out"


def measure(name: str, items: Sequence[EntityItem], extractor: EntityExtractor) -> CeilingReport:
    """Ceiling, oracles and misses of one gold set."""
    report = CeilingReport(name=name, items=len(items))
    texts = [item.text for item in items]
    nlp = extractor.nlp
    docs = list(nlp.pipe(texts))
    with nlp.select_pipes(disable=["newswatch_gazetteer"]):
        bare_docs = list(nlp.pipe(texts))
    predicted_all = extractor.extract_many(texts)
    for item, doc, bare, predicted in zip(items, docs, bare_docs, predicted_all, strict=True):
        text = item.text
        tokens = [(t.idx, t.idx + len(t.text)) for t in doc]
        cands = candidates(doc, bare, text, extractor)
        surfaces: dict[tuple[str, str], list[str]] = {}
        for e in item.entities:
            if e.label in TYPES:
                surfaces.setdefault((_key(e.canonical), e.label), []).append(e.text)
        gold = set(surfaces)
        pred = {(_key(p.canonical), p.label) for p in predicted if p.label in TYPES}
        for t, c in set_counts(gold, pred).items():
            report.current[t] += c
        gold_label = {c: lab for c, lab in gold}  # a canonical with two gold labels is rare; last wins
        relabelled = {(c, gold_label.get(c, lab)) for c, lab in ((_key(p.canonical), p.label) for p in predicted)}
        for t, c in set_counts(gold, {k for k in relabelled if k[1] in TYPES}).items():
            report.label_oracle[t] += c
        output_names = {_key(p.canonical) for p in predicted}
        for key, surf in surfaces.items():
            report.gold[key[1]] += 1
            occs = [o for s in surf for o in occurrences(text, s)]
            if any(covers((c.start, c.end), o, tokens) for c in cands for o in occs):
                report.reachable[key[1]] += 1
            if any(covers((c.start, c.end), o, tokens) for c in cands if c.source == "ner-only" for o in occs):
                report.reachable_model[key[1]] += 1
            if any(trimmed((c.start, c.end), tokens, text) in occs for c in cands):
                report.reachable_strict[key[1]] += 1
            if key[0] in output_names:
                report.held[key[1]] += 1
            if key not in pred:
                cause, detail = _cause(key, surf, cands, tokens, text, predicted)
                report.misses.append(Miss(name, item.id, key[1], key[0], cause, detail))
        gold_surfaces = {_key(s) for surf in surfaces.values() for s in surf}
        gold_words = {w for name in gold_surfaces | {c for c, _l in gold} for w in name.split()}
        for p in predicted:
            key = (_key(p.canonical), p.label)
            if p.label not in TYPES or key in gold:
                continue
            if key[0] in gold_label:
                kind = FALSE_KINDS[0]
            elif set(_key(p.text).split()) & gold_words or _key(p.text) in gold_surfaces:
                kind = FALSE_KINDS[1]
            else:
                kind = FALSE_KINDS[2]
            report.false[kind] += 1
            report.false_examples.append((kind, p.label, p.canonical, item.id))
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: every named set, then the pool of the unseen ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, action="append", help="gold JSONL (repeat); default: every set")
    parser.add_argument("--examples", type=int, default=4, help="misses shown per cause")
    args = parser.parse_args(argv)
    extractor = EntityExtractor.load()
    paths = args.gold or [DATA / f"entities_{s}.jsonl" for s in SETS]
    pooled = CeilingReport(name="pool of the unseen sets: " + ", ".join(f"entities_{s}.jsonl" for s in POOL))
    for path in paths:
        report = measure(path.stem.removeprefix("entities_"), read_entity_gold(path), extractor)
        print("\n".join(report.lines(args.examples)), end="\n\n")
        if args.gold is None and report.name in POOL:
            pooled += report
    if args.gold is None:
        print("\n".join(pooled.lines(args.examples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
