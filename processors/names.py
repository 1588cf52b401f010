"""Pure rules that fix the small NER model's names: people read as organisations, acronyms, U.S. copy.

* `looks_like_person("Theodor Lessing")`: a two- or three-word title-case name whose first word
  is a known given name (`given_names.txt`: the ~37,000 names given to at least 100 U.S. babies
  since 1880, from the SSA's public-domain data, built by `eval/build_given_names.py`; read once
  per process) and which holds no organisation word ("Group", "Bank", "Squadron") is a person,
  whatever the model said. en_core_web_sm calls many less common names ORG.
* `acronym_definitions(text)`: "Aerophysics Research Facility, or ARF," and "Low-Rate Initial
  Production (LRIP)" define an acronym; a mention of the acronym then gets the full name.
* `strip_lowercase_lead("read Sue Gray")`: the model sometimes starts a span on the verb
  before a name.
* `is_place_not_person("Dunedin")`: a place in `places.txt` (GeoNames) whose first word is not a
  given name; the small model calls many less known towns PERSON.
* `FACILITY_ENDINGS` and `AWARD_ENDINGS`: names that are places or prizes, whatever the model said.
* `is_bare_acronym("261st COS")` and `initials_match("COS", "Cyberspace Operations Squadron")`:
  the small model calls any capitalised abbreviation an ORG ("FRP" for full-rate production,
  "ODI" for a one-day international); one that the gazetteer does not know, the text does not
  define and no organisation named in the same text abbreviates is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping
from functools import cache
from importlib import resources

ORG_WORDS = frozenset([
    "academy", "agency", "air", "airlines", "alliance", "arena", "army", "association",
    "authority", "bank", "bureau", "centre", "center", "church", "city", "club", "college",
    "command", "commission", "committee", "company", "conference", "corp", "corporation", "corps",
    "council", "county", "court", "department", "division", "federation", "fleet", "force",
    "forces", "foundation", "fund", "group", "guard", "hospital", "inc", "institute", "league",
    "ltd", "marines", "ministry", "museum", "navy", "network", "office", "orchestra",
    "organisation", "organization", "page", "park", "party", "police", "press", "productions",
    "regiment", "school", "service", "society", "squadron", "stadium", "station", "studio",
    "studios", "team", "times", "trust", "union", "united", "university", "wing",
])
FACILITY_ENDINGS = ("Arena", "Stadium", "Airport", "Air Base", "Air Force Base", "Station", "Test Site")
"""An "organisation" named like this is a place (FAC): "Rod Laver Arena", "Sepulveda Air National
Guard Station", "Ronald Reagan Ballistic Missile Defense Test Site"."""
PRODUCT_ENDINGS = (" System",)
"""A weapon or computer "System" (singular) is a product: "Integrated Battle Command System"."""
EVENT_WORDS = frozenset({"Tournament", "Championship", "Championships", "Exposition", "Olympics", "Festival", "Convention",
                         "Summit"})
"""An "organisation" with one of these words is an event: "Tournament of Champions", "Democratic
National Convention", "G20 Summit"."""
AWARD_ENDINGS = ("Award", "Awards", "Prize", "Medal", "Trophy")
"""Names of awards are neither people nor organisations ("Carl A. Spaatz Award"): dropped."""
_WORD = re.compile(r"^[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*$")
_DEFINED = re.compile(
    r"((?:[A-Z][\w&’'-]*\s+)(?:(?:of|and|for|the|on|[A-Z][\w&’'-]*)\s+){0,8}[A-Z][\w&’'-]*)"
    r"(?:\s+\(|,\s+or\s+)([A-Z][A-Za-z0-9&]{1,9})\b"
)


@cache
def given_names() -> frozenset[str]:
    """The packaged given-name list, lower-cased (read once per process, ~20 ms)."""
    raw = resources.files("processors").joinpath("given_names.txt").read_text(encoding="utf-8")
    return frozenset(line for line in raw.splitlines() if line and not line.startswith("#"))


@cache
def places() -> frozenset[str]:
    """The packaged place names (`places.txt`: countries, U.S. states, cities of 15,000+ from
    GeoNames, built by `eval/build_places.py`), as written; read once per process."""
    raw = resources.files("processors").joinpath("places.txt").read_text(encoding="utf-8")
    return frozenset(line for line in raw.splitlines() if line and not line.startswith("#"))


def is_place_not_person(text: str) -> bool:
    """True for a known place name that does not start with a given name: "Dunedin" yes;
    "Lincoln", "Florence" and "Jackson" no (as likely people as places)."""
    return text in places() and not is_given_name(text.split()[0])


def is_given_name(word: str) -> bool:
    """True if the word (or the first part of a hyphenated one: "Lin-Manuel") is a given name."""
    names = given_names()
    word = word.lower()
    return word in names or word.split("-", 1)[0] in names


def looks_like_person(text: str) -> bool:
    """Two or three title-case words, the first a given name, none an organisation word."""
    words = text.split()
    if not 2 <= len(words) <= 3 or not all(_WORD.match(w) for w in words):
        return False
    if any(w.lower() in ORG_WORDS for w in words):
        return False
    return is_given_name(words[0])


def acronym_definitions(text: str) -> dict[str, str]:
    """Acronym -> full name for "Full Name (ACR)" and "Full Name, or ACR," when the initials fit."""
    out: dict[str, str] = {}
    for full, acronym in _DEFINED.findall(text):
        words = full.split()
        # keep the shortest tail of the name whose capitals spell the acronym's letters in order
        for start in range(len(words)):
            tail = words[start:]
            if not tail[0][:1].isupper() or tail[0].lower() in {"the"}:
                continue
            initials = "".join(w[0] for w in tail if w[:1].isupper())
            letters = "".join(ch for ch in acronym if ch.isupper())
            if initials == letters or (len(tail) > 1 and _spells(letters, tail)):
                out.setdefault(acronym, " ".join(tail))
                break
    return out


def _spells(letters: str, words: list[str]) -> bool:
    """The acronym's capitals are the capitals of the words, allowing hyphenated parts ("Low-Rate")."""
    capitals = "".join(ch for w in words for ch in re.findall(r"(?:^|-)([A-Z])", w))
    return capitals == letters


def strip_lowercase_lead(text: str) -> str:
    """Drop lower-case words before the first capitalised one ("read Sue Gray" -> "Sue Gray")."""
    words = text.split()
    start = 0
    while start < len(words) - 1 and words[start][:1].islower():
        start += 1
    return " ".join(words[start:]) if start and words[start][:1].isupper() else text


HONORIFICS = frozenset({"Prince", "Princess", "Sir", "Dame", "Lord", "Lady", "Duke", "Duchess", "King", "Queen"})
"""Words of rank dropped from the front of a PERSON name ("Prince Harry" -> "Harry"); unlike the
gazetteer's titles they are not ruler patterns, so "Stephen King" is never cut."""
_FUNCTION_WORDS = frozenset({"of", "and", "for", "the", "de", "del", "da", "di", "du", "van", "von", "der",
                             "den", "la", "le", "el", "al", "bin", "y", "on", "in", "at", "&"})
_CORPORATE = frozenset({"Inc", "Inc.", "Ltd", "Ltd.", "LLC", "Co", "Co.", "Corp", "Corp.", "plc", "PLC",
                        "LP", "L.P.", "SA", "AG", "NV", "Jr", "Jr.", "Sr", "Sr.", "II", "III"})


PERSON_TITLES = frozenset(
    {
        "Mr",
        "Mr.",
        "Mrs",
        "Mrs.",
        "Ms",
        "Ms.",
        "Dr",
        "Dr.",
        "Prof",
        "Prof.",
        "Professor",
        "Senator",
        "Sen.",
        "Rep.",
        "Gov.",
        "Governor",
        "Mayor",
        "Judge",
        "Pope",
        "Bishop",
        "Archbishop",
        "Rev.",
        "Reverend",
        "Sheikh",
        "Coach",
        "Detective",
        "Inspector",
        "Constable",
        "Astrologer",
        "Chef",
        "Dame",
        "Premier",
    }
)
"""Words of address and office dropped from the front of a PERSON ("Astrologer Hedy Damari")."""
NEWSPAPER_WORDS = frozenset(
    {
        "Herald",
        "Times",
        "Tribune",
        "Gazette",
        "Chronicle",
        "Telegraph",
        "Observer",
        "Inquirer",
        "Courier",
        "Examiner",
        "Advertiser",
    }
)
"""A "person" named like a newspaper is one ("the Herald's morning quiz")."""
STREET_ENDINGS = (
    " Street",
    " Road",
    " Avenue",
    " Boulevard",
    " Highway",
    " Bridge",
    " Trail",
    " Square",
    " Lane",
    " St.",
    " Rd.",
    " Ave.",
)
"""Names of streets and roads are places (FAC), whatever the model said ("Yio Chu Kang Road")."""


def split_list(text: str, label: str) -> list[str]:
    """A list the model ran into one span: "Ajax, Arsenal" and "British Menopause Society / ITN
    Productions" -> their names. Only ORG spans; "Apple, Inc." and "Smith, Jr." stay whole."""
    if label != "ORG" or not (", " in text or " / " in text):
        return [text]
    parts = [p.strip() for p in re.split(r",\s+|\s+/\s+", text)]
    if len(parts) < 2 or any(not p[:1].isupper() or p in _CORPORATE for p in parts):
        return [text]
    return parts


def trim_lowercase_tail(text: str) -> str:
    """"Flynn prosecution" -> "Flynn": names do not end in a lower-case word ("" if nothing is left)."""
    words = text.split()
    while words and words[-1][:1].islower() and words[-1] not in _FUNCTION_WORDS:
        words.pop()
    while words and words[-1] in _FUNCTION_WORDS:
        words.pop()
    return " ".join(words)


def is_sentence(text: str) -> bool:
    """A span with two or more lower-case content words is a run of headline text, not a name
    ("Trump moves to replace watchdog who identified critical medical shortages")."""
    return sum(1 for w in text.split() if w[:1].islower() and w not in _FUNCTION_WORDS) >= 2


_ACRONYM = re.compile(r"^(?:\d+\w*\s+)?([A-Z][A-Z0-9&]{1,5})$")


def is_bare_acronym(name: str) -> str:
    """The acronym of "COS" or "261st COS" ("" if the name is not a bare acronym)."""
    match = _ACRONYM.match(name)
    return match.group(1) if match else ""


def initials_match(acronym: str, name: str) -> bool:
    """True if the capitals of `name`'s words (hyphenated parts too) spell the acronym."""
    words = [w for w in name.split() if w[:1].isupper()]
    return len(words) > 1 and _spells(acronym, words)


Mention = tuple[str, str, str]  # (surface text, label, canonical name)


def split_run_on(text: str, label: str, aliases: Mapping[str, str], us_aliases: Mapping[str, str]) -> list[Mention]:
    """A name run into the one before it: "Navy Hung Cao" (from "Secretary of the Navy Hung Cao")
    -> ORG + PERSON; "Hawaii Cameron Smith" (a headline run into its standfirst) -> GPE + PERSON.
    Empty when the span is not such a pair."""
    words = text.split()
    if label not in {"ORG", "PERSON", "GPE"} or len(words) < 3:
        return []
    for cut in (len(words) - 2, len(words) - 3):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        if cut <= 0 or not looks_like_person(tail):
            continue
        if label == "GPE" and cut == 1 and words[0][:1].isupper():
            return [(head, "GPE", aliases.get(head, head)), (tail, "PERSON", tail)]
        if aliases.get(head) or us_aliases.get(head):
            return [(head, "ORG", head), (tail, "PERSON", tail)]
    return []


def refine_mentions(
    mentions: list[Mention], text: str, *, aliases: Mapping[str, str], us_aliases: Mapping[str, str],
    us_markers: Iterable[str], acronyms: Iterable[str], known: Container[str] | None = None,
) -> list[Mention]:
    """Document-level fixes: defined acronyms take their full name; U.S. copy reads "Army" as
    "U.S. Army"; unknown bare acronyms called ORG take the ORG they abbreviate or are dropped.

    `known` is the set of names the gazetteer knows (the aliases, their canonical names and the
    acronyms); a caller that refines many documents with the same tables passes it once-made
    (`Gazetteer.known_names`) instead of having it rebuilt per document."""
    defined = acronym_definitions(text)
    out = []
    for surface, label, canonical in mentions:
        # the text's own definition beats the gazetteer's reading ("Armed Forces of the Philippines
        # (AFP)" is not Agence France-Presse)
        short = canonical if canonical in defined else surface if surface in defined else ""
        if short and label in {"ORG", "PERSON", "GPE", "FAC"}:
            full = defined[short]
            out.append((surface, "ORG", aliases.get(full, full)))
        else:
            out.append((surface, label, canonical))
    us_copy = any(c == "United States" or c.startswith("U.S. ") for _t, _l, c in out) or any(
        marker in text for marker in us_markers
    )
    if us_copy:
        out = [(t, label, us_aliases.get(c, c) if label == "ORG" else c) for t, label, c in out]
    orgs = [c for _t, label, c in out if label == "ORG"]
    kept = []
    for surface, label, canonical in out:
        acronym = is_bare_acronym(canonical) if label == "ORG" else ""
        if not acronym:
            kept.append((surface, label, canonical))
            continue
        if known is None:
            known = set(aliases) | set(aliases.values()) | set(acronyms)
        if canonical in known or acronym in known:
            kept.append((surface, label, canonical))
            continue
        match = next((o for o in orgs if o != canonical and initials_match(acronym, o)), None)
        if match is not None:
            kept.append((surface, label, match))
    return kept


_STRICT_ORG_SUFFIXES = frozenset(
    {
        "Inc",
        "Inc.",
        "Ltd",
        "Ltd.",
        "LLC",
        "Corp",
        "Corp.",
        "Corporation",
        "Company",
        "plc",
        "PLC",
        "Group",
        "Ministry",
        "Agency",
        "Party",
        "University",
        "Police",
    }
)
"""Suffixes no place name ends in: the only cue trusted against a name the model called a place."""
ORG_SUFFIXES = _STRICT_ORG_SUFFIXES | frozenset(
    {
        "Co.",
        "Bank",
        "Council",
        "Commission",
        "Committee",
        "Department",
        "Association",
        "Foundation",
        "Institute",
        "Airlines",
        "Airways",
        "Club",
        "Authority",
        "Bureau",
        "Federation",
        "Society",
        "Trust",
        "Holdings",
        "Industries",
        "Partners",
    }
)
"""A name ending in one of these is an organisation whatever the model said ("Haqqani Group" read
as a person, "Ulster Bank" read as a place)."""
_ORG_HEADS = (
    "Ministry of ",
    "Department of ",
    "University of ",
    "Bank of ",
    "Office of ",
    "Institute of ",
)


def has_org_cue(text: str, *, strict: bool = False) -> bool:
    """True for "Acme Corp", "Labour Party", "Ministry of Health": an organisation by its shape.
    `strict` (for names the model called a place) keeps only suffixes no place name ends in
    ("West Bank", "Soviet Union" and "Vatican City" stay places)."""
    words = text.split()
    if len(words) < 2:
        return False
    if strict:
        return words[-1] in _STRICT_ORG_SUFFIXES or text.startswith(
            ("Ministry of ", "University of ")
        )
    return words[-1] in ORG_SUFFIXES or text.startswith(_ORG_HEADS)


_HEADLINE_END = re.compile(r"\n|(?<=[a-z0-9'’\"”)])[.?!](?=\s)|\.\.(?=\s)")
_MINOR_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "but",
        "at",
        "by",
        "with",
        "as",
        "is",
        "vs",
        "vs.",
        "from",
        "into",
        "over",
        "after",
        "up",
        "off",
    }
)


def title_case_headline_end(text: str) -> int:
    """Where the text's first line or sentence ends if it is a title-cased headline ("Venezuela
    Proposes Major Overhaul of Energy Sector"), else 0. In such a headline every word is
    capitalised, so a capital letter is no evidence of a name."""
    match = _HEADLINE_END.search(text)
    end = match.start() if match else len(text)
    words = [w for w in text[:end].split() if w[:1].isalpha() and w.lower() not in _MINOR_WORDS]
    if len(words) < 4 or end == len(text):
        return 0
    capitalised = sum(1 for w in words if w[:1].isupper())
    return end if capitalised >= 0.85 * len(words) else 0


_PRONOUNS = frozenset(
    {
        "I",
        "You",
        "We",
        "They",
        "He",
        "She",
        "It",
        "Your",
        "My",
        "Our",
        "Their",
        "His",
        "Her",
        "Me",
        "Us",
        "Them",
        "Him",
    }
)


def plausible_person(name: str) -> bool:
    """A PERSON name has a name's shape: some letter capitalised, no pronoun ("Kill You"), no
    slash ("Al-Anon/Alateen"), and is not an acronym in capitals ("DOLE")."""
    words = name.split()
    if name == name.lower() or "/" in name or any(w in _PRONOUNS for w in words):
        return False
    return not (len(words) == 1 and name.isupper() and len(name) > 1)


def used_as_common_word(word: str, text: str) -> bool:
    """True if a one-word name also occurs in the text in lower case ("Overhaul" ... "a sweeping
    overhaul"): the capital was the headline's, not a name's."""
    lower = word.lower()
    if lower == word or lower not in text:  # the substring test first: compiling a pattern per word
        return False  # overflowed re's cache and cost more than the span scorer (round six)
    return re.search(rf"(?<![\w-]){re.escape(lower)}(?![\w-])", text) is not None


_DATELINE = re.compile(
    r"(?:^|(?<=\n)|(?<=[AP]M )|(?<=\d{4} ))([A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){0,2})(?=,? \(| [-—–] |, [A-Z][a-z]+\.?[ ,])"
)


_DATELINE_HEAD = re.compile(r"[A-Z][A-Z.'-]")
"""How every dateline of `_DATELINE` begins; a character before a dateline (start, line break or
space) is never part of such a pair, so no dateline start is skipped by scanning for them."""


def _dateline_matches(text: str) -> Iterable[re.Match[str]]:
    """`_DATELINE.finditer(text)`, the same matches: the pattern, whose look-behinds made re try
    four alternatives at every character (~25 us per feed item), is tried only where a pair of
    capitals starts (round nine)."""
    end = 0
    for head in _DATELINE_HEAD.finditer(text):
        pos = head.start()
        if pos < end:
            continue
        match = _DATELINE.match(text, pos)
        if match is not None:
            end = match.end()
            yield match


def dateline_places(text: str) -> list[tuple[int, int, str]]:
    """(start, end, place) of all-capital datelines that name a known place: "SINGAPORE (STOMP) -",
    "GROTON, Conn. --", "WASHINGTON -". The small model misses most words in capitals."""
    out = []
    for match in _dateline_matches(text):
        name = " ".join(w.capitalize() for w in match.group(1).split())
        if name in places():
            out.append((match.start(1), match.end(1), name))
    return out
