"""Train the linear topic models of lexicon.v9 (or v8, v7, v6, v5, v4) and write the artifact.

    python -m eval.train_topics [--model v9|v8|v7|v6|v5|v4] [--gold ~/.cache/newswatch/eval/topics_tuning.jsonl]
                                [--out processors/models/topics-<model>.json] [--grid] [--jobs 3]

`--model v9` (round ten; `main_headlines` with `HEADLINE_RECIPES["v9"]`): v8's recipe, unchanged, on
the current taxonomy (round ten's phrases) over exactly the files `V9_FILES` names (`V8_FILES` and
topics_fresh3; never topics_fresh4); the artifact's `cv` gives each batch's out-of-fold figures and
fresh3's design-weighted ones. v8 now reads `taxonomy-v8.toml`, the frozen copy of the taxonomy it
was trained on.

`--model v8` (round nine, for short items and headlines; `main_headlines`): v7's recipe on the current
taxonomy (round nine's headline phrases) over exactly the files `V8_FILES` names (tuning split,
topics_fresh1, topics_fresh2, topics_train1; never topics_fresh3), plus the headline input
"shape:title_only" (`processors.classify.shape_features`); per label CV chooses the gate (2 or 1)
and a pair of thresholds, one for headlines, by the mean of the out-of-fold F1 on all feed items and
on tuning items (`choose_rule_v8`); the headline threshold is folded into the headline weight. The
artifact keeps each label's out-of-fold figures per batch under `cv`. v7 and v6 read
`taxonomy-v7.toml`, the frozen copy of the taxonomy they were trained on.

`--model v7` (round seven, for feed items; `main_v7`): reads exactly the files `V7_FILES` names in
the --gold file's folder (the tuning split and topics_fresh1), never any other batch. Rows: tuning
items, a feed-length view of each (`feed_view`: title + first sentences) and the fresh1 items;
folds by story over tuning and fresh1 together (a view sits in its original's fold and is never
scored). Every label reads words, bigrams and every topic's lexicon score on the current taxonomy;
per label CV chooses the lexicon gate (`V7_GATES`, recorded as the artifact's `min_terms`) and the
threshold by the mean of the out-of-fold F1 on fresh1 and on the tuning items (`Scored`);
`--grid` also chooses features and fresh1's training weight (`V7_CHOSEN` records the grid's
choice). The artifact keeps each label's out-of-fold figures under `cv`. The rest of this text
describes the v4-v6 recipes.

`--model v6` (`RECIPES`): the current taxonomy (energy lexicon written from the label definition,
round five); every label retrained with folds by story, energy as the mean logit of the full and
a words-only model (`BLEND_WORDS`). The lexicon features of every label include the energy
lexicon's score, so defence and trade are retrained too.
`--model v5` (default): the frozen taxonomy-v4.toml; folds by story; energy retrained as the
blend; defence and trade copied from topics-v4.json.
`--model v4`: taxonomy-v4.toml, every label, folds by id (reproduces topics-v4.json). (lexicon.v3's artifact was
the v4 recipe on the origin labels before `tie_f1` existed: `--gold
~/.cache/newswatch/eval/topics_tuning.origin.jsonl --out processors/models/topics-v3.json`.)

Reads the tuning split only (it refuses any item `eval.splits` puts in held-out). For each core
label, on the items that judge it: features from `processors.linear` (words, bigrams and the
lexicon.v2 scores), vocabulary = word features in >= `MIN_DF` tuning items, sorted; L2-
regularised logistic regression fitted by Newton-CG in numpy (no randomness: zero start,
fixed iteration caps). The model is then cut to its `KEEP` largest |weights| (lexicon features
always kept) and refitted on those, which keeps the artifact small.

A label is assigned only if its probability clears the threshold *and* its lexicon phrases
meet the taxonomy's `min_terms` rule (the gate `processors.classify` applies), so thresholds
are chosen with the gate on. Model choice on tuning only: 5 folds by a hash of each item's story
(`story_folds`: near-duplicates share a fold; `--folds id` gives lexicon.v3/v4's folds by id alone); for each regularisation
strength in `LAMBDAS` the whole procedure (fit, cut, refit) runs on four folds and predicts the
fifth; the strength and the probability threshold with the best out-of-fold F1 are kept (ties within
`TIE_F1` go to the stronger regularisation), then the model is refitted on all tuning items. Same input, same bytes out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import numpy.typing as npt

from eval.gold import CORE_LABELS, TopicItem, read_topic_gold
from eval.prepare import default_out
from eval.splits import split_of, story_groups
from processors import load_classifier
from processors.classify import FROZEN_TAXONOMY, TAXONOMY, V7_TAXONOMY, V8_TAXONOMY, shape_features
from processors.linear import _STOP, FORMAT, lexicon_features, word_features

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = "v5"
MIN_DF = 3
KEEP = 3000
LAMBDAS = (1e-6, 3e-7)
LEXICON_ONLY = frozenset({"defence"})
"""Labels whose model reads the lexicon features only. Defence is judged on DoD/Air Force copy
(positives) against Guardian culture, sport and lifestyle pieces (negatives) alone, so word
features learn the outlet's style ("said", "the") rather than the topic: an energy-drink
story scored 0.6. Its model re-weighs the lexicon's scores instead."""
BLEND_WORDS = frozenset({"energy"})
"""Labels whose model is the mean logit of the full model and a words-only model (lexicon.v5).
The energy lexicon was tuned on the tuning split (round two), so its score is optimistic in
cross-validation: lexicon.v2's energy F1 was 0.855 on tuning and 0.790 on held-out (origin
gold), against 0.776/0.765 for trade. A model leaning on it inherits the optimism; a words-only
model learns every weight inside the folds. The mean of the two logits is one linear model (the
weights add), so inference costs the same."""
FOLDS = 5
TIE_F1 = 0.005
"""Out-of-fold F1 differences up to this size are ties, and a tie goes to the stronger
regularisation (the simpler model): with ~300 positives per label one item moves F1 by ~0.003.
(Before lexicon.v4 the best F1 won outright; on the gold.v2 tuning labels trade's two lambdas
scored 0.8893 and 0.8904, and the weaker one's threshold of 0.53 dropped the seed article's
bilateral-trade section, P = 0.44; the stronger one's threshold is 0.41.)"""


@dataclass(frozen=True)
class Recipe:
    """How one artifact is made: CV folds, which labels are trained (the rest copied from `base`),
    and which labels blend in a words-only model."""

    folds: str
    train: frozenset[str]
    blend_words: frozenset[str] = frozenset()
    base: str = ""
    taxonomy: str = FROZEN_TAXONOMY
    recorded_as: str = ""
    """The taxonomy's name as the artifact records it, when the file was frozen under another name
    after training (v6: trained on `taxonomy.toml`, read now from its frozen copy `taxonomy-v7.toml`)."""


RECIPES = {
    "v4": Recipe(folds="id", train=frozenset(CORE_LABELS)),
    "v5": Recipe(folds="story", train=frozenset({"energy"}), blend_words=BLEND_WORDS, base="topics-v4.json"),
    "v6": Recipe(folds="story", train=frozenset(CORE_LABELS), blend_words=BLEND_WORDS, taxonomy=V7_TAXONOMY,
                 recorded_as=TAXONOMY),
}
"""lexicon.v4: every label, folds by id. lexicon.v5: lexicon.v4's defence and trade models
unchanged (story folds confirm their settings: see eval/README.md), energy retrained with folds
by story as the blend of the full and the words-only model. lexicon.v6: v5's recipe on the
current taxonomy (round five's energy lexicon), every label retrained. v4 and v5 read the frozen
taxonomy-v4.toml their artifacts name; v6 reads taxonomy-v7.toml, the frozen copy of the
taxonomy.toml it was trained on (round nine edited taxonomy.toml), and still records that name."""
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass
class Matrix:
    """A sparse row matrix as coordinate arrays (rows sorted), enough for X @ w and X.T @ r."""

    rows: Ints
    cols: Ints
    vals: Floats
    shape: tuple[int, int]

    def dot(self, w: Floats) -> Floats:
        """X @ w."""
        return np.bincount(self.rows, weights=self.vals * w[self.cols], minlength=self.shape[0]).astype(np.float64)

    def tdot(self, r: Floats) -> Floats:
        """X.T @ r."""
        return np.bincount(self.cols, weights=self.vals * r[self.rows], minlength=self.shape[1]).astype(np.float64)

    def take(self, keep_rows: Ints, keep_cols: Ints) -> Matrix:
        """The sub-matrix of some rows and columns (renumbered in the given order)."""
        row_map = np.full(self.shape[0], -1)
        row_map[keep_rows] = np.arange(len(keep_rows))
        col_map = np.full(self.shape[1], -1)
        col_map[keep_cols] = np.arange(len(keep_cols))
        mask = (row_map[self.rows] >= 0) & (col_map[self.cols] >= 0)
        return Matrix(row_map[self.rows[mask]], col_map[self.cols[mask]], self.vals[mask],
                      (len(keep_rows), len(keep_cols)))


def fold_of(item_id: str) -> int:
    """A fixed fold number in [0, FOLDS) from the id alone."""
    return hashlib.sha256(f"newswatch-topics-cv:{item_id}".encode()).digest()[0] % FOLDS


def story_folds(items: list[TopicItem]) -> list[int]:
    """Each item's fold: `fold_of` the smallest id of its story (`eval.splits.story_groups`), so
    near-duplicates (a flash and its full story, a re-issued weekly table, one feed item in two
    sections) never sit on both sides of a cross-validation cut. Up to lexicon.v4 folds were
    `fold_of(id)`: 381 tuning items had a near-duplicate in another fold, and CV chose settings
    that the held-out split did not confirm."""
    texts = [" ".join((it.title, it.summary, it.text if it.text != it.summary else "")) for it in items]
    return [fold_of(story) for story in story_groups([it.id for it in items], texts)]


def vocabulary(features: list[dict[str, float]]) -> list[str]:
    """Feature names kept, sorted: words in at least `MIN_DF` rows, and every non-word feature."""
    df: dict[str, int] = {}
    for feats in features:
        for term in feats:
            df[term] = df.get(term, 0) + 1
    return sorted(t for t, n in df.items() if n >= MIN_DF or not t.startswith("w:"))


def featurise(items: list[TopicItem], taxonomy: str = TAXONOMY) -> tuple[list[dict[str, float]], list[frozenset[str]]]:
    """Word and lexicon features of every item, as `processors.linear` computes them, and the
    labels whose lexicon phrases meet the taxonomy's `min_terms` rule (the gate of lexicon.v3);
    `taxonomy` names the packaged taxonomy file whose lexicon (lexicon.v2 rules) scores them."""
    lexicon = load_classifier("lexicon.v2", REPO / "processors" / taxonomy)
    out, gates = [], []
    for item in items:
        scores = lexicon.scores(item.title, item.summary, item.text)
        feats = {"w:" + k: v for k, v in word_features(item.title, item.summary, item.text).items()}
        feats.update(lexicon_features({s.label: s.raw for s in scores},
                                      [s.label for s in scores if s.assigned], CORE_LABELS))
        out.append(feats)
        gates.append(frozenset(s.label for s in scores if lexicon.enough_terms(s.label, s.evidence)))
    return out, gates


def build_matrix(features: list[dict[str, float]], vocab: list[str]) -> Matrix:
    """Rows = items, columns = vocab + a constant bias column at the end."""
    index = {term: i for i, term in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for r, feats in enumerate(features):
        for term in sorted(feats):
            if term in index:
                rows.append(r)
                cols.append(index[term])
                vals.append(feats[term])
        rows.append(r)
        cols.append(len(vocab))
        vals.append(1.0)
    return Matrix(np.array(rows), np.array(cols), np.array(vals, dtype=np.float64),
                  (len(features), len(vocab) + 1))


def fit(x: Matrix, y: Floats, lam: float, *, newton: int = 15, cg: int = 30,
        sample: Floats | None = None) -> Floats:
    """L2-regularised logistic regression (bias not penalised) by Newton-CG; deterministic.
    `sample`: per-row weights (the loss is their weighted mean; lexicon.v7), else every row weighs 1."""
    n, d = x.shape
    w = np.zeros(d)
    penalty = np.full(d, lam)
    penalty[-1] = 0.0
    share = None if sample is None else sample / float(np.sum(sample))

    def loss(v: Floats) -> float:
        z = x.dot(v)
        if share is not None:
            return float(np.sum(share * (np.logaddexp(0.0, z) - y * z)) + 0.5 * np.sum(penalty * v * v))
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * v * v))

    current = loss(w)
    for _ in range(newton):
        p = 1.0 / (1.0 + np.exp(-x.dot(w)))
        if share is not None:
            grad = x.tdot(share * (p - y)) + penalty * w
        else:
            grad = x.tdot(p - y) / n + penalty * w
        if float(np.linalg.norm(grad)) < 1e-7:
            break
        curv = p * (1.0 - p) / n if share is None else share * p * (1.0 - p)

        def hess(v: Floats, curv: Floats = curv) -> Floats:
            return x.tdot(curv * x.dot(v)) + penalty * v + 1e-10 * v

        step = _conjugate_gradient(hess, -grad, cg)
        t = 1.0
        while t > 1e-4:
            trial = loss(w + t * step)
            if trial <= current:
                break
            t *= 0.5
        w = w + t * step
        improved = current - trial
        current = trial
        if improved < 1e-10:
            break
    return w


def _conjugate_gradient(matvec: object, b: Floats, iters: int) -> Floats:
    apply = matvec  # a callable (v -> H v)
    xk = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rs = float(r @ r)
    for _ in range(iters):
        hp = apply(p)  # type: ignore[operator]
        alpha = rs / float(p @ hp)
        xk += alpha * p
        r -= alpha * hp
        new = float(r @ r)
        if new < 1e-20:
            break
        p = r + (new / rs) * p
        rs = new
    return xk


def fit_cut(x: Matrix, y: Floats, lam: float, vocab: list[str], *, sample: Floats | None = None,
            keep: int = KEEP) -> tuple[Ints, Floats]:
    """Fit, keep the `keep` largest |weights| (plus every lexicon feature), refit: (columns, weights)."""
    if not any(t.startswith("w:") for t in vocab):
        return np.arange(x.shape[1]), fit(x, y, lam, sample=sample)
    w = fit(x, y, lam, sample=sample)
    words = [i for i, t in enumerate(vocab) if t.startswith("w:")]
    lex = [i for i, t in enumerate(vocab) if not t.startswith("w:")]
    ranked = sorted(words, key=lambda i: (-abs(w[i]), i))[:keep]
    cols = np.array(sorted(ranked + lex) + [len(vocab)])
    sub = x.take(np.arange(x.shape[0]), cols)
    return cols, fit(sub, y, lam, sample=sample)


def best_threshold(p: Floats, y: Floats, gate: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """(threshold, F1) maximising F1 over 0.05..0.95 of `p >= t and gate`; ties go nearest 0.5."""
    best = (-1.0, 0.0, 0.5)
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        pred = (p >= t) & gate
        tp = float(np.sum(pred & (y == 1)))
        fp = float(np.sum(pred & (y == 0)))
        fn = float(np.sum(~pred & (y == 1)))
        f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
        if (f1, -abs(t - 0.5)) > (best[0], -abs(best[2] - 0.5)):
            best = (f1, -abs(t - 0.5), float(t))
    return best[2], best[0]


def train_label(
    label: str, items: list[TopicItem], x: Matrix, vocab: list[str], gates: list[frozenset[str]],
    item_folds: list[int], blend_words: frozenset[str] = frozenset(),
) -> dict[str, object]:
    """Choose lambda and threshold by CV on the items judging `label`, then fit on all of them."""
    judged = np.array([i for i, it in enumerate(items) if label in it.judged])
    keep = np.array([i for i, t in enumerate(vocab) if label not in LEXICON_ONLY or not t.startswith("w:")]
                    + [len(vocab)])
    vocab = [vocab[i] for i in keep[:-1]]
    xl = x.take(judged, keep)
    gate = np.array([label in gates[i] for i in judged])
    y = np.array([1.0 if label in items[i].labels else 0.0 for i in judged])
    folds = np.array([item_folds[i] for i in judged])
    blend = label in blend_words
    word_cols = np.array([i for i, t in enumerate(vocab) if t.startswith("w:")] + [len(vocab)])
    word_vocab = [vocab[i] for i in word_cols[:-1]]
    choice = (-1.0, 0.0, 0.5)
    for lam in LAMBDAS:  # strongest regularisation first; a weaker one must win by > TIE_F1
        z = np.zeros(len(judged))
        z_words = np.zeros(len(judged))
        for k in range(FOLDS):
            train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            cols, w = fit_cut(xl.take(train, np.arange(xl.shape[1])), y[train], lam, vocab)
            z[test] = xl.take(test, cols).dot(w)
            if blend:
                cols, w = fit_cut(xl.take(train, word_cols), y[train], lam, word_vocab)
                z_words[test] = xl.take(test, word_cols[cols]).dot(w)
        if blend:
            for part, zp in (("full model", z), ("words-only model", z_words)):
                t, f = best_threshold(1.0 / (1.0 + np.exp(-zp)), y, gate)
                print(f"  {label}: lambda={lam:g} {part} alone: out-of-fold F1={f:.4f} at threshold {t:.2f}")
            z = 0.5 * (z + z_words)
        threshold, f1 = best_threshold(1.0 / (1.0 + np.exp(-z)), y, gate)
        print(f"  {label}: lambda={lam:g} out-of-fold F1={f1:.4f} at threshold {threshold:.2f}")
        if f1 > choice[0] + (TIE_F1 if choice[0] >= 0 else 0.0):
            choice = (f1, lam, threshold)
    f1, lam, threshold = choice
    cols, w = fit_cut(xl, y, lam, vocab)
    merged = {vocab[c]: float(v) for c, v in zip(cols[:-1], w[:-1], strict=True)}
    bias = float(w[-1])
    if blend:
        cols, w = fit_cut(xl.take(np.arange(len(judged)), word_cols), y, lam, word_vocab)
        merged = {t: 0.5 * v for t, v in merged.items()}
        for c, v in zip(cols[:-1], w[:-1], strict=True):
            merged[word_vocab[c]] = merged.get(word_vocab[c], 0.0) + 0.5 * float(v)
        bias = 0.5 * (bias + float(w[-1]))
    w = np.array([bias])
    weights = {t: round(v, 5) for t, v in merged.items() if round(v, 5) != 0.0}
    return {"bias": round(float(w[-1]), 5), "threshold": threshold, "lambda": lam,
            "cv_f1": round(f1, 4), "positives": int(y.sum()), "judged": len(judged),
            "weights": dict(sorted(weights.items()))}


# --- lexicon.v7: feed items (round seven) ---------------------------------------------------------

V7_FILES = ("topics_tuning.jsonl", "topics_fresh1.jsonl")
"""The only gold files `--model v7` reads, by name, under `eval.prepare.default_out()`: the gold.v2
tuning split and the hand-labelled feed batch topics_fresh1 (development data since round seven).
An explicit list, so that a later held-out batch in the same folder is never picked up."""
V7_FRESH = "topics_fresh1.jsonl"
FEED_CHARS = 300
FEED_SENTENCES = 2
"""A feed-length view of a tuning item: its title and the first sentences (at most two, at most
300 characters) of its summary or text, the way an RSS item's description reads."""
V7_LAMBDA = 1e-6
V7_FRESH_WEIGHTS = (1.0, 3.0)
"""Training weight of a topics_fresh1 row against a tuning row or view (1.0 each): chosen by CV."""
V7_GATES = (2, 1)
"""Lexicon gates tried per label (`min_terms` of the artifact; `Classifier.enough_terms`): 2 = the
taxonomy's rule (two phrases, a strong one counts as two), 1 = or one phrase weighing more than
`WEAK_WEIGHT`. A weak, ambiguous word alone passes neither. Ties go to the stricter gate. Gate 0
(no phrase needed when a word of the model pushed) was tried first and CV chose it for defence
(fresh1 F1 0.766 against 0.756 at gate 1), but it let "The team showed real energy" be labelled
defence on model words alone (the issue's hard cases), and a label with no lexicon phrase cannot
be fixed by editing the taxonomy: so every v7 label names at least one phrase of weight > 1."""
V7_FEATURES = {"defence": ("lexicon", "full"), "trade": ("full",), "energy": ("full",)}
"""Feature sets tried per label: defence's models up to v6 read the lexicon scores only (its tuning
negatives are one outlet's culture pages); with fresh1's news items as negatives, words may help."""
V7_CHOSEN = {"defence": ("full", 1.0), "trade": ("full", 1.0), "energy": ("full", 1.0)}
"""(features, fresh1 weight) per label, chosen once by the grid `V7_FEATURES` x `V7_FRESH_WEIGHTS`
(`--grid`; the run is logged in eval/README.md, round seven); the default run cross-validates only
these (gate and threshold are still chosen by CV every run), to keep training to minutes."""


def feed_view(item: TopicItem) -> TopicItem:
    """The item as a feed would carry it: title + its first sentences (`FEED_SENTENCES`, at most
    `FEED_CHARS`) as summary and text; same labels, id + "#feed"."""
    lead = " ".join((item.summary or item.text).split())
    out = ""
    for n, sentence in enumerate(_SENTENCE_END.split(lead)):
        if n >= FEED_SENTENCES or (out and len(out) + 1 + len(sentence) > FEED_CHARS):
            break
        out = f"{out} {sentence}".strip()
    if len(out) > FEED_CHARS:
        out = out[:FEED_CHARS].rsplit(" ", 1)[0]
    return TopicItem(id=item.id + "#feed", title=item.title, summary=out, text=out, labels=item.labels,
                     judged=item.judged, source=item.source, weight=item.weight)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def read_v7(folder: Path) -> tuple[list[TopicItem], list[TopicItem]]:
    """(tuning items, fresh1 items) from the files `V7_FILES` names, and nothing else; refuses a
    tuning item in the held-out split."""
    tuning = read_topic_gold(folder / V7_FILES[0])
    fresh = read_topic_gold(folder / V7_FILES[1])
    leaked = [it.id for it in tuning if split_of(it.id) != "tuning"]
    if leaked:
        raise SystemExit(f"error: {len(leaked)} items of {V7_FILES[0]} are in the held-out split "
                         f"(first: {leaked[0]}); rebuild it with `python -m eval.prepare`")
    return tuning, fresh


def lexicon_units(items: list[TopicItem], taxonomy: str) -> list[dict[str, int]]:
    """Per item and core label with lexicon phrases, the strictest of `V7_GATES` they pass: 2 (the
    taxonomy's rule), 1, or 0 (only weak words: passes no gate); labels with no phrase are absent."""
    lexicon = load_classifier("lexicon.v2", REPO / "processors" / taxonomy)
    out = []
    for item in items:
        units = {}
        for s in lexicon.scores(item.title, item.summary, item.text):
            if s.label in CORE_LABELS and s.evidence:
                units[s.label] = next((g for g in (2, 1) if lexicon.enough_terms(s.label, s.evidence, g)), 0)
        out.append(units)
    return out


def gate_passes(gate: int, strictest: Ints, pushed: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Which rows pass `gate`, from `lexicon_units`' strictest gate per row (-1 = no phrase of the
    label) and whether a word of the model's pushed towards the label."""
    if gate == 2:
        return strictest == 2
    if gate == 1:
        return strictest >= 1
    return (strictest >= 1) | ((strictest == -1) & pushed)


@dataclass(frozen=True)
class Scored:
    """F1 of one decision rule on the out-of-fold items: fresh1 (as drawn and design-weighted),
    tuning originals, and the objective (the mean of fresh1's and tuning's F1)."""

    fresh: tuple[float, float, float]
    fresh_weighted: tuple[float, float, float]
    tuning: tuple[float, float, float]

    @property
    def objective(self) -> float:
        return 0.5 * (self.fresh[2] + self.tuning[2])


def prf(pred: npt.NDArray[np.bool_], y: Floats, weight: Floats | None = None) -> tuple[float, float, float]:
    """(precision, recall, F1) of boolean predictions, optionally weighted per item."""
    wt = np.ones(len(y)) if weight is None else weight
    tp = float(np.sum(wt[pred & (y == 1)]))
    fp = float(np.sum(wt[pred & (y == 0)]))
    fn = float(np.sum(wt[~pred & (y == 1)]))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * tp / (2 * tp + fp + fn) if tp else 0.0)


def score_rule(pred: npt.NDArray[np.bool_], y: Floats, is_fresh: npt.NDArray[np.bool_],
               weight: Floats) -> Scored:
    """`Scored` of predictions over the evaluated rows (fresh1 and tuning originals)."""
    f, t = is_fresh, ~is_fresh
    return Scored(prf(pred[f], y[f]), prf(pred[f], y[f], weight[f]), prf(pred[t], y[t]))


def choose_rule(p: Floats, y: Floats, units: Ints, pushed: npt.NDArray[np.bool_], is_fresh: npt.NDArray[np.bool_],
                weight: Floats) -> tuple[int, float, Scored]:
    """(gate, threshold, Scored) with the best objective over `V7_GATES` x 0.05..0.95; a later gate
    must win by more than TIE_F1, thresholds tie towards 0.5."""
    best: tuple[int, float, Scored] | None = None
    for gate in V7_GATES:
        ok = gate_passes(gate, units, pushed)
        top: tuple[float, float, Scored] | None = None
        for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
            sc = score_rule((p >= t) & ok, y, is_fresh, weight)
            if top is None or (sc.objective, -abs(t - 0.5)) > (top[2].objective, -abs(top[0] - 0.5)):
                top = (float(t), 0.0, sc)
        assert top is not None
        if best is None or top[2].objective > best[2].objective + TIE_F1:
            best = (gate, top[0], top[2])
    assert best is not None
    return best


def _pushed(x: Matrix, cols: Ints, w: Floats, vocab: list[str]) -> npt.NDArray[np.bool_]:
    """Rows where some present word (not a stop word) pushes towards the label: what `top_terms`
    would show as evidence when no lexicon phrase fired."""
    shown = np.array([vocab[c].startswith("w:") and not _STOP.issuperset(vocab[c][2:].split())
                      if c < len(vocab) else False for c in cols])
    return x.dot(np.where(shown, np.maximum(w, 0.0), 0.0)) > 0


def train_label_v7(
    label: str, x: Matrix, vocab: list[str], y_all: Floats, judged: Ints, folds: Ints, role: npt.NDArray[np.str_],
    units: Ints, design: Floats, candidates: list[tuple[str, float]] | None = None,
) -> dict[str, object]:
    """lexicon.v7's model for `label`: for each feature set and fresh1 weight, 5 story folds train on
    tuning items, their feed views and fresh1 items, and predict the tuning and fresh1 items of the
    fifth fold (views are never scored); gate and threshold by the objective of `Scored`; then the
    chosen model is fitted on every row."""
    y = y_all[judged]
    xl = x.take(judged, np.arange(x.shape[1]))
    role_l, fold_l, units_l, design_l = role[judged], folds[judged], units[judged], design[judged]
    scored_rows = np.flatnonzero(role_l != "view")
    is_fresh = role_l[scored_rows] == "fresh"
    choice: tuple[float, str, float, int, float, Scored] | None = None
    if candidates is None:
        candidates = [(fset, fw) for fset in V7_FEATURES[label] for fw in V7_FRESH_WEIGHTS]
    for fset in dict.fromkeys(f for f, _w in candidates):
        keep = np.array([i for i, t in enumerate(vocab) if fset == "full" or not t.startswith("w:")] + [len(vocab)])
        fvocab = [vocab[i] for i in keep[:-1]]
        xf = xl.take(np.arange(len(judged)), keep)
        for fw in [w for f, w in candidates if f == fset]:
            sample = np.where(role_l == "fresh", fw, 1.0)
            z = np.zeros(len(judged))
            pushed = np.zeros(len(judged), dtype=bool)
            for k in range(FOLDS):
                train = np.flatnonzero(fold_l != k)
                test = np.flatnonzero((fold_l == k) & (role_l != "view"))
                cols, w = fit_cut(xf.take(train, np.arange(xf.shape[1])), y[train], V7_LAMBDA, fvocab,
                                  sample=sample[train])
                xt = xf.take(test, cols)
                z[test] = xt.dot(w)
                pushed[test] = _pushed(xt, cols, w, fvocab)
            p = 1.0 / (1.0 + np.exp(-z[scored_rows]))
            gate, threshold, sc = choose_rule(p, y[scored_rows], units_l[scored_rows], pushed[scored_rows],
                                              is_fresh, design_l[scored_rows])
            print(f"  {label}: features={fset} fresh_weight={fw:g}: gate {gate}, threshold {threshold:.2f}: "
                  f"out-of-fold F1 fresh1 {sc.fresh[2]:.4f} (P {sc.fresh[0]:.3f} R {sc.fresh[1]:.3f}; "
                  f"weighted {sc.fresh_weighted[2]:.4f}), tuning {sc.tuning[2]:.4f} "
                  f"(P {sc.tuning[0]:.3f} R {sc.tuning[1]:.3f}); objective {sc.objective:.4f}", flush=True)
            for g in V7_GATES:  # the other gates at their best threshold, for the record
                ok = gate_passes(g, units_l[scored_rows], pushed[scored_rows])
                best = max(((score_rule((p >= t) & ok, y[scored_rows], is_fresh, design_l[scored_rows]), float(t))
                            for t in np.round(np.arange(0.05, 0.951, 0.01), 2)), key=lambda st: st[0].objective)
                print(f"      gate {g}: best threshold {best[1]:.2f}: fresh1 {best[0].fresh[2]:.4f} "
                      f"(weighted {best[0].fresh_weighted[2]:.4f}), tuning {best[0].tuning[2]:.4f}")
            if choice is None or sc.objective > choice[0] + TIE_F1:
                choice = (sc.objective, fset, fw, gate, threshold, sc)
    assert choice is not None
    _obj, fset, fw, gate, threshold, sc = choice
    keep = np.array([i for i, t in enumerate(vocab) if fset == "full" or not t.startswith("w:")] + [len(vocab)])
    fvocab = [vocab[i] for i in keep[:-1]]
    cols, w = fit_cut(xl.take(np.arange(len(judged)), keep), y, V7_LAMBDA, fvocab,
                      sample=np.where(role_l == "fresh", fw, 1.0))
    weights = {fvocab[c]: round(float(v), 5) for c, v in zip(cols[:-1], w[:-1], strict=True)
               if round(float(v), 5) != 0.0}

    def fig(t: tuple[float, float, float]) -> dict[str, float]:
        return {"precision": round(t[0], 4), "recall": round(t[1], 4), "f1": round(t[2], 4)}

    return {"bias": round(float(w[-1]), 5), "threshold": threshold, "min_terms": gate, "lambda": V7_LAMBDA,
            "features": fset, "fresh_weight": fw,
            "cv": {"fresh1": fig(sc.fresh), "fresh1_weighted": fig(sc.fresh_weighted), "tuning": fig(sc.tuning)},
            "positives": int(y.sum()), "judged": len(judged),
            "weights": dict(sorted(weights.items()))}


_V7_DATA: dict[str, object] = {}
"""What the label workers of `main_v7` read (set before they fork; each returns its label's model)."""


def _trained_on(folder: Path, files: tuple[str, ...]) -> dict[str, str]:
    """The artifact's record of its inputs: each file's sha256, and how the feed views were made."""
    return {name: "sha256 " + hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in files} | {
        "feed views": f"every tuning item: title + first {FEED_SENTENCES} sentences, <= {FEED_CHARS} chars"}


def _run_label_workers(worker: Callable[[str], dict[str, object]], jobs: int) -> dict[str, dict[str, object]]:
    """One worker per core label, `jobs` processes at a time (forked, so they read the shared data)."""
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
            return dict(zip(CORE_LABELS, pool.map(worker, CORE_LABELS), strict=True))
    return {label: worker(label) for label in CORE_LABELS}


def _label_arrays(d: dict[str, object], label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A label worker's inputs from the shared data: the rows that judge the label, every row's 0/1
    target, and every row's story unit for the label (-1 for none)."""
    items: list[TopicItem] = d["items"]  # type: ignore[assignment]
    judged = np.array([i for i, it in enumerate(items) if label in it.judged])
    y_all = np.array([1.0 if label in it.labels else 0.0 for it in items])
    units = np.array([u.get(label, -1) for u in d["units"]])  # type: ignore[attr-defined]
    return judged, y_all, units


def _v7_worker(label: str) -> dict[str, object]:
    d = _V7_DATA
    judged, y_all, units = _label_arrays(d, label)
    grid = None if d["grid"] else [V7_CHOSEN[label]]
    return train_label_v7(label, d["x"], d["vocab"], y_all, judged, d["folds"], d["role"],  # type: ignore[arg-type]
                          units, d["design"], grid)  # type: ignore[arg-type]


def main_v7(folder: Path, out: Path, *, grid: bool = False, jobs: int = 3) -> int:
    """`--model v7`: read `V7_FILES`, train (one process per label, `jobs` at a time; the result
    does not depend on it), write the artifact."""
    tuning, fresh = read_v7(folder)
    views = [feed_view(it) for it in tuning]
    items = tuning + fresh + views
    role = np.array(["tuning"] * len(tuning) + ["fresh"] * len(fresh) + ["view"] * len(views))
    originals = tuning + fresh
    story = story_folds(originals)
    folds = np.array(story + story[: len(tuning)])  # a view sits in its original's fold
    print(f"{len(tuning)} tuning items, {len(fresh)} fresh1 items, {len(views)} feed views", flush=True)
    features, _gates = featurise(items, V7_TAXONOMY)
    units_by_item = lexicon_units(items, V7_TAXONOMY)
    vocab = vocabulary(features)
    print(f"{len(vocab)} features with df >= {MIN_DF}", flush=True)
    x = build_matrix(features, vocab)
    design = np.array([it.weight if r == "fresh" else 1.0 for it, r in zip(items, role, strict=True)])
    _V7_DATA.update(items=items, units=units_by_item, x=x, vocab=vocab, folds=folds, role=role, design=design,
                    grid=grid)
    labels = _run_label_workers(_v7_worker, jobs)
    taxonomy = (REPO / "processors" / V7_TAXONOMY).read_bytes()
    artifact = {
        "format": FORMAT,
        "trained_on": _trained_on(folder, V7_FILES),
        "taxonomy_sha256": hashlib.sha256(taxonomy).hexdigest(),
        "settings": {"min_df": MIN_DF, "keep": KEEP, "lambda": V7_LAMBDA, "folds": FOLDS, "fold_by": "story",
                     "tie_f1": TIE_F1, "fresh_weights": list(V7_FRESH_WEIGHTS), "gates": list(V7_GATES),
                     "features": {k: list(v) for k, v in V7_FEATURES.items()},
                     "taxonomy": TAXONOMY,  # the name it had when v7 was trained; read from V7_TAXONOMY
                     "chosen": "by --grid" if grid else {k: list(v) for k, v in V7_CHOSEN.items()},
                     "objective": "mean of out-of-fold F1 on fresh1 and on tuning items"},
        "labels": labels,
    }
    return write_artifact(out, artifact)


# --- lexicon.v8: short items and headlines (round nine) -------------------------------------------

V8_FILES = ("topics_tuning.jsonl", "topics_fresh1.jsonl", "topics_fresh2.jsonl", "topics_train1.jsonl")
"""The only gold files `--model v8` reads, by name, under `eval.prepare.default_out()`: the gold.v2
tuning split, the two hand-labelled feed batches that are development data (topics_fresh1, since
round seven; topics_fresh2, since look 6) and topics_train1 (272 hand-labelled Indian Express
"Explained" titles, drawn for training only). Never topics_fresh3 (round nine's unseen test) or
any other batch."""
V8_FRESH2 = "topics_fresh2.jsonl"
"""The batch whose out-of-fold macro-F1 the round-nine default rule reads (eval/README.md)."""
V9_FILES = (*V8_FILES, "topics_fresh3.jsonl")
"""The only gold files `--model v9` reads (round ten): `V8_FILES` and topics_fresh3 (development data
since look 8). Never topics_fresh4 (round ten's unseen test) or any other batch."""
V9_FRESH3 = "topics_fresh3.jsonl"
"""The batch whose out-of-fold macro-F1 the round-ten default rule reads (eval/README.md)."""


@dataclass(frozen=True)
class HeadlineRecipe:
    """One version of lexicon.v8's design (`main_headlines`): the gold files it reads (tuning split
    first), the batch whose out-of-fold figures its default rule reads (also given design-weighted),
    and the packaged taxonomy it featurises with (recorded in the artifact as `TAXONOMY`, the name
    it had when trained)."""

    version: str
    files: tuple[str, ...]
    rule_batch: str
    taxonomy: str


HEADLINE_RECIPES = {
    "v8": HeadlineRecipe("v8", V8_FILES, V8_FRESH2, V8_TAXONOMY),
    "v9": HeadlineRecipe("v9", V9_FILES, V9_FRESH3, TAXONOMY),
}
"""lexicon.v8 (round nine; trained on taxonomy.toml as it was then, read now from its frozen copy
`taxonomy-v8.toml`) and lexicon.v9 (round ten: v8's design on `V9_FILES` and the current taxonomy)."""
V8_GATES = (2, 1)
"""As v7's final gates: every v8 label names at least one lexicon phrase of weight > `WEAK_WEIGHT`."""
V8_LAMBDA = V7_LAMBDA
TITLE_ONLY = "shape:title_only"
"""The headline feature (`processors.classify.shape_features`): its learned weight is the headlines'
own bias, and the artifact adds to it the shift that gives headlines their own cut-off (chosen by
CV, `choose_rule_v8`), so inference needs no second threshold."""


def read_v8(folder: Path, files: tuple[str, ...] = V8_FILES) -> tuple[list[TopicItem], list[TopicItem], list[str]]:
    """(tuning items, feed items, each feed item's file name) from `files` (`V8_FILES`; `V9_FILES` for
    v9), nothing else; refuses a tuning item in the held-out split and any feed id twice."""
    tuning = read_topic_gold(folder / files[0])
    leaked = [it.id for it in tuning if split_of(it.id) != "tuning"]
    if leaked:
        raise SystemExit(f"error: {len(leaked)} items of {files[0]} are in the held-out split "
                         f"(first: {leaked[0]}); rebuild it with `python -m eval.prepare`")
    feed: list[TopicItem] = []
    batch: list[str] = []
    for name in files[1:]:
        got = read_topic_gold(folder / name)
        feed += got
        batch += [name] * len(got)
    ids = [it.id for it in tuning + feed]
    if len(set(ids)) != len(ids):
        raise SystemExit("error: an item id occurs twice across the gold files read")
    return tuning, feed, batch


def v8_features(items: list[TopicItem], taxonomy: str = TAXONOMY) -> list[dict[str, float]]:
    """`featurise`'s word and lexicon features plus `shape_features`, as lexicon.v8 computes them."""
    features, _gates = featurise(items, taxonomy)
    for feats, it in zip(features, items, strict=True):
        feats.update(shape_features(it.title, it.summary, "" if it.text == it.summary else it.text))
    return features


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def choose_rule_v8(p: Floats, y: Floats, units: Ints, title_only: npt.NDArray[np.bool_],
                   is_feed: npt.NDArray[np.bool_]) -> tuple[int, float, float, float]:
    """(gate, threshold, headline threshold, objective): per gate of `V8_GATES`, the pair of
    thresholds over 0.05..0.95 (one for headlines, `title_only`, one for every other item) with the
    best mean of the out-of-fold F1 on feed items (all feed batches pooled) and on tuning items;
    ties go to the threshold nearest 0.5, then to the headline threshold nearest it; a later gate
    must win by more than TIE_F1."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    no_stage = np.zeros(len(y), dtype=bool)
    best: tuple[int, float, float, float] | None = None
    for gate in V8_GATES:
        ok = gate_passes(gate, units, no_stage)
        passed = (p[None, :] >= grid[:, None]) & ok[None, :]  # thresholds x rows
        counts = {}
        for part, rows in (("feed", is_feed), ("tuning", ~is_feed)):
            for shape, mask in (("head", title_only), ("rest", ~title_only)):
                m = rows & mask
                tp = np.sum(passed[:, m] & (y[m] == 1)[None, :], axis=1).astype(float)
                fp = np.sum(passed[:, m] & (y[m] == 0)[None, :], axis=1).astype(float)
                counts[part, shape] = (tp, fp, float(np.sum(y[m] == 1)))
        objective = np.zeros((len(grid), len(grid)))  # [rest threshold, headline threshold]
        for part in ("feed", "tuning"):
            (tp_h, fp_h, pos_h), (tp_r, fp_r, pos_r) = counts[part, "head"], counts[part, "rest"]
            tp = tp_r[:, None] + tp_h[None, :]
            denom = tp + fp_r[:, None] + fp_h[None, :] + (pos_r + pos_h)  # 2tp + fp + fn
            objective += 0.5 * np.where(tp > 0, 2 * tp / np.where(denom > 0, denom, 1.0), 0.0)
        top = max((float(objective[i, j]), -abs(grid[i] - 0.5), -abs(grid[j] - grid[i]), i, j)
                  for i in range(len(grid)) for j in range(len(grid)))
        if best is None or top[0] > best[3] + TIE_F1:
            best = (gate, float(grid[top[3]]), float(grid[top[4]]), top[0])
    assert best is not None
    return best


def train_label_v8(
    label: str, x: Matrix, vocab: list[str], y_all: Floats, judged: Ints, folds: Ints, role: npt.NDArray[np.str_],
    batch: npt.NDArray[np.str_], units: Ints, title_only: npt.NDArray[np.bool_], design: Floats,
    recipe: HeadlineRecipe,
) -> dict[str, object]:
    """`recipe`'s model for `label` (lexicon.v8's design, also lexicon.v9's): 5 story folds train on tuning items, their feed views and every
    feed batch's items and predict the tuning and feed items of the fifth fold (views are never
    scored); gate, threshold and headline threshold by `choose_rule_v8`; then the model is fitted on
    every row and the headline shift folded into the `TITLE_ONLY` weight."""
    y = y_all[judged]
    xl = x.take(judged, np.arange(x.shape[1]))
    role_l, fold_l, batch_l = role[judged], folds[judged], batch[judged]
    z = np.zeros(len(judged))
    for k in range(FOLDS):
        train = np.flatnonzero(fold_l != k)
        test = np.flatnonzero((fold_l == k) & (role_l != "view"))
        cols, w = fit_cut(xl.take(train, np.arange(xl.shape[1])), y[train], V8_LAMBDA, vocab)
        z[test] = xl.take(test, cols).dot(w)
    rows = np.flatnonzero(role_l != "view")
    p = 1.0 / (1.0 + np.exp(-z[rows]))
    yr, is_feed, heads = y[rows], role_l[rows] == "feed", title_only[judged][rows]
    gate, threshold, head_t, objective = choose_rule_v8(p, yr, units[judged][rows], heads, is_feed)
    ok = gate_passes(gate, units[judged][rows], np.zeros(len(rows), dtype=bool))
    pred = np.where(heads, p >= head_t, p >= threshold) & ok

    def fig(mask: npt.NDArray[np.bool_], weight: Floats | None = None) -> dict[str, float]:
        t = prf(pred[mask], yr[mask], None if weight is None else weight[mask])
        return {"precision": round(t[0], 4), "recall": round(t[1], 4), "f1": round(t[2], 4)}

    cv: dict[str, dict[str, float]] = {"tuning": fig(~is_feed), "feed": fig(is_feed)}
    for name in recipe.files[1:]:
        cv[_short(name)] = fig(batch_l[rows] == name)
    cv[_short(recipe.rule_batch) + "_weighted"] = fig(batch_l[rows] == recipe.rule_batch, design[judged][rows])
    cv["headlines"] = fig(heads & is_feed)
    print(f"  {label}: gate {gate}, threshold {threshold:.2f}, headlines {head_t:.2f}: objective {objective:.4f}; "
          + "; ".join(f"{k} {v['f1']:.4f} (P {v['precision']:.3f} R {v['recall']:.3f})" for k, v in cv.items()),
          flush=True)
    cols, w = fit_cut(xl, y, V8_LAMBDA, vocab)
    weights = {vocab[c]: float(v) for c, v in zip(cols[:-1], w[:-1], strict=True)}
    weights[TITLE_ONLY] = weights.get(TITLE_ONLY, 0.0) + _logit(threshold) - _logit(head_t)
    weights = {k: round(v, 5) for k, v in weights.items() if round(v, 5) != 0.0}
    return {"bias": round(float(w[-1]), 5), "threshold": threshold, "threshold_headlines": head_t,
            "min_terms": gate, "lambda": V8_LAMBDA, "features": "full", "cv": cv,
            "positives": int(y.sum()), "judged": len(judged), "weights": dict(sorted(weights.items()))}


def _short(name: str) -> str:
    """A batch's key in an artifact's `cv` figures: "topics_fresh2.jsonl" -> "fresh2"."""
    return name.removesuffix(".jsonl").removeprefix("topics_")


_V8_DATA: dict[str, object] = {}
"""What the label workers of `main_headlines` read (set before they fork; each returns its label's model)."""


def _v8_worker(label: str) -> dict[str, object]:
    d = _V8_DATA
    judged, y_all, units = _label_arrays(d, label)
    return train_label_v8(label, d["x"], d["vocab"], y_all, judged, d["folds"], d["role"],  # type: ignore[arg-type]
                          d["batch"], units, d["title_only"], d["design"], d["recipe"])  # type: ignore[arg-type]


def main_headlines(folder: Path, out: Path, recipe: HeadlineRecipe, *, jobs: int = 3) -> int:
    """`--model v8` / `--model v9`: read `recipe.files`, train (one process per label, `jobs` at a time;
    the result does not depend on it), write the artifact."""
    tuning, feed, feed_batch = read_v8(folder, recipe.files)
    views = [feed_view(it) for it in tuning]
    items = tuning + feed + views
    role = np.array(["tuning"] * len(tuning) + ["feed"] * len(feed) + ["view"] * len(views))
    batch = np.array([recipe.files[0]] * len(tuning) + feed_batch + ["view"] * len(views))
    originals = tuning + feed
    story = story_folds(originals)
    folds = np.array(story + story[: len(tuning)])  # a view sits in its original's fold
    print(f"{len(tuning)} tuning items, {len(feed)} feed items "
          f"({', '.join(f'{n}: {feed_batch.count(n)}' for n in recipe.files[1:])}), {len(views)} feed views",
          flush=True)
    features = v8_features(items, recipe.taxonomy)
    title_only = np.array([TITLE_ONLY in f for f in features])
    units_by_item = lexicon_units(items, recipe.taxonomy)
    vocab = vocabulary(features)
    print(f"{len(vocab)} features with df >= {MIN_DF}; {int(title_only.sum())} headlines", flush=True)
    x = build_matrix(features, vocab)
    design = np.array([it.weight if r == "feed" else 1.0 for it, r in zip(items, role, strict=True)])
    _V8_DATA.update(items=items, units=units_by_item, x=x, vocab=vocab, folds=folds, role=role, batch=batch,
                    title_only=title_only, design=design, recipe=recipe)
    labels = _run_label_workers(_v8_worker, jobs)
    f1s = [labels[k]["cv"][_short(recipe.rule_batch)]["f1"] for k in CORE_LABELS]  # type: ignore[index]
    print(f"out-of-fold macro-F1 on {recipe.rule_batch}: {sum(f1s) / len(f1s):.4f}", flush=True)
    taxonomy = (REPO / "processors" / recipe.taxonomy).read_bytes()
    artifact = {
        "format": FORMAT,
        "trained_on": _trained_on(folder, recipe.files),
        "taxonomy_sha256": hashlib.sha256(taxonomy).hexdigest(),
        "settings": {"min_df": MIN_DF, "keep": KEEP, "lambda": V8_LAMBDA, "folds": FOLDS, "fold_by": "story",
                     "tie_f1": TIE_F1, "gates": list(V8_GATES), "features": "words, bigrams, lex:<topic>, "
                     + TITLE_ONLY, "taxonomy": TAXONOMY,  # the name when trained; read from recipe.taxonomy
                     "objective": "mean of out-of-fold F1 on feed items (all feed batches) and on tuning items",
                     "headlines": f"threshold_headlines is folded into the {TITLE_ONLY} weight "
                                  "(+ logit(threshold) - logit(threshold_headlines))"},
        "labels": labels,
    }
    return write_artifact(out, artifact)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=default_out() / "topics_tuning.jsonl")
    parser.add_argument("--model", choices=sorted([*RECIPES, "v7", *HEADLINE_RECIPES]), default=DEFAULT_RECIPE,
                        help="which artifact's recipe to run (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="default: processors/models/topics-<model>.json")
    parser.add_argument("--grid", action="store_true", help="v7: cross-validate the whole grid "
                        "(V7_FEATURES x V7_FRESH_WEIGHTS), not only the chosen settings")
    parser.add_argument("--jobs", type=int, default=3, help="v7, v8, v9: labels trained at once (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.model in HEADLINE_RECIPES:  # reads V8_FILES / V9_FILES under the --gold file's folder, nothing else
        return main_headlines(args.gold.parent, args.out or REPO / "processors" / "models" / f"topics-{args.model}.json",
                              HEADLINE_RECIPES[args.model], jobs=args.jobs)
    if args.model == "v7":  # reads V7_FILES under the --gold file's folder, nothing else
        return main_v7(args.gold.parent, args.out or REPO / "processors" / "models" / "topics-v7.json",
                       grid=args.grid, jobs=args.jobs)
    recipe = RECIPES[args.model]
    out: Path = args.out or REPO / "processors" / "models" / f"topics-{args.model}.json"
    items = read_topic_gold(args.gold)
    leaked = [it.id for it in items if split_of(it.id) != "tuning"]
    if leaked:
        print(f"error: {len(leaked)} items of {args.gold} are in the held-out split "
              f"(first: {leaked[0]}); train on topics_tuning.jsonl only", file=sys.stderr)
        return 2
    features, gates = featurise(items, recipe.taxonomy)
    vocab = vocabulary(features)
    print(f"{len(items)} tuning items, {len(vocab)} features with df >= {MIN_DF}")
    x = build_matrix(features, vocab)
    if recipe.folds == "story":
        item_folds = story_folds(items)
        moved = sum(f != fold_of(it.id) for f, it in zip(item_folds, items, strict=True))
        print(f"cross-validation folds by story: {moved} items moved to a near-duplicate's fold")
    else:
        item_folds = [fold_of(it.id) for it in items]
    base = {}
    if recipe.base:
        base = json.loads((REPO / "processors" / "models" / recipe.base).read_text(encoding="utf-8"))["labels"]
    labels = {label: base[label] if label not in recipe.train else
              train_label(label, items, x, vocab, gates, item_folds, recipe.blend_words) for label in CORE_LABELS}
    taxonomy = (REPO / "processors" / recipe.taxonomy).read_bytes()
    settings: dict[str, object] = {"min_df": MIN_DF, "keep": KEEP, "lambdas": list(LAMBDAS), "folds": FOLDS,
                                   "tie_f1": TIE_F1, "lexicon_only": sorted(LEXICON_ONLY)}
    if recipe.folds == "story":
        settings.update(fold_by="story", blend_words=sorted(recipe.blend_words), trained=sorted(recipe.train))
        if recipe.base:
            settings.update(copied_from={recipe.base: sorted(set(CORE_LABELS) - recipe.train)})
        if recipe.taxonomy != FROZEN_TAXONOMY:
            settings.update(taxonomy=recipe.recorded_as or recipe.taxonomy)
    artifact = {
        "format": FORMAT,
        "trained_on": "eval/prepare.py tuning split (topics_tuning.jsonl), sha256 " +
                      hashlib.sha256(args.gold.read_bytes()).hexdigest(),
        "taxonomy_sha256": hashlib.sha256(taxonomy).hexdigest(),
        "settings": settings,
        "labels": labels,
    }
    return write_artifact(out, artifact)

def write_artifact(out: Path, artifact: Mapping[str, object]) -> int:
    """Write a model artifact as indented JSON (stable bytes for the reproduction check), print
    its size and SHA-256; 0 for the command's exit status."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(artifact, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1024:.0f} KiB), sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
