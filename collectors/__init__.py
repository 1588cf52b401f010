"""Stage 1: feeds -> Article records on `news.raw` (fetch, parse, dedup, schedule).

The CLI imports this root only; the names in `__all__` are the stable surface.
"""

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
from collectors.schedule import FeedScheduler, plan_next_poll
from collectors.service import Collector, PollOutcome
from collectors.state import FeedState, FeedStateStore, SeenIds
from collectors.status import FeedStatus

__all__ = [
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
    "parse_feed",
    "plan_next_poll",
    "remove_feed",
    "resolve_feed_url",
    "save_feeds",
]
