"""A small learned linear model per core topic, read from a committed JSON artifact; pure Python.

"lexicon.v3" to "lexicon.v9" (processors/classify.py) ask this model to decide
defence, trade and energy (v3: artifact `models/topics-v3.json`, trained on the origin labels; v4:
`models/topics-v4.json`, trained on the gold.v2 labels of `eval/relabelling.md`; v5:
`models/topics-v5.json`, v4's defence and trade, energy as the mean logit of a full and a
words-only model, folds by story; v6: `models/topics-v6.json`, v5's recipe for every label on
round five's taxonomy; v7: `models/topics-v7.json`, word features for every label, trained on
tuning items, their feed-length views and topics_fresh1, with a per-label lexicon gate
(`LabelModel.min_terms`); v8: `models/topics-v8.json`, v7's design plus topics_fresh2, topics_train1
and a title-only input with its own cut-off; v9: `models/topics-v9.json`, v8's design plus
topics_fresh3 on round ten's taxonomy; see `eval/train_topics.py`). The
model is per-label logistic regression over two kinds of feature, both computed here so that
training (`eval/train_topics.py`) and inference share one definition:

* word features: lower-cased `[a-z0-9]+` tokens and adjacent-token bigrams ("w:oil",
  "w:trade deficit" in the artifact) of title (counted twice), summary and body; value 1 + log(count), the
  vector scaled to unit length so long Reuters bodies and one-line feed items weigh alike;
* lexicon features: for every taxonomy topic, log(1 + raw lexicon score) / 3 ("lex:sport"),
  and for the core topics whether the lexicon assigned them ("lex+:trade"): what the
  explainable lexicon thinks is the model's strongest input, and negatives such as sport or
  earnings reach it through "lex:*".

P(label) = sigmoid(bias + sum of weight x value); the label is assigned at P >= the label's
threshold, chosen by cross-validation on the tuning split. No scikit-learn or numpy at run time.
The artifact names the taxonomy digest it was trained against: a taxonomy edit means retraining
(`python -m eval.train_topics`), and loading refuses a mismatch rather than mislabel quietly.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from pathlib import Path

from newswatch import ConfigError

DEFAULT_MODEL_FILE = "models/topics-v5.json"
FORMAT = "newswatch.linear-topics.v1"
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "had", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "said", "that", "the", "this", "to", "was", "were", "will", "with",
    "would",
])
"""Function words never shown as evidence (the model may weigh them; a reader learns nothing)."""


def tokens(value: str) -> list[str]:
    """Lower-cased alphanumeric tokens of a text."""
    return _TOKEN.findall(value.lower())


_DAMPED = tuple(1.0 + math.log(n) if n else 0.0 for n in range(64))


def word_features(title: str, summary: str, text: str) -> dict[str, float]:
    """Unit-length unigram + bigram features of an article (title counted twice), keyed by the
    term itself; the artifact and `eval/train_topics.py` name them "w:<term>"."""
    if text == summary:
        text = ""
    counts: Counter[str] = Counter()
    if title:  # counted twice: the first field, so doubling its counts keeps insertion order
        words = _TOKEN.findall(title.lower())
        counts.update(words)
        counts.update(map(" ".join, pairwise(words)))
        for key in counts:
            counts[key] *= 2
    for part in (summary, text):
        if part:
            words = _TOKEN.findall(part.lower())
            counts.update(words)
            counts.update(map(" ".join, pairwise(words)))
    values = {k: _DAMPED[n] if n < 64 else 1.0 + math.log(n) for k, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    return {k: v / norm for k, v in values.items()}


def lexicon_features(raw: Mapping[str, float], assigned: Iterable[str], core: Iterable[str]) -> dict[str, float]:
    """"lex:<topic>" = log(1 + raw lexicon score) / 3 for every topic with evidence; "lex+:<core>" = 1."""
    out = {f"lex:{label}": math.log1p(score) / 3.0 for label, score in raw.items() if score > 0}
    chosen = set(assigned)
    out.update({f"lex+:{label}": 1.0 for label in core if label in chosen})
    return out


@dataclass(frozen=True)
class LabelModel:
    """One label's bias, sparse weights and decision threshold on the probability."""

    bias: float
    weights: Mapping[str, float]
    threshold: float
    min_terms: int | None = None
    """The lexicon gate for this label: None = the taxonomy's `min_terms` rule (lexicon.v3-v6); 2 =
    the same rule; 1 = one phrase above the weak weight; 0 = no phrase needed, the label names the
    model's words as evidence (lexicon.v7, v8; `processors.classify.Classifier.enough_terms`)."""

    def probability(self, features: Mapping[str, float]) -> float:
        """sigmoid(bias + w . x) over features named as in the artifact ("w:oil", "lex:sport")."""
        z = self.bias + sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0


@dataclass(frozen=True)
class LinearTopicModel:
    """Per-label linear models plus the taxonomy digest they were trained against."""

    labels: Mapping[str, LabelModel]
    taxonomy_sha256: str
    digest: str

    def __post_init__(self) -> None:
        # One lookup per feature for all labels: term -> weight of each label, in label order;
        # word weights keyed without their "w:" prefix, to match `word_features`.
        names = list(self.labels)
        joint: dict[str, list[float]] = {}
        for i, name in enumerate(names):
            for term, weight in self.labels[name].weights.items():
                key = term[2:] if term.startswith("w:") else "\0" + term
                joint.setdefault(key, [0.0] * len(names))[i] = weight
        object.__setattr__(self, "_joint", {k: tuple(v) for k, v in joint.items()})

    def top_terms(self, label: str, words: Mapping[str, float], n: int = 5) -> tuple[str, ...]:
        """The words present (`word_features` keys) that pushed hardest towards `label` (evidence)."""
        joint: dict[str, tuple[float, ...]] = self._joint  # type: ignore[attr-defined]
        i = list(self.labels).index(label)
        pushes = [(joint[k][i] * words[k], k) for k in words.keys() & joint.keys()
                  if not _STOP.issuperset(k.split())]
        return tuple(k for _p, k in sorted((p for p in pushes if p[0] > 0), key=lambda p: (-p[0], p[1]))[:n])

    def probabilities(self, words: Mapping[str, float], lexicon: Mapping[str, float]) -> dict[str, float]:
        """P(label) for every label from `word_features` and `lexicon_features`, in one pass."""
        joint: dict[str, tuple[float, ...]] = self._joint  # type: ignore[attr-defined]
        z = [m.bias for m in self.labels.values()]
        for term in words.keys() & joint.keys():
            value = words[term]
            for i, w in enumerate(joint[term]):
                z[i] += w * value
        for term, value in lexicon.items():
            weights = joint.get("\0" + term)
            if weights is not None:
                for i, w in enumerate(weights):
                    z[i] += w * value
        return {name: 1.0 / (1.0 + math.exp(-zi)) if zi > -30 else 0.0
                for name, zi in zip(self.labels, z, strict=True)}

    @classmethod
    def load(cls, path: str | Path | None = None, *, packaged: str = DEFAULT_MODEL_FILE) -> LinearTopicModel:
        """Read the artifact at `path`, else the packaged one named `packaged` (under processors/)."""
        if path is None:
            raw = resources.files("processors").joinpath(packaged).read_bytes()
            where = f"processors/{packaged}"
        else:
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read topic model {path}: {exc}; check the path") from exc
            where = str(path)
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            labels = {
                name: LabelModel(float(spec["bias"]), dict(spec["weights"]), float(spec["threshold"]),
                                 None if spec.get("min_terms") is None else int(spec["min_terms"]))
                for name, spec in data["labels"].items()
            }
            taxonomy = str(data["taxonomy_sha256"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"topic model {where} is not a {FORMAT} file ({exc}); rebuild it with "
                "`python -m eval.train_topics`"
            ) from exc
        return cls(labels, taxonomy, hashlib.sha256(raw).hexdigest())
