"""Live view figures in Debian's Chromium: page load time and index -> on-screen latency.

    .venv/bin/python bench/bench_web.py [--store embedded|URL] [--articles 400] [--rounds 10]

The page is served by uvicorn on 127.0.0.1 over a store pre-filled with `--articles` synthetic
articles. Printed:
  - page load: navigation until the page has drawn the recent list, chart and entities
    (`body[data-ready]`), median of `--rounds` cold loads; with, as the same-run baseline, the
    plain HTTP time of the JSON calls the page makes, and the ratio of the two;
  - live latency: from `store.write([article])` returning (the article is durable) until its
    title is in the live list, median and max over `--rounds` articles; target <= 2 s.
With an Elasticsearch URL the store is a fresh ElasticStore (prefix nw-bench-web-*), dropped at
the end; its latency includes the index refresh (`elastic.refresh_interval`, default 500ms).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from newswatch import (
    Article,
    ElasticSettings,
    EmbeddedStore,
    EnrichedArticle,
    Entity,
    Store,
    TopicLabel,
    utcnow,
)
from sinks import ElasticStore
from sinks.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOPICS = ("defence", "trade", "energy", "politics", "economy")


def article(i: int, title: str) -> EnrichedArticle:
    when = utcnow() - timedelta(minutes=i)
    art = Article.create(link=f"https://bench.example/{uuid.uuid4().hex}", title=title, summary=title,
                         text=title, published_at=when, fetched_at=when, outlet=f"outlet-{i % 7}", language="en")
    return EnrichedArticle.from_article(
        art, topics=[TopicLabel(label=TOPICS[i % 5], iptc_code="x", score=1.0)],
        entities=[Entity(text=f"Person {i % 11}", label="PERSON", canonical=f"Person {i % 11}"),
                  Entity(text=f"Country {i % 5}", label="GPE", canonical=f"Country {i % 5}")],
        classifier_version="bench")


def open_store(where: str, tmp: Path) -> Store:
    if where == "embedded":
        store: Store = EmbeddedStore(tmp / "store.db")
    else:
        store = ElasticStore(where, ElasticSettings(index_prefix=f"nw-bench-web-{uuid.uuid4().hex[:8]}"))
    store.setup()
    return store


def serve(app: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def api_baseline(url: str) -> float:
    """Seconds for the JSON calls a page load makes, fetched in sequence over one connection."""
    with httpx.Client(base_url=url) as client:
        started = time.perf_counter()
        for path in ("/", "/static/app.js", "/static/style.css", "/api/recent?limit=50", "/api/alerts?limit=20",
                     "/api/topics?interval=day", "/api/entities"):
            client.get(path).raise_for_status()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="embedded", help="'embedded' or an Elasticsearch URL")
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        store = open_store(args.store, Path(tmp))
        store.write([article(i, f"Background story {i}") for i in range(args.articles)])
        if isinstance(store, ElasticStore):
            store.refresh()
        url, server, thread = serve(create_app(store))
        context = pw.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = context.new_page()
            loads, baselines = [], []
            for _ in range(args.rounds):
                baselines.append(api_baseline(url))
                started = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("body[data-ready=true]", timeout=30_000)
                loads.append(time.perf_counter() - started)
            latencies = []
            for i in range(args.rounds):
                title = f"Live bench article {i} {uuid.uuid4().hex[:6]}"
                store.write([article(i, title)])
                written = time.perf_counter()
                page.wait_for_function(
                    "(t) => [...document.querySelectorAll('#live li')].some((li) => li.textContent.includes(t))",
                    arg=title, timeout=30_000, polling=10)
                latencies.append(time.perf_counter() - written)
        finally:
            context.close()
            server.should_exit = True
            thread.join(timeout=10)
            if isinstance(store, ElasticStore):
                store.drop()
            store.close()
    load, base = statistics.median(loads), statistics.median(baselines)
    print(f"store: {args.store}, {args.articles} articles, {args.rounds} rounds; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"page load (to data-ready): median {load * 1000:.0f} ms; JSON+static fetched directly: "
          f"median {base * 1000:.0f} ms; ratio {load / base:.1f}x")
    print(f"indexed -> visible in live view: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms (target <= 2000 ms): "
          f"{'OK' if max(latencies) <= 2.0 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
