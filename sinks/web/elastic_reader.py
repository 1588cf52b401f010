"""The live view's questions answered from Elasticsearch: sorts on `indexed_at` and aggregations.

The cursor is `"<indexed_at epoch ms>|<article_id>"`, the sort values of the last hit seen, used
with `search_after`, so a sink batch (one `indexed_at` for up to `bulk_docs` documents) is paged
through without loss. A document becomes visible after the index refresh (1 s in the template).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from newswatch import utcnow
from sinks.alerts import ParsedQuery, to_elasticsearch
from sinks.es_template import ENTITY_FIELDS
from sinks.web.embedded_reader import bucket_starts
from sinks.web.rows import ENTITY_KINDS, ArticleRow, Interval, Page, SearchResult

_SOURCE = ["article_id", "title", "url", "original_url", "outlet", "published_at", "topics.label",
           *(ENTITY_FIELDS[label] for label in ENTITY_KINDS.values())]
_NEWEST = [{"indexed_at": "desc"}, {"article_id": "desc"}]
_OLDEST = [{"indexed_at": "asc"}, {"article_id": "asc"}]


def row_of(source: dict[str, Any]) -> ArticleRow:
    """The page's view of one stored document."""
    topics = source.get("topics") or []
    return ArticleRow(
        article_id=str(source.get("article_id", "")), title=str(source.get("title", "")),
        url=str(source.get("url") or source.get("original_url") or ""), outlet=str(source.get("outlet", "")),
        published_at=datetime.fromisoformat(str(source["published_at"])),
        topics=tuple(str(t.get("label", "")) for t in topics if isinstance(t, dict)),
        entities={kind: list(source.get(ENTITY_FIELDS[label]) or []) for kind, label in ENTITY_KINDS.items()},
    )


def _cursor(hit: dict[str, Any]) -> str:
    millis, article_id = hit["sort"]
    return f"{int(millis)}|{article_id}"


class ElasticReader:
    """Reads `<prefix>-articles` with the store's own client (the store owns and closes it)."""

    def __init__(self, client: Elasticsearch, alias: str) -> None:
        self.client = client
        self.alias = alias

    def _search(self, **body: Any) -> dict[str, Any]:
        return dict(self.client.search(index=self.alias, **body))

    def _end_cursor(self) -> str:
        resp = self._search(size=1, sort=_NEWEST, source=False, track_total_hits=False)
        hits = resp["hits"]["hits"]
        return _cursor(hits[0]) if hits else "0|"

    def recent(self, limit: int) -> Page:
        resp = self._search(size=limit, sort=_NEWEST, source=_SOURCE, track_total_hits=False)
        hits = resp["hits"]["hits"]
        return Page([row_of(h["_source"]) for h in hits], _cursor(hits[0]) if hits else "0|")

    def indexed_after(self, cursor: str, limit: int) -> Page:
        if "|" not in cursor:
            cursor = self._end_cursor()
        millis, article_id = cursor.split("|", 1)
        resp = self._search(
            size=limit, sort=_OLDEST, source=_SOURCE, track_total_hits=False,
            search_after=[int(millis), article_id],
        )
        hits = resp["hits"]["hits"]
        if not hits:
            return Page([], cursor)
        return Page([row_of(h["_source"]) for h in hits], _cursor(hits[-1]))

    def topic_volume(self, interval: Interval, buckets: int) -> dict[str, Any]:
        newest = self._search(size=0, aggs={"newest": {"max": {"field": "published_at"}}})
        value = newest["aggregations"]["newest"]["value"]
        end = utcnow() if value is None else min(datetime.fromtimestamp(value / 1000, UTC), utcnow())
        starts = bucket_starts(end, interval, buckets)
        resp = self._search(
            size=0,
            query={"range": {"published_at": {"gte": starts[0].isoformat()}}},
            aggs={"volume": {
                "date_histogram": {"field": "published_at", "fixed_interval": "1h" if interval == "hour" else "1d",
                                   "min_doc_count": 0, "time_zone": "UTC"},
                "aggs": {"topics": {"terms": {"field": "topics.label", "size": 20}}},
            }},
        )
        found = {
            int(b["key"]): (int(b["doc_count"]), {str(t["key"]): int(t["doc_count"]) for t in b["topics"]["buckets"]})
            for b in resp["aggregations"]["volume"]["buckets"]
        }
        out = []
        for start in starts:
            total, counts = found.get(int(start.timestamp() * 1000), (0, {}))
            out.append({"start": start.isoformat(), "total": total, "counts": counts})
        return {"interval": interval, "buckets": out}

    def top_entities(self, size: int) -> dict[str, list[dict[str, Any]]]:
        aggs = {kind: {"terms": {"field": ENTITY_FIELDS[label], "size": size}} for kind, label in ENTITY_KINDS.items()}
        resp = self._search(size=0, aggs=aggs)
        return {
            kind: [{"name": str(b["key"]), "count": int(b["doc_count"])} for b in resp["aggregations"][kind]["buckets"]]
            for kind in ENTITY_KINDS
        }

    def search(self, query: ParsedQuery, limit: int) -> SearchResult:
        resp = self._search(
            size=limit, query=to_elasticsearch(query), sort=[{"published_at": "desc"}], source=_SOURCE,
            track_total_hits=False,
        )
        return SearchResult([row_of(h["_source"]) for h in resp["hits"]["hits"]])

    def close(self) -> None:
        """Nothing of its own to release: the client belongs to the store."""
