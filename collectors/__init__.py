"""Stage 1: feeds -> Article records on `news.raw` (fetch, parse, dedup, schedule).

The CLI imports this root only; the names in `__all__` are the stable surface.
"""

from collectors.archive import (
    ArchiveEntry,
    ArchiveStats,
    FeedSummary,
    PruneResult,
    RawArchive,
    retention_from,
)
from collectors.archive_import import ImportReport, Snapshot, find_snapshots, import_snapshots
from collectors.decode import FeedDocument
from collectors.feedlist import (
    add_feed,
    export_opml,
    import_opml,
    load_feeds,
    remove_feed,
    resolve_feed_url,
    save_feeds,
)
from collectors.fetch import Fetcher, FetchResult
from collectors.hosts import HostPoliteness
from collectors.parse import ParseResult, parse_feed
from collectors.replay import ReplayMemory, ReplayStep, parse_entry, replay_entries
from collectors.schedule import FeedScheduler, plan_next_poll
from collectors.service import Collector, PollOutcome
from collectors.state import FeedState, FeedStateStore, SeenIds
from collectors.status import FeedStatus

__all__ = [
    "ArchiveEntry",
    "ArchiveStats",
    "Collector",
    "FeedDocument",
    "FeedScheduler",
    "FeedState",
    "FeedStateStore",
    "FeedStatus",
    "FeedSummary",
    "FetchResult",
    "Fetcher",
    "HostPoliteness",
    "ImportReport",
    "ParseResult",
    "PollOutcome",
    "PruneResult",
    "RawArchive",
    "ReplayMemory",
    "ReplayStep",
    "SeenIds",
    "Snapshot",
    "add_feed",
    "export_opml",
    "find_snapshots",
    "import_opml",
    "import_snapshots",
    "load_feeds",
    "parse_entry",
    "parse_feed",
    "plan_next_poll",
    "remove_feed",
    "replay_entries",
    "resolve_feed_url",
    "retention_from",
    "save_feeds",
]
