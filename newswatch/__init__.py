"""newswatch core: the record schema, ids, settings, the bus and store contracts, the stage runner.

Stages (`collectors`, `processors`, `sinks`) import from this root only, never from each other.
"""

from newswatch import metrics, topics
from newswatch.bus import Bus, Consumer, EmbeddedBus, Record, TopicSpec
from newswatch.embedded_store import EmbeddedStore
from newswatch.errors import (
    BusUnavailableError,
    ConfigError,
    FeedError,
    NewswatchError,
    PoisonRecordError,
    RetryLaterError,
    SinkUnavailableError,
)
from newswatch.ids import article_id, canonical_url, stable_hash
from newswatch.runner import BatchResult, Handler, Output, StageRunner, dead_letter, decode_batch
from newswatch.schema import (
    SCHEMA_VERSION,
    Article,
    DeadLetter,
    EnrichedArticle,
    Entity,
    FeedSpec,
    TopicLabel,
    utcnow,
)
from newswatch.settings import (
    ElasticSettings,
    FetchSettings,
    KafkaSettings,
    ScheduleSettings,
    Settings,
    load_settings,
)
from newswatch.sqlite_db import connect_sqlite
from newswatch.store import Rejection, SearchHit, SearchQuery, Store

__all__ = [
    "SCHEMA_VERSION",
    "Article",
    "BatchResult",
    "Bus",
    "BusUnavailableError",
    "ConfigError",
    "Consumer",
    "DeadLetter",
    "ElasticSettings",
    "EmbeddedBus",
    "EmbeddedStore",
    "EnrichedArticle",
    "Entity",
    "FeedError",
    "FeedSpec",
    "FetchSettings",
    "Handler",
    "KafkaSettings",
    "NewswatchError",
    "Output",
    "PoisonRecordError",
    "Record",
    "Rejection",
    "RetryLaterError",
    "ScheduleSettings",
    "SearchHit",
    "SearchQuery",
    "Settings",
    "SinkUnavailableError",
    "StageRunner",
    "Store",
    "TopicLabel",
    "TopicSpec",
    "article_id",
    "canonical_url",
    "connect_sqlite",
    "dead_letter",
    "decode_batch",
    "load_settings",
    "metrics",
    "stable_hash",
    "topics",
    "utcnow",
]
