"""The fresh topic batches: the keyword net, design weights, and rebuilding gold from the labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.draw_topics import HISTORY, QUOTAS, _weight, build, keyword_hit
from eval.gold import CORE_LABELS
from eval.headlines_history import default_root, reduce_feed

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / ".." / "shared" / "corpora"
LABELS = sorted((ROOT / "eval" / "data").glob("topics_*.labels.jsonl"))


def _item(title: str, summary: str = "", text: str = "") -> dict[str, str]:
    return {"title": title, "summary": summary, "text": text}


@pytest.mark.parametrize(
    ("item", "hit"),
    [
        (_item("Houthis reject peace talks as truce ends", "The war enters its eighth year."), True),
        (_item("Tariff row deepens"), True),
        (_item("Storm leaves thousands without power"), True),
        (_item("Lakers beat Celtics in overtime", "A late three-pointer settled it."), False),
        (_item("Warning: wartime memoir tops charts"), False),  # whole words only
    ],
)
def test_keyword_net_matches_whole_words(item: dict[str, str], hit: bool) -> None:
    assert keyword_hit(item) is hit


def test_a_random_item_weighs_one_and_oversampled_items_less() -> None:
    pool = [{"url": str(i)} for i in range(440)]
    total = sum(QUOTAS.values())
    first_rate = QUOTAS["wsj-world-news"] / len(pool)
    assert _weight("wsj-world-news", pool, QUOTAS, total, first_rate) == pytest.approx(1.0)
    assert _weight("wsj-world-news", pool, QUOTAS, total, first_rate * 2) == pytest.approx(0.5)


@pytest.mark.parametrize("labels", LABELS, ids=[p.name for p in LABELS])
def test_labels_files_are_complete_and_rebuild_from_the_corpora(labels: Path) -> None:
    rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    assert len({r["id"] for r in rows}) == len(rows) and len({r["url"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row["labels"]) <= set(CORE_LABELS) and row["weight"] > 0
        assert row["stratum"] in {"random", "keyword", "keyword-train"}
    if not (CORPORA / "feeds").is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA.resolve()} (../shared is absent)")
    if any(row.get("corpus") == HISTORY for row in rows) and not (default_root() / "feeds").is_dir():
        pytest.skip(f"no feed versions at {default_root()}: make them with "
                    "python -m eval.headlines_history --clone <a clone of gesab001/headlines>")
    gold = build(CORPORA, labels)
    assert [g["id"] for g in gold] == [r["id"] for r in rows]
    assert all(g["title"] for g in gold)  # every item found in the snapshot its row names


def test_no_item_is_in_two_batches() -> None:
    """A training batch never holds an item of a test batch (nor two test batches the same item)."""
    seen: dict[str, str] = {}
    for labels in LABELS:
        for line in labels.read_text(encoding="utf-8").splitlines():
            url = json.loads(line)["url"]
            assert url not in seen, f"{url} is in {seen[url]} and {labels.name}"
            seen[url] = labels.name


ORIGINAL = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title><![CDATA[Example News]]></title><link>https://example.org/</link>
<item><title><![CDATA[Navy tests new missile]]></title><description><![CDATA[The test &amp; its aims.]]></description>
<link>https://example.org/a</link><guid isPermaLink="true">https://example.org/a</guid>
<pubDate>Tue, 30 Jun 2020 14:33:12 GMT</pubDate><media:content url="x.jpg"/></item>
<item><title>Lakers win</title><link>https://example.org/b</link></item>
</channel></rss>"""


def test_a_reduced_version_keeps_each_items_fields_as_they_stand() -> None:
    reduced = reduce_feed(ORIGINAL, repo="o/r", path="feed.xml", commit="c" * 40)
    assert "items 2;" in reduced and "guid" not in reduced and "media:content" not in reduced
    assert "<title><![CDATA[Navy tests new missile]]></title>" in reduced
    assert "<description><![CDATA[The test &amp; its aims.]]></description>" in reduced
    assert "<item><title>Lakers win</title><link>https://example.org/b</link></item>" in reduced


def test_the_collector_reads_the_same_items_from_a_reduced_version() -> None:
    from datetime import UTC, datetime

    from collectors.parse import parse_feed

    fetched = datetime(2026, 1, 1, tzinfo=UTC)  # an item without pubDate is dated when fetched

    def items(xml: str) -> list[tuple[str, str, str, str, object]]:
        result = parse_feed(xml.encode(), feed_url="file://feed.xml", outlet="example", fetched_at=fetched)
        return [(str(a.url), a.title, a.summary, a.text, a.published_at) for a in result.articles]

    reduced = reduce_feed(ORIGINAL, repo="o/r", path="feed.xml", commit="c" * 40)
    assert len(items(ORIGINAL)) == 2 and items(reduced) == items(ORIGINAL)


def test_rows_of_the_history_corpus_rebuild_from_its_root(tmp_path: Path) -> None:
    """A labels row whose corpus is the history versions is read there, not in the corpora."""
    folder = tmp_path / "history" / "feeds" / "example"
    folder.mkdir(parents=True)
    (folder / "20200630T150000Z.xml").write_text(reduce_feed(ORIGINAL, repo="o/r", path="feed.xml",
                                                            commit="c" * 40), encoding="utf-8")
    labels = tmp_path / "topics_x.labels.jsonl"
    labels.write_text(json.dumps({"id": "x-1", "source": "example", "url": "https://example.org/a",
                                  "provenance": "example/20200630T150000Z.xml", "corpus": HISTORY,
                                  "stratum": "random", "weight": 1.0, "labels": ["defence"]}) + "\n",
                      encoding="utf-8")
    [row] = build(tmp_path / "no-corpora-here", labels, tmp_path / "history")
    assert row["title"] == "Navy tests new missile" and row["labels"] == ["defence"]
    assert row["summary"] == "The test & its aims."
