"""parse_feed over edge-case fixtures, HTML-to-text, date rules, and property tests: never a crash."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import ParseResult, parse_feed
from collectors.parse import FUTURE_TOLERANCE, derived_guid, resolve_published
from collectors.text import html_to_text
from newswatch import Article

FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
STATUSES = {"ok", "partial", "not-a-feed", "empty"}


def parse_file(
    path: Path, feed_url: str = "https://feeds.example/rss", **kw: object
) -> ParseResult:
    return parse_feed(path.read_bytes(), feed_url=feed_url, fetched_at=FETCHED, **kw)  # type: ignore[arg-type]


def test_items_without_dates_or_guids_get_inferred_dates_and_derived_guid(
    feed_file: Callable[[str], Path],
) -> None:
    result = parse_file(feed_file("no_dates_no_guids.xml"))
    assert result.status == "ok"
    assert [a.published_source for a in result.articles] == ["inferred"] * 3
    assert {a.published_at for a in result.articles} == {FETCHED}
    assert (
        result.articles[0].url == "https://wire.example/news/port-strike-ends"
    )  # utm_source dropped
    linkless = result.articles[2]
    assert linkless.url == "" and linkless.guid == derived_guid(linkless.title, linkless.summary)
    assert linkless.guid.startswith("derived:")


def test_linkless_item_keeps_its_id_across_polls(feed_file: Callable[[str], Path]) -> None:
    later = parse_feed(
        feed_file("no_dates_no_guids.xml").read_bytes(),
        feed_url="https://feeds.example/rss",
        fetched_at=FETCHED + timedelta(hours=3),
    )
    assert (
        later.articles[2].article_id
        == parse_file(feed_file("no_dates_no_guids.xml")).articles[2].article_id
    )


@pytest.mark.parametrize(
    ("feed_url", "host"),
    [
        pytest.param(
            "https://mirror.example/feeds/main.atom",
            "mirror.example",
            id="http-feed-url-is-the-base",
        ),
        pytest.param(
            "file:///snapshots/feed.atom", "relative.example", id="file-feed-uses-site-link"
        ),
    ],
)
def test_relative_links_resolved(
    feed_file: Callable[[str], Path], feed_url: str, host: str
) -> None:
    result = parse_file(feed_file("relative_links.atom"), feed_url=feed_url)
    assert result.status == "ok"
    assert [a.url for a in result.articles] == [
        f"https://{host}/world/sanctions-widened",
        f"https://{host}/"
        + (
            "feeds/energy/refinery-restarts"
            if host == "mirror.example"
            else "energy/refinery-restarts"
        ),
    ]


def test_dates_converted_to_utc_and_future_or_garbled_inferred(
    feed_file: Callable[[str], Path],
) -> None:
    result = parse_file(feed_file("future_and_bad_dates.xml"))
    got = {a.title: (a.published_at, a.published_source) for a in result.articles}
    assert got == {
        "From the future": (FETCHED, "inferred"),
        "Unparseable": (FETCHED, "inferred"),
        "India time": (datetime(2024, 5, 6, 4, 30, tzinfo=UTC), "feed"),
        "No zone": (datetime(2024, 5, 6, 10, 0, tzinfo=UTC), "feed"),
    }


def test_html_error_page_is_not_a_feed_with_reason(feed_file: Callable[[str], Path]) -> None:
    result = parse_file(feed_file("html_error_page.xml"))
    assert (result.status, result.articles) == ("not-a-feed", ())
    assert "HTML page" in result.reason


def test_html_content_type_alone_marks_a_non_feed_as_html() -> None:
    result = parse_feed(
        b"<p>gateway timeout</p>",
        headers={"Content-Type": "text/html; charset=utf-8"},
        feed_url="https://x.example/rss",
        fetched_at=FETCHED,
    )
    assert result.status == "not-a-feed" and "HTML page" in result.reason


def test_truncated_feed_keeps_complete_item(feed_file: Callable[[str], Path]) -> None:
    result = parse_file(feed_file("malformed_truncated.xml"))
    assert result.status == "partial" and result.bozo
    assert "malformed" in result.reason
    assert result.articles[0].title == "Complete story"
    assert result.articles[0].summary == "All here & well formed."


def test_undeclared_latin1_decodes(feed_file: Callable[[str], Path]) -> None:
    result = parse_file(feed_file("latin1_undeclared.xml"))
    assert result.status == "ok"
    assert result.articles[0].title == "A\u00e7\u00e3o e rea\u00e7\u00e3o no caf\u00e9"
    assert "\ufffd" not in result.articles[0].summary


def test_html_stripped_and_metadata_collected(feed_file: Callable[[str], Path]) -> None:
    (article,) = parse_file(feed_file("html_summary.xml")).articles
    assert article.title == "Tariffs & trade: what changes"
    assert article.summary == "Duties rise 10% on steel & aluminium."
    assert article.text == "First paragraph \u2013 details.\n\nSecond paragraph."
    assert (article.language, article.authors, article.categories) == (
        "en",
        ("Jane Doe",),
        ("Trade", "Economy"),
    )
    assert article.guid == "markup-42" and article.published_source == "feed"


def test_feed_with_no_items_is_empty_not_an_error(feed_file: Callable[[str], Path]) -> None:
    result = parse_file(feed_file("no_items.xml"))
    assert (result.status, result.articles) == ("empty", ())
    assert "no items" in result.reason


@pytest.mark.parametrize("body", [b"", b"   \n\t "], ids=["zero-bytes", "whitespace"])
def test_empty_body(body: bytes) -> None:
    result = parse_feed(body, feed_url="https://x.example/rss", fetched_at=FETCHED)
    assert (result.status, result.articles) == ("empty", ())
    assert "empty body" in result.reason


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("Given Outlet", "Given Outlet", id="spec-outlet-wins"),
        pytest.param("", "Breaking Wire", id="feed-title"),
    ],
)
def test_outlet_choice(feed_file: Callable[[str], Path], given: str, expected: str) -> None:
    result = parse_file(feed_file("no_dates_no_guids.xml"), outlet=given)
    assert {a.outlet for a in result.articles} == {expected}


def test_outlet_falls_back_to_host_without_feed_title() -> None:
    body = b'<rss version="2.0"><channel><item><title>t</title><link>https://h.example/a</link></item></channel></rss>'
    result = parse_feed(body, feed_url="https://www.wire.example/rss", fetched_at=FETCHED)
    assert result.articles[0].outlet == "wire.example"


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        pytest.param("plain &amp; simple", "plain & simple", id="entity"),
        pytest.param("<p>one</p><p>two</p>", "one\n\ntwo", id="paragraphs"),
        pytest.param("a<br/>b", "a\nb", id="line-break"),
        pytest.param("<style>p{}</style>x<script>y()</script>", "x", id="style-and-script-dropped"),
        pytest.param("  lots   of\tspace\u00a0here ", "lots of space here", id="whitespace"),
        pytest.param("a < b and c > d", "a < b and c > d", id="bare-angle-brackets"),
        pytest.param("<p>unclosed <b>bold", "unclosed bold", id="unclosed-tags"),
    ],
)
def test_html_to_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


# --- property tests ------------------------------------------------------------------------------

aware = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.timezones()
)


@given(when=aware, fetched=aware)
def test_resolve_published_is_utc_and_never_beyond_tolerance(
    when: datetime, fetched: datetime
) -> None:
    parsed = when.astimezone(UTC).timetuple()  # what feedparser hands us: a UTC struct_time
    published, source = resolve_published(parsed, fetched)
    assert published.tzinfo == UTC
    assert published <= fetched + FUTURE_TOLERANCE
    if source == "feed":
        assert published == when.astimezone(UTC).replace(microsecond=0)
    else:
        assert published == fetched.astimezone(UTC) and when > fetched + FUTURE_TOLERANCE


@given(fields=st.tuples(*[st.integers(-(10**6), 10**6)] * 9))
def test_resolve_published_never_raises_on_garbage_struct(fields: tuple[int, ...]) -> None:
    published, source = resolve_published(time.struct_time(fields), FETCHED)
    assert published.tzinfo == UTC and source in {"feed", "inferred"}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2048))
def test_parsing_arbitrary_bytes_never_crashes(body: bytes) -> None:
    result = parse_feed(body, feed_url="https://x.example/rss", fetched_at=FETCHED)
    assert result.status in STATUSES
    assert all(isinstance(a, Article) for a in result.articles)
    assert result.reason


xml_ish = st.one_of(
    st.text(max_size=200), st.sampled_from(["<", "&", "]]>", "<b>", "&amp;", "\x00", "\ud7ff"])
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=xml_ish,
    summary=xml_ish,
    link=st.text(max_size=60),
    date=st.text(max_size=40),
    raw=st.booleans(),
)
def test_arbitrary_item_fields_never_crash(
    title: str, summary: str, link: str, date: str, raw: bool
) -> None:
    def put(value: str) -> str:
        return value if raw else escape(value)

    body = (
        f'<rss version="2.0"><channel><title>T</title><item><title>{put(title)}</title>'
        f"<link>{put(link)}</link><description>{put(summary)}</description><pubDate>{put(date)}</pubDate>"
        "</item></channel></rss>"
    ).encode("utf-8", "surrogatepass")
    result = parse_feed(body, feed_url="https://x.example/rss", fetched_at=FETCHED)
    assert result.status in STATUSES
    for article in result.articles:
        assert article.article_id and article.published_at.tzinfo == UTC
