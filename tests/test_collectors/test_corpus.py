"""Robustness: every file of ../shared/corpora/feeds goes through the parse path without raising.

The corpus holds real snapshots, including HTML error pages, 0-byte downloads, undeclared
encodings and illegally nested XML (see its MANIFEST.md). Skipped only when ../shared is absent.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import parse_feed

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "feeds").resolve()
FETCHED = datetime(2026, 8, 1, tzinfo=UTC)
STATUSES = {"ok", "partial", "not-a-feed", "empty"}


def _outlets() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


def _require_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(
            f"shared feed corpus not found at {CORPUS}: ../shared is absent in this checkout"
        )


@pytest.mark.parametrize("outlet", _outlets() or ["<corpus absent>"])
def test_every_corpus_file_parses_to_a_status(outlet: str) -> None:
    _require_corpus()
    files = sorted(p for p in (CORPUS / outlet).iterdir() if p.is_file())
    assert files, f"{outlet} folder is empty"
    statuses: Counter[str] = Counter()
    for path in files:
        result = parse_feed(
            path.read_bytes(), feed_url=path.as_uri(), fetched_at=FETCHED, outlet=outlet
        )
        assert result.status in STATUSES, path
        assert result.reason, path
        assert all(a.feed_url == path.as_uri() and a.outlet == outlet for a in result.articles)
        statuses[result.status] += 1
    assert sum(statuses.values()) == len(files)


def test_corpus_covers_all_files_listed_in_its_manifest() -> None:
    _require_corpus()
    listed = [
        line.split("\t", 1)[0]
        for line in (CORPUS / "files.tsv").read_text(encoding="utf-8").splitlines()[1:]
        if line
    ]
    on_disk = {
        str(p.relative_to(CORPUS.parent))
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name != "files.tsv"
    }
    assert set(listed) == on_disk  # so the per-outlet test above really saw every file


@pytest.mark.parametrize(
    ("relpath", "status", "needle"),
    [
        pytest.param(
            "latimes-california/20210919T235533Z_cloudfront-403-html.xml",
            "not-a-feed",
            "HTML page",
            id="cloudfront-403",
        ),
        pytest.param(
            "wsj-world-news/20200428T004318Z_empty-download.xml",
            "empty",
            "empty body",
            id="zero-byte-download",
        ),
        pytest.param(
            "pcmag-dvorak/illegally-nested.xml", "partial", "skipped", id="illegally-nested"
        ),
        pytest.param("uol-noticias/uolNoticias.xml", "ok", "item(s)", id="undeclared-latin1"),
    ],
)
def test_known_odd_cases_get_the_right_status(relpath: str, status: str, needle: str) -> None:
    _require_corpus()
    path = CORPUS / relpath
    result = parse_feed(path.read_bytes(), feed_url=path.as_uri(), fetched_at=FETCHED)
    assert result.status == status
    assert needle in result.reason


def test_relative_atom_links_become_absolute_on_the_site() -> None:
    _require_corpus()
    path = CORPUS / "talkingpointsmemo" / "tpm.xml"
    result = parse_feed(path.read_bytes(), feed_url=path.as_uri(), fetched_at=FETCHED)
    assert result.articles and all(
        a.url.startswith("https://talkingpointsmemo.com/") for a in result.articles
    )


def test_items_without_dates_or_guids_are_inferred_and_still_identified() -> None:
    _require_corpus()
    path = min((CORPUS / "dailytelegraph-au-breaking").iterdir())
    result = parse_feed(
        path.read_bytes(),
        feed_url="http://www.dailytelegraph.com.au/news/breaking-news/rss",
        fetched_at=FETCHED,
    )
    assert result.articles
    assert {a.published_source for a in result.articles} == {"inferred"}
    assert len({a.article_id for a in result.articles}) == len(result.articles)
