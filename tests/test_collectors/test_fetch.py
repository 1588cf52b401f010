"""Fetcher: named predicates, bounded decoding, and behaviour against a real local HTTP server."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from collectors import Fetcher
from collectors.decode import BoundedDecoder
from collectors.fetch import (
    body_hash,
    conditional_headers,
    is_not_modified,
    is_rate_limited,
    retry_after_seconds,
)
from newswatch import FeedError, FetchSettings, RetryLaterError

RSS = b'<rss version="2.0"><channel><title>T</title><item><title>a</title><link>https://e.example/a</link></item></channel></rss>'
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def fetch_settings(**overrides: object) -> FetchSettings:
    opts: dict[str, object] = {
        "allow_private_hosts": True,
        "per_host_delay_s": 0.0,
        "timeout_s": 5.0,
    }
    opts.update(overrides)
    return FetchSettings(**opts)  # type: ignore[arg-type]


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    f = Fetcher(fetch_settings())
    yield f
    f.close()


# --- pure predicates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("120", 120.0, id="delta-seconds"),
        pytest.param(" 0 ", 0.0, id="zero-padded"),
        pytest.param("Sat, 01 Jun 2024 12:05:00 GMT", 300.0, id="http-date"),
        pytest.param("Sat, 01 Jun 2024 11:00:00 GMT", 0.0, id="http-date-in-past"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("-5", None, id="negative"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, NOW) == expected


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        pytest.param(429, {}, True, id="429-always"),
        pytest.param(503, {"retry-after": "30"}, True, id="503-with-retry-after"),
        pytest.param(503, {}, False, id="503-bare-is-a-failure"),
        pytest.param(200, {"retry-after": "30"}, False, id="200"),
    ],
)
def test_is_rate_limited(status: int, headers: dict[str, str], expected: bool) -> None:
    assert is_rate_limited(status, headers) is expected


def test_small_predicates() -> None:
    assert is_not_modified(304) and not is_not_modified(200)
    assert conditional_headers('"v1"', "Sat, 01 Jun 2024 12:00:00 GMT") == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": "Sat, 01 Jun 2024 12:00:00 GMT",
    }
    assert conditional_headers(None, None) == {}
    assert body_hash([b"ab", b"c"]) != body_hash([b"a", b"bc"])  # document boundaries count


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        pytest.param("gzip", gzip.compress, id="gzip"),
        pytest.param("deflate", zlib.compress, id="deflate-zlib"),
        pytest.param("deflate", lambda b: zlib.compress(b)[2:-4], id="deflate-raw"),
        pytest.param(
            "gzip", lambda b: gzip.compress(b[:10]) + gzip.compress(b[10:]), id="gzip-multi-member"
        ),
        pytest.param("", lambda b: b, id="identity"),
    ],
)
def test_bounded_decoder_round_trips(encoding: str, compress: Callable[[bytes], bytes]) -> None:
    data = RSS * 20
    decoder = BoundedDecoder(encoding, limit=len(data), url="u")
    payload = compress(data)
    for i in range(0, len(payload), 7):  # tiny chunks exercise the streaming path
        decoder.feed(payload[i : i + 7])
    assert decoder.result() == data


def test_bounded_decoder_stops_a_bomb_at_the_cap() -> None:
    decoder = BoundedDecoder("gzip", limit=1000, url="u")
    with pytest.raises(FeedError) as info:
        decoder.feed(gzip.compress(b"\0" * 1_000_000))
    assert info.value.kind == "too-large"
    assert len(decoder.result()) <= 1001


@pytest.mark.parametrize(
    ("encoding", "payload", "kind"),
    [
        pytest.param("gzip", b"definitely not gzip", "bad-encoding", id="corrupt-gzip"),
        pytest.param("br", b"", "bad-encoding", id="unsupported-brotli"),
    ],
)
def test_bounded_decoder_rejects_bad_encodings(encoding: str, payload: bytes, kind: str) -> None:
    with pytest.raises(FeedError) as info:
        BoundedDecoder(encoding, limit=100, url="u").feed(payload)
    assert info.value.kind == kind


# --- against a real HTTP server ------------------------------------------------------------------


def test_etag_and_last_modified_give_304(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: Request) -> Response:
        seen.append(
            (request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"))
        )
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(
            RSS,
            headers={"ETag": '"v1"', "Last-Modified": "Sat, 01 Jun 2024 10:00:00 GMT"},
            content_type="application/rss+xml",
        )

    httpserver.expect_request("/feed").respond_with_handler(handler)
    first = fetcher.fetch(httpserver.url_for("/feed"))
    assert (first.status, first.documents[0].body, first.etag) == (200, RSS, '"v1"')
    second = fetcher.fetch(
        httpserver.url_for("/feed"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.not_modified and second.documents == ()
    assert seen == [(None, None), ('"v1"', "Sat, 01 Jun 2024 10:00:00 GMT")]


def test_gzip_body_is_decoded_and_headers_sent(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request(
        "/gz", headers={"Accept-Encoding": "gzip, deflate"}
    ).respond_with_data(
        gzip.compress(RSS), headers={"Content-Encoding": "gzip"}, content_type="application/rss+xml"
    )
    result = fetcher.fetch(httpserver.url_for("/gz"))
    assert result.documents[0].body == RSS
    assert (
        "content-encoding" not in result.headers
    )  # the parser gets decoded bytes and no stale encoding
    assert result.headers["content-type"] == "application/rss+xml"


def test_429_with_retry_after_raises_retry_later(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/busy").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    with pytest.raises(RetryLaterError) as info:
        fetcher.fetch(httpserver.url_for("/busy"))
    assert (info.value.after, info.value.kind) == (120.0, "rate-limited")


def test_503_without_retry_after_is_an_http_error(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/down").respond_with_data("down", status=503)
    with pytest.raises(FeedError) as info:
        fetcher.fetch(httpserver.url_for("/down"))
    assert info.value.kind == "http-error" and not isinstance(info.value, RetryLaterError)
    assert "503" in str(info.value)


@pytest.mark.parametrize(
    ("hops", "ok"),
    [pytest.param(2, True, id="within-limit"), pytest.param(3, False, id="one-too-many")],
)
def test_redirects_are_bounded(httpserver: HTTPServer, hops: int, ok: bool) -> None:
    for i in range(hops):
        httpserver.expect_request(f"/r{i}").respond_with_data(
            "", status=302, headers={"Location": f"/r{i + 1}"}
        )
    httpserver.expect_request(f"/r{hops}").respond_with_data(RSS)
    fetcher = Fetcher(fetch_settings(max_redirects=2))
    try:
        if ok:
            result = fetcher.fetch(httpserver.url_for("/r0"))
            assert result.url == httpserver.url_for(f"/r{hops}") and result.documents[0].body == RSS
        else:
            with pytest.raises(FeedError, match="more than 2 redirects") as info:
                fetcher.fetch(httpserver.url_for("/r0"))
            assert info.value.kind == "too-many-redirects"
    finally:
        fetcher.close()


def test_oversized_body_with_content_length_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    fetcher = Fetcher(fetch_settings(max_body_bytes=1000))
    with pytest.raises(FeedError, match="MAX_BODY_BYTES") as info:
        fetcher.fetch(httpserver.url_for("/big"))
    fetcher.close()
    assert info.value.kind == "too-large"


def test_oversized_chunked_body_is_cut_off_while_streaming(httpserver: HTTPServer) -> None:
    sent: list[int] = []

    def stream() -> Iterator[bytes]:
        for i in range(1000):
            sent.append(i)
            yield b"x" * 1024

    httpserver.expect_request("/stream").respond_with_handler(
        lambda _r: Response(stream())
    )  # no Content-Length
    fetcher = Fetcher(fetch_settings(max_body_bytes=10_000))
    with pytest.raises(FeedError) as info:
        fetcher.fetch(httpserver.url_for("/stream"))
    fetcher.close()
    assert info.value.kind == "too-large"


def test_gzip_bomb_ends_as_too_large(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000, compresslevel=9)  # ~20 kB on the wire, 20 MB inflated
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    fetcher = Fetcher(fetch_settings(max_body_bytes=100_000))
    with pytest.raises(FeedError, match="decompressed body exceeds") as info:
        fetcher.fetch(httpserver.url_for("/bomb"))
    fetcher.close()
    assert len(bomb) < 100_000 and info.value.kind == "too-large"


def test_loopback_refused_without_allow_private_hosts(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(RSS)
    fetcher = Fetcher(fetch_settings(allow_private_hosts=False))
    with pytest.raises(FeedError, match="ALLOW_PRIVATE_HOSTS") as info:
        fetcher.fetch(f"http://127.0.0.1:{httpserver.port}/feed")
    fetcher.close()
    assert info.value.kind == "blocked"
    assert httpserver.log == []  # refused before any connection


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://localhost/feed", id="localhost-name"),
        pytest.param("http://10.0.0.8/feed", id="rfc1918"),
        pytest.param("http://[::1]/feed", id="ipv6-loopback"),
        pytest.param("http://169.254.169.254/latest/meta-data", id="cloud-metadata"),
        pytest.param("http://[::ffff:192.168.0.1]/feed", id="ipv4-mapped-private"),
        pytest.param("ftp://ftp.example/feed.xml", id="non-http-scheme"),
    ],
)
def test_private_and_odd_targets_are_blocked(url: str) -> None:
    fetcher = Fetcher(
        fetch_settings(allow_private_hosts=False), resolver=lambda host, port: ["127.0.0.1"]
    )
    with pytest.raises(FeedError) as info:
        fetcher.fetch(url)
    fetcher.close()
    assert info.value.kind == "blocked"


def test_redirect_to_a_private_host_is_blocked_on_the_hop() -> None:
    calls: list[str] = []

    def app(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})

    resolver = {"public.example": ["93.184.216.34"]}
    fetcher = Fetcher(
        fetch_settings(allow_private_hosts=False),
        transport=httpx.MockTransport(app),
        resolver=lambda host, port: resolver[host],
    )
    with pytest.raises(FeedError, match="169.254.169.254") as info:
        fetcher.fetch("https://public.example/feed")
    fetcher.close()
    assert info.value.kind == "blocked" and calls == ["https://public.example/feed"]


def test_local_file_and_directory(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "b.rss").write_bytes(RSS)
    (tmp_path / "a.xml").write_bytes(RSS.replace(b"<title>a", b"<title>z"))
    (tmp_path / "notes.txt").write_text("ignored")
    result = fetcher.fetch(str(tmp_path))
    assert [Path(d.source).name for d in result.documents] == ["a.xml", "b.rss"]
    single = fetcher.fetch((tmp_path / "b.rss").as_uri())
    assert single.documents[0].body == RSS


@pytest.mark.parametrize(
    ("setup", "kind"),
    [
        pytest.param("missing", "not-found", id="missing-path"),
        pytest.param("empty-dir", "not-found", id="dir-without-feeds"),
        pytest.param("too-big", "too-large", id="file-over-limit"),
    ],
)
def test_local_failures(tmp_path: Path, setup: str, kind: str) -> None:
    target = tmp_path / "target"
    if setup == "empty-dir":
        target.mkdir()
    elif setup == "too-big":
        target.write_bytes(b"x" * 2000)
    fetcher = Fetcher(fetch_settings(max_body_bytes=1000))
    with pytest.raises(FeedError) as info:
        fetcher.fetch(str(target))
    fetcher.close()
    assert info.value.kind == kind


def test_file_urls_can_be_disabled(tmp_path: Path) -> None:
    (tmp_path / "f.xml").write_bytes(RSS)
    fetcher = Fetcher(fetch_settings(allow_file_urls=False))
    with pytest.raises(FeedError, match="ALLOW_FILE_URLS") as info:
        fetcher.fetch(str(tmp_path / "f.xml"))
    fetcher.close()
    assert info.value.kind == "blocked"


def test_connection_refused_is_a_network_error() -> None:
    fetcher = Fetcher(fetch_settings())
    with pytest.raises(FeedError) as info:
        fetcher.fetch("http://127.0.0.1:9/feed")  # discard port: nothing listens
    fetcher.close()
    assert info.value.kind == "network"
