"""Language detection and the English-only gate: non-English articles get no English topics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newswatch import Article
from processors import Classifier, EntityExtractor, LanguageDetector, enrich_batch, is_english
from processors.language import declared_language, letter_counts

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
