"""The collector half of a replay: archived bodies -> the articles a live collector would have published.

Each archived fetch is parsed exactly as `Collector.poll_feed` parses a new body, with the
snapshot time as the fetch time (so published-time inference and the future-date guard see the
clock of the day), and deduplicated against everything earlier in the same replay, never
against the live collector's memory. Every article carries `replay_run`, so no later stage can
mistake it for live traffic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from collectors.archive import ArchiveEntry, RawArchive
from collectors.parse import ParseResult, parse_feed
from collectors.service import dedup
from newswatch import Article


@dataclass(frozen=True)
class ReplayStep:
    """One archived fetch replayed: the parse result and the articles that were new at that time."""

    entry: ArchiveEntry
    parsed: ParseResult
    fresh: tuple[Article, ...]

    @property
    def duplicates(self) -> int:
        """Items of this fetch already published earlier in the replay."""
        return len(self.parsed.articles) - len(self.fresh)


@dataclass
class ReplayMemory:
    """What a replay has seen so far: ids published, and how often each was seen again later."""

    seen: set[str] = field(default_factory=set)
    resightings: Counter[str] = field(default_factory=Counter)


def replay_entries(
    archive: RawArchive,
    entries: Iterable[ArchiveEntry],
    run: str,
    memory: ReplayMemory | None = None,
) -> Iterator[ReplayStep]:
    """Parse each entry in the given order (callers pass `RawArchive.entries`, time-ordered)."""
    memory = memory if memory is not None else ReplayMemory()
    for entry in entries:
        body = archive.read(entry.sha256)
        headers = {"content-type": entry.content_type} if entry.content_type else {}
        parsed = parse_feed(
            body,
            headers=headers,
            feed_url=entry.feed_url,
            fetched_at=entry.fetched_at,
            outlet=entry.outlet,
        )
        marked = [a.model_copy(update={"replay_run": run}) for a in parsed.articles]
        fresh = dedup(marked, memory.seen)
        for article in marked:
            if article.article_id in memory.seen:
                memory.resightings[article.article_id] += 1
            memory.seen.add(article.article_id)
        yield ReplayStep(entry, parsed, tuple(fresh))
