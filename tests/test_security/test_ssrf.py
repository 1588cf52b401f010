"""Issue 8, SSRF: feed URLs reaching loopback, private, link-local or otherwise non-public
addresses, in any spelling, are refused before a connection unless allowed; so are non-http(s)
schemes (file:// only when enabled), on the first request and on every redirect hop."""

from __future__ import annotations

import httpx
import pytest
from pytest_httpserver import HTTPServer

from collectors import Fetcher
from newswatch import FeedError, FetchSettings

PUBLIC = "93.184.216.34"


def _fetcher(app: httpx.MockTransport | None = None, *, allow_private: bool = False, allow_files: bool = True,
             dns: dict[str, list[str]] | None = None) -> Fetcher:
    table = {"public.example": [PUBLIC], **(dns or {})}
    return Fetcher(
        FetchSettings(allow_private_hosts=allow_private, allow_file_urls=allow_files, per_host_delay_s=0, timeout_s=2),
        transport=app, resolver=lambda host, port: table[host],
    )


def _recording() -> tuple[httpx.MockTransport, list[str]]:
    calls: list[str] = []

    def app(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, stream=httpx.ByteStream(b"<rss version='2.0'><channel><title>t</title></channel></rss>"))

    return httpx.MockTransport(app), calls


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1/", id="loopback"),
        pytest.param("http://127.1/", id="loopback-short-form"),
        pytest.param("http://2130706433/", id="loopback-as-decimal"),
        pytest.param("http://0x7f000001/", id="loopback-as-hex"),
        pytest.param("http://0.0.0.0/", id="unspecified"),
        pytest.param("http://[::]/", id="ipv6-unspecified"),
        pytest.param("http://[::1]:8080/", id="ipv6-loopback"),
        pytest.param("http://[::ffff:127.0.0.1]/", id="ipv4-mapped-loopback"),
        pytest.param("http://[fe80::1]/", id="ipv6-link-local"),
        pytest.param("http://[fd00::1]/", id="ipv6-unique-local"),
        pytest.param("http://169.254.169.254/latest/meta-data/", id="cloud-metadata"),
        pytest.param("http://100.64.0.1/", id="carrier-grade-nat"),
        pytest.param("http://192.168.1.1/", id="rfc1918-192"),
        pytest.param("http://172.16.0.1/", id="rfc1918-172"),
        pytest.param("http://10.1.2.3/", id="rfc1918-10"),
        pytest.param("http://224.0.0.1/", id="multicast"),
        pytest.param("http://user:pw@127.0.0.1/", id="credentials-before-loopback"),
        pytest.param("http://intranet.example/", id="name-resolving-private"),
        pytest.param("http://mixed.example/", id="name-with-one-private-address"),
    ],
)
def test_non_public_targets_are_refused_before_any_connection(url: str) -> None:
    transport, calls = _recording()
    dns = {"intranet.example": ["10.0.0.5"], "mixed.example": [PUBLIC, "127.0.0.1"], "127.1": ["127.0.0.1"],
           "2130706433": ["127.0.0.1"], "0x7f000001": ["127.0.0.1"]}
    fetcher = _fetcher(transport, dns=dns)
    with pytest.raises(FeedError) as info:
        fetcher.fetch(url)
    fetcher.close()
    assert info.value.kind == "blocked", info.value
    assert "ALLOW_PRIVATE_HOSTS" in str(info.value) and calls == []


def test_numeric_spellings_are_judged_by_the_system_resolver() -> None:
    """No fake DNS: getaddrinfo turns 2130706433 / 0x7f000001 / 127.1 into 127.0.0.1, and the guard sees that."""
    fetcher = Fetcher(FetchSettings(allow_private_hosts=False, per_host_delay_s=0, timeout_s=2))
    for url in ("http://2130706433/", "http://0x7f000001/", "http://127.1/"):
        with pytest.raises(FeedError) as info:
            fetcher.fetch(url)
        assert info.value.kind == "blocked", url
    fetcher.close()


def test_private_targets_pass_when_explicitly_allowed() -> None:
    transport, calls = _recording()
    fetcher = _fetcher(transport, allow_private=True)
    assert fetcher.fetch("http://10.1.2.3/feed").status == 200
    fetcher.close()
    assert calls == ["http://10.1.2.3/feed"]


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://public.example/feed.xml", id="ftp"),
        pytest.param("gopher://public.example/1", id="gopher"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("data:application/rss+xml,<rss/>", id="data"),
        pytest.param("dict://public.example:11211/", id="dict"),
    ],
)
def test_non_http_schemes_are_refused(url: str) -> None:
    transport, calls = _recording()
    fetcher = _fetcher(transport)
    with pytest.raises(FeedError) as info:
        fetcher.fetch(url)
    fetcher.close()
    assert info.value.kind in ("blocked", "bad-url", "not-found"), info.value
    assert calls == []


def test_file_urls_only_when_enabled(tmp_path: pytest.TempPathFactory) -> None:
    feed = tmp_path / "f.xml"  # type: ignore[operator]
    feed.write_bytes(b"<rss version='2.0'><channel><title>t</title></channel></rss>")
    assert _fetcher(allow_files=True).fetch(feed.as_uri()).status == 200
    with pytest.raises(FeedError) as info:
        _fetcher(allow_files=False).fetch(feed.as_uri())
    assert info.value.kind == "blocked"


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("http://127.0.0.1:9200/_cat/indices", id="to-loopback"),
        pytest.param("http://[::1]/", id="to-ipv6-loopback"),
        pytest.param("http://intranet.example/admin", id="to-name-resolving-private"),
        pytest.param("file:///etc/passwd", id="to-a-local-file"),
        pytest.param("gopher://public.example/", id="to-another-scheme"),
    ],
)
def test_every_redirect_hop_is_checked(location: str) -> None:
    calls: list[str] = []

    def app(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(302, headers={"Location": location})

    fetcher = _fetcher(httpx.MockTransport(app), dns={"intranet.example": ["10.0.0.5"]})
    with pytest.raises(FeedError) as info:
        fetcher.fetch("https://public.example/feed")
    fetcher.close()
    assert info.value.kind == "blocked" and calls == ["https://public.example/feed"]


def test_dns_rebinding_is_caught_at_the_connected_address(httpserver: HTTPServer) -> None:
    """The guard's lookup says public, the client's own lookup lands on loopback: nothing is kept."""
    httpserver.expect_request("/feed").respond_with_data("<rss version='2.0'><channel><title>t</title></channel></rss>")
    fetcher = Fetcher(
        FetchSettings(allow_private_hosts=False, per_host_delay_s=0, timeout_s=5),
        resolver=lambda host, port: [PUBLIC],  # first answer: public; the system then says 127.0.0.1
    )
    with pytest.raises(FeedError, match="DNS rebinding") as info:
        fetcher.fetch(f"http://localhost:{httpserver.port}/feed")
    fetcher.close()
    assert info.value.kind == "blocked"
