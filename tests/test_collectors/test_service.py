"""Collector end to end on a real EmbeddedBus: dedup, validators, failures, back-off and status rows."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from collectors import Collector
from collectors.service import dedup
from newswatch import Article, BusUnavailableError, EmbeddedBus, FeedSpec, Settings, topics

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
Keys = Callable[[], list[str | None]]


def rss(*items: tuple[str, str]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{link}</link></item>" for t, link in items)
    return f'<rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'.encode()


def test_published_records_are_articles_keyed_by_id(
    collector: Collector, bus: EmbeddedBus, feed_file: Callable[[str], Path]
) -> None:
    outcome = collector.poll_feed(FeedSpec(url=str(feed_file("html_summary.xml"))), now=NOW)
    assert (outcome.result, outcome.published) == ("new", 1)
    consumer = bus.consumer("check", [topics.RAW], start="earliest")
    (record,) = consumer.poll(timeout_s=0.1)
    consumer.close()
    article = Article.model_validate_json(record.value)
    assert record.key == article.article_id and article.title == "Tariffs & trade: what changes"


def test_repoll_of_unchanged_file_publishes_nothing(
    collector: Collector, raw_keys: Keys, feed_file: Callable[[str], Path]
) -> None:
    spec = FeedSpec(url=feed_file("no_dates_no_guids.xml").as_uri())
    first = collector.poll_feed(spec, now=NOW)
    second = collector.poll_feed(spec, now=NOW + timedelta(minutes=20))
    assert (first.published, second.result, second.published) == (3, "same-body", 0)
    assert len(raw_keys()) == 3


def test_changed_body_publishes_only_the_new_item(
    collector: Collector, raw_keys: Keys, tmp_path: Path
) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(rss(("one", "https://e.example/1"), ("two", "https://e.example/2")))
    spec = FeedSpec(url=str(path))
    collector.poll_feed(spec, now=NOW)
    path.write_bytes(
        rss(
            ("three", "https://e.example/3"),
            ("one", "https://e.example/1?utm_source=x"),
            ("two", "https://e.example/2"),
        )
    )
    outcome = collector.poll_feed(spec, now=NOW + timedelta(minutes=20))
    assert (outcome.result, outcome.found, outcome.published, outcome.duplicates) == (
        "new",
        3,
        1,
        2,
    )
    assert len(raw_keys()) == 3


def test_same_story_in_two_feeds_is_published_once(
    collector: Collector, raw_keys: Keys, feed_file: Callable[[str], Path]
) -> None:
    a, b = (FeedSpec(url=str(feed_file(n))) for n in ("story_in_feed_a.xml", "story_in_feed_b.xml"))
    outcomes = collector.poll_all(
        [a, b], now=NOW
    )  # in parallel: either feed may win the shared story
    assert sorted(o.published for o in outcomes) == [1, 2]
    assert sum(o.duplicates for o in outcomes) == 1
    assert len(raw_keys()) == len(set(raw_keys())) == 3


def test_later_feed_with_a_known_story_publishes_only_its_own(
    collector: Collector, raw_keys: Keys, feed_file: Callable[[str], Path]
) -> None:
    first = collector.poll_feed(FeedSpec(url=str(feed_file("story_in_feed_a.xml"))), now=NOW)
    second = collector.poll_feed(FeedSpec(url=str(feed_file("story_in_feed_b.xml"))), now=NOW)
    assert (first.published, second.published, second.duplicates) == (2, 1, 1)
    assert len(raw_keys()) == 3


def test_same_story_twice_in_one_feed_is_published_once(
    collector: Collector, raw_keys: Keys, feed_file: Callable[[str], Path]
) -> None:
    outcome = collector.poll_feed(FeedSpec(url=str(feed_file("duplicate_items.xml"))), now=NOW)
    assert (outcome.found, outcome.published) == (2, 1)
    assert len(raw_keys()) == 1


def test_dedup_keeps_first_occurrence() -> None:
    mk = lambda title, link: Article.create(
        link=link, title=title, published_at=NOW, fetched_at=NOW
    )
    batch = [
        mk("a", "https://e.example/a"),
        mk("a again", "https://e.example/a#x"),
        mk("b", "https://e.example/b"),
    ]
    assert [a.title for a in dedup(batch, seen={batch[2].article_id})] == ["a"]


def test_directory_of_snapshots_is_one_feed(
    collector: Collector, raw_keys: Keys, feed_file: Callable[[str], Path], tmp_path: Path
) -> None:
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for name in ("story_in_feed_a.xml", "story_in_feed_b.xml", "html_error_page.xml"):
        shutil.copy(feed_file(name), snapshots / name)
    outcome = collector.poll_feed(FeedSpec(url=str(snapshots)), now=NOW)
    assert (outcome.result, outcome.status, outcome.published) == ("new", "partial", 3)
    assert "3 documents" in outcome.reason and "not-a-feed" in outcome.reason
    assert len(raw_keys()) == 3


def test_etag_304_and_same_body_are_counted_separately(
    collector: Collector, httpserver: HTTPServer, raw_keys: Keys
) -> None:
    body = rss(("one", "https://e.example/1"))
    versions = iter(
        ['"v1"', '"v1"', '"v2"']
    )  # v2: a new ETag on the very same body (validators lie)

    def handler(request: Request) -> Response:
        etag = next(versions)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, headers={"ETag": etag}, content_type="application/rss+xml")

    httpserver.expect_request("/feed").respond_with_handler(handler)
    spec = FeedSpec(url=httpserver.url_for("/feed"), name="wire-validators")
    results = [collector.poll_feed(spec, now=NOW + timedelta(minutes=i)).result for i in range(3)]
    assert results == ["new", "not-modified", "same-body"]
    fetches = {  # issue 8: the same three outcomes per feed on /metrics
        o: REGISTRY.get_sample_value(
            "newswatch_feed_fetches_total", {"feed": spec.name, "outcome": o}
        )
        for o in results
    }
    assert fetches == {"new": 1, "not-modified": 1, "same-body": 1}
    (row,) = collector.feed_statuses([spec])
    assert (row.polls_new, row.polls_not_modified, row.polls_same_body, row.articles_published) == (
        1,
        1,
        1,
        1,
    )
    assert (row.health, row.name) == ("ok", "wire-validators")
    assert len(raw_keys()) == 1


def test_429_records_retry_after_without_failure_weight(
    collector: Collector, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "busy", status=429, headers={"Retry-After": "120"}
    )
    spec = FeedSpec(url=httpserver.url_for("/feed"))
    outcome = collector.poll_feed(spec, now=NOW)
    assert (outcome.result, outcome.error_kind, outcome.retry_after_s) == (
        "error",
        "rate-limited",
        120.0,
    )
    assert outcome.next_poll_at == NOW + timedelta(seconds=120)
    (row,) = collector.feed_statuses([spec])
    assert (row.health, row.failure_weight, row.last_error_kind) == ("failing", 0.0, "rate-limited")


def test_ssrf_refused_through_the_collector(
    settings_factory: Callable[..., Settings],
    bus: EmbeddedBus,
    httpserver: HTTPServer,
    raw_keys: Keys,
) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss(("x", "https://e.example/x")))
    collector = Collector(settings_factory(allow_private_hosts=False), bus)
    outcome = collector.poll_feed(FeedSpec(url=f"http://127.0.0.1:{httpserver.port}/feed"), now=NOW)
    collector.close()
    assert (outcome.result, outcome.error_kind) == ("error", "blocked")
    assert raw_keys() == [] and httpserver.log == []


def test_failing_feed_backs_off_shows_why_then_parks_and_resets(
    collector: Collector, feed_file: Callable[[str], Path]
) -> None:
    spec = FeedSpec(url=str(feed_file("html_error_page.xml")), name="broken-parked")
    delays = []
    for i in range(5):
        outcome = collector.poll_feed(spec, now=NOW + timedelta(hours=i))
        delays.append((outcome.next_poll_at - outcome.polled_at).total_seconds())
    assert delays == sorted(delays) and delays[-1] == collector.settings.schedule.max_backoff_s
    errors = {"feed": spec.name, "outcome": "error:not-a-feed"}  # the error kind, on /metrics
    assert REGISTRY.get_sample_value("newswatch_feed_fetches_total", errors) == 5
    (row,) = collector.feed_statuses([spec])
    assert (row.health, row.consecutive_failures, row.last_error_kind) == (
        "parked",
        5,
        "not-a-feed",
    )
    assert "HTML page" in row.reason and "newswatch feeds reset" in row.reason
    collector.reset_feed(spec.url)
    (row,) = collector.feed_statuses([spec])
    assert (row.health, row.consecutive_failures, row.polls_error) == ("ok", 0, 5)


def test_recovery_after_failure_and_never_polled_rows(collector: Collector, tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    spec, fresh, off = (
        FeedSpec(url=str(path)),
        FeedSpec(url="https://new.example/rss"),
        FeedSpec(url="x", enabled=False),
    )
    assert collector.poll_feed(spec, now=NOW).error_kind == "not-found"
    path.write_bytes(rss(("one", "https://e.example/1")))
    assert collector.poll_feed(spec, now=NOW + timedelta(hours=1)).published == 1
    rows = collector.feed_statuses([spec, fresh, off])
    assert [r.health for r in rows] == ["ok", "never-polled", "disabled"]
    assert [r.url for r in collector.feed_statuses()] == [
        spec.url
    ]  # without specs: every feed ever polled


class FlakyBus:
    """The real EmbeddedBus whose next `fail` flushes raise, as a broker outage would."""

    def __init__(self, inner: EmbeddedBus, fail: int) -> None:
        self.inner, self.fail = inner, fail

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def flush(self, timeout_s: float | None = None) -> None:
        if self.fail:
            self.fail -= 1
            self.inner._pending.clear()  # what a failed produce leaves: nothing durable
            raise BusUnavailableError("broker down (injected)")
        self.inner.flush(timeout_s)


def test_bus_failure_marks_nothing_seen_and_the_next_poll_publishes(
    settings: Settings, bus: EmbeddedBus, raw_keys: Keys, feed_file: Callable[[str], Path]
) -> None:
    collector = Collector(settings, FlakyBus(bus, fail=1), rng=random.Random(1))  # type: ignore[arg-type]
    spec = FeedSpec(url=str(feed_file("story_in_feed_a.xml")))
    failed = collector.poll_feed(spec, now=NOW)
    assert (failed.result, failed.error_kind) == ("error", "bus")
    assert collector.state.get(spec.url).body_hash is None  # not "same-body" next time
    retried = collector.poll_feed(spec, now=NOW + timedelta(minutes=5))
    collector.close()
    assert (retried.result, retried.published) == ("new", 2)
    assert len(raw_keys()) == 2


def test_poll_all_skips_disabled_and_keeps_order(
    collector: Collector, feed_file: Callable[[str], Path]
) -> None:
    feeds = [
        FeedSpec(url=str(feed_file("no_items.xml"))),
        FeedSpec(url="off", enabled=False),
        FeedSpec(url=str(feed_file("story_in_feed_b.xml"))),
    ]
    outcomes = collector.poll_all(feeds, now=NOW)
    assert [(o.feed_url, o.result, o.status) for o in outcomes] == [
        (feeds[0].url, "new", "empty"),
        (feeds[2].url, "new", "ok"),
    ]


@pytest.mark.parametrize("failures", [0, 3])
def test_next_poll_is_stored_for_the_scheduler(
    collector: Collector, tmp_path: Path, failures: int
) -> None:
    spec = FeedSpec(url=str(tmp_path / ("missing.xml" if failures else "feed.xml")))
    if not failures:
        (tmp_path / "feed.xml").write_bytes(rss(("one", "https://e.example/1")))
    outcome = collector.poll_feed(spec, now=NOW)
    assert collector.next_poll_at(spec) == outcome.next_poll_at > NOW


def test_poll_feed_never_raises_even_on_an_unexpected_error(collector: Collector) -> None:
    class BrokenFetcher:
        def fetch(self, url: str, **kw: object) -> object:
            raise RuntimeError("bug in a fetch path")

        def close(self) -> None:
            pass

    collector.fetcher = BrokenFetcher()  # type: ignore[assignment]
    outcome = collector.poll_feed(FeedSpec(url="https://e.example/rss"), now=NOW)
    assert (outcome.result, outcome.error_kind) == ("error", "internal")
    assert "bug in a fetch path" in outcome.reason and outcome.next_poll_at > NOW
