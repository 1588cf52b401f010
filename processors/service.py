"""Processor worker wiring: raw-topic records in, enriched records out, poison to the DLQ.

`make_handler` returns the `newswatch.Handler` that `newswatch.StageRunner` calls per batch:
decode -> drop (dead-letter) undecodable and empty articles -> enrich the rest in one batch ->
`BatchResult`. Anything else that raises inside is left to the runner, which retries the batch
and then isolates the failing record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from newswatch import (
    Article,
    BatchResult,
    Handler,
    Output,
    PoisonRecordError,
    Record,
    dead_letter,
    decode_batch,
    topics,
)
from processors.classify import DEFAULT_CLASSIFIER, Classifier, load_classifier
from processors.enrich import check_text, enrich_batch
from processors.entities import DEFAULT_MODEL, EntityExtractor
from processors.language import LanguageDetector

log = logging.getLogger("newswatch.processors")


def make_handler(
    classifier: Classifier,
    extractor: EntityExtractor,
    stage: str = "processor",
    detector: LanguageDetector | None = None,
) -> Handler:
    """A batch handler for `StageRunner` over the raw topic."""

    def handle(records: Sequence[Record]) -> BatchResult:
        good, dead = decode_batch(records, Article, stage)
        articles: list[Article] = []
        for record, article in good:
            try:
                check_text(article)
            except PoisonRecordError as exc:
                dead.append(dead_letter(record, stage, exc))
                continue
            articles.append(article)
        enriched = enrich_batch(articles, classifier, extractor, detector) if articles else []
        outputs = [Output(topics.ENRICHED, a.article_id, a.to_bytes()) for a in enriched]
        log.info(
            "processed batch",
            extra={"stage": stage, "records": len(records), "enriched": len(outputs), "dead": len(dead)},
        )
        return BatchResult(outputs=outputs, dead=dead)

    return handle


@dataclass
class Processor:
    """Classifier, extractor and language detector loaded once per worker, plus the handler over them."""

    classifier: Classifier
    extractor: EntityExtractor
    stage: str = "processor"
    detector: LanguageDetector | None = None

    @property
    def version(self) -> str:
        """The classifier version recorded on every enriched article."""
        return self.classifier.version

    def handler(self) -> Handler:
        """The `StageRunner` handler for this processor."""
        return make_handler(self.classifier, self.extractor, self.stage, self.detector)


def build_processor(
    *,
    classifier: str = DEFAULT_CLASSIFIER,
    taxonomy: str | Path | None = None,
    model: str = DEFAULT_MODEL,
    batch_size: int = 32,
    stage: str = "processor",
) -> Processor:
    """Load the classifier, the spaCy model and the language detector once (slow: seconds); reuse."""
    return Processor(
        classifier=load_classifier(classifier, taxonomy),
        extractor=EntityExtractor.load(model, batch_size=batch_size),
        stage=stage,
        detector=LanguageDetector.default(),
    )
