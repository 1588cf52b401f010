"""Canonical URLs and ids: the same story gets one id however it is linked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswatch import article_id, canonical_url


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("https://Example.com/story", "https://example.com/story", id="host-case"),
        pytest.param("HTTPS://example.com/story", "https://example.com/story", id="scheme-case"),
        pytest.param("https://example.com:443/story", "https://example.com/story", id="default-port"),
        pytest.param("http://example.com:80/story", "https://example.com/story", id="http-default-port"),
        pytest.param("https://example.com/story/", "https://example.com/story", id="trailing-slash"),
        pytest.param("https://example.com/story#comments", "https://example.com/story", id="fragment"),
        pytest.param("https://example.com/story?utm_source=rss&utm_medium=feed", "https://example.com/story", id="utm"),
        pytest.param("https://example.com/s?b=2&fbclid=x&a=1", "https://example.com/s?a=1&b=2", id="sorted-no-fbclid"),
        pytest.param("https://www.example.com/story", "https://example.com/story", id="www"),
    ],
)
def test_equivalent_urls_share_canonical_form_and_id(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)
    assert article_id(a) == article_id(b)


def test_meaningful_query_and_path_change_the_id() -> None:
    assert article_id("https://example.com/s?id=1") != article_id("https://example.com/s?id=2")
    assert article_id("https://example.com/a") != article_id("https://example.com/b")


def test_non_default_port_is_kept() -> None:
    assert canonical_url("https://example.com:8443/x") == "https://example.com:8443/x"


def test_guid_fallback_is_scoped_to_the_feed() -> None:
    one = article_id(None, "item-1", "https://a.example/feed")
    assert one == article_id(None, "item-1", "https://a.example/feed")
    assert one != article_id(None, "item-1", "https://b.example/feed")
    with pytest.raises(ValueError, match="link or a guid"):
        article_id(None, None)


def test_id_is_short_hex() -> None:
    ident = article_id("https://example.com/x")
    assert len(ident) == 32
    int(ident, 16)


_paths = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=8), max_size=4)
_params = st.dictionaries(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6),
                          st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=6), max_size=4)


@st.composite
def urls(draw: st.DrawFn) -> str:
    host = draw(st.sampled_from(["example.com", "News.Example.org", "WWW.bbc.co.uk", "127.0.0.1:8080"]))
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    path = "/".join(draw(_paths))
    params = draw(_params)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    frag = draw(st.sampled_from(["", "#top", "#x=1"]))
    return f"{scheme}://{host}/{path}" + (f"?{query}" if query else "") + frag


@given(urls())
def test_canonicalisation_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(urls(), st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8))
def test_tracking_parameters_never_change_the_id(url: str, campaign: str) -> None:
    sep = "&" if "?" in url.split("#")[0] else "?"
    base, _, frag = url.partition("#")
    tracked = f"{base}{sep}utm_campaign={campaign}&gclid={campaign}" + (f"#{frag}" if frag else "")
    assert article_id(tracked) == article_id(url)
