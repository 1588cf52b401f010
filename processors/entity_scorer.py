"""A learned keep/drop-and-label decision over the spans en_core_web_sm and the gazetteer propose.

The small model's own decision (is this span a name, and of which type) causes most of the
extractor's errors on unseen text (eval/data/README.md, round five). `SpanScorer` re-makes that
decision for every candidate mention with a multinomial linear model over four classes, PERSON,
ORG, GPE and NONE, read from a committed JSON artifact (`models/entities-v4.json`, the default,
or `models/entities-v3.json` / `entities-v2.json` / `entities-v1.json`; trained by
`eval/train_entities.py` on the development gold sets).
Inference is pure Python: a sum of the weights of the mention's features per class, argmax.

Features (`span_features`, shared by training and inference) are binary strings: the model's label
and the label our rules give (and the pair), whether the span is a gazetteer pattern, whether the
rules would drop it (`_weak_name` in `processors.entities`) or read it as a person after a job
title, the token count, shape (all capitals, digits, periods, hyphens, a lower-case word inside),
given-name, GeoNames-place, gazetteer-alias and demonym hits, organisation and newspaper words,
whether the span sits in a title-cased headline or opens the text, recurs in the text, is used as
a common word, is followed by a possessive or quoted; with the "context" group the words just
before and after the span, with the "words" group its first and last words.

Feature set "v2" (the artifact's "features" key; v1 artifacts have none) adds organisation cues:
an organisation head noun ending a name of several words ("Civil Air Patrol", "High Court") or
an "X of" head ("Court of Appeal"), a facility head ("Memorial Pool"), "the" before the span and
"the" + a plural ("the Greens", "the Dodgers"), a capital inside one word ("HiteJinro"), an
all-capital name used twice, and "the model read this one word both as a person and as
an organisation elsewhere" ("Labour"). With a v2 scorer the extractor also applies two rules of
the annotation guide (`processors.entities`): plural demonyms ("Americans") are people, not the
country, and a bare "US"/"UK" outside every span is the country.

Feature set "v3" (`models/entities-v3.json`, trained on nine development sets) has v2's features;
with a v3 scorer the extractor applies the canonical-form and common-noun rules listed in
`processors.entities` before the mentions are scored, so the scorer learns on those candidates.

Feature set "v4" (`models/entities-v4.json`, round nine: ten development sets plus the training
batch `entities_train1`) adds `_v4_features` for the organisations v3 dropped or mislabelled: a
function word inside a capitalised name, a lower-case content word, every word capitalised, a plural
or a number as last word, an abbreviation in brackets next, and a sports team's name from the
gazetteer's `[v4_lists] teams`, each crossed with the rules' and the model's label; its artifact's
ORG bias carries an offset chosen by CV (`org_offset`). With a v4 scorer the extractor also applies
the v4 canonical forms (`_v4_form`).
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from newswatch import ConfigError
from processors.names import (
    NEWSPAPER_WORDS,
    ORG_WORDS,
    has_org_cue,
    is_given_name,
    places,
    used_as_common_word,
)

FORMAT = "newswatch.entity-spans.v1"
DEFAULT_VERSION = "entities-v4"
"""The artifact `EntityExtractor.load` uses (`models/<version>.json`); round nine's rule made entities-v4 the
default (eval/data/README.md, "Round nine"); "entities-v1" to "entities-v3" stay loadable."""
CLASSES = ("NONE", "PERSON", "ORG", "GPE")
SCORED = frozenset(CLASSES[1:])
NUMERIC_LABELS = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})
"""spaCy labels never proposed as candidates: numbers and dates are not names."""


@dataclass(frozen=True)
class SpanContext:
    """Where a candidate mention sits and what the rules made of it."""

    text: str
    start: int
    end: int
    headline_end: int
    prev_word: str = ""
    next_word: str = ""
    gazetteer_span: bool = False
    weak: bool = False
    titled: bool = False
    also: frozenset[str] = frozenset()  # labels the model gave other spans ending in the same word
    single: frozenset[str] = frozenset()  # v2: the model's labels for one-word spans of this word


def span_features(
    name: str, ner_label: str, rule_label: str, ctx: SpanContext, *,
    aliases: Mapping[str, str], demonyms: Mapping[str, str], acronyms: Container[str] = frozenset(),
    groups: Iterable[str] = (), feature_set: str = "v1", teams: Container[str] = frozenset(),
) -> list[str]:
    """The binary features of one candidate mention (see the module docstring); `feature_set` "v2"
    adds the organisation cues of `_v2_features` to the v1 set, which stays as it was."""
    words = name.split() or [name]
    rule = f"rule={rule_label}"
    out = [f"ner={ner_label}", rule, f"ner={ner_label}|{rule}", f"ntok={min(len(words), 4)}"]
    crossed = _crossed(rule)
    # The flags of _FLAGS in their order, each tested in turn (a flag on adds its name and its cross
    # with the rules' label); a dict of them all cost more than the tests (bench_processors).
    text = ctx.text
    n = len(words)
    first = words[0]
    last = words[-1]
    if ctx.gazetteer_span:
        out += crossed["gaz"]
    if ctx.weak:
        out += crossed["weak"]
    if ctx.titled:
        out += crossed["titled"]
    if name.isupper() and len(name) > 1:
        out += crossed["allcaps"]
    if any(ch.isdigit() for ch in name):
        out += crossed["digit"]
    if "." in name:
        out += crossed["period"]
    if "-" in name:
        out += crossed["hyphen"]
    if n > 1 and any(w[:1].islower() for w in words[1:]):
        out += crossed["lowerword"]
    if n == 1 and name.endswith("s"):
        out += crossed["ends_s"]
    if is_given_name(first):
        out += crossed["given_first"]
    if n > 1 and is_given_name(last):
        out += crossed["given_last"]
    known_places = places()
    if name in known_places:
        out += crossed["place"]
    if name in aliases:
        out += crossed["alias"]
    if name in acronyms:
        out += crossed["known_acronym"]
    if f"({name})" in text:
        out += crossed["defined"]
    if name in demonyms:
        out += crossed["demonym"]
    if has_org_cue(name):
        out += crossed["orgcue"]
    if last.lower() in ORG_WORDS:
        out += crossed["orgword"]
    if last in NEWSPAPER_WORDS:
        out += crossed["newspaper"]
    if ctx.end <= ctx.headline_end:
        out += crossed["headline"]
    if ctx.start == 0:
        out += crossed["opens"]
    if text.count(name) > 1:
        out += crossed["recurs"]
    if n == 1 and used_as_common_word(name, text):
        out += crossed["common"]
    if text[ctx.end : ctx.end + 2] in {"'s", "’s"}:
        out += crossed["poss"]
    if ctx.start > 0 and text[ctx.start - 1] in "'\"‘“":
        out += crossed["quoted"]
    if n > 1 and any(" ".join(words[:k]) in known_places for k in range(1, n)):
        out += crossed["place_head"]
    if ctx.start > 1 and text[: ctx.start].rstrip()[-1:] in ".:!?":
        out += crossed["sentence_start"]
    out += [f"also={label}" for label in sorted(ctx.also)]
    if feature_set != "v1":
        out += _v2_features(name, words, rule, ctx)
    if feature_set not in {"v1", "v2", "v3"}:  # as the extractor's v4 flag: later sets keep v4's features
        out += _v4_features(name, words, rule, ner_label, ctx, teams)
    if "context" in groups:
        out += [f"p={ctx.prev_word}", f"n={ctx.next_word}"]
    if "words" in groups:
        out += [f"first={words[0].lower()}", f"last={words[-1].lower()}"]
    return out


_FLAGS = (
    "gaz", "weak", "titled", "allcaps", "digit", "period", "hyphen", "lowerword", "ends_s", "given_first",
    "given_last", "place", "alias", "known_acronym", "defined", "demonym", "orgcue", "orgword", "newspaper",
    "headline", "opens", "recurs", "common", "poss", "quoted", "place_head", "sentence_start",
)
"""The binary flags of `span_features`, in the order they are added."""
_CROSSED: dict[str, dict[str, tuple[str, str]]] = {}


def _crossed(rule: str) -> dict[str, tuple[str, str]]:
    """Flag -> (flag, "flag|rule=X"): the two feature strings of an active flag, made once per rule label."""
    table = _CROSSED.get(rule)
    if table is None:
        table = _CROSSED[rule] = {key: (key, f"{key}|{rule}") for key in _FLAGS}
    return table


ORG_HEADS = frozenset({
    "academy", "administration", "agency", "airlines", "airways", "alliance", "assembly", "association",
    "authority", "bank", "battalion", "board", "branch", "brigade", "bureau", "cabinet", "caucus", "college",
    "command", "commission", "committee", "company", "congress", "co", "corp", "corporation", "corps", "council",
    "court", "department", "directorate", "division", "enterprise", "federation", "fleet", "force", "forces",
    "foundation", "fund", "government", "group", "guard", "inc", "institute", "league", "llc", "ltd",
    "ministry", "navy", "network", "office", "organisation", "organization", "parliament", "party", "patrol",
    "plc", "police", "press", "productions", "regiment", "representatives", "reserve", "senate", "service",
    "society", "squadron", "studios", "team", "tribunal", "trust", "union", "university", "wing",
})
"""Head nouns of organisations (facility words such as "park", "stadium" or "station" left out)."""
FACILITY_HEADS = frozenset({
    "airport", "arena", "base", "bridge", "building", "centre", "center", "field", "hall", "highway",
    "island", "park", "plaza", "road", "square", "stadium", "station", "street", "tower",
})
_ORG_OF = ("Ministry of ", "Department of ", "University of ", "Bank of ", "Office of ", "Institute of ", "Court of ",
           "House of ", "Board of ", "Council of ", "Armed Forces of ", "Army of ", "Government of ", "Party of ",
           "Federation of ", "Association of ", "Union of ", "Bureau of ", "Commission of ", "Academy of ",
           "College of ", "School of ", "Society of ", "Church of ", "Center for ", "Centre for ", "Institute for ",
           "Council on ", "Committee on ", "Committee for ")
def _v2_features(name: str, words: list[str], rule: str, ctx: SpanContext) -> list[str]:
    """The v2 additions (organisation cues); each is also crossed with the rules' label."""
    last = words[-1].lower().rstrip(".")
    before = ctx.text[max(0, ctx.start - 4) : ctx.start]
    the = before.lower() == "the " or before.endswith(" the")
    flags = {
        "org_head": last in ORG_HEADS and len(words) > 1,
        "org_of": name.startswith(_ORG_OF),
        "fac_head": last in FACILITY_HEADS and len(words) > 1,
        "the": the,
        "the_plural": the and len(words) == 1 and name.endswith("s") and not name.isupper(),
        "camel": len(words) == 1 and any(ch.isupper() for ch in name[1:]) and not name.isupper(),
        "acronym_recurs": name.isupper() and len(name) > 1 and ctx.text.count(name) > 1,
        # "Labour" read as a person in one place and as an organisation in another
        "person_and_org": {"PERSON", "ORG"} <= ctx.single and not is_given_name(name),
    }
    out = []
    for key, on in flags.items():
        if on:
            out += [key, f"{key}|{rule}"]
    return out


_FUNCTION_WORDS = frozenset({"of", "on", "and", "for", "the", "in", "at", "de", "&", "to"})
def _v4_features(
    name: str, words: list[str], rule: str, ner_label: str, ctx: SpanContext, teams: Container[str] = frozenset()
) -> list[str]:
    """The v4 additions, for organisations the small model proposes and the scorer dropped or
    mislabelled: a function word inside a capitalised name ("Joint Chiefs of Staff", "Committee on
    ..."), as against a lower-case content word (a run of text); a name whose every word is
    capitalised; a plural or a number as last word ("Elliott Advisors", "Houston Astros", "BBC
    Radio 4"); an abbreviation in brackets right after the name; a sports team's name or nickname
    from the gazetteer's v4 list ("Yankees", "Houston Astros", "Tottenham"). Each is crossed with the
    rules' and the model's labels. (A "sports copy" flag was tried and left out: detecting it cost
    ~0.017 ms per feed item, a third of the budget, for a small weight.)"""
    n = len(words)
    last = words[-1]
    table = _V4_CROSSED.get((rule, ner_label))
    if table is None:
        ner = f"ner={ner_label}"
        table = _V4_CROSSED[(rule, ner_label)] = {k: (k, f"{k}|{rule}", f"{k}|{ner}") for k in _V4_FLAGS}
    out: list[str] = []
    # the flags of _V4_FLAGS in their order, tested in turn (as span_features does)
    if n > 2 and any(w in _FUNCTION_WORDS for w in words[1:-1]):
        out += table["fn_inside"]
    if any(w[:1].islower() and w not in _FUNCTION_WORDS for w in words[1:]):
        out += table["content_lower"]
    if n > 1 and all(w[:1].isupper() or w[:1].isdigit() or w in _FUNCTION_WORDS for w in words):
        out += table["title_run"]
    if (n > 1 and len(last) > 3 and last[:1].isupper() and last.endswith("s")
            and not last.endswith(("ss", "'s", "’s")) and not last.isupper()):
        out += table["plural_last"]
    if n > 1 and last.isdigit():
        out += table["digit_last"]
    if ctx.text[ctx.end : ctx.end + 2] == " (":
        out += table["bracket_after"]
    if name in teams:
        out += table["team"]
    return out


_V4_FLAGS = ("fn_inside", "content_lower", "title_run", "plural_last", "digit_last", "bracket_after", "team")
_V4_CROSSED: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = {}


@dataclass(frozen=True)
class SpanScorer:
    """Weights per class and feature; `decide` gives the label to output or None to drop."""

    weights: Mapping[str, Mapping[str, float]]
    bias: Mapping[str, float]
    groups: tuple[str, ...] = ()
    version: str = "entities-v1"
    features: str = "v1"

    @classmethod
    def load(cls, path: str | Path | None = None, *, version: str = DEFAULT_VERSION) -> SpanScorer:
        """Read an artifact: `path`, else the packaged `models/<version>.json` (the default
        version's by default; "entities-v1" stays loadable)."""
        where = str(path) if path is not None else f"models/{version}.json"
        try:
            raw = (
                resources.files("processors").joinpath(where).read_text(encoding="utf-8")
                if path is None
                else Path(path).read_text(encoding="utf-8")
            )
            data = json.loads(raw)
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"cannot read entity span model {where}: {exc}; "
                "re-create it with `python -m eval.train_entities`"
            ) from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpanScorer:
        """Build from the parsed artifact (`eval/train_entities.py` writes it)."""
        if data.get("format") != FORMAT:
            raise ConfigError(f"entity span model has format {data.get('format')!r}, expected {FORMAT!r}; retrain it")
        weights: dict[str, dict[str, float]] = {c: {} for c in CLASSES}
        for feature, row in data["weights"].items():
            for c, w in zip(CLASSES, row, strict=True):
                if w:
                    weights[c][feature] = w
        return cls(weights, dict(zip(CLASSES, data["bias"], strict=True)), tuple(data["groups"]),
                   str(data.get("version", "entities-v1")), str(data.get("features", "v1")))

    def __post_init__(self) -> None:
        rows: dict[str, list[float]] = {}
        for i, c in enumerate(CLASSES):
            for feature, weight in self.weights[c].items():
                rows.setdefault(feature, [0.0] * len(CLASSES))[i] = weight
        object.__setattr__(self, "_rows", {f: tuple(r) for f, r in rows.items()})

    def scores(self, features: Sequence[str]) -> dict[str, float]:
        """Linear score per class: bias + the sum of the features' weights, added in feature order."""
        rows: dict[str, tuple[float, ...]] = self._rows  # type: ignore[attr-defined]
        # four running sums, each added in feature order as before (the same floats bit for bit)
        t0 = t1 = t2 = t3 = 0.0
        get = rows.get
        for f in features:
            row = get(f)
            if row is not None:
                w0, w1, w2, w3 = row
                t0 += w0
                t1 += w1
                t2 += w2
                t3 += w3
        bias = self.bias
        return {"NONE": bias["NONE"] + t0, "PERSON": bias["PERSON"] + t1, "ORG": bias["ORG"] + t2,
                "GPE": bias["GPE"] + t3}

    def predict(self, features: Sequence[str]) -> str:
        """The class with the highest score (ties: the first in `CLASSES`)."""
        scores = self.scores(features)
        best = CLASSES[0]
        top = scores[best]
        for c in CLASSES[1:]:  # strictly higher only: a tie keeps the earlier class, as max() did
            if scores[c] > top:
                best, top = c, scores[c]
        return best

    def decide(self, mention: tuple[str, str, str], rule_keeps: bool, features: Sequence[str]) -> str | None:
        """The label to output for a mention, or None to drop it: a scored type when the model
        predicts one; NONE drops a PERSON/ORG/GPE and leaves other labels (LOC, NORP, FAC, ...) to
        the rules."""
        predicted = self.predict(features)
        if predicted in SCORED:
            return predicted
        rule_label = mention[1]
        return rule_label if rule_keeps and rule_label not in SCORED else None
