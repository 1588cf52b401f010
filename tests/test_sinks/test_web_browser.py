"""The live view in Debian's Chromium (headless, driven by Playwright) against a real server.

Covers: the page loads; `newswatch run --once` (a subprocess, embedded store) makes the seed
article appear without a reload (server-sent events); an alert-syntax search finds it; a
screenshot goes to test-artifacts/; a hostile feed item renders as text and never runs.

Chromium comes from Debian (`scripts/install-browser`), never from `playwright install`. Under
CI=true a missing browser fails these tests; elsewhere they skip with the fix.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from newswatch import Article, EmbeddedBus, EmbeddedStore, EnrichedArticle, TopicSpec, topics
from sinks.web import AlertFeed, create_app

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SEED_TITLE = "India-Russia Agree on Joint Defence Manufacturing"
HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned=2">'
HOSTILE_FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Covers: markup in feed strings. Expect: shown as literal text, never executed. -->
<rss version="2.0"><channel><title>Hostile &lt;b&gt;outlet&lt;/b&gt;</title>
<link>https://hostile.example/</link><description>hostile</description>
<item><title>Hostile {HOSTILE_SCRIPT.replace("<", "&lt;").replace(">", "&gt;")} and
{HOSTILE_IMG.replace("<", "&lt;").replace(">", "&gt;")} defence ministry headline</title>
<link>https://hostile.example/a1</link><guid>hostile-1</guid><pubDate>Fri, 05 Dec 2025 13:00:00 GMT</pubDate>
<description>The defence ministry &lt;img src=x onerror="window.__pwned=3"&gt; said missiles.</description>
</item></channel></rss>
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    store: EmbeddedStore
    bus: EmbeddedBus


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A page in a fresh headless Chromium profile."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; fix: run scripts/install-browser as root (apt-get install chromium)"
        if _in_ci():
            pytest.fail(message + " (CI=true makes a missing browser a failure)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="nw-chromium-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.page_errors = errors  # type: ignore[attr-defined]
        yield page
        context.close()


def serve(app: Any) -> tuple[str, Callable[[], None]]:
    """Run `app` with uvicorn in a thread on a free port; returns (base URL, stop)."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live view did not start within 15 s")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop


@pytest.fixture
def live_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """The live view over an embedded store and bus in tmp_path (where `newswatch` will write)."""
    csp = getattr(request, "param", "default")
    store = EmbeddedStore(tmp_path / "store.db")
    store.setup()
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.ensure_topics(TopicSpec(name) for name in topics.ALL_TOPICS)
    alerts = AlertFeed(bus, "web-test").start()
    kwargs = {} if csp == "default" else {"content_security_policy": None}
    url, stop = serve(create_app(store, alerts=alerts, poll_interval_s=0.25, **kwargs))
    yield LiveServer(url, tmp_path, store, bus)
    stop()
    alerts.close()
    bus.close()
    store.close()


def newswatch_once(data_dir: Path, feeds_file: Path) -> subprocess.Popen[str]:
    """`newswatch run --once` as a user runs it, in the background."""
    env = {**os.environ, "NEWSWATCH_DATA_DIR": str(data_dir), "NEWSWATCH_FEEDS_FILE": str(feeds_file),
           "NEWSWATCH_STORE": "embedded", "NEWSWATCH_BUS": "embedded"}
    return subprocess.Popen(
        [sys.executable, "-m", "newswatch", "run", "--once"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> str:
    output, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, output[-3000:]
    return output


WATCH_ARRIVALS = """() => {
  window.__arrived = [];
  new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes)
      if (node.nodeType === 1) window.__arrived.push(node.textContent);
  }).observe(document.getElementById('live'), { childList: true });
}"""


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    page.evaluate(WATCH_ARRIVALS)


def test_seed_article_arrives_live_and_search_finds_it(live_server: LiveServer, browser_page: Any) -> None:
    page = browser_page
    open_page(page, live_server.url)
    assert page.locator("#live li").count() == 0
    assert page.locator("#status").text_content() == "live"

    proc = newswatch_once(live_server.data_dir, REPO / "seeds" / "feeds.toml")
    try:
        page.wait_for_function(
            "(title) => window.__arrived.some((text) => text.includes(title))", arg=SEED_TITLE, timeout=240_000,
        )
    finally:
        output = finish(proc)
    assert "store now" in output
    seed = page.locator("#live li", has_text=SEED_TITLE)
    seed.wait_for(timeout=10_000)
    assert seed.locator("a.title").get_attribute("href", timeout=5_000).startswith("https://newswatch.example/seed/")
    assert "defence" in seed.locator(".chip").all_text_contents()
    assert page.url.rstrip("/") == live_server.url  # no reload, no navigation

    page.fill("#q", 'entity:"Vladimir Putin" AND topic:defence')
    page.click("#search-form button[type=submit]")
    found = page.locator("#search-results li", has_text=SEED_TITLE)
    found.wait_for(timeout=15_000)
    summary = page.locator("#search-summary").text_content() or ""
    assert "found" in summary
    page.wait_for_selector("#ent-person li", timeout=10_000)
    page.wait_for_selector("#chart svg rect", timeout=10_000)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-live-search.png"))
    page.fill("#q", "topic:(defence")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-error:not([hidden])", timeout=10_000)
    assert "unclosed group" in (page.locator("#search-error").text_content() or "")
    assert page.page_errors == []  # type: ignore[attr-defined]


def _hand_written(title: str, url: str) -> EnrichedArticle:
    when = datetime(2025, 12, 5, 15, 0, tzinfo=UTC)
    article = Article(article_id="hostile-js-link", url=url, title=title, published_at=when,
                      fetched_at=when, outlet="Hostile <i>outlet</i>", summary="defence", text="defence")
    return EnrichedArticle.from_article(article, topics=[], entities=[], classifier_version="test")


@pytest.mark.parametrize("live_server", ["no-csp"], indirect=True)
def test_hostile_feed_strings_render_as_text_and_never_run(live_server: LiveServer, browser_page: Any,
                                                          tmp_path: Path) -> None:
    """CSP switched off: escaping alone must hold (the CSP is a second line, not the fix)."""
    page = browser_page
    feed_dir = tmp_path / "feeds"
    feed_dir.mkdir()
    (feed_dir / "hostile.xml").write_text(HOSTILE_FEED, encoding="utf-8")
    (feed_dir / "feeds.toml").write_text('[[feeds]]\nurl = "hostile.xml"\nname = "hostile"\n', encoding="utf-8")
    open_page(page, live_server.url)

    finish(newswatch_once(live_server.data_dir, feed_dir / "feeds.toml"))
    live_server.store.write([_hand_written(f"JS link {HOSTILE_SCRIPT}", "javascript:window.__pwned=5")])
    hostile_alert = {"alert_id": "a1", "rule": "<b>rule</b>", "rule_type": "match", "message": "m",
                     "title": f"Alert {HOSTILE_IMG}", "url": "javascript:window.__pwned=6",
                     "fired_at": "2025-12-05T15:00:00+00:00"}
    import json

    live_server.bus.produce(topics.ALERTS, "a1", json.dumps(hostile_alert).encode())
    live_server.bus.flush()

    live = page.locator("#live li", has_text=HOSTILE_SCRIPT)
    live.first.wait_for(timeout=60_000)
    page.locator("#live li", has_text="JS link").wait_for(timeout=15_000)
    page.locator("#alerts li", has_text=HOSTILE_IMG).wait_for(timeout=15_000)
    page.fill("#q", "hostile OR outlet:hostile")
    page.click("#search-form button[type=submit]")
    page.locator("#search-results li", has_text=HOSTILE_IMG).first.wait_for(timeout=15_000)
    page.reload()  # the /api/recent path renders them too
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    page.locator("#live li", has_text=HOSTILE_IMG).first.wait_for(timeout=15_000)
    page.wait_for_timeout(500)  # let any injected handler fire if escaping failed

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("img").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0
    assert page.get_by_text(HOSTILE_SCRIPT, exact=False).first.is_visible()
    js_item = page.locator("#live li", has_text="JS link")
    assert js_item.locator("a").count() == 0 and js_item.locator("span.title").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-hostile.png"))
    assert page.page_errors == []  # type: ignore[attr-defined]
