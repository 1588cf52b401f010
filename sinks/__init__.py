"""Stage 3: EnrichedArticle -> a searchable store (embedded SQLite or Elasticsearch)."""

from sinks.alert_index import (
    AlertIndex,
    ElasticAlertIndex,
    EmbeddedAlertIndex,
    alerts_index_name,
    make_alert_index_handler,
)
from sinks.alerts import (
    AlertEngine,
    AlertRecord,
    build_engine,
    make_alert_handler,
    parse_query,
    rules_path_for,
)
from sinks.elastic import ElasticStore, make_client
from sinks.es_admin import RolloverResult
from sinks.es_template import TEMPLATE_VERSION, alias_name, build_template
from sinks.service import make_store_handler, sink_runner

__all__ = [
    "TEMPLATE_VERSION",
    "AlertEngine",
    "AlertIndex",
    "AlertRecord",
    "ElasticAlertIndex",
    "ElasticStore",
    "EmbeddedAlertIndex",
    "RolloverResult",
    "alerts_index_name",
    "alias_name",
    "build_engine",
    "build_template",
    "make_alert_handler",
    "make_alert_index_handler",
    "make_client",
    "make_store_handler",
    "parse_query",
    "rules_path_for",
    "sink_runner",
]
