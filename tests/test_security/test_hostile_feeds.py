"""Issue 8, hostile input: each document below goes through a real Collector poll (fetch, parse,
publish) and must stay bounded in memory and time, read no local file, and leave a clear per-feed
status. Bounds are generous (a slow CI machine passes); the unguarded figures are in the comments."""

from __future__ import annotations

import gzip
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from collectors import Collector, PollOutcome
from newswatch import EmbeddedBus, FeedSpec, FetchSettings, Settings, topics

SECRET = "NEWSWATCH-XXE-CANARY-5f1c2a"
ITEM = "<item><title>ok</title><link>https://news.example/{n}</link><description>fine {n}</description></item>"


@dataclass
class Polled:
    outcome: PollOutcome
    seconds: float
    peak_bytes: int
    published_text: str
    health: str
    reason: str


@pytest.fixture
def poll(tmp_path: Path) -> Iterator[Callable[..., Polled]]:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data", fetch=FetchSettings(max_body_bytes=3_000_000, allow_private_hosts=True, per_host_delay_s=0)
    )
    bus = EmbeddedBus(settings.data_dir / "bus.db")
    collector = Collector(settings, bus)

    def run(url: str, *, trace: bool = True) -> Polled:
        spec = FeedSpec(url=url, name="hostile")
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        outcome = collector.poll_feed(spec)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        consumer = bus.consumer("check", [topics.RAW], start="earliest")
        text = " ".join(r.value.decode() for r in consumer.poll(100_000, 0.1))
        consumer.close()
        [status] = collector.feed_statuses([spec])
        return Polled(outcome, seconds, peak, text, status.health, status.reason)

    yield run
    collector.close()
    bus.close()


def _write(tmp_path: Path, name: str, body: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return str(path)


@pytest.mark.parametrize(
    "doctype",
    [
        pytest.param('<!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>', id="external-general-entity"),
        pytest.param('<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>', id="external-parameter-entity"),
        pytest.param('<!DOCTYPE rss SYSTEM "file://{secret}">', id="external-dtd"),
    ],
)
def test_xxe_never_reads_a_local_file(tmp_path: Path, poll: Callable[..., Polled], doctype: str) -> None:
    secret = tmp_path / "secret.txt"
    body = (
        '<?xml version="1.0"?>' + doctype.format(secret=secret)
        + '<rss version="2.0"><channel><title>t &x;</title><item><title>a &x; b</title>'
        "<link>https://news.example/xxe</link><description>&x;</description></item></channel></rss>"
    )
    polled = poll(_write(tmp_path, "xxe.xml", body))
    assert SECRET not in polled.published_text and SECRET not in polled.reason
    assert polled.outcome.result == "new" and polled.outcome.published == 1  # the item itself survives
    assert polled.seconds < 10


def test_billion_laughs_is_bounded(tmp_path: Path, poll: Callable[..., Polled]) -> None:
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel><title>t</title>'
        "<item><title>&lol9;</title><link>https://news.example/lol</link></item></channel></rss>"
    )
    polled = poll(_write(tmp_path, "lol.xml", body))  # unguarded: 9 s and 59 MB in feedparser's fallback
    assert polled.seconds < 5 and polled.peak_bytes < 50_000_000
    assert "lollollol" not in polled.published_text
    assert "entity declarations in the DOCTYPE ignored" in polled.outcome.reason


@pytest.mark.parametrize("depth", [pytest.param(100_000, id="100k-deep"), pytest.param(2_000, id="2k-deep")])
def test_deeply_nested_markup_is_refused_fast(tmp_path: Path, poll: Callable[..., Polled], depth: int) -> None:
    body = (
        '<rss version="2.0"><channel><title>t</title><item><title>x</title><link>https://news.example/d</link>'
        + "<div>" * depth + "</div>" * depth + "</item></channel></rss>"
    )
    polled = poll(_write(tmp_path, "deep.xml", body))  # unguarded: 37 s for 100k
    assert polled.seconds < 5 and polled.peak_bytes < 50_000_000
    assert polled.outcome.result == "error" and polled.outcome.error_kind == "not-a-feed"
    assert polled.health == "failing" and "nested deeper than 512" in polled.reason


def test_a_10000_item_feed_is_published_whole_within_bounds(tmp_path: Path, poll: Callable[..., Polled]) -> None:
    body = '<rss version="2.0"><channel><title>t</title>' + "".join(ITEM.format(n=n) for n in range(10_000)) + "</channel></rss>"
    polled = poll(_write(tmp_path, "big.xml", body), trace=False)  # about 10 s here, mostly feedparser
    assert polled.outcome.result == "new" and polled.outcome.published == 10_000
    assert polled.seconds < 120
    again = poll(_write(tmp_path, "big.xml", body), trace=False)
    assert again.outcome.result == "same-body" and again.seconds < 5


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, poll: Callable[..., Polled]) -> None:
    polled = poll(_write(tmp_path, "huge.xml", b"<rss>" + b" " * 5_000_000 + b"</rss>"))
    assert polled.outcome.error_kind == "too-large" and "MAX_BODY_BYTES" in polled.reason
    assert polled.peak_bytes < 3_000_000 and polled.health == "failing"


def test_a_streamed_body_over_the_limit_is_cut_off(httpserver: HTTPServer, poll: Callable[..., Polled]) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(800):  # 52 MB without a Content-Length
            yield b"<!-- " + b"x" * 65_000 + b" -->"

    httpserver.expect_request("/big").respond_with_handler(lambda _req: Response(chunks()))
    polled = poll(httpserver.url_for("/big"))
    assert polled.outcome.error_kind == "too-large" and polled.peak_bytes < 30_000_000  # server thread included


def test_a_gzip_bomb_is_cut_off(httpserver: HTTPServer, poll: Callable[..., Polled]) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 200_000_000, compresslevel=9)  # 200 MB inflated, ~200 kB sent
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    polled = poll(httpserver.url_for("/bomb"))
    assert polled.outcome.error_kind == "too-large" and "decompressed body exceeds" in polled.reason
    assert polled.peak_bytes < 30_000_000 and polled.seconds < 10  # the test's server thread included
