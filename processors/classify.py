"""Topic classification from a readable taxonomy: weighted phrases, negatives and thresholds.

The classifier is pure (text in, labels out) and explainable: every `TopicLabel` carries the
phrases that fired. How scores are computed is written at the top of `taxonomy.toml`.
Classifiers are built from an explicit registry of versioned names (`CLASSIFIERS`), so a
configuration can pin "lexicon.v1" and a change in behaviour ships as a new name:

* "lexicon.v1": a topic needs `min_terms` distinct phrases, whatever their weight.
* "lexicon.v2" (default): a *strong* phrase (weight >= `strong_weight` in the taxonomy, 3.0)
  counts as two towards `min_terms`. `min_terms` is there so that an ambiguous word
  ("defence", "trade", "energy") never carries a label alone; "trade deficit" in a headline
  or "air force base" is not ambiguous, and v1 missed such one-phrase items (issue 4).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import ahocorasick

from newswatch import ConfigError, TopicLabel

DEFAULT_CLASSIFIER = "lexicon.v2"
FIELDS = ("title", "summary", "body")


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
    """Why a topic did or did not fire: raw score, distinct positive phrases and negatives seen."""

    label: str
    raw: float
    evidence: tuple[str, ...]
    negatives: tuple[str, ...]
    assigned: bool


_Target = tuple[str, float, bool]  # (topic label, weight, is a negative)


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
    ) -> None:
        self.rules = {rule.label: rule for rule in rules}
        self.field_weights = {f: float(field_weights.get(f, 1.0)) for f in FIELDS}
        self.max_count = max_count
        self.version = version
        self.strong_weight = strong_weight
        self._automaton, self._targets = _build_automaton(self.rules.values())

    @classmethod
    def from_taxonomy(
        cls, path: str | Path | None = None, *, name: str = "lexicon.v1", strong_phrases: bool = False
    ) -> Classifier:
        """Load the taxonomy file (the packaged `taxonomy.toml` by default).

        The recorded version is "<name>+<first 12 hex of the file's SHA-256>"; `strong_phrases`
        turns on the v2 rule (a phrase of weight >= `strong_weight` counts twice for min_terms).
        """
        raw, where = _read_taxonomy(path)
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"taxonomy {where} is not valid TOML: {exc}; fix the file") from exc
        meta = data.get("classifier", {})
        digest = hashlib.sha256(raw).hexdigest()[:12]
        return cls(
            _parse_rules(data, where),
            field_weights=meta.get("field_weights", {}),
            max_count=int(meta.get("max_count", 4)),
            version=f"{name}+{digest}",
            strong_weight=float(meta.get("strong_weight", 3.0)) if strong_phrases else float("inf"),
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
                    score=round(score.raw / (score.raw + rule.threshold), 4),
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
            terms = sum(2 if rule.terms.get(t, 0.0) >= self.strong_weight else 1 for t in evidence)
            assigned = raw >= rule.threshold and terms >= rule.min_terms
            out.append(TopicScore(label, round(raw, 4), evidence, tuple(sorted(neg.counts)), assigned))
        return sorted(out, key=lambda s: (-s.raw, s.label))

    def _score_field(
        self, value: str, field_weight: float, positive: dict[str, _Hit], negative: dict[str, _Hit]
    ) -> None:
        counts: dict[str, int] = {}
        for phrase in _longest_matches(self._automaton, value.lower()):
            counts[phrase] = counts.get(phrase, 0) + 1
        for phrase, n in counts.items():
            damped = 1.0 + 0.5 * (min(n, self.max_count) - 1)
            for label, weight, is_negative in self._targets[phrase]:
                hit = (negative if is_negative else positive).setdefault(label, _Hit())
                hit.weight += weight * field_weight * damped
                hit.counts[phrase] = hit.counts.get(phrase, 0) + n


def _read_taxonomy(path: str | Path | None) -> tuple[bytes, str]:
    if path is None:
        resource = resources.files("processors").joinpath("taxonomy.toml")
        return resource.read_bytes(), "processors/taxonomy.toml"
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


def _variants(phrase: str) -> set[str]:
    """The phrase and its simple plural forms, so "tariff" also matches "tariffs"."""
    out = {phrase}
    if phrase[-1:].isalpha() and not phrase.endswith("s"):
        out.add(phrase + "s")
        if phrase.endswith(("ch", "sh", "x")):
            out.add(phrase + "es")
        if phrase.endswith("y") and len(phrase) > 2 and phrase[-2] not in "aeiou":
            out.add(phrase[:-1] + "ies")
    return out


def _build_automaton(rules: Iterable[TopicRule]) -> tuple[ahocorasick.Automaton, dict[str, list[_Target]]]:
    """One automaton for all topics (surface form -> canonical phrase) and each phrase's targets."""
    targets: dict[str, list[_Target]] = {}
    for rule in rules:
        for table, is_negative in ((rule.terms, False), (rule.negatives, True)):
            for phrase, weight in table.items():
                targets.setdefault(phrase, []).append((rule.label, weight, is_negative))
    forms: dict[str, str] = {}
    for phrase in targets:
        for form in _variants(phrase):
            if form not in targets:  # an explicit phrase always owns its own spelling
                forms.setdefault(form, phrase)
        forms[phrase] = phrase
    automaton = ahocorasick.Automaton()
    for form, phrase in forms.items():
        automaton.add_word(form, (len(form), phrase))
    automaton.make_automaton()
    return automaton, targets


def _longest_matches(automaton: ahocorasick.Automaton, text: str) -> list[str]:
    """Whole-word matches, leftmost-longest and non-overlapping, as canonical phrases."""
    found = []
    for end, (length, phrase) in automaton.iter(text):
        start = end - length + 1
        if _is_boundary(text, start - 1) and _is_boundary(text, end + 1):
            found.append((start, end, phrase))
    found.sort(key=lambda m: (m[0], m[0] - m[1]))
    chosen = []
    last_end = -1
    for start, end, phrase in found:
        if start > last_end:
            chosen.append(phrase)
            last_end = end
    return chosen


def _is_boundary(text: str, index: int) -> bool:
    return index < 0 or index >= len(text) or not (text[index].isalnum() or text[index] == "_")


def _lexicon_v1(taxonomy: str | Path | None = None) -> Classifier:
    return Classifier.from_taxonomy(taxonomy, name="lexicon.v1")


def _lexicon_v2(taxonomy: str | Path | None = None) -> Classifier:
    return Classifier.from_taxonomy(taxonomy, name="lexicon.v2", strong_phrases=True)


CLASSIFIERS: dict[str, Callable[..., Classifier]] = {"lexicon.v1": _lexicon_v1, "lexicon.v2": _lexicon_v2}
"""Versioned classifier factories; the name is what settings pin."""


def load_classifier(name: str = DEFAULT_CLASSIFIER, taxonomy: str | Path | None = None) -> Classifier:
    """Build the classifier registered under `name` (raises ConfigError for an unknown name)."""
    try:
        factory = CLASSIFIERS[name]
    except KeyError:
        known = ", ".join(sorted(CLASSIFIERS))
        raise ConfigError(f"unknown classifier {name!r}; choose one of: {known}") from None
    return factory(taxonomy)
