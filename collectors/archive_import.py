"""`archive import DIR`: a directory of dated feed snapshots into the raw archive, as if fetched then.

A snapshot's time comes from `files.tsv` (column `snapshot_utc`) or else from its file name,
which starts with the UTC time: `20200421T004301Z.xml`. Its feed URL comes from `--feed-url`,
else from `files.tsv` (column `feed_url`). `files.tsv` is looked for in DIR and then in DIR's
parent (the shared corpora keep one for all outlets, with paths like `feeds/<outlet>/<file>`).
Files that give no time or no feed URL are skipped with the reason, never guessed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from collectors.archive import RawArchive
from collectors.decode import FEED_SUFFIXES

INDEX_FILE = "files.tsv"
_STAMP = re.compile(r"^(\d{8}T\d{6})Z")


@dataclass(frozen=True)
class Snapshot:
    """One file to import: where it is, when it was taken and which feed it is a copy of."""

    path: Path
    taken_at: datetime
    feed_url: str


@dataclass
class ImportReport:
    """What an import did: added snapshots, those already there, and skipped files with reasons."""

    added: int = 0
    already: int = 0
    raw_bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def time_from_name(name: str) -> datetime | None:
    """UTC time from a name like `20200421T004301Z.xml`; None when the name carries none."""
    found = _STAMP.match(name)
    if not found:
        return None
    return datetime.strptime(found.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def _read_index(directory: Path) -> dict[str, dict[str, str]]:
    """files.tsv rows keyed by resolved file path, from DIR and DIR's parent."""
    rows: dict[str, dict[str, str]] = {}
    for base in (directory.parent, directory):  # DIR's own index wins
        index = base / INDEX_FILE
        if not index.is_file():
            continue
        with index.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                rel = row.get("path") or ""
                # the shared corpora's paths start with the index's own folder name ("feeds/…")
                for candidate in (base / rel, base.parent / rel):
                    rows[str(candidate.resolve())] = row
    return rows


def find_snapshots(
    directory: Path, feed_url: str | None = None
) -> tuple[list[Snapshot], list[tuple[str, str]]]:
    """Snapshots under `directory` in time order, and the files skipped with the reason."""
    index = _read_index(directory)
    found: list[Snapshot] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(
        p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES
    ):
        row = index.get(str(path.resolve()), {})
        taken = _row_time(row) or time_from_name(path.name)
        url = feed_url or row.get("feed_url", "")
        if taken is None:
            skipped.append(
                (
                    str(path),
                    "no snapshot time: name it YYYYMMDDTHHMMSSZ.xml or list it in files.tsv",
                )
            )
        elif not url:
            skipped.append((str(path), "no feed URL: pass --feed-url or list it in files.tsv"))
        else:
            found.append(Snapshot(path, taken, url))
    found.sort(key=lambda s: (s.taken_at, s.feed_url, str(s.path)))
    return found, skipped


def _row_time(row: dict[str, str]) -> datetime | None:
    text = (row.get("snapshot_utc") or "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def import_snapshots(
    archive: RawArchive,
    snapshots: Iterable[Snapshot],
    *,
    outlet: str = "",
    advance: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Add each snapshot as a fetch of its feed at its time; re-importing adds nothing twice."""
    report = ImportReport()
    before = archive.stats().entries
    seen = 0
    for snap in snapshots:
        seen += 1
        body = snap.path.read_bytes()
        archive.add(
            snap.feed_url,
            body,
            snap.taken_at,
            outlet=outlet,
            source=snap.path.name,
            origin="import",
        )
        report.raw_bytes += len(body)
        advance(1)
    report.added = archive.stats().entries - before
    report.already = seen - report.added
    return report
