"""Topic classification from a readable taxonomy: weighted phrases, negatives and thresholds.

The classifier is pure (text in, labels out) and explainable: every `TopicLabel` carries the
phrases that fired. How scores are computed is written at the top of `taxonomy.toml`.
Classifiers are built from an explicit registry of versioned names (`CLASSIFIERS`), so a
configuration can pin "lexicon.v1" and a change in behaviour ships as a new name:

* "lexicon.v1": a topic needs `min_terms` distinct phrases, whatever their weight.
* "lexicon.v2": a *strong* phrase (weight >= `strong_weight` in the taxonomy, 3.0)
  counts as two towards `min_terms`. `min_terms` is there so that an ambiguous word
  ("defence", "trade", "energy") never carries a label alone; "trade deficit" in a headline
  or "air force base" is not ambiguous, and v1 missed such one-phrase items (issue 4).
* "lexicon.v3": v2 for every topic, except that defence, trade and energy are
  decided by a small linear model per label (`processors.linear`, artifact
  `processors/models/topics-v3.json`, trained on the tuning split by `eval/train_topics.py`)
  whose inputs are the v2 lexicon scores plus words and bigrams (defence: lexicon scores only).
  A label needs the model's probability over its threshold *and* the lexicon's `min_terms`
  rule (enough distinct phrases; the model may overrule the lexicon's score threshold and
  negatives, not this), so an ambiguous word still never carries a label alone and every label
  explains itself: its evidence is the lexicon phrases that fired, then the words present that
  pushed the model hardest towards the label.
* "lexicon.v4": lexicon.v3's design and features; its model
  (`processors/models/topics-v4.json`) was trained on the tuning split under the gold.v2
  labelling rules (`eval/relabelling.md`: Reuters codes our label definitions read otherwise,
  such as petrochemicals coded energy, or commodity export stories left uncoded for trade).
* "lexicon.v5": lexicon.v4's design, features, defence and trade models; its energy model
  (`processors/models/topics-v5.json`) is the mean logit of a full model and a words-only model,
  chosen by cross-validation with folds grouped by story (`eval/train_topics.py`), because the
  energy lexicon was tuned on the tuning split and a model leaning on it alone is optimistic there.
* "lexicon.v6": lexicon.v5's design on the current taxonomy, whose energy lexicon was rewritten
  from the label definition (round five); all three models retrained with folds by story
  (`processors/models/topics-v6.json`), since every model reads the energy lexicon's score.
  Registered, not the default: its cross-validated energy F1 fell short of v5's by more than the
  0.005 that round five's rule allowed (`eval/README.md`).
* "lexicon.v7": for feed items (title + a one-sentence summary, or a title alone). lexicon.v6's
  taxonomy and features (words and bigrams for every label, the lexicon scores of all topics),
  models trained on the tuning split, feed-length views of its items (title + the first
  sentences) and the hand-labelled feed batch topics_fresh1 (`processors/models/topics-v7.json`,
  `python -m eval.train_topics --model v7`). Its lexicon gate is chosen per label by
  cross-validation and recorded in the artifact (`min_terms`: 2 = the taxonomy's rule, 1 = one
  phrase above the weak weight, 0 = no phrase needed; see `Classifier.enough_terms`): an ambiguous
  weak word still never carries a label alone, and a label always names its evidence, lexicon
  phrases first, then the model's strongest words (a label with neither is not assigned).
* "lexicon.v8": for short items and headlines (round nine). lexicon.v7's design on round nine's
  taxonomy (frozen as `processors/taxonomy-v8.toml` since round ten), whose defence, trade and energy lexicons gained phrases for headlines (armed groups and
  conflicts, trade pacts and curbs, power demand and supply); models trained on v7's rows plus the
  hand-labelled feed batches topics_fresh2 and topics_train1 (`processors/models/topics-v8.json`,
  `python -m eval.train_topics --model v8`), with one more input, `shape_features`: a headline
  alone (no summary, no body) has its own bias and, folded into that weight, its own cut-off chosen
  by cross-validation. Gate (2, 1) as v7's: every label names at least one lexicon phrase of
  weight > 1.0.
* "lexicon.v9" (the default, `DEFAULT_CLASSIFIER`, since round ten): lexicon.v8's design, unchanged,
  on the current taxonomy, whose defence, trade and energy lexicons gained phrases of world
  knowledge a headline does not state (named weapon systems, ships, armed groups, defence firms;
  trade bodies and pacts, oil bought across a border; pipelines, oil, gas and power companies,
  plants and reactor types, fuel prices), with models trained on v8's rows plus the hand-labelled
  feed batch topics_fresh3 (`processors/models/topics-v9.json`, `python -m eval.train_topics --model
  v9`).

lexicon.v3, v4 and v5 read `taxonomy-v4.toml`, a frozen byte-for-byte copy of the taxonomy their
models were trained against (`FROZEN_TAXONOMY`); lexicon.v6 and v7 read `taxonomy-v7.toml`
(`V7_TAXONOMY`), the taxonomy of rounds five to seven frozen when round nine edited `taxonomy.toml`;
lexicon.v8 reads `taxonomy-v8.toml` (`V8_TAXONOMY`), round nine's taxonomy frozen when round ten
edited `taxonomy.toml`; lexicon.v1, v2 and v9 read `taxonomy.toml`.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from newswatch import ConfigError, TopicLabel
from processors.linear import LinearTopicModel, lexicon_features, word_features
from processors.phrases import build_automaton, longest_matches

DEFAULT_CLASSIFIER = "lexicon.v9"
TAXONOMY = "taxonomy.toml"
FROZEN_TAXONOMY = "taxonomy-v4.toml"
"""The taxonomy as it was before round five's energy lexicon, which the v3-v5 artifacts name by
SHA-256; kept unchanged so those classifiers load and label as they did."""
V7_TAXONOMY = "taxonomy-v7.toml"
"""The taxonomy of rounds five to seven (round five's energy lexicon), which the v6 and v7 artifacts
name by SHA-256; frozen byte for byte before round nine's edit of `taxonomy.toml`. Never edit it."""
V8_TAXONOMY = "taxonomy-v8.toml"
"""The taxonomy of round nine (its headline phrases), which the v8 artifact names by SHA-256; frozen
byte for byte before round ten's edit of `taxonomy.toml`. Never edit it."""
FIELDS = ("title", "summary", "body")
WEAK_WEIGHT = 1.0
"""Phrases weighing this or less are the taxonomy's ambiguous words ("defence", "trade", "energy",
"customs", "tank"): under a model's relaxed gate (lexicon.v7) they still never carry a label alone."""


@dataclass(frozen=True)
class TopicRule:
    """One topic of the taxonomy: its IPTC mapping, phrases with weights, and the bar to clear."""

    label: str
    iptc_code: str
    iptc_name: str
    definition: str
    threshold: float
    min_terms: int
    terms: Mapping[str, float]
    negatives: Mapping[str, float]


@dataclass(frozen=True)
class TopicScore:
    """Why a topic did or did not fire: raw score, distinct positive phrases and negatives seen.

    `probability` and `cutoff` are set when a learned model decided the label (lexicon.v3):
    assigned means probability >= cutoff, and `raw` is still the lexicon's score.
    """

    label: str
    raw: float
    evidence: tuple[str, ...]
    negatives: tuple[str, ...]
    assigned: bool
    probability: float | None = None
    cutoff: float | None = None


@dataclass
class _Hit:
    weight: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


class Classifier:
    """Multi-label lexicon classifier; `classify(title, summary, text)` returns zero or more labels."""

    def __init__(
        self,
        rules: Iterable[TopicRule],
        *,
        field_weights: Mapping[str, float],
        max_count: int = 4,
        version: str = DEFAULT_CLASSIFIER,
        strong_weight: float = float("inf"),
        model: LinearTopicModel | None = None,
    ) -> None:
        self.rules = {rule.label: rule for rule in rules}
        self.field_weights = {f: float(field_weights.get(f, 1.0)) for f in FIELDS}
        self.max_count = max_count
        self.version = version
        self.strong_weight = strong_weight
        self.model = model
        self._automaton, self._targets = build_automaton(
            (r.label, r.terms, r.negatives) for r in self.rules.values()
        )

    @classmethod
    def from_taxonomy(
        cls, path: str | Path | None = None, *, name: str = "lexicon.v1", strong_phrases: bool = False,
        model: LinearTopicModel | None = None, packaged: str = TAXONOMY,
    ) -> Classifier:
        """Load the taxonomy file (else the packaged one named `packaged`, `taxonomy.toml` by default).

        The recorded version is "<name>+<first 12 hex of the file's SHA-256>"; `strong_phrases`
        turns on the v2 rule (a phrase of weight >= `strong_weight` counts twice for min_terms).
        With a `model`, the hash covers taxonomy and model, and the model must have been trained
        against this very taxonomy (else ConfigError: retrain).
        """
        raw, where = _read_taxonomy(path, packaged)
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"taxonomy {where} is not valid TOML: {exc}; fix the file") from exc
        meta = data.get("classifier", {})
        digest = hashlib.sha256(raw).hexdigest()
        if model is not None:
            if model.taxonomy_sha256 != digest:
                raise ConfigError(
                    f"topic model was trained against another taxonomy than {where}; retrain it with "
                    "`python -m eval.prepare && python -m eval.train_topics` or pin lexicon.v2"
                )
            digest = hashlib.sha256(f"{digest}:{model.digest}".encode()).hexdigest()
        return cls(
            _parse_rules(data, where),
            field_weights=meta.get("field_weights", {}),
            max_count=int(meta.get("max_count", 4)),
            version=f"{name}+{digest[:12]}",
            strong_weight=float(meta.get("strong_weight", 3.0)) if strong_phrases else float("inf"),
            model=model,
        )

    @property
    def labels(self) -> list[str]:
        """Every topic the taxonomy defines, in file order."""
        return list(self.rules)

    def __call__(self, title: str, summary: str, text: str) -> list[TopicLabel]:
        return self.classify(title, summary, text)

    def classify(self, title: str, summary: str, text: str) -> list[TopicLabel]:
        """Topics whose score clears their threshold, best first; may be empty."""
        labels = []
        for score in self.scores(title, summary, text):
            if not score.assigned:
                continue
            rule = self.rules[score.label]
            labels.append(
                TopicLabel(
                    label=rule.label,
                    iptc_code=rule.iptc_code,
                    iptc_name=rule.iptc_name,
                    score=round(score.raw / (score.raw + rule.threshold), 4)
                    if score.probability is None else round(score.probability, 4),
                    evidence=score.evidence,
                )
            )
        return sorted(labels, key=lambda t: -t.score)

    def scores(self, title: str, summary: str, text: str) -> list[TopicScore]:
        """Every topic with any evidence, assigned or not: what evaluation and debugging read."""
        if text == summary:
            text = ""
        positive: dict[str, _Hit] = {}
        negative: dict[str, _Hit] = {}
        for name, value in zip(FIELDS, (title, summary, text), strict=True):
            if value:
                self._score_field(value, self.field_weights[name], positive, negative)
        out = []
        for label in positive:
            rule = self.rules[label]
            pos = positive.get(label, _Hit())
            neg = negative.get(label, _Hit())
            raw = max(pos.weight - neg.weight, 0.0)
            evidence = tuple(sorted(pos.counts, key=lambda t: (-pos.counts[t], t)))
            assigned = raw >= rule.threshold and self.enough_terms(label, evidence)
            out.append(TopicScore(label, round(raw, 4), evidence, tuple(sorted(neg.counts)), assigned))
        if self.model is not None:
            out = self._model_scores(out, title, summary, text)
        return sorted(out, key=lambda s: (-s.raw, s.label))

    def enough_terms(self, label: str, evidence: Iterable[str], min_terms: int | None = None) -> bool:
        """The lexicon's `min_terms` rule: enough distinct phrases (a strong one counts as two).

        A model's own gate (`min_terms` from its artifact, lexicon.v7) relaxes it: 1 = one phrase
        weighing more than `WEAK_WEIGHT` is enough; 0 = no phrase is needed either (the model's words
        are the evidence). Under either, the taxonomy's weak, ambiguous words ("defence", "trade",
        "energy") still never carry a label alone: found alone they need the taxonomy's rule.
        """
        rule = self.rules[label]
        evidence = tuple(evidence)
        units = sum(2 if rule.terms.get(t, 0.0) >= self.strong_weight else 1 for t in evidence)
        if min_terms is None or min_terms >= 2:
            return units >= (rule.min_terms if min_terms is None else min_terms)
        if not evidence:
            return min_terms == 0
        return units >= rule.min_terms or any(rule.terms.get(t, 0.0) > WEAK_WEIGHT for t in evidence)

    def _model_scores(self, lexicon: list[TopicScore], title: str, summary: str, text: str) -> list[TopicScore]:
        """Replace the lexicon's decision on the model's labels by the model's (lexicon.v3)."""
        assert self.model is not None
        by_label = {s.label: s for s in lexicon}
        words = word_features(title, summary, text)
        lex = lexicon_features({s.label: s.raw for s in lexicon}, [s.label for s in lexicon if s.assigned],
                               self.model.labels)
        lex.update(shape_features(title, summary, text))  # weighed only by models that have it (lexicon.v8)
        for label, p in self.model.probabilities(words, lex).items():
            model = self.model.labels[label]
            old = by_label.get(label, TopicScore(label, 0.0, (), (), False))
            assigned = p >= model.threshold and self.enough_terms(label, old.evidence, model.min_terms)
            learned = tuple(t for t in self.model.top_terms(label, words) if t not in old.evidence) if assigned else ()
            if assigned and not (old.evidence or learned):
                assigned = False  # a label always names its evidence (only a gate of 0 gets here)
            by_label[label] = TopicScore(label, old.raw, old.evidence + learned, old.negatives,
                                         assigned, round(p, 4), model.threshold)
        return list(by_label.values())

    def _score_field(
        self, value: str, field_weight: float, positive: dict[str, _Hit], negative: dict[str, _Hit]
    ) -> None:
        counts: dict[str, int] = {}
        for phrase in longest_matches(self._automaton, value.lower()):
            counts[phrase] = counts.get(phrase, 0) + 1
        for phrase, n in counts.items():
            damped = 1.0 + 0.5 * (min(n, self.max_count) - 1)
            for label, weight, is_negative in self._targets[phrase]:
                hit = (negative if is_negative else positive).setdefault(label, _Hit())
                hit.weight += weight * field_weight * damped
                hit.counts[phrase] = hit.counts.get(phrase, 0) + n


def shape_features(title: str, summary: str, text: str) -> dict[str, float]:
    """Features of the item's shape rather than its words (lexicon.v8): "shape:title_only" = 1.0 when
    the item is a headline alone (no summary, no body). lexicon.v8's artifact weighs it, which also
    carries its separate cut-off for headlines (`eval/train_topics.py`); older artifacts do not name
    it, so their probabilities are unchanged."""
    return {"shape:title_only": 1.0} if title.strip() and not summary.strip() and not text.strip() else {}


def _read_taxonomy(path: str | Path | None, packaged: str = TAXONOMY) -> tuple[bytes, str]:
    if path is None:
        resource = resources.files("processors").joinpath(packaged)
        return resource.read_bytes(), f"processors/{packaged}"
    try:
        return Path(path).read_bytes(), str(path)
    except OSError as exc:
        raise ConfigError(f"cannot read taxonomy {path}: {exc}; check the path") from exc


def _parse_rules(data: Mapping[str, Any], where: str) -> list[TopicRule]:
    defaults = data.get("classifier", {}).get("defaults", {})
    sets = data.get("negative_sets", {})
    topics = data.get("topics")
    if not isinstance(topics, dict) or not topics:
        raise ConfigError(f"taxonomy {where} defines no [topics.*] tables; add at least one topic")
    rules = []
    for label, spec in topics.items():
        missing = [k for k in ("iptc_code", "terms") if k not in spec]
        if missing:
            raise ConfigError(f"taxonomy {where}: topic {label!r} lacks {', '.join(missing)}")
        negatives: dict[str, float] = {}
        for set_name in spec.get("negative_sets", []):
            if set_name not in sets:
                raise ConfigError(f"taxonomy {where}: topic {label!r} names unknown negative set {set_name!r}")
            for term in sets[set_name]["terms"]:
                negatives[term.lower()] = float(sets[set_name].get("weight", 1.0))
        negatives.update({t.lower(): float(w) for t, w in spec.get("negative", {}).items()})
        terms = {t.lower(): float(w) for t, w in spec["terms"].items()}
        for term in terms.keys() & negatives.keys():
            del negatives[term]  # a topic's own phrase is never also its negative
        rules.append(
            TopicRule(
                label=label,
                iptc_code=spec["iptc_code"],
                iptc_name=spec.get("iptc_name", ""),
                definition=" ".join(spec.get("definition", "").split()),
                threshold=float(spec.get("threshold", defaults.get("threshold", 6.0))),
                min_terms=int(spec.get("min_terms", defaults.get("min_terms", 2))),
                terms=terms,
                negatives=negatives,
            )
        )
    return rules


def _lexicon_v1(taxonomy: str | Path | None = None) -> Classifier:
    return Classifier.from_taxonomy(taxonomy, name="lexicon.v1")


def _lexicon_v2(taxonomy: str | Path | None = None) -> Classifier:
    return Classifier.from_taxonomy(taxonomy, name="lexicon.v2", strong_phrases=True)


def _linear_lexicon(name: str, artifact: str, taxonomy_file: str) -> Callable[..., Classifier]:
    """The factory of a lexicon + linear-model classifier: `artifact` under processors/models, trained
    against the packaged `taxonomy_file` (lexicon.v3-v5 read the frozen copy, see FROZEN_TAXONOMY)."""

    def build(taxonomy: str | Path | None = None) -> Classifier:
        model = LinearTopicModel.load(packaged=f"models/{artifact}")
        return Classifier.from_taxonomy(taxonomy, name=name, strong_phrases=True, model=model,
                                        packaged=taxonomy_file)  # fmt: skip

    return build


CLASSIFIERS: dict[str, Callable[..., Classifier]] = {
    "lexicon.v1": _lexicon_v1,
    "lexicon.v2": _lexicon_v2,
    "lexicon.v3": _linear_lexicon("lexicon.v3", "topics-v3.json", FROZEN_TAXONOMY),
    "lexicon.v4": _linear_lexicon("lexicon.v4", "topics-v4.json", FROZEN_TAXONOMY),
    "lexicon.v5": _linear_lexicon("lexicon.v5", "topics-v5.json", FROZEN_TAXONOMY),
    "lexicon.v6": _linear_lexicon("lexicon.v6", "topics-v6.json", V7_TAXONOMY),
    "lexicon.v7": _linear_lexicon("lexicon.v7", "topics-v7.json", V7_TAXONOMY),
    "lexicon.v8": _linear_lexicon("lexicon.v8", "topics-v8.json", V8_TAXONOMY),
    "lexicon.v9": _linear_lexicon("lexicon.v9", "topics-v9.json", TAXONOMY),
}
"""Versioned classifier factories; the name is what settings pin."""


def load_classifier(name: str = DEFAULT_CLASSIFIER, taxonomy: str | Path | None = None) -> Classifier:
    """Build the classifier registered under `name` (raises ConfigError for an unknown name)."""
    try:
        factory = CLASSIFIERS[name]
    except KeyError:
        known = ", ".join(sorted(CLASSIFIERS))
        raise ConfigError(f"unknown classifier {name!r}; choose one of: {known}") from None
    return factory(taxonomy)
