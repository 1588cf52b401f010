"""Stage 2: Article -> EnrichedArticle (topics and named entities) on `news.enriched`."""

from processors.classify import (
    CLASSIFIERS,
    DEFAULT_CLASSIFIER,
    Classifier,
    TopicRule,
    TopicScore,
    load_classifier,
)
from processors.enrich import check_text, enrich, enrich_batch
from processors.entities import DEFAULT_MODEL, KEPT_LABELS, EntityExtractor, Gazetteer, build_nlp
from processors.language import DETECTOR_NAME, Detection, LanguageDetector, is_english
from processors.service import Processor, build_processor, make_handler

__all__ = [
    "CLASSIFIERS",
    "DEFAULT_CLASSIFIER",
    "DEFAULT_MODEL",
    "DETECTOR_NAME",
    "KEPT_LABELS",
    "Classifier",
    "Detection",
    "EntityExtractor",
    "Gazetteer",
    "LanguageDetector",
    "Processor",
    "TopicRule",
    "TopicScore",
    "build_nlp",
    "build_processor",
    "check_text",
    "enrich",
    "enrich_batch",
    "is_english",
    "load_classifier",
    "make_handler",
]
