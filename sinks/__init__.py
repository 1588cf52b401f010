"""Stage 3: EnrichedArticle -> a searchable store (embedded SQLite or Elasticsearch)."""

from sinks.elastic import ElasticStore, make_client
from sinks.es_admin import RolloverResult
from sinks.es_template import TEMPLATE_VERSION, alias_name, build_template
from sinks.service import make_store_handler, sink_runner

__all__ = [
    "TEMPLATE_VERSION",
    "ElasticStore",
    "RolloverResult",
    "alias_name",
    "build_template",
    "make_client",
    "make_store_handler",
    "sink_runner",
]
