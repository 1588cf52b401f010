"""Feed bytes + response headers -> Articles, via feedparser; never raises, never does I/O.

A broken document keeps whatever parses and says why in `ParseResult.status` / `reason`:
"ok" (a clean feed), "partial" (malformed XML or dropped items), "not-a-feed" (an HTML page,
garbage), "empty" (no bytes, or a feed with no items).
"""

from __future__ import annotations

import calendar
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser

from collectors.text import html_to_text, normalise_space
from newswatch import Article, stable_hash

log = logging.getLogger("collectors.parse")

ParseStatus = Literal["ok", "partial", "not-a-feed", "empty"]
PublishedSource = Literal["feed", "inferred"]
FUTURE_TOLERANCE = timedelta(days=1)
"""A date further than this past the fetch time is a feed bug; we use the fetch time instead."""
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_DATE_KEYS = ("published_parsed", "updated_parsed", "created_parsed")
MAX_DEPTH = 512
"""Deeper raw markup is refused before parsing: feedparser's cost grows faster than linearly with
depth (20,000 nested tags take seconds, 100,000 over half a minute); real feeds nest a few dozen."""
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[(.*?)\]\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(rb"<(/?)([A-Za-z][\w:.-]*)[^<>]*?(/?)>")
_VOID = frozenset(
    b"area base br col embed hr img input link meta param source track wbr".split()
)


def strip_entity_declarations(body: bytes) -> tuple[bytes, bool]:
    """The body without a DOCTYPE internal subset that declares entities (billion laughs, XXE), and
    whether one was removed. Undeclared references then stay inert text; the rest still parses."""
    doctype = _DOCTYPE_SUBSET.search(body[: 1024 * 1024])
    if doctype and b"<!ENTITY" in doctype.group(1).upper():
        return body[: doctype.start()] + body[doctype.end() :], True
    return body, False


def refuse_hostile(body: bytes) -> str | None:
    """Why a document must not reach the XML parser, or None: absurd nesting. A cheap byte scan,
    linear in the size, which the fetch already capped."""
    depth = 0
    for found in _TAG.finditer(body):
        closing, name, self_closing = found.groups()
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name.lower() not in _VOID:
            depth += 1
            if depth > MAX_DEPTH:
                return f"refused: markup nested deeper than {MAX_DEPTH} levels (a parser-exhaustion document); check the feed URL"
    return None


@dataclass(frozen=True)
class ParseResult:
    """Articles found in one document, how well the document parsed, and why."""

    articles: tuple[Article, ...]
    status: ParseStatus
    reason: str
    bozo: bool = False
    feed_title: str = ""
    skipped: int = 0


def resolve_published(
    parsed: time.struct_time | tuple[int, ...] | None, fetched_at: datetime
) -> tuple[datetime, PublishedSource]:
    """The feed's date in UTC, or the fetch time ("inferred") when it is missing, invalid or in the future."""
    fetched_at = fetched_at.astimezone(UTC)
    if parsed is None:
        return fetched_at, "inferred"
    try:
        when = datetime.fromtimestamp(calendar.timegm(tuple(parsed)[:6] + (0, 0, 0)), UTC)  # type: ignore[arg-type]
    except (OverflowError, ValueError, OSError, TypeError):
        return fetched_at, "inferred"
    if when > fetched_at + FUTURE_TOLERANCE:
        return fetched_at, "inferred"
    return when, "feed"


def derived_guid(title: str, summary: str) -> str:
    """A stand-in GUID for items with neither link nor guid, so a re-poll still dedups them."""
    return "derived:" + stable_hash(f"{title.strip()}\n{summary.strip()}")


def _usable_link(link: str) -> bool:
    """An absolute web link (cheap check; the costly canonicalisation happens once, in Article.create)."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _text_of(detail: Mapping[str, Any] | None, fallback: str = "") -> str:
    """Plain text from a feedparser text construct (HTML stripped only when it is HTML)."""
    if not detail:
        return normalise_space(html_to_text(fallback)) if fallback else ""
    value = str(detail.get("value", "") or "")
    if str(detail.get("type", "")).lower() == "text/plain":
        return normalise_space(value)
    return html_to_text(value)


def _language(entry: Mapping[str, Any], feed: Mapping[str, Any]) -> str:
    """Primary language subtag, lower-cased ("en-US" -> "en"); "" when unknown or malformed."""
    detail = entry.get("summary_detail") or entry.get("title_detail") or {}
    raw = str(detail.get("language") or feed.get("language") or "").strip()
    primary = raw.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else ""


def _outlet(given: str, feed: Mapping[str, Any], feed_url: str) -> str:
    """FeedSpec.outlet, else the feed's title, else the host of the feed (or its site link)."""
    if given:
        return given
    title = normalise_space(str(feed.get("title", "") or ""))
    if title:
        return title
    host = urlsplit(feed_url).hostname or urlsplit(str(feed.get("link", "") or "")).hostname or ""
    return host.removeprefix("www.")


def _link_base(feed_url: str, feed: Mapping[str, Any]) -> str:
    """Base for relative item links: the feed URL if it is on the web, else the feed's site link."""
    if urlsplit(feed_url).scheme in ("http", "https"):
        return feed_url
    site = str(feed.get("link", "") or "")
    return site if urlsplit(site).scheme in ("http", "https") else feed_url


def _build_article(entry: Mapping[str, Any], ctx: dict[str, Any]) -> Article | None:
    """One feedparser entry -> Article; None when it has nothing to identify or show."""
    title = _text_of(entry.get("title_detail"), str(entry.get("title", "") or ""))
    summary = _text_of(entry.get("summary_detail"), str(entry.get("summary", "") or ""))
    contents = entry.get("content") or []
    text = "\n\n".join(t for t in (_text_of(c) for c in contents) if t) or summary
    link = str(entry.get("link", "") or "").strip()
    link = urljoin(ctx["base"], link) if link else ""
    link = link if _usable_link(link) else ""
    guid = str(entry.get("id", "") or "").strip()
    if not link and not guid:
        if not (title or summary):
            return None
        guid = derived_guid(title, summary)
    # dict.get, not FeedParserDict.get: the latter maps updated->published with a DeprecationWarning
    parsed = next((dict.get(entry, k) for k in _DATE_KEYS if dict.get(entry, k)), None)
    published_at, source = resolve_published(parsed, ctx["fetched_at"])
    authors = [
        str(a.get("name", "")).strip()
        for a in entry.get("authors", []) or []
        if isinstance(a, Mapping)
    ]
    categories = [
        str(t.get("term") or t.get("label") or "").strip() for t in entry.get("tags", []) or []
    ]
    fields: dict[str, Any] = {
        "feed_url": ctx["feed_url"],
        "title": title,
        "summary": summary,
        "text": text,
        "published_at": published_at,
        "published_source": source,
        "fetched_at": ctx["fetched_at"],
        "outlet": ctx["outlet"],
        "language": _language(entry, ctx["feed"]),
        "authors": tuple(dict.fromkeys(a for a in authors if a)),
        "categories": tuple(dict.fromkeys(c for c in categories if c)),
    }
    try:
        return Article.create(link=link, guid=guid, **fields)
    except ValueError:  # the link would not canonicalise and there is no guid to fall back on
        return Article.create(link="", guid=guid or derived_guid(title, summary), **fields)


def _looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    head = body[:2048].lower()
    return (
        content_type.split(";")[0].strip().lower() in _HTML_TYPES
        or b"<!doctype html" in head
        or b"<html" in head
    )


def _not_a_feed_reason(body: bytes, headers: Mapping[str, str], parsed: Any) -> str:
    """Say what the document seems to be instead of a feed, and what to check."""
    if _looks_like_html(body, headers):
        return "the server returned an HTML page, not RSS/Atom (an error or login page?); check the feed URL"
    exc = parsed.get("bozo_exception")
    detail = f" ({type(exc).__name__}: {exc})" if exc else ""
    return f"no RSS/Atom/RDF feed found in {len(body)} bytes{detail}; check the feed URL"


def parse_feed(
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    feed_url: str,
    fetched_at: datetime,
    outlet: str = "",
) -> ParseResult:
    """Parse one feed document; always returns a ParseResult, whatever the bytes are."""
    headers = dict(headers or {})
    if not body.strip():
        return ParseResult(
            (),
            "empty",
            f"empty body ({len(body)} bytes): the server sent nothing; retry later or check the URL",
        )
    refusal = refuse_hostile(body)
    if refusal:
        return ParseResult((), "not-a-feed", refusal, bozo=True)
    body, stripped = strip_entity_declarations(body)
    try:
        parsed = feedparser.parse(body, response_headers=headers, resolve_relative_uris=False)
    except Exception as exc:  # noqa: BLE001 - feedparser promises bozo, not raises; safety net
        log.warning("feedparser raised on %s: %r", feed_url, exc)
        return ParseResult((), "not-a-feed", f"parser error {type(exc).__name__}: {exc}", bozo=True)
    result = _collect(body, headers, parsed, feed_url=feed_url, fetched_at=fetched_at, outlet=outlet)
    if not stripped:
        return result
    status: ParseStatus = "partial" if result.status == "ok" else result.status
    note = "entity declarations in the DOCTYPE ignored (entity expansion / external entities are never resolved)"
    return replace(result, status=status, reason=f"{result.reason}; {note}", bozo=True)


def _collect(
    body: bytes,
    headers: Mapping[str, str],
    parsed: Any,
    *,
    feed_url: str,
    fetched_at: datetime,
    outlet: str,
) -> ParseResult:
    """Build articles from a feedparser result and judge the document."""
    feed = parsed.get("feed", {}) or {}
    bozo = bool(parsed.get("bozo"))
    entries = parsed.get("entries", []) or []
    title = normalise_space(str(feed.get("title", "") or ""))
    if not entries and not parsed.get("version"):
        return ParseResult(
            (), "not-a-feed", _not_a_feed_reason(body, headers, parsed), bozo=bozo, feed_title=title
        )
    ctx = {
        "feed": feed,
        "feed_url": feed_url,
        "fetched_at": fetched_at.astimezone(UTC),
        "outlet": _outlet(outlet, feed, feed_url),
        "base": _link_base(feed_url, feed),
    }
    articles: list[Article] = []
    blank = 0
    errors: list[str] = []
    for entry in entries:
        try:
            article = _build_article(entry, ctx)
        except Exception as exc:  # noqa: BLE001 - one odd item must not cost the rest of the feed
            log.debug("skipping an item of %s: %r", feed_url, exc)
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if article is None:
            blank += 1
        else:
            articles.append(article)
    status, reason = _judge(parsed, len(articles), blank, errors)
    return ParseResult(
        tuple(articles), status, reason, bozo=bozo, feed_title=title, skipped=blank + len(errors)
    )


def _judge(parsed: Any, kept: int, blank: int, errors: list[str]) -> tuple[ParseStatus, str]:
    """Status and a human-readable reason from the bozo flag and the item counts."""
    exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    malformed = exc is not None and not isinstance(exc, _BENIGN_BOZO)
    version = parsed.get("version") or "unknown format"
    if kept == 0 and blank == 0 and not errors:
        return "empty", f"{version} feed with no items"
    notes = []
    if malformed:
        notes.append(f"malformed document, parsed leniently ({type(exc).__name__}: {exc})")
    if blank:
        notes.append(f"{blank} item(s) without link, guid, title or summary skipped")
    if errors:
        notes.append(f"{len(errors)} item(s) unreadable (first: {errors[0]})")
    if kept == 0:
        return "partial", "; ".join(notes) + "; no usable items"
    if notes:
        return "partial", f"{kept} item(s) kept; " + "; ".join(notes)
    encoding = f" (encoding note: {exc})" if exc is not None else ""
    return "ok", f"{kept} item(s) from {version}{encoding}"
