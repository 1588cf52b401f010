"""The fresh topic batches: the keyword net, design weights, and rebuilding gold from the labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.draw_topics import QUOTAS, _weight, build, keyword_hit
from eval.gold import CORE_LABELS

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
