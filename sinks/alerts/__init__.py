"""Keyword alerts: Lucene-syntax rules matched on each enriched article, aggregates, notifications.

rules.py      the YAML rules file: channels and rules, validated one rule at a time
query.py      luqum -> our query tree, with errors that point at the position
es.py         a query as an Elasticsearch query body
text.py       normalisation that makes word-boundary matching a substring test
document.py   an article's normalised fields; query trees compiled to predicates
matcher.py    one Aho-Corasick automaton over all rules' terms picks candidate rules
highlight.py  matched terms and snippets for a rule that matched
aggregate.py  frequency, spike, new_term and flatline over event time
state.py      SQLite memory: claimed (rule, article), windows, throttles, outbox
masking.py    ${NAME} secrets, masked in our logs and the sending libraries' logs
delivery.py   silence / throttle / digest, then apprise or JSON webhook sends
engine.py     AlertEngine: rules, matching, aggregates and delivery for one article batch
service.py    the stage handler and `alert_runner(settings, bus)`, the one wiring of the stage
"""

from sinks.alerts.delivery import DeliveryReport, Notifier
from sinks.alerts.document import ArticleView
from sinks.alerts.engine import AlertEngine, build_engine, match_alert
from sinks.alerts.es import to_elasticsearch
from sinks.alerts.highlight import Highlight
from sinks.alerts.masking import Secrets, mask_url
from sinks.alerts.matcher import CompiledQuery, Matcher, compile_query
from sinks.alerts.query import (
    EntityResolver,
    ParsedQuery,
    QueryError,
    parse_query,
    resolve_entities,
)
from sinks.alerts.record import AlertRecord
from sinks.alerts.rules import (
    ChannelSpec,
    LoadedRule,
    Rule,
    RuleBook,
    RuleProblem,
    build_book,
    load_rules,
    read_document,
    validate_rule,
    write_document,
)
from sinks.alerts.service import alert_runner, make_alert_handler, rules_path_for
from sinks.alerts.state import AlertState

__all__ = [
    "AlertEngine",
    "AlertRecord",
    "AlertState",
    "ArticleView",
    "ChannelSpec",
    "CompiledQuery",
    "DeliveryReport",
    "EntityResolver",
    "Highlight",
    "LoadedRule",
    "Matcher",
    "Notifier",
    "ParsedQuery",
    "QueryError",
    "Rule",
    "RuleBook",
    "RuleProblem",
    "Secrets",
    "alert_runner",
    "build_book",
    "build_engine",
    "compile_query",
    "load_rules",
    "make_alert_handler",
    "mask_url",
    "match_alert",
    "parse_query",
    "read_document",
    "resolve_entities",
    "rules_path_for",
    "to_elasticsearch",
    "validate_rule",
    "write_document",
]
