"""Fetch feed documents: httpx with validators, size caps, bounded decompression, and local files.

A response is asked named questions (`is_not_modified`, `is_rate_limited`, `retry_after_seconds`);
every failure leaves here as a `FeedError` with a short `kind`, never as an httpx exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import httpx

from collectors.decode import BoundedDecoder, FeedDocument, local_path, read_local, too_large
from collectors.hosts import (
    HostPoliteness,
    Resolver,
    check_host_allowed,
    is_public_address,
    system_resolver,
)
from newswatch import FeedError, FetchSettings, RetryLaterError, utcnow

DEFAULT_RETRY_AFTER_S = 300.0
"""Wait used for a 429 that gives no Retry-After header."""
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DROPPED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced; `documents` is empty when the server said 304 Not Modified."""

    url: str
    status: int
    documents: tuple[FeedDocument, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """The server confirmed our validators: nothing to parse."""
        return is_not_modified(self.status)

    @property
    def body_hash(self) -> str:
        """SHA-256 over every document: detects an unchanged body when validators lie."""
        return body_hash(doc.body for doc in self.documents)


def is_not_modified(status: int) -> bool:
    """HTTP 304: our ETag / Last-Modified still match."""
    return status == 304


def is_redirect(status: int) -> bool:
    """A redirect we follow ourselves (so every hop passes the address guard)."""
    return status in _REDIRECTS


def is_rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    """429 always; 503 only when it says when to come back (otherwise it is a plain failure)."""
    return status == 429 or (status == 503 and "retry-after" in headers)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or utcnow())).total_seconds())


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """Validators to send so an unchanged feed costs a 304 instead of a body."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def body_hash(bodies: Iterable[bytes]) -> str:
    """Hex SHA-256 over the bodies in order, length-prefixed so boundaries count."""
    digest = hashlib.sha256()
    for body in bodies:
        digest.update(len(body).to_bytes(8, "big"))
        digest.update(body)
    return digest.hexdigest()


class Fetcher:
    """Fetches feed URLs under the fetch settings; one shared instance serves every feed and thread."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        politeness: HostPoliteness | None = None,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.politeness = politeness or HostPoliteness(settings.per_host_delay_s)
        self._resolve = resolver
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,
            transport=transport,
            headers={
                "User-Agent": settings.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
        )

    def close(self) -> None:
        """Release pooled connections."""
        self._client.close()

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch one feed; raises FeedError (or RetryLaterError) with a kind and a next step."""
        path = local_path(url)
        if path is not None:
            if not self.settings.allow_file_urls:
                raise FeedError(
                    f"{url}: local files are disabled (NEWSWATCH_FETCH__ALLOW_FILE_URLS=false)",
                    kind="blocked",
                )
            return FetchResult(
                url=url, status=200, documents=read_local(path, self.settings.max_body_bytes)
            )
        headers = conditional_headers(etag, last_modified)
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            target = self._check_url(current)
            self.politeness.wait(target.host)
            try:
                with self._client.stream("GET", current, headers=headers) as response:
                    self._check_peer(current, response)
                    if is_redirect(response.status_code) and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    return self._finish(current, response)
            except httpx.TimeoutException as exc:
                raise FeedError(
                    f"{current}: timed out after {self.settings.timeout_s}s ({exc!r})",
                    kind="timeout",
                ) from exc
            except httpx.HTTPError as exc:
                raise FeedError(
                    f"{current}: network error: {exc!r}; check the host is up", kind="network"
                ) from exc
        raise FeedError(
            f"{url}: more than {self.settings.max_redirects} redirects (last {current}); "
            "update the feed list to the final URL",
            kind="too-many-redirects",
        )

    def _check_url(self, url: str) -> httpx.URL:
        """Refuse bad URLs, non-http(s) schemes and private hosts before any connection."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FeedError(
                f"{url!r} is not a valid URL ({exc}); fix it in the feed list", kind="bad-url"
            ) from exc
        if target.scheme not in ("http", "https") or not target.host:
            raise FeedError(
                f"{url!r}: only http(s) URLs, file:// URLs and local paths can be fetched",
                kind="blocked",
            )
        port = target.port or (443 if target.scheme == "https" else 80)
        check_host_allowed(
            target.host,
            port,
            allow_private=self.settings.allow_private_hosts,
            resolve=self._resolve,
        )
        return target

    def _check_peer(self, url: str, response: httpx.Response) -> None:
        """Refuse a connection that landed on a non-public address although the name was checked
        (DNS rebinding: the second lookup, by the HTTP client, answered differently). The request
        has been sent by then, but nothing of the answer is read or kept."""
        if self.settings.allow_private_hosts:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer and not is_public_address(str(peer[0])):
            raise FeedError(
                f"{url}: connected to non-public address {peer[0]} after the name resolved to public "
                "ones (DNS rebinding?); refused. Set NEWSWATCH_FETCH__ALLOW_PRIVATE_HOSTS=true if this "
                "feed is on your own network",
                kind="blocked",
            )

    def _finish(self, url: str, response: httpx.Response) -> FetchResult:
        """Turn a final (non-redirect) response into a result or a FeedError."""
        status, headers = response.status_code, response.headers
        if is_not_modified(status):
            return FetchResult(
                url=url,
                status=status,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )
        if is_rate_limited(status, headers):
            after = retry_after_seconds(headers.get("retry-after"))
            after = DEFAULT_RETRY_AFTER_S if after is None else after
            raise RetryLaterError(
                f"{url}: HTTP {status}, server asks to retry in {after:.0f}s", after=after
            )
        if is_redirect(status):
            raise FeedError(
                f"{url}: HTTP {status} redirect without a Location header", kind="http-error"
            )
        if status >= 400 or status < 200:
            raise FeedError(
                f"{url}: HTTP {status} {response.reason_phrase}; check the feed URL",
                kind="http-error",
            )
        body = self._read_body(url, response)
        kept = {k: v for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS}
        return FetchResult(
            url=url,
            status=status,
            documents=(FeedDocument(source=url, body=body),),
            headers=kept,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )

    def _read_body(self, url: str, response: httpx.Response) -> bytes:
        """Stream raw bytes under the size cap and decompress them ourselves under the same cap."""
        limit = self.settings.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large(url, limit, f"declared Content-Length {declared}")
        decoder = BoundedDecoder(response.headers.get("content-encoding", ""), limit, url)
        received = 0
        for chunk in _raw_chunks(response):
            received += len(chunk)
            if received > limit:
                raise too_large(url, limit, "body")
            decoder.feed(chunk)
        return decoder.result()


def _raw_chunks(response: httpx.Response) -> Iterator[bytes]:
    """Undecoded bytes off the wire (we decode with a cap; httpx's decoder has none)."""
    yield from response.iter_raw(chunk_size=64 * 1024)
