"""Issue 8: structured logs. With JSON lines on, one story can be followed through every stage by
its article id and feed: a real embedded `run --once` over the seed feed, its stderr parsed back."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch import article_id, load_settings
from newswatch.cli import wiring
from newswatch.logs import configure_logging

ROOT = Path(__file__).resolve().parents[2]
SEED_URL = "https://newswatch.example/seed/india-russia-joint-defence-manufacturing"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_follow_one_article_through_every_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    feed = (ROOT / "seeds" / "feeds" / "seed.xml").as_uri()
    (tmp_path / "feeds.toml").write_text(
        f'[[feeds]]\nurl = "{feed}"\nname = "seed"\n', encoding="utf-8"
    )
    (tmp_path / "rules.yaml").write_text("rules: []\n", encoding="utf-8")
    settings = load_settings(None, data_dir=tmp_path, alerts_file=tmp_path / "rules.yaml")
    configure_logging(json_lines=True, level="DEBUG")
    bus, store = wiring.open_bus(settings), wiring.open_store(settings)
    try:
        wiring.run_once(settings, bus, store)
    finally:
        bus.close()
        store.close()
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    assert lines and all({"ts", "level", "logger", "msg"} <= line.keys() for line in lines)
    polled = [line for line in lines if line["msg"].startswith("feed polled")]
    assert polled and polled[0]["feed_url"] == feed and polled[0]["published"] >= 1
    seed = [line for line in lines if line.get("article_id") == article_id(SEED_URL)]
    assert {line["stage"] for line in seed} >= {"collector", "processor", "sink", "alerts"}
    assert all(line["feed_url"] == feed for line in seed)
    handled = [line for line in seed if line["stage"] == "sink"]
    assert handled[0]["topic"] == "news.enriched" and isinstance(handled[0]["offset"], int)
