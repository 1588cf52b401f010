"""Article -> EnrichedArticle: the stage's one pure step (language, topics, entities, version)."""

from __future__ import annotations

from collections.abc import Sequence

from newswatch import Article, EnrichedArticle, PoisonRecordError
from processors.classify import Classifier
from processors.entities import EntityExtractor
from processors.language import LanguageDetector, is_english


def check_text(article: Article) -> None:
    """Raise PoisonRecordError if the article has no title, summary or body to read."""
    if not article.full_text.strip():
        raise PoisonRecordError(
            f"article {article.article_id} has no title, summary or text to classify; "
            "the collector published an empty item"
        )


def enrich_batch(
    articles: Sequence[Article],
    classifier: Classifier,
    extractor: EntityExtractor,
    detector: LanguageDetector | None = None,
) -> list[EnrichedArticle]:
    """Enrich a batch in order; entities come from one `nlp.pipe` pass over the English articles.

    Each record's `language` is the detected one (`processors.language`, falling back to what the
    collector declared). Articles that are not English (nor unknown) get no topics and no
    entities: the taxonomy and the spaCy model read English only. `detector` defaults to the
    process-wide `LanguageDetector.default()`.

    Raises PoisonRecordError (naming the article) if any article has no text at all; callers
    that want the rest of the batch to go on check each article with `check_text` first.
    """
    for article in articles:
        check_text(article)
    detector = detector or LanguageDetector.default()
    detections = detector.detect_many((a.title, a.summary, a.text, a.language) for a in articles)
    languages = [d.language for d in detections]
    english = [i for i, lang in enumerate(languages) if is_english(lang)]
    found = dict(zip(english, extractor.extract_many([articles[i].full_text for i in english]), strict=True))
    return [
        EnrichedArticle.from_article(
            article,
            topics=classifier.classify(article.title, article.summary, article.text) if i in found else [],
            entities=found.get(i, []),
            classifier_version=classifier.version,
            language=languages[i],
        )
        for i, article in enumerate(articles)
    ]


def enrich(
    article: Article, classifier: Classifier, extractor: EntityExtractor, detector: LanguageDetector | None = None
) -> EnrichedArticle:
    """One article; same as a batch of one."""
    return enrich_batch([article], classifier, extractor, detector)[0]
