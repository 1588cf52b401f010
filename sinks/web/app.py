"""The live view: a Starlette app over a `newswatch.Store`, static HTML+JS with no build step.

    GET /                  the page (static/index.html)
    GET /api/recent        newest indexed articles and the cursor to stream from
    GET /api/stream        server-sent events: `article` (newly indexed) and `alert`, with resume
                           through Last-Event-ID; a comment every `heartbeat_s` keeps proxies open
    GET /api/topics        topic volumes per hour or day, ending at the newest article
    GET /api/entities      top people, organisations and countries
    GET /api/search?q=     the alerts' Lucene syntax (topic:, entity:, outlet:, AND/OR/NOT, ...);
                           `entity:` names resolved as alert rules resolve them (`resolve`)
    GET /api/alerts        recent alerts from the news.alerts topic (when a bus is given)

Every string that came from a feed reaches the browser as JSON and is rendered with textContent;
the Content-Security-Policy (script-src 'self', no inline script) is a second line of defence.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newswatch import EmbeddedStore, Store
from sinks.alerts import EntityResolver, QueryError, parse_query, resolve_entities
from sinks.web.alert_feed import AlertFeed
from sinks.web.embedded_reader import EmbeddedReader
from sinks.web.rows import Interval, StoreReader

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def reader_for(store: Store) -> StoreReader:
    """The reader that answers the page's questions for this concrete store."""
    if isinstance(store, EmbeddedStore):
        return EmbeddedReader(store.path)
    from sinks.elastic import ElasticStore

    if isinstance(store, ElasticStore):
        from sinks.web.elastic_reader import ElasticReader

        return ElasticReader(store.client, store.alias)
    raise TypeError(f"the live view cannot read a {type(store).__name__}: use EmbeddedStore or ElasticStore")


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        value = default
    return max(low, min(high, value))


class SecurityHeaders:
    """ASGI middleware adding the CSP and no-sniff headers to every HTTP response (streams too)."""

    def __init__(self, app: ASGIApp, csp: str | None) -> None:
        self.app = app
        extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
        if csp:
            extra.append((b"content-security-policy", csp.encode()))
        self.extra = extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _event(kind: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_app(
    store: Store,
    *,
    reader: StoreReader | None = None,
    alerts: AlertFeed | None = None,
    poll_interval_s: float = 0.5,
    heartbeat_s: float = 15.0,
    content_security_policy: str | None = CSP,
    resolve: EntityResolver | None = None,
) -> Starlette:
    """The live-view app; `reader` defaults to `reader_for(store)`. The caller closes the store.

    `resolve` widens the search box's `entity:` terms to the names it gives (`entity:EU` also
    finds "European Union"), as the alert stage widens rules; the CLI passes the gazetteer's.
    None matches entity names as typed."""
    source = reader if reader is not None else reader_for(store)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def recent(request: Request) -> Response:
        result = await asyncio.to_thread(source.recent, _int(request, "limit", 50, 1, 500))
        return JSONResponse({"articles": [a.to_json() for a in result.articles], "cursor": result.cursor})

    async def topics(request: Request) -> Response:
        interval: Interval = "hour" if request.query_params.get("interval") == "hour" else "day"
        buckets = _int(request, "buckets", 48 if interval == "hour" else 30, 1, 400)
        return JSONResponse(await asyncio.to_thread(source.topic_volume, interval, buckets))

    async def entities(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(source.top_entities, _int(request, "size", 10, 1, 100)))

    async def search(request: Request) -> Response:
        text = request.query_params.get("q", "")
        try:
            parsed = parse_query(text)
        except QueryError as exc:
            return JSONResponse({"error": exc.problem, "position": exc.position, "detail": str(exc)}, status_code=400)
        if resolve is not None:  # the first call may read the gazetteer: off the event loop
            parsed = await asyncio.to_thread(resolve_entities, parsed, resolve)
        result = await asyncio.to_thread(source.search, parsed, _int(request, "limit", 50, 1, 500))
        return JSONResponse({
            "articles": [a.to_json() for a in result.articles], "scanned": result.scanned,
            "truncated": result.truncated, "warnings": parsed.warnings,
            "entity_names": {name: list(names) for name, names in parsed.entity_names.items()},
        })

    async def recent_alerts(request: Request) -> Response:
        if alerts is None:
            return JSONResponse({"alerts": [], "seq": 0, "enabled": False})
        rows, seq = alerts.newest(_int(request, "limit", 20, 1, 100))
        return JSONResponse({"alerts": rows, "seq": seq, "enabled": True})

    async def stream(request: Request) -> Response:
        cursor = request.headers.get("last-event-id") or request.query_params.get("after", "")
        alert_seq = _int(request, "alerts_after", 0, 0, 2**62)
        return StreamingResponse(
            _events(request, source, alerts, cursor, alert_seq, poll_interval_s, heartbeat_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[
        Route("/", page), Route("/api/recent", recent), Route("/api/stream", stream),
        Route("/api/topics", topics), Route("/api/entities", entities), Route("/api/search", search),
        Route("/api/alerts", recent_alerts), Route("/healthz", health),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])

    app.add_middleware(SecurityHeaders, csp=content_security_policy)
    app.state.reader = source
    return app


async def _events(
    request: Request, source: StoreReader, alerts: AlertFeed | None, cursor: str, alert_seq: int,
    poll_interval_s: float, heartbeat_s: float,
) -> AsyncIterator[str]:
    """Poll the reader and the alert feed; yield SSE frames until the client goes away."""
    yield "retry: 2000\n\n"
    last_beat = time.monotonic()
    while not await request.is_disconnected():
        page = await asyncio.to_thread(source.indexed_after, cursor, 200)
        for i, article in enumerate(page.articles):
            last = i == len(page.articles) - 1
            yield _event("article", article.to_json(), page.cursor if last else None)
        cursor = page.cursor
        for alert in alerts.after(alert_seq) if alerts is not None else []:
            alert_seq = int(alert["seq"])
            yield _event("alert", alert)
        if time.monotonic() - last_beat >= heartbeat_s:
            last_beat = time.monotonic()
            yield ": keep-alive\n\n"
        if not page.articles:
            await asyncio.sleep(poll_interval_s)
