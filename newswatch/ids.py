"""Canonical URLs and article ids: the same story from two feeds or two polls gets one id.

The id is the Kafka message key and the Elasticsearch `_id`, so retries and replays rewrite
the same document instead of adding a copy.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from url_normalize import url_normalize

# Query parameters that identify a campaign or a click, never the story itself.
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "itm_", "at_")
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mkt_tok",
        "ref", "ref_src", "referrer", "cmpid", "cmp", "ocid", "ns_mchannel", "ns_source",
        "ns_campaign", "ns_linkname", "ns_fee", "smid", "smtyp", "rss", "cid", "src",
        "__twitter_impression", "_ga", "_gl", "ito", "xtor", "CMP", "feedType", "feedName",
    }
)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in {p.lower() for p in TRACKING_PARAMS} or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """Lossy normalisation: lower-case scheme/host, no default port, fragment, tracking params
    or trailing slash; remaining query parameters sorted. Idempotent."""
    url = url.strip()
    if not url:
        raise ValueError("cannot canonicalise an empty URL")
    normalized = url_normalize(url, default_scheme="https") or url
    parts = urlsplit(normalized)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    port = parts.port
    netloc = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    if scheme == "http":
        scheme = "https"  # the same story is served on both; one id for both
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query = urlencode(sorted(query_pairs))
    path = parts.path.rstrip("/") if parts.path not in ("", "/") else ""
    return urlunsplit((scheme, netloc, path, query, ""))


def stable_hash(text: str) -> str:
    """A 32-hex-character SHA-256 prefix: short, URL-safe, valid as Kafka key and ES id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def article_id(url: str | None, guid: str | None = None, feed_url: str = "") -> str:
    """Id from the canonical URL; items without a link fall back to their GUID within the feed."""
    if url:
        try:
            return stable_hash(canonical_url(url))
        except ValueError:
            pass
    if guid:
        return stable_hash(f"guid:{feed_url}|{guid.strip()}")
    raise ValueError("an article needs a link or a guid to get an id")
