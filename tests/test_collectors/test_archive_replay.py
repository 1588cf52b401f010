"""Dated snapshots into the archive, and the collector half of a replay over them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import RawArchive, ReplayMemory, find_snapshots, import_snapshots, replay_entries
from collectors.archive_import import time_from_name

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archive"
FEED = "https://wire.example/rss.xml"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "20200421T004301Z.xml", datetime(2020, 4, 21, 0, 43, 1, tzinfo=UTC), id="stamp"
        ),
        pytest.param(
            "20200421T004301Z-extra.rss", datetime(2020, 4, 21, 0, 43, 1, tzinfo=UTC), id="suffix"
        ),
        pytest.param("world.xml", None, id="no-stamp"),
    ],
)
def test_time_from_file_name(name: str, expected: datetime | None) -> None:
    assert time_from_name(name) == expected


def test_snapshots_take_feed_url_from_the_parent_files_tsv() -> None:
    snaps, skipped = find_snapshots(FIXTURE / "wire")
    assert skipped == []
    assert (snaps[0].path.name, snaps[0].feed_url) == ("20200504T080000Z.xml", FEED)
    assert [s.taken_at.day for s in snaps] == [4, 4, 5, 7]


def test_files_without_url_or_time_are_skipped_with_the_fix(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "wire" / "20200504T080000Z.xml", tmp_path / "20200504T080000Z.xml")
    (tmp_path / "undated.xml").write_text("<rss/>", encoding="utf-8")
    snaps, skipped = find_snapshots(tmp_path)
    assert snaps == []
    assert sorted(reason.split(":")[0] for _, reason in skipped) == [
        "no feed URL",
        "no snapshot time",
    ]
    snaps, _ = find_snapshots(tmp_path, feed_url="https://override.example/rss")
    assert [s.feed_url for s in snaps] == ["https://override.example/rss"]


def test_import_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "archive")
    snaps, _ = find_snapshots(FIXTURE / "wire")
    first = import_snapshots(archive, snaps)
    second = import_snapshots(archive, snaps)
    assert (first.added, second.added, second.already) == (4, 0, 4)
    assert {e.origin for e in archive.entries()} == {"import"}
    archive.close()


def test_replay_parses_at_snapshot_time_and_dedups_within_the_run(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "archive")
    import_snapshots(archive, find_snapshots(FIXTURE / "wire")[0])
    memory = ReplayMemory()
    steps = list(replay_entries(archive, archive.entries(), "run1", memory))
    archive.close()
    assert [len(s.fresh) for s in steps] == [3, 2, 1, 1]
    assert [s.duplicates for s in steps] == [0, 1, 1, 0]
    fresh = [a for s in steps for a in s.fresh]
    assert {a.replay_run for a in fresh} == {"run1"}
    assert all(a.fetched_at == s.entry.fetched_at for s in steps for a in s.fresh)
    undated = next(a for a in fresh if a.url.endswith("/a5"))
    assert (undated.published_source, undated.published_at) == (
        "inferred",
        datetime(2020, 5, 4, 16, tzinfo=UTC),
    )
    assert sorted(memory.resightings.values()) == [1, 1]


SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "feeds"


@pytest.mark.parametrize(
    ("body", "cuts"),
    [
        pytest.param(
            b"<rss><channel><t/><item>a</item>\n<item>b</item></channel></rss>", True, id="rss"
        ),
        pytest.param(b"<feed><entry><id>1</id></entry></feed>", True, id="atom"),
        pytest.param(
            b"<rss><item><d><![CDATA[</item>]]></d></item></rss>", False, id="cdata-closer"
        ),
        pytest.param(b"<rss><item>a</item>text<item>b</item></rss>", False, id="text-between"),
        pytest.param(b"<feed><atom:entry>a</atom:entry></feed>", False, id="prefixed"),
        pytest.param(b"<rss><items/></rss>", False, id="no-items"),
    ],
)
def test_split_items_cuts_only_clean_bodies(body: bytes, cuts: bool) -> None:
    from collectors.replay import split_items

    found = split_items(body)
    assert (found is not None) == cuts
    if found is not None:
        head, chunks, tail = found
        assert head + b"".join(chunks) + tail == body.replace(b"\n", b"")


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared corpora not present at {SHARED}")
def test_skipping_seen_items_publishes_exactly_what_a_whole_parse_does(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "archive")
    for folder in (
        "wsj-world-news",
        "bbc-news-top-uk",
        "indianexpress-explained",
        "guardian-sections",
    ):
        import_snapshots(archive, find_snapshots(SHARED / folder)[0])
    results = []
    for skip in (True, False):
        memory = ReplayMemory()
        steps = list(replay_entries(archive, archive.entries(), "r", memory, skip_seen_items=skip))
        results.append(
            (
                [a.model_dump() for s in steps for a in s.fresh],
                [s.found for s in steps],
                memory.resightings,
            )
        )
    archive.close()
    assert len(results[0][0]) > 1000
    assert results[0] == results[1]
