"""The collectors package surface is pinned: the CLI depends on these names."""

from __future__ import annotations

import collectors

EXPECTED = {
    "ArchiveEntry",
    "ArchiveStats",
    "FeedSummary",
    "PruneResult",
    "RawArchive",
    "ImportReport",
    "Snapshot",
    "find_snapshots",
    "import_snapshots",
    "ReplayMemory",
    "ReplayStep",
    "replay_entries",
    "retention_from",
    "Collector",
    "FeedDocument",
    "FeedScheduler",
    "FeedState",
    "FeedStateStore",
    "FeedStatus",
    "FetchResult",
    "Fetcher",
    "HostPoliteness",
    "ParseResult",
    "PollOutcome",
    "SeenIds",
    "add_feed",
    "export_opml",
    "import_opml",
    "load_feeds",
    "parse_entry",
    "parse_feed",
    "plan_next_poll",
    "remove_feed",
    "resolve_feed_url",
    "save_feeds",
}


def test_all_is_pinned_and_resolvable() -> None:
    assert set(collectors.__all__) == EXPECTED
    assert [name for name in collectors.__all__ if not hasattr(collectors, name)] == []
