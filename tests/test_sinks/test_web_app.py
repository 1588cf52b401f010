"""The live view's HTTP surface over a real uvicorn server: headers, search errors, SSE resume.

No browser here (see test_web_browser.py); httpx talks to the server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from newswatch import EmbeddedBus, EmbeddedStore, TopicSpec, topics
from sinks.web import AlertFeed, create_app
from tests.test_sinks.conftest import make_article


def resolve(name: str, label: str | None) -> tuple[str, ...]:
    """Stands in for the CLI wiring's gazetteer resolver (`wiring.resolve_entity`)."""
    return {"EU": ("EU", "European Union")}.get(name, (name,))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, EmbeddedStore, EmbeddedBus]]:
    store = EmbeddedStore(tmp_path / "store.db")
    store.setup()
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.ensure_topics(TopicSpec(name) for name in topics.ALL_TOPICS)
    alerts = AlertFeed(bus, "web-test").start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(store, alerts=alerts, poll_interval_s=0.05, resolve=resolve)
    server = uvicorn.Server(uvicorn.Config(app,
                                           host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client, store, bus
    server.should_exit = True
    thread.join(timeout=10)
    alerts.close()
    bus.close()
    store.close()


def read_events(client: httpx.Client, want: int, **kwargs: object) -> list[dict[str, str]]:
    """The first `want` non-comment SSE events of one /api/stream connection."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    with client.stream("GET", "/api/stream", **kwargs) as resp:  # type: ignore[arg-type]
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if not line:
                if "event" in current:
                    events.append(current)
                    if len(events) == want:
                        return events
                current = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                current[key] = value
    return events


def test_page_and_api_carry_the_security_headers(served: tuple[httpx.Client, EmbeddedStore, EmbeddedBus]) -> None:
    client, _, _ = served
    page = client.get("/")
    assert page.status_code == 200 and 'src="/static/app.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/api/recent").headers["x-content-type-options"] == "nosniff"


def test_a_bad_query_is_a_400_with_the_caret(served: tuple[httpx.Client, EmbeddedStore, EmbeddedBus]) -> None:
    client, _, _ = served
    resp = client.get("/api/search", params={"q": 'entity:"Vladimir Putin AND topic:defence'})
    assert resp.status_code == 400
    assert resp.json()["position"] == 7 and "^" in resp.json()["detail"]


def test_search_resolves_entity_names_as_alert_rules_do(
    served: tuple[httpx.Client, EmbeddedStore, EmbeddedBus],
) -> None:
    client, store, _ = served
    store.write([
        make_article(1, "Brussels summit", entities=(("ORG", "European Union"),)),
        make_article(2, "Old record", entities=(("ORG", "EU"),)),  # enriched before full names
        make_article(3, "Washington talks", entities=(("GPE", "United States"),)),
    ])
    for q in ("entity:EU", 'entity.org:"EU" AND NOT entity:"United States"'):
        body = client.get("/api/search", params={"q": q}).json()
        assert sorted(a["title"] for a in body["articles"]) == ["Brussels summit", "Old record"], q
        assert body["entity_names"] == {"EU": ["European Union"]}
    plain = client.get("/api/search", params={"q": 'entity:"United States"'}).json()
    assert [a["title"] for a in plain["articles"]] == ["Washington talks"]
    assert plain["entity_names"] == {}


def test_stream_sends_new_articles_and_resumes_from_last_event_id(
    served: tuple[httpx.Client, EmbeddedStore, EmbeddedBus],
) -> None:
    client, store, _ = served
    store.write([make_article(1, "Before the page")])
    cursor = client.get("/api/recent").json()["cursor"]
    store.write([make_article(2, "First live"), make_article(3, "Second live")])
    first = read_events(client, 2, params={"after": cursor})
    assert [json.loads(e["data"])["title"] for e in first] == ["First live", "Second live"]
    assert "id" not in first[0] and first[1]["id"]  # the id marks the end of a batch
    store.write([make_article(4, "After a reconnect")])
    resumed = read_events(client, 1, headers={"Last-Event-ID": first[1]["id"]}, params={"after": cursor})
    assert json.loads(resumed[0]["data"])["title"] == "After a reconnect"


def test_alerts_on_the_bus_reach_the_page(served: tuple[httpx.Client, EmbeddedStore, EmbeddedBus]) -> None:
    client, _, bus = served
    bus.produce(topics.ALERTS, "a1", json.dumps({"alert_id": "a1", "rule": "putin-defence", "title": "T"}).encode())
    bus.produce(topics.ALERTS, "x", b"not an alert")
    bus.flush()
    deadline = time.monotonic() + 10
    while not (body := client.get("/api/alerts").json())["alerts"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(a["rule"], a["seq"]) for a in body["alerts"]] == [("putin-defence", 1)] and body["seq"] == 1
    bus.produce(topics.ALERTS, "a2", json.dumps({"alert_id": "a2", "rule": "s400"}).encode())
    bus.flush()
    (event,) = read_events(client, 1, params={"alerts_after": "1"})
    assert event["event"] == "alert" and json.loads(event["data"])["rule"] == "s400"


@pytest.mark.parametrize("store_kind", ["embedded", "elasticsearch"])
def test_newswatch_web_serves_the_configured_store(tmp_path: Path, request: pytest.FixtureRequest,
                                                    store_kind: str) -> None:
    """`newswatch web` as a user starts it: the configured store's articles and the bus's alerts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(NEWSWATCH_DATA_DIR=str(tmp_path), NEWSWATCH_BUS="embedded")
    if store_kind == "embedded":
        store = EmbeddedStore(tmp_path / "store.db")
    else:
        store = request.getfixturevalue("es_store")
        env.update(NEWSWATCH_STORE=store.url, NEWSWATCH_ELASTIC__INDEX_PREFIX=store.settings.index_prefix)
    store.setup()
    store.write([make_article(1, "Served by the command", entities=(("ORG", "European Union"),))])
    if isinstance(store, EmbeddedStore):
        store.close()
    else:
        store.refresh()
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.ensure_topics(TopicSpec(name) for name in topics.ALL_TOPICS)
    bus.produce(topics.ALERTS, "a1", json.dumps({"alert_id": "a1", "rule": "putin-defence"}).encode())
    bus.flush()
    bus.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "newswatch", "web", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    client.get("/healthz").raise_for_status()
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()  # type: ignore[union-attr]
                    time.sleep(0.2)
            assert "newswatch live" in client.get("/").text
            assert [a["title"] for a in client.get("/api/recent").json()["articles"]] == ["Served by the command"]
            found = client.get("/api/search", params={"q": 'title:"served by"'}).json()["articles"]
            assert [a["title"] for a in found] == ["Served by the command"]
            # the search box resolves entity names through the gazetteer, as alert rules do
            body = client.get("/api/search", params={"q": "entity:EU"}).json()
            assert [a["title"] for a in body["articles"]] == ["Served by the command"]
            assert "European Union" in body["entity_names"]["EU"]
            while not (alerts := client.get("/api/alerts").json()["alerts"]) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [a["rule"] for a in alerts] == ["putin-defence"]
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
