"""Build deploy/kibana/newswatch.ndjson, the Kibana 8.19 saved objects for newswatch.

    .venv/bin/python deploy/kibana/build_objects.py > deploy/kibana/newswatch.ndjson

This script is the source of truth; the NDJSON is its output, committed so that operators can
import it with curl, and a test keeps the two identical. Field names are written out here on
purpose (not imported from sinks.es_template): the field-caps test then catches a mapping change
that the dashboards did not follow. Objects use aggregation-based visualizations (visState JSON),
whose schema is small enough to validate offline. Index names carry the default prefix
`newswatch`; `newswatch kibana install --prefix` rewrites them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

ARTICLES = "newswatch-articles"
ALERTS = "newswatch-alerts"
TOPICS = ("defence", "trade", "energy", "conflict", "politics", "economy")
CORE = "8.8.0"
MIGRATION = {"index-pattern": "8.0.0", "visualization": "8.5.0", "search": "8.0.0", "dashboard": "8.7.0"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _obj(kind: str, oid: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": oid, "type": kind, "attributes": attributes, "references": references, "managed": False,
            "coreMigrationVersion": CORE, "typeMigrationVersion": MIGRATION[kind]}


def _source(query: str = "") -> dict[str, str]:
    return {"searchSourceJSON": _j({"query": {"query": query, "language": "kuery"}, "filter": [],
                                    "indexRefName": INDEX_REF})}


def _index_ref(data_view: str) -> list[dict[str, str]]:
    return [{"id": data_view, "name": INDEX_REF, "type": "index-pattern"}]


def data_view(oid: str, title: str, name: str, time_field: str) -> dict[str, Any]:
    url_format = {"id": "url", "params": {"type": "a", "urlTemplate": None, "labelTemplate": None}}
    return _obj("index-pattern", oid, {
        "title": title, "name": name, "timeFieldName": time_field, "allowNoIndex": True,
        "fields": "[]", "fieldAttrs": "{}", "runtimeFieldMap": "{}", "typeMeta": "{}",
        "sourceFilters": _j([{"value": "text"}]), "fieldFormatMap": _j({"url": url_format}),
    }, [])


def _count() -> dict[str, Any]:
    return {"id": "1", "enabled": True, "type": "count", "params": {"emptyAsNull": False}, "schema": "metric"}


def _terms(aid: str, field: str, schema: str, size: int, label: str) -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": "terms", "schema": schema, "params": {
        "field": field, "orderBy": "1", "order": "desc", "size": size, "otherBucket": False,
        "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing",
        "customLabel": label}}


def _date_histogram(aid: str, field: str) -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": "date_histogram", "schema": "segment", "params": {
        "field": field, "useNormalizedEsInterval": True, "extendToTimeRange": True, "scaleMetricValues": False,
        "interval": "auto", "drop_partials": False, "min_doc_count": 1, "extended_bounds": {}}}


TABLE = {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": False,
         "totalFunc": "sum", "percentageCol": "", "showToolbar": False, "autoFitRowToContent": False}
PIE = {"type": "pie", "addTooltip": True, "legendDisplay": "show", "legendPosition": "right", "isDonut": True,
       "nestedLegend": False, "truncateLegend": True, "maxLegendLines": 1, "distinctColors": False,
       "palette": {"type": "palette", "name": "default"},
       "labels": {"show": True, "values": True, "last_level": True, "truncate": 100, "position": "default",
                  "valuesFormat": "percent", "percentDecimals": 1}}
STACKED_BARS = {
    "type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [],
    "addTimeMarker": False, "detailedTooltip": True, "fittingFunction": "zero", "isVislibVis": True,
    "palette": {"type": "palette", "name": "default"}, "labels": {"show": False}, "radiusRatio": 0,
    "grid": {"categoryLines": False},
    "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True, "style": {},
                      "scale": {"type": "linear"}, "labels": {"show": True, "filter": True, "truncate": 100},
                      "title": {}}],
    "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                   "style": {}, "scale": {"type": "linear", "mode": "normal"},
                   "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                   "title": {"text": "Articles"}}],
    "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked", "data": {"label": "Articles", "id": "1"},
                      "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True, "lineWidth": 2,
                      "showCircles": True, "interpolate": "linear"}],
}


def visualization(oid: str, title: str, vis_type: str, params: dict[str, Any], aggs: list[dict[str, Any]],
                  data_view_id: str, description: str) -> dict[str, Any]:
    state = {"title": title, "type": vis_type, "params": params, "aggs": aggs}
    return _obj("visualization", oid, {
        "title": title, "description": description, "version": 1, "uiStateJSON": "{}",
        "visState": _j(state), "kibanaSavedObjectMeta": _source(),
    }, _index_ref(data_view_id))


def saved_search(oid: str, title: str, data_view_id: str, columns: list[str], sort_field: str,
                 query: str = "", description: str = "") -> dict[str, Any]:
    return _obj("search", oid, {
        "title": title, "description": description, "columns": columns, "sort": [[sort_field, "desc"]],
        "hits": 0, "version": 1, "kibanaSavedObjectMeta": _source(query),
    }, _index_ref(data_view_id))


def dashboard(oid: str, title: str, panels: list[tuple[str, str, int, int, int, int, str]]) -> dict[str, Any]:
    """`panels`: (type, id, x, y, w, h, title) on Kibana's 48-column grid."""
    panel_json, refs = [], []
    for n, (kind, target, x, y, w, h, panel_title) in enumerate(panels, start=1):
        index = f"p{n}"
        panel_json.append({"version": "8.8.0", "type": kind, "panelIndex": index, "title": panel_title,
                           "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
                           "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{index}"})
        refs.append({"id": target, "name": f"{index}:panel_{index}", "type": kind})
    return _obj("dashboard", oid, {
        "title": title, "description": "What the feeds say now: volume by topic, who and where, outlets, "
                                       "latest articles and alerts.",
        "panelsJSON": _j(panel_json), "timeRestore": True, "timeFrom": "now-30d", "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60_000}, "version": 1,
        "optionsJSON": _j({"useMargins": True, "syncColors": False, "syncCursor": True, "syncTooltips": False,
                           "hidePanelTitles": False}),
        "kibanaSavedObjectMeta": {"searchSourceJSON": _j({"query": {"query": "", "language": "kuery"}, "filter": []})},
    }, refs)


def build() -> list[dict[str, Any]]:
    """Every saved object, data views first (Kibana resolves references within one import)."""
    art, alr = "newswatch-articles", "newswatch-alerts"
    objects = [
        data_view(art, ARTICLES, "newswatch articles", "published_at"),
        data_view(alr, ALERTS, "newswatch alerts", "fired_at"),
        visualization("nw-vis-volume-by-topic", "Article volume over time by topic", "histogram", STACKED_BARS,
                      [_count(), _date_histogram("2", "published_at"),
                       _terms("3", "topics.label", "group", 10, "Topic")], art, "Articles per interval, stacked by topic."),
        visualization("nw-vis-top-people", "Top people", "table", TABLE,
                      [_count(), _terms("2", "entities_person", "bucket", 15, "Person")], art, "spaCy PERSON, canonical names."),
        visualization("nw-vis-top-orgs", "Top organisations", "table", TABLE,
                      [_count(), _terms("2", "entities_org", "bucket", 15, "Organisation")], art, "spaCy ORG."),
        visualization("nw-vis-top-countries", "Top countries and places", "table", TABLE,
                      [_count(), _terms("2", "entities_gpe", "bucket", 15, "Country / place")], art, "spaCy GPE."),
        visualization("nw-vis-top-outlets", "Top outlets", "pie", PIE,
                      [_count(), _terms("2", "outlet", "segment", 10, "Outlet")], art, "Articles per outlet."),
        visualization("nw-vis-topic-by-country", "Topic × country", "table", TABLE,
                      [_count(), _terms("2", "topics.label", "bucket", 10, "Topic"),
                       _terms("3", "entities_gpe", "bucket", 10, "Country / place")], art,
                      "Articles per topic and country mentioned."),
        visualization("nw-vis-alerts-by-rule", "Alerts by rule", "table", TABLE,
                      [_count(), _terms("2", "rule", "bucket", 20, "Rule"),
                       _terms("3", "rule_type", "bucket", 5, "Type")], alr, "Alerts fired per rule."),
        saved_search("nw-search-latest", "Latest articles", art, ["title", "outlet", "topics.label", "url"],
                     "published_at", description="Newest first; the url column is a link."),
        saved_search("nw-search-alerts", "Recent alerts", alr, ["rule", "title", "outlet", "url", "matched_terms"],
                     "fired_at", description="Alerts as the alert stage fired them."),
    ]
    objects += [
        saved_search(f"nw-search-topic-{topic}", f"Topic: {topic}", art, ["title", "outlet", "entities_gpe", "url"],
                     "published_at", query=f'topics.label : "{topic}"', description=f"Articles labelled {topic}.")
        for topic in TOPICS
    ]
    objects.append(dashboard("nw-dashboard-overview", "News overview", [
        ("visualization", "nw-vis-volume-by-topic", 0, 0, 48, 14, "Article volume over time by topic"),
        ("visualization", "nw-vis-top-people", 0, 14, 16, 15, "Top people"),
        ("visualization", "nw-vis-top-orgs", 16, 14, 16, 15, "Top organisations"),
        ("visualization", "nw-vis-top-countries", 32, 14, 16, 15, "Top countries and places"),
        ("visualization", "nw-vis-top-outlets", 0, 29, 16, 15, "Top outlets"),
        ("visualization", "nw-vis-topic-by-country", 16, 29, 32, 15, "Topic × country"),
        ("search", "nw-search-latest", 0, 44, 48, 18, "Latest articles"),
        ("search", "nw-search-alerts", 0, 62, 32, 15, "Recent alerts"),
        ("visualization", "nw-vis-alerts-by-rule", 32, 62, 16, 15, "Alerts by rule"),
    ]))
    return objects


def main() -> None:
    for obj in build():
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
