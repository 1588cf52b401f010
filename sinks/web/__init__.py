"""newswatch's own live view: a small web app over the configured store.

    app.py              Starlette app: the page, JSON endpoints and the server-sent-event stream
    rows.py             the rows sent to the page and the StoreReader contract
    embedded_reader.py  StoreReader over the embedded SQLite store
    elastic_reader.py   StoreReader over Elasticsearch (sorts on indexed_at, aggregations)
    alert_feed.py       recent alerts read from the news.alerts topic
    static/             index.html, app.js, style.css: served as they are, no build step
"""

from sinks.web.alert_feed import AlertFeed
from sinks.web.app import create_app, reader_for
from sinks.web.rows import ArticleRow, Page, SearchResult, StoreReader

__all__ = ["AlertFeed", "ArticleRow", "Page", "SearchResult", "StoreReader", "create_app", "reader_for"]
