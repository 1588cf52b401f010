"""Language detection and the English-only gate: non-English articles get no English topics."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from newswatch import Article
from processors import Classifier, EntityExtractor, LanguageDetector, enrich_batch, is_english
from processors.language import SCAN_WINDOW, declared_language, letter_counts

WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector.default()


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        pytest.param("Oil prices jump as OPEC+ cuts output",
                     "Brent crude rose 4% after producers agreed to cut supply.", "en", id="english"),
        pytest.param("Bundesregierung beschließt neues Verteidigungsbudget",
                     "Die Bundeswehr soll mehr Geld für Munition und Panzer erhalten.", "de", id="german"),
        pytest.param("Governo anuncia novas tarifas de importação",
                     "O ministro disse que as exportações de soja vão crescer neste ano.", "pt", id="portuguese"),
        pytest.param("Россия и Индия подписали соглашение о поставках нефти",
                     "Министр энергетики заявил, что поставки вырастут.", "ru", id="russian"),
        pytest.param("越美举行海上联合演习", "", "zh", id="chinese-short-title"),
        pytest.param("Le gouvernement annonce un plan pour l'énergie nucléaire",
                     "Le ministre a présenté six nouveaux réacteurs.", "fr", id="french"),
    ],
)
def test_detects_the_language_of_the_text(detector: LanguageDetector, title: str, summary: str, expected: str) -> None:
    assert detector.detect(title, summary, "").language == expected


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("Biden's age", id="two-words"),
        pytest.param("SOS to Earth", id="three-words"),
        pytest.param("From Sukarno to Prabowo Subianto: the evolution of India-Indonesia ties", id="names"),
    ],
)
def test_short_english_titles_are_never_called_foreign(detector: LanguageDetector, title: str) -> None:
    assert is_english(detector.detect(title, "", "").language)


def test_too_short_falls_back_to_the_declared_language(detector: LanguageDetector) -> None:
    found = detector.detect("Brexit", "", "", declared="en-GB")
    assert (found.language, found.reason) == ("en", "declared")
    assert detector.detect("Brexit", "", "").reason == "too-short"


def test_declared_language_primary_subtag() -> None:
    assert [declared_language(v) for v in ("en-US", "pt_BR", " DE ", "")] == ["en", "pt", "de", ""]


def test_letter_counts_weigh_cjk() -> None:
    assert letter_counts("ab 1 中国") == (2, 6)


def test_non_english_articles_get_no_topics_or_entities(
    classifier: Classifier, extractor: EntityExtractor, detector: LanguageDetector
) -> None:
    german = Article.create(
        link="https://example.de/1", title="Ölpreise steigen nach Förderkürzung der OPEC",
        text="Die Ölpreise stiegen am Montag deutlich, nachdem die OPEC ihre Förderung gekürzt hatte. "
             "Wladimir Putin begrüßte die Entscheidung in Moskau.",
        published_at=WHEN, fetched_at=WHEN, language="",
    )
    english = Article.create(
        link="https://example.com/1", title="Oil prices jump as OPEC cuts output",
        text="Brent crude rose to $90 a barrel after OPEC agreed to cut production, Vladimir Putin said.",
        published_at=WHEN, fetched_at=WHEN, language="de",  # a wrong feed declaration loses to the text
    )
    out = enrich_batch([german, english], classifier, extractor, detector)
    assert [a.language for a in out] == ["de", "en"]
    assert (out[0].topics, out[0].entities) == ((), ())
    assert out[0].classifier_version == classifier.version
    assert "energy" in out[1].topic_names
    assert "Vladimir Putin" in {e.canonical for e in out[1].entities}


# FastScorer: py3langid's answers, to the float, from a vectorised walk (see processors.language)

_ODD_TEXTS = [
    "",
    " ",
    "1234 5678",
    "OIL PRICES JUMP AS OPEC CUTS OUTPUT",
    "Ölpreise steigen nach Förderkürzung der OPEC",
    "Россия и Индия подписали соглашение о поставках нефти",
    "越美举行海上联合演习",
    "ایران کے صدر نے کہا",
    "日本の首相は東京で記者会見を開いた",
    "서울에서 기자회견을 열었다",
    "Το υπουργείο ανακοίνωσε",
    "a\ud800b lone surrogate",
    "emoji 🚀🚀 and ½ ² Ⅻ × ÷ ß ǅ",
    "x",
    "ab" * 400,
]


def _reference_letter_counts(text: str) -> tuple[int, int]:
    latin = other = 0
    for ch in text:
        if ch.isalpha():
            if ch < "\u0250":
                latin += 1
            else:
                other += 3 if ch >= "\u2e80" else 1
    return latin, other


@pytest.mark.parametrize("text", _ODD_TEXTS)
def test_letter_counts_match_the_per_character_rule(text: str) -> None:
    assert letter_counts(text) == _reference_letter_counts(text)


def test_fast_scorer_gives_py3langid_floats(detector: LanguageDetector) -> None:
    identifier, scorer = detector._identifier, detector._scorer
    texts = [*_ODD_TEXTS, "Brent crude rose 4% after producers agreed to cut supply. " * 5]
    expected = [identifier.classify(t) for t in texts]
    assert [scorer.classify(t) for t in texts] == expected
    assert scorer.classify_many(texts) == expected  # one batch: texts must not leak into each other
    assert scorer.classify_many(texts[::-1]) == expected[::-1]


def test_fast_scorer_chunks_large_batches(detector: LanguageDetector) -> None:
    texts = [f"Die Bundeswehr soll mehr Geld erhalten, sagte er am {i}. Mai." for i in range(600)]
    found = detector._scorer.classify_many(texts)
    assert len(found) == 600
    assert found[0] == detector._identifier.classify(texts[0])
    assert found[-1] == detector._identifier.classify(texts[-1])


def test_detect_many_is_detect_of_each(detector: LanguageDetector) -> None:
    items = [
        ("Oil prices jump as OPEC+ cuts output", "Brent crude rose 4%.", "", ""),
        ("Brexit", "", "", "en-GB"),
        ("Brexit", "", "", ""),
        ("越美举行海上联合演习", "", "", ""),
        ("Governo anuncia novas tarifas", "O ministro disse que as exportações vão crescer.", "x" * 500, "pt-BR"),
    ]
    assert detector.detect_many(items) == [detector.detect(*item) for item in items]
    assert detector.detect_many([]) == []


def test_scan_window_is_the_automaton_depth(detector: LanguageDetector) -> None:
    """The vectorised walk reads SCAN_WINDOW bytes back: no state of the model may lie deeper.

    (That the automaton is Aho-Corasick, so depth is all that matters, is checked in full by
    `bench/bench_language.py --verify-automaton`.)"""
    scorer = detector._scorer
    nxt, rowbase = scorer._next, scorer._rowbase
    depth = np.full(len(rowbase), -1)
    depth[0] = 0
    frontier, level = np.array([0]), 0
    while len(frontier):
        level += 1
        reached = np.unique(nxt[(rowbase[frontier][:, None] + np.arange(256)).ravel()])
        frontier = reached[depth[reached] < 0]
        depth[frontier] = level
    assert (depth >= 0).all()
    assert depth.max() <= SCAN_WINDOW


def test_a_declared_region_is_not_a_language(detector: LanguageDetector) -> None:
    """Korea Times declares "us": its short English items must not become language "us" (and so
    lose their topics and entities as non-English); a real declared language still counts."""
    short = ("Yoon meets Biden", "", "")
    assert detector.detect(*short, declared="us").language == ""
    assert detector.detect(*short, declared="en-US").language == "en"
    assert detector.detect("Merkel trifft Macron", "", "", declared="de").language == "de"
