"""Article -> EnrichedArticle: the stage's one pure step (topics, entities, classifier version)."""

from __future__ import annotations

from collections.abc import Sequence

from newswatch import Article, EnrichedArticle, PoisonRecordError
from processors.classify import Classifier
from processors.entities import EntityExtractor


def check_text(article: Article) -> None:
    """Raise PoisonRecordError if the article has no title, summary or body to read."""
    if not article.full_text.strip():
        raise PoisonRecordError(
            f"article {article.article_id} has no title, summary or text to classify; "
            "the collector published an empty item"
        )


def enrich_batch(
    articles: Sequence[Article], classifier: Classifier, extractor: EntityExtractor
) -> list[EnrichedArticle]:
    """Enrich a batch in order; entities come from one `nlp.pipe` pass over the batch.

    Raises PoisonRecordError (naming the article) if any article has no text at all; callers
    that want the rest of the batch to go on check each article with `check_text` first.
    Language is kept as the collector set it (detection is a later step, issue 4).
    """
    for article in articles:
        check_text(article)
    entities = extractor.extract_many([a.full_text for a in articles])
    return [
        EnrichedArticle.from_article(
            article,
            topics=classifier.classify(article.title, article.summary, article.text),
            entities=found,
            classifier_version=classifier.version,
        )
        for article, found in zip(articles, entities, strict=True)
    ]


def enrich(article: Article, classifier: Classifier, extractor: EntityExtractor) -> EnrichedArticle:
    """One article; same as a batch of one."""
    return enrich_batch([article], classifier, extractor)[0]
