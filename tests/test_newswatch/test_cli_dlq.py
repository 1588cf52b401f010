"""`newswatch dlq list|show|replay` as a user runs them (issue 8): inspect dead letters, then
re-drive them after a fix, on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch import (
    Article,
    DeadLetter,
    EmbeddedBus,
    EmbeddedStore,
    EnrichedArticle,
    TopicLabel,
    topics,
    utcnow,
)

pytestmark = pytest.mark.e2e


def _newswatch(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(NEWSWATCH_DATA_DIR=str(data_dir), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dead_letters_are_listed_shown_and_re_driven_once(tmp_path: Path) -> None:
    now = utcnow()
    article = Article.create(
        link="https://wire.example/story/frigate",
        title="Navy commissions a new frigate",
        text="The frigate joins the fleet.",
        published_at=now,
        fetched_at=now,
        feed_url="https://wire.example/rss",
        outlet="Wire",
    )
    enriched = EnrichedArticle.from_article(
        article,
        topics=[
            TopicLabel(
                label="defence", iptc_code="medtop:20000065", score=3.0, evidence=("frigate",)
            )
        ],
        entities=[],
        classifier_version="test",
    )
    # A record the sink failed on while the store was misconfigured; the store is fixed now.
    failed = DeadLetter.build(
        stage="sink",
        error=RuntimeError("mapping rejected field topics"),
        payload=enriched.to_bytes(),
        key=article.article_id,
        source_topic=topics.ENRICHED,
        partition=0,
        offset=41,
    )
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.produce(topics.DLQ, article.article_id, failed.to_bytes())
    bus.close()

    listed = _newswatch(tmp_path, "dlq", "list")
    assert listed.returncode == 0, listed.stderr
    assert "1 dead letters" in listed.stdout and "RuntimeError" in listed.stdout
    assert "mapping rejected field topics" in listed.stdout and article.article_id in listed.stdout

    shown = _newswatch(tmp_path, "dlq", "show", "0")
    assert shown.returncode == 0, shown.stderr
    assert '"source_topic": "news.enriched"' in shown.stdout
    payload = shown.stdout.splitlines()[-1]  # printed unwrapped, so it can be piped as it is
    assert EnrichedArticle.model_validate_json(payload) == enriched
    missing = _newswatch(tmp_path, "dlq", "show", "7")
    assert missing.returncode != 0 and "newswatch dlq list" in missing.stdout + missing.stderr

    replayed = _newswatch(tmp_path, "dlq", "replay")
    assert replayed.returncode == 0, replayed.stderr
    assert "re-sent 1 records; marked 1 dead letters handled" in replayed.stdout
    assert "0 dead letters" in _newswatch(tmp_path, "dlq", "list").stdout
    again = _newswatch(tmp_path, "dlq", "replay")  # handled letters are never sent twice
    assert "re-sent 0 records" in again.stdout

    sunk = _newswatch(tmp_path, "sink", "--once")
    assert sunk.returncode == 0, sunk.stderr
    assert "indexed 1 articles, 0 rejected" in sunk.stdout
    store = EmbeddedStore(tmp_path / "store.db")
    stored = store.get(article.article_id)
    store.close()
    assert stored is not None and stored.topic_names == ["defence"]
