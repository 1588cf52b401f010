"""The raw archive: content-addressed bodies, time-ordered index, retention, the collector's hook."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors import Collector, RawArchive
from newswatch import EmbeddedBus, FeedError, FeedSpec, Settings, utcnow

T0 = datetime(2020, 5, 4, 8, 0, tzinfo=UTC)
FEED_A, FEED_B = "https://a.example/rss", "https://b.example/rss"


@pytest.fixture
def archive(tmp_path: Path) -> RawArchive:
    arch = RawArchive(
        tmp_path / "archive", retention_days=0
    )  # 2020 fetches would be past any age bound
    yield arch  # type: ignore[misc]
    arch.close()


def test_body_round_trips_and_is_stored_once_per_content(archive: RawArchive) -> None:
    body = b"<rss><channel><title>x</title></channel></rss>" * 50
    first = archive.add(FEED_A, body, T0)
    archive.add(FEED_B, body, T0 + timedelta(hours=1))  # same bytes, other feed
    archive.add(FEED_A, body, T0)  # the same fetch again: no second row
    assert archive.read(first.sha256) == body
    stats = archive.stats()
    assert (stats.entries, stats.blobs, stats.feeds) == (2, 1, 2)
    assert stats.stored_bytes < stats.raw_bytes / 2  # compressed
    assert len(list((archive.root / "blobs").rglob("*.zst"))) == 1


def test_entries_come_in_fetch_time_order_within_the_window(archive: RawArchive) -> None:
    archive.add(FEED_B, b"b2", T0 + timedelta(hours=2))
    archive.add(FEED_A, b"a1", T0 + timedelta(hours=1))
    archive.add(FEED_A, b"a0", T0)
    archive.add(FEED_A, b"a3", T0 + timedelta(days=3))
    window = archive.entries(T0, T0 + timedelta(days=1))
    assert [(e.feed_url, e.fetched_at) for e in window] == [
        (FEED_A, T0), (FEED_A, T0 + timedelta(hours=1)), (FEED_B, T0 + timedelta(hours=2)),
    ]  # fmt: skip
    assert [e.feed_url for e in archive.entries(feeds=[FEED_B])] == [FEED_B]


def test_retention_drops_old_live_fetches_keeps_imports_and_deletes_orphan_blobs(
    archive: RawArchive,
) -> None:
    now = utcnow()
    old = archive.add(FEED_A, b"old live body", now - timedelta(days=40))
    archive.add(FEED_A, b"recent live body", now - timedelta(days=1))
    archive.add(FEED_B, b"imported years ago", datetime(2020, 1, 1, tzinfo=UTC), origin="import")
    archive.retention_days = 30
    result = archive.prune(now)
    assert (result.entries, result.blobs) == (1, 1)
    assert not archive.blob_path(old.sha256).exists()
    assert sorted(e.feed_url for e in archive.entries()) == [FEED_A, FEED_B]


def test_byte_bound_removes_oldest_fetches_first(tmp_path: Path) -> None:
    arch = RawArchive(tmp_path / "archive", retention_days=0, max_bytes=1)
    for n in range(3):
        arch.add(FEED_A, random.Random(n).randbytes(2000), T0 + timedelta(hours=n), origin="import")
    arch.max_bytes = arch.stats().stored_bytes - 1  # one body too many
    arch.prune()
    assert [e.fetched_at for e in arch.entries()] == [
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
    ]
    arch.close()


def test_a_damaged_blob_is_a_feed_error_that_says_what_to_do(archive: RawArchive) -> None:
    entry = archive.add(FEED_A, b"<rss/>", T0)
    archive.blob_path(entry.sha256).write_bytes(b"not zstd")
    with pytest.raises(FeedError, match="re-import") as err:
        archive.read(entry.sha256)
    assert err.value.kind == "archive"


def _collector(tmp_path: Path, archive: RawArchive | None = None) -> tuple[Collector, EmbeddedBus]:
    settings = Settings(data_dir=tmp_path / "data")
    bus = EmbeddedBus(tmp_path / "bus.db")
    return Collector(settings, bus, rng=random.Random(1), archive=archive), bus


def test_collector_archives_each_new_body_once(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(
        b'<rss version="2.0"><channel><item><title>t</title><link>https://e.example/1</link></item></channel></rss>'
    )
    collector, bus = _collector(tmp_path)
    spec = FeedSpec(url=str(feed), outlet="Example")
    t0 = utcnow().replace(microsecond=0)  # live fetches: inside the default retention
    collector.poll_feed(spec, now=t0)
    collector.poll_feed(spec, now=t0 + timedelta(minutes=20))  # same body: not archived again
    feed.write_bytes(feed.read_bytes().replace(b"/1<", b"/2<"))
    collector.poll_feed(spec, now=t0 + timedelta(minutes=40))
    entries = collector.archive.entries()
    collector.close()
    bus.close()
    assert [(e.feed_url, e.fetched_at, e.outlet) for e in entries] == [
        (str(feed), t0, "Example"), (str(feed), t0 + timedelta(minutes=40), "Example"),
    ]  # fmt: skip


class _BrokenArchive(RawArchive):
    def add(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        raise OSError("disk full")


def test_an_archive_failure_never_fails_the_poll(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(
        b'<rss version="2.0"><channel><item><title>t</title><link>https://e.example/1</link></item></channel></rss>'
    )
    collector, bus = _collector(tmp_path, _BrokenArchive(tmp_path / "broken"))
    outcome = collector.poll_feed(FeedSpec(url=str(feed)), now=T0)
    collector.close()
    bus.close()
    assert (outcome.result, outcome.published) == ("new", 1)
