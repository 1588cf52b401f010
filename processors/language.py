"""Language of an article, detected from its own text; non-English articles skip English NLP.

Library: py3langid (the maintained fork of langid.py): a naive-Bayes byte n-gram model shipped
inside the PyPI package (4.5 MB, nothing downloaded), ~2 s to load. Its own `classify` costs
~0.3 ms an article; `FastScorer` below computes the same answers, to the float, for a fraction
of that (a batch at a time in `detect_many`, which `enrich_batch` calls).
Compared on 1,919 real feed items (438 non-English: zh, ur, de, pt, fr, ru): lingua 2.1 with
all languages made 5 English/non-English errors against py3langid's 10, but took ~9 ms per
item, 35 s to preload and 96 MB, which would cost the processor most of its throughput budget.
py3langid's errors were short English titles read as Welsh, Afrikaans or Nigerian Pidgin; the
restriction to `LANGUAGES` and the confidence and length bars below remove them.

Policy (`detect`):
* read the first `SAMPLE_CHARS` of title + summary + body: enough to decide, and cheap
  (the cost grows with the bytes read);
* fewer than `MIN_LETTERS` letters (a CJK character counts as three: it carries a word's worth
  of signal), or a confidence under `MIN_CONFIDENCE`: fall back to the language the feed
  declared (primary subtag, "en-GB" -> "en"), else "" (unknown);
* except that text written mostly in a non-Latin script cannot be English, so there the
  detector's answer stands whatever its confidence (Russian chat quotes full of code);
* otherwise the detected ISO 639-1 code.

Known limit: bilingual items (Korea Times' English paragraph followed by its Korean
translation) come out as the second language when it carries more text.

`is_english("")` is True: an article of unknown language is processed as English (a short
English headline is far more common in our feeds than an undetectable foreign one). Anything
else gets no topics and no entities: the taxonomy and the spaCy model are English-only, and a
forced English label on German or Chinese text is noise (issue 4).
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier  # type: ignore[import-untyped]

DETECTOR_NAME = "py3langid.v1"
SAMPLE_CHARS = 300
MIN_LETTERS = 20
MIN_CONFIDENCE = 0.80
LANGUAGES = (
    "en", "de", "fr", "es", "pt", "it", "nl", "sv", "da", "no", "fi", "pl", "cs", "sk", "hu", "ro",
    "bg", "hr", "sr", "sl", "el", "tr", "ru", "uk", "ar", "fa", "ur", "he", "hi", "bn", "ta", "zh",
    "ja", "ko", "id", "ms", "vi", "th", "tl", "sw",
)
"""Languages the detector may answer: the main news languages; rare ones it confused with
English titles (Welsh, Afrikaans, Pidgin, ...) are left out on purpose."""


@dataclass(frozen=True)
class Detection:
    """What was decided and why: the code, the detector's confidence, and the rule that won."""

    language: str
    confidence: float
    reason: str  # "detected", "declared", "too-short", "unsure"


class LanguageDetector:
    """Detect the language of title/summary/text; build once per worker (loading takes ~2 s)."""

    name = DETECTOR_NAME

    def __init__(self, languages: tuple[str, ...] = LANGUAGES) -> None:
        """Load the packaged py3langid model restricted to `languages`."""
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier: LanguageIdentifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        # Every language py3langid's model knows (97 ISO 639-1 codes): a feed's declared tag is
        # believed only if it names one ("us", a region Korea Times declares, does not).
        self._language_codes = frozenset(str(code) for code in self._identifier.nb_classes)
        self._identifier.set_languages(list(languages))
        self._scorer = FastScorer(self._identifier)

    @staticmethod
    @cache
    def default() -> LanguageDetector:
        """One shared detector per process, loaded on first use."""
        return LanguageDetector()

    def detect(self, title: str, summary: str, text: str, declared: str = "") -> Detection:
        """The article's language; see the module docstring for the rules."""
        return self.detect_many([(title, summary, text, declared)])[0]

    def detect_many(self, articles: Iterable[tuple[str, str, str, str]]) -> list[Detection]:
        """`detect` of each (title, summary, text, declared), in order; one scoring pass for all."""
        samples: list[str] = []
        fallbacks: list[str] = []
        letters: list[tuple[int, int]] = []
        for title, summary, text, declared in articles:
            sample = " ".join(part for part in (title, summary, text[:SAMPLE_CHARS]) if part)
            samples.append(sample[:SAMPLE_CHARS])
            code = declared_language(declared)
            fallbacks.append(code if code in self._language_codes else "")
            letters.append(letter_counts(samples[-1]))
        read = [i for i, (latin, other) in enumerate(letters) if latin + other >= MIN_LETTERS]
        texts = [samples[i] for i in read]
        # The same answers either way; FastScorer's ~75 numpy calls cost more than py3langid's own
        # walk of one sample, and much less than its walk of two or more (see FastScorer).
        if len(texts) > 1:
            scored = self._scorer.classify_many(texts)
        else:
            scored = [self._identifier.classify(text) for text in texts]
        found = dict(zip(read, scored, strict=True))
        out: list[Detection] = []
        for i, fallback in enumerate(fallbacks):
            latin, other = letters[i]
            if i not in found:
                out.append(Detection(fallback, 0.0, "too-short" if not fallback else "declared"))
                continue
            code, confidence = found[i]
            if confidence < MIN_CONFIDENCE and other <= latin:
                reason = "unsure" if not fallback else "declared"
                out.append(Detection(fallback, round(confidence, 4), reason))
            else:
                out.append(Detection(str(code), round(confidence, 4), "detected"))
        return out


def letter_counts(text: str) -> tuple[int, int]:
    """(Latin letters, other letters) with CJK ideographs and kana/hangul weighted x3.

    "Letter" is `str.isalpha`; Latin is below U+0250, CJK/kana/hangul from U+2E80. Counted with
    C-level string operations: a Python loop over the characters cost ~60 us a sample.
    """
    if text.isascii():  # ASCII letters are A-Z and a-z, all Latin
        return len(text.encode("ascii").translate(None, _ASCII_NON_LETTERS)), 0
    letters = "".join(filter(str.isalpha, text))
    latin = len(_NOT_LATIN.sub("", letters))
    wide = len(_NOT_WIDE.sub("", letters))
    return latin, len(letters) - latin + 2 * wide


_ASCII_NON_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())
_NOT_LATIN = re.compile("[^\x00-\u024f]+")
_NOT_WIDE = re.compile("[^\u2e80-\U0010ffff]+")


def declared_language(value: str) -> str:
    """Primary subtag of a feed's language tag, lower-cased: "en-US" -> "en", "" -> ""."""
    return value.strip().replace("_", "-").split("-", 1)[0].lower()


def is_english(language: str) -> bool:
    """True for "en" and for unknown (""): the articles our English taxonomy and model read."""
    return language in ("", "en")


SCAN_WINDOW = 6
"""Deepest state of py3langid 0.4's byte n-gram automaton (a breadth-first walk of the packaged
model; `tests/test_processors/test_language.py` checks it, and `bench/bench_language.py
--verify-automaton` checks the whole automaton is Aho-Corasick, on which `FastScorer` relies)."""


class FastScorer:
    """`LanguageIdentifier.classify` with the same numbers, several times cheaper.

    py3langid finds its byte n-gram features with a DFA walked one byte at a time in Python
    (~0.5 us a byte: most of detection's cost). That DFA is an Aho-Corasick automaton over
    n-grams of at most `SCAN_WINDOW` bytes, so the state after any byte is the state reached
    from the start by the last `SCAN_WINDOW` bytes alone: every position's state comes out of
    `SCAN_WINDOW` vectorised steps. Texts are walked together, each behind a 0xFF byte (never in
    UTF-8, and in no n-gram: it sends every state back to the start), so a batch costs a few
    numpy calls rather than a few per text. Each text's features, counts and their order (first
    seen first, as in the `Counter` py3langid builds) are py3langid's, and so is the scoring
    (`_decide`: the same float32 operations, row by row), so the answers are the same floats.

    Cost: a fixed ~75 numpy calls a batch plus ~20 us a text, against ~0.25 ms a text for
    py3langid (300-character samples): cheaper from two texts up, ~4-5x over a batch of 64
    (`bench/bench_language.py`). A lone text is cheaper through py3langid (`detect_many`).
    """

    SEPARATOR = 0xFF
    CHUNK = 256

    def __init__(self, identifier: LanguageIdentifier) -> None:
        """Views of `identifier`'s model (no copies); its language restriction must be set first."""
        self._identifier = identifier
        self._next = np.asarray(identifier.tk_nextmove)
        self._rowbase = np.asarray(identifier.tk_row, dtype=np.intp) << 8
        self._output = np.asarray(identifier.tk_output, dtype=np.intp)
        # The restricted table is a Fortran-ordered float16 column selection; py3langid gathers a
        # row per feature seen from it and converts them to float32 for the product, ~30 us an
        # article between them. A C-ordered float32 copy (16 MB) holds the same values and has
        # each row ready: a plain `take`.
        self._table = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
        resets = (self._next[self._rowbase + self.SEPARATOR] == 0).all() and self._output[0] < 0
        if not resets:  # a py3langid model this class was not written for: fail loudly
            raise ValueError("py3langid model: byte 0xFF does not reset the n-gram automaton")

    @staticmethod
    def encode(text: str) -> bytes:
        """py3langid's `_encode` of a str: lower-cased if all upper, NFC, UTF-8."""
        if text.isupper():
            text = text.lower()
        return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")

    def features(self, datas: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(text index, feature id, count) of every distinct feature of each text, ordered by
        text, then by first occurrence in it."""
        sep = bytes((self.SEPARATOR,))
        buffer = np.frombuffer(sep + sep.join(datas), dtype=np.uint8).astype(np.intp)
        size = len(buffer)
        state = np.zeros(size, dtype=np.intp)
        for back in range(min(SCAN_WINDOW, size) - 1, -1, -1):
            # position i >= back reads byte i - back: in the end, i has read i-5 .. i
            state[back:] = self._next[self._rowbase[state[back:]] + buffer[: size - back]]
        found = self._output[state]
        where = np.flatnonzero(found >= 0)
        # the text of a position: how many separators come before it, less the leading one
        text_of = np.cumsum(buffer == self.SEPARATOR)[where] - 1
        keys = text_of * len(self._output) + found[where]
        if not len(keys):
            return keys, keys, keys
        # Count each (text, feature) and find where it first occurs with plain sorts of packed
        # integers (np.unique's stable argsort cost ~3x more): key | position, sorted, groups by
        # key with each group's first position at its head; then those heads sorted by position.
        shift = size.bit_length()
        packed = np.sort((keys << shift) | where)
        grouped = packed >> shift
        heads = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
        counts = np.diff(np.append(heads, len(packed)))
        firsts = packed[heads] & ((1 << shift) - 1)
        group_bits = len(heads).bit_length()
        order = np.sort((firsts << group_bits) | np.arange(len(heads))) & ((1 << group_bits) - 1)
        key = grouped[heads[order]]
        return key // len(self._output), key % len(self._output), counts[order]

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """[(language, probability)] as `identifier.classify(text)` (norm_probs=True) gives each."""
        if len(texts) > self.CHUNK:  # bounded buffers, whatever the caller's batch
            chunks = (texts[i : i + self.CHUNK] for i in range(0, len(texts), self.CHUNK))
            return [found for chunk in chunks for found in self.classify_many(chunk)]
        if not texts:
            return []
        ident = self._identifier
        datas = [self.encode(text) for text in texts]
        text_of, ids, counts = self.features(datas)
        weights = np.log1p(counts.astype(np.float32))
        rows = np.take(self._table, ids, axis=0)
        bounds = np.searchsorted(text_of, np.arange(len(datas) + 1)).tolist()
        scores = np.zeros((len(datas), len(ident.nb_classes)), dtype=np.float32)
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            if hi > lo:  # else no feature at all: py3langid's uniform answer
                np.matmul(weights[lo:hi], rows[lo:hi], out=scores[i])
                scores[i] += ident.nb_pc
        scale = np.array([1.0 / math.sqrt(len(data) or 1) for data in datas], dtype=np.float32)
        scores *= scale[:, None]
        np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for i, j in ident._alias_pairs:
            scores[:, i] += scores[:, j]
            scores[:, j] = 0.0
        best = scores.argmax(axis=1)
        confidence = scores[np.arange(len(datas)), best].tolist()
        return [(ident.nb_classes[b], c) for b, c in zip(best.tolist(), confidence, strict=True)]

    def classify(self, text: str) -> tuple[str, float]:
        """(language, probability) of one text."""
        return self.classify_many([text])[0]
