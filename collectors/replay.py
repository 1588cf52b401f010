"""The collector half of a replay: archived bodies -> the articles a live collector would have published.

Each archived fetch is parsed as `Collector.poll_feed` parses a new body, with the snapshot time
as the fetch time (so published-time inference and the future-date guard see the clock of the
day), and deduplicated against everything earlier in the same replay, never against the live
collector's memory. Every article carries `replay_run`, so no later stage can mistake it for
live traffic.

Speed: consecutive fetches of a feed repeat most of their items, and feedparser costs about
1.5 ms per item, so a replay first cuts a body into its `<item>`/`<entry>` elements and sends
feedparser only the channel head, the items this feed has not shown byte for byte earlier in
the replay, and the tail. A repeated item would be deduplicated anyway (same bytes, same feed:
same article id); it is counted as seen again. A body that does not cut cleanly (CDATA holding
markup, prefixed or nested elements, text between items) is parsed whole. The test suite checks
that both paths publish identical articles over the shared corpora.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import feedparser  # type: ignore[import-untyped]

from collectors.archive import ArchiveEntry, RawArchive
from collectors.parse import ParseResult, parse_feed
from collectors.service import dedup
from newswatch import Article

_OPEN = re.compile(rb"<(item|entry)(?=[\s>/])")


@dataclass(frozen=True)
class ReplayStep:
    """One archived fetch replayed: the parse result, the articles new at that time, items skipped."""

    entry: ArchiveEntry
    parsed: ParseResult
    fresh: tuple[Article, ...]
    seen_again: int = 0

    @property
    def found(self) -> int:
        """Items in the fetched body (parsed, plus those skipped as seen earlier)."""
        return len(self.parsed.articles) + self.seen_again

    @property
    def duplicates(self) -> int:
        """Items of this fetch already published earlier in the replay."""
        return self.found - len(self.fresh)


@dataclass
class ReplayMemory:
    """What a replay has seen: ids published, how often each was seen again, item bytes per feed."""

    seen: set[str] = field(default_factory=set)
    resightings: Counter[str] = field(default_factory=Counter)
    items: dict[str, str] = field(default_factory=dict)


def split_items(body: bytes) -> tuple[bytes, list[bytes], bytes] | None:
    """Head, item elements, tail; None unless the body cuts cleanly (then it is parsed whole)."""
    opens = list(_OPEN.finditer(body))
    if not opens or len({m.group(1) for m in opens}) != 1:
        return None
    closer = b"</" + opens[0].group(1) + b">"
    chunks: list[bytes] = []
    pos = opens[0].start()
    for found in opens:
        if found.start() < pos or body[pos : found.start()].strip():
            return None  # nested, overlapping, or text between items
        end = body.find(closer, found.start())
        if end < 0:
            return None
        pos = end + len(closer)
        chunk = body[found.start() : pos]
        if chunk.count(b"<![CDATA[") != chunk.count(b"]]>"):
            return None  # the closer we found sits inside a CDATA section
        chunks.append(chunk)
    if closer in body[pos:]:
        return None
    return body[: opens[0].start()], chunks, body[pos:]


def _skip_missing_libxml2() -> None:
    """Stop feedparser trying `import drv_libxml2` on every document when it is not installed.

    feedparser asks `xml.sax.make_parser` for its preferred driver first; when the module is
    absent that is a failed import searched along `sys.path` on every parse (0.3 ms, about a
    tenth of a replayed fetch's parse), and it then falls back to expat anyway. Dropping the
    preference when the module cannot be found changes nothing but the time.
    """
    preferred = feedparser.api.PREFERRED_XML_PARSERS
    if "drv_libxml2" in preferred and importlib.util.find_spec("drv_libxml2") is None:
        preferred.remove("drv_libxml2")


def _item_key(feed_url: str, chunk: bytes) -> str:
    return hashlib.sha256(feed_url.encode() + b"\0" + chunk).hexdigest()


def replay_entries(
    archive: RawArchive,
    entries: Iterable[ArchiveEntry],
    run: str,
    memory: ReplayMemory | None = None,
    *,
    skip_seen_items: bool = True,
    parse: Callable[[ArchiveEntry, bytes], ParseResult] | None = None,
) -> Iterator[ReplayStep]:
    """Parse each entry in the given order (callers pass `RawArchive.entries`, time-ordered).

    `parse` turns an entry and the bytes to parse into a ParseResult; it defaults to
    `parse_entry`, and a caller may wrap that (the CLI caches it across replays).
    """
    parse = parse or parse_entry
    _skip_missing_libxml2()
    memory = memory if memory is not None else ReplayMemory()
    for entry in entries:
        body = archive.read(entry.sha256)
        cut = split_items(body) if skip_seen_items else None
        seen_again, keys = 0, []
        if cut is not None:
            head, chunks, tail = cut
            keys = [_item_key(entry.feed_url, c) for c in chunks]
            for key in keys:
                if key in memory.items:
                    seen_again += 1
                    memory.resightings[memory.items[key]] += 1
            new = [(k, c) for k, c in zip(keys, chunks, strict=True) if k not in memory.items]
            keys = [k for k, _ in new]
            body = head + b"".join(c for _, c in new) + tail
        parsed = parse(entry, body) if cut is None or keys else _all_seen(seen_again)
        marked = [a.model_copy(update={"replay_run": run}) for a in parsed.articles]
        if len(keys) == len(marked):  # one article per item: remember which item made which
            memory.items.update((k, a.article_id) for k, a in zip(keys, marked, strict=True))
        fresh = dedup(marked, memory.seen)
        for article in marked:
            if article.article_id in memory.seen:
                memory.resightings[article.article_id] += 1
            memory.seen.add(article.article_id)
        yield ReplayStep(entry, parsed, tuple(fresh), seen_again)


def parse_entry(entry: ArchiveEntry, body: bytes) -> ParseResult:
    """`parse_feed` over archived bytes, at the entry's fetch time, with its feed URL, outlet and content type."""
    headers = {"content-type": entry.content_type} if entry.content_type else {}
    return parse_feed(
        body,
        headers=headers,
        feed_url=entry.feed_url,
        fetched_at=entry.fetched_at,
        outlet=entry.outlet,
    )


def _all_seen(count: int) -> ParseResult:
    return ParseResult((), "ok", f"all {count} items seen earlier in this replay")
