"""The raw archive is shared by the collector's poll threads: concurrent adds must be safe.

Regression: one zstd compression context shared across threads crashed the process (SIGSEGV) during
`newswatch run --once`, which polls feeds from four threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from collectors.archive import RawArchive


def test_concurrent_adds_from_many_threads_store_every_body(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "archive")
    bodies = [(f"<rss><channel><title>feed {i}</title>" + "<item>x</item>" * (200 + i) + "</channel></rss>").encode() for i in range(64)]
    when = datetime.now(UTC)  # inside the retention window, so prune keeps every row
    with ThreadPoolExecutor(8) as pool:
        entries = list(pool.map(lambda b: archive.add(f"https://feeds.example/{len(b)}", b, when), bodies))
    assert [archive.read(e.sha256) for e in entries] == bodies
    archive.close()
