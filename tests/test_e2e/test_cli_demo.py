"""End to end: the CLI over seeds/ as a user runs it, on the embedded default."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from newswatch import EmbeddedBus, EmbeddedStore, article_id, topics

ROOT = Path(__file__).resolve().parents[2]
SEED_URL = "https://newswatch.example/seed/india-russia-joint-defence-manufacturing"

pytestmark = pytest.mark.e2e

ALERT_RULES = """
rules:
  - name: putin-defence
    query: 'entity:"Vladimir Putin" AND topic:defence'
"""


def _seed_alerts(data_dir: Path) -> list[str]:
    """The seed rule's indexed alerts for the seed article (rows are upserted by alert id)."""
    with sqlite3.connect(data_dir / "store.db") as conn:
        docs = [
            json.loads(doc)
            for (doc,) in conn.execute("SELECT doc FROM alerts WHERE rule = 'putin-defence'")
        ]
    return [d["alert_id"] for d in docs if d["article_id"] == article_id(SEED_URL)]


def _seed_alerts_published(data_dir: Path) -> int:
    """How many times the seed rule fired for the seed article on `news.alerts`: every firing is
    a record there, so a double fire shows here even though the index would overwrite it."""
    bus = EmbeddedBus(data_dir / "bus.db")
    consumer = bus.consumer("test-seed-alerts", [topics.ALERTS], start="earliest")
    fired = 0
    try:
        while batch := consumer.poll(max_records=500, timeout_s=0.2):
            for record in batch:
                alert = json.loads(record.value)
                fired += alert["rule"] == "putin-defence" and alert["article_id"] == article_id(SEED_URL)
    finally:
        consumer.close()
    return fired


def _env(data_dir: Path, feeds_file: Path = ROOT / "seeds" / "feeds.toml") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(
        NEWSWATCH_DATA_DIR=str(data_dir),
        NEWSWATCH_FEEDS_FILE=str(feeds_file),
        NEWSWATCH_ALERTS_FILE=str(data_dir / "rules.yaml"),
        COLUMNS="200",
    )
    return env


def _newswatch(
    data_dir: Path, *args: str, feeds_file: Path = ROOT / "seeds" / "feeds.toml"
) -> subprocess.CompletedProcess[str]:
    env = _env(data_dir, feeds_file)
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    data_dir = tmp_path_factory.mktemp("demo")
    (data_dir / "rules.yaml").write_text(ALERT_RULES, encoding="utf-8")
    return data_dir, _newswatch(data_dir, "run", "--once")


def test_run_once_indexes_the_seed_feeds(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, result = demo
    assert result.returncode == 0, result.stderr
    assert "store now holds" in result.stdout
    store = EmbeddedStore(data_dir / "store.db")
    assert store.count() > 100  # the seed item plus hundreds of real feed items


def test_seed_article_topics_and_entities(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, _ = demo
    seed = EmbeddedStore(data_dir / "store.db").get(article_id(SEED_URL))
    assert seed is not None
    assert {"defence", "trade"} <= set(seed.topic_names)
    people = {e.canonical for e in seed.entities if e.label == "PERSON"}
    places = {e.canonical for e in seed.entities if e.label == "GPE"}
    assert {"Narendra Modi", "Vladimir Putin", "Rajnath Singh", "Andrey Belousov"} <= people
    assert {"India", "Russia"} <= places
    assert not [e for e in seed.entities if e.label == "ORG" and "S-400" in e.text]
    assert all(t.evidence for t in seed.topics)  # every label explains itself


def test_search_finds_the_seed_by_entity_and_topic(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, _ = demo
    result = _newswatch(
        data_dir, "search", "S-400", "--topic", "defence", "--entity", "Vladimir Putin", "--json"
    )
    assert result.returncode == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [h["article_id"] for h in hits] == [article_id(SEED_URL)]


def test_search_since_and_limit(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    data_dir, _ = demo

    def ids(*args: str) -> list[str]:
        result = _newswatch(data_dir, "search", "--entity", "Vladimir Putin", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["article_id"] for line in result.stdout.splitlines() if line]

    seed = article_id(SEED_URL)  # published 2025-12-05 12:00 UTC
    assert seed in ids("--since", "2025-12-05T11:00")
    assert seed not in ids("--since", "2025-12-05T13:00")
    assert len(ids("--limit", "2")) == 2 and len(ids()) > 2
    bad = _newswatch(data_dir, "search", "x", "--since", "last tuesday")
    assert bad.returncode != 0 and "--since 7d" in bad.stdout + bad.stderr


def test_second_run_publishes_nothing_new(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, _ = demo
    before = EmbeddedStore(data_dir / "store.db").count()
    again = _newswatch(data_dir, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert "processed 0 articles" in again.stdout and " 0 alerts" in again.stdout
    assert EmbeddedStore(data_dir / "store.db").count() == before
    assert len(_seed_alerts(data_dir)) == 1
    assert _seed_alerts_published(data_dir) == 1


def test_seed_rule_fires_exactly_once_for_the_seed_article(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, _ = demo
    assert len(_seed_alerts(data_dir)) == 1
    assert _seed_alerts_published(data_dir) == 1
    listing = _newswatch(data_dir, "alerts", "list")
    assert listing.returncode == 0, listing.stderr
    assert "putin-defence" in listing.stdout


def test_status_and_feeds_list_show_every_feed(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, _ = demo
    status = _newswatch(data_dir, "status")
    assert status.returncode == 0, status.stderr
    assert "defence" in status.stdout and "dead letters: 0" in status.stdout
    listing = _newswatch(data_dir, "feeds", "list")
    assert listing.returncode == 0, listing.stderr
    for name in ("seed", "wsj-world", "guardian", "ie-explained", "af-mil", "bbc-uk"):
        assert name in listing.stdout


def test_bad_store_setting_gives_an_actionable_error(tmp_path: Path) -> None:
    env_result = subprocess.run(
        [sys.executable, "-m", "newswatch", "search", "x"],
        check=False,
        env={
            **os.environ,
            "NEWSWATCH_DATA_DIR": str(tmp_path),
            "NEWSWATCH_STORE": "mongodb://nope",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert env_result.returncode != 0
    assert "NEWSWATCH_STORE" in env_result.stderr and "embedded" in env_result.stderr


def test_run_indexes_on_schedule_and_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    """`newswatch run` in the foreground: it polls at once, indexes, serves /metrics (issue 8), and
    SIGINT ends it with exit 0."""
    (tmp_path / "rules.yaml").write_text(ALERT_RULES, encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "newswatch", "run"],
        env={**_env(tmp_path), "NEWSWATCH_METRICS_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 400
        seed = None
        while seed is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(2)
            if (tmp_path / "store.db").exists():
                seed = EmbeddedStore(tmp_path / "store.db").get(article_id(SEED_URL))
        assert seed is not None and "defence" in seed.topic_names
        published = ("newswatch_articles_total", "collector", "published")
        indexed = ("newswatch_articles_total", "sink", "ok")
        metrics_deadline = time.monotonic() + 180
        while time.monotonic() < metrics_deadline:
            # the seed feed may be indexed before the scheduler has polled the other feeds, and
            # the sink counts a batch just after writing it: wait for both counters to move
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            samples = {
                (s.name, s.labels.get("stage"), s.labels.get("outcome")): s.value
                for family in text_string_to_metric_families(scraped)
                for s in family.samples
            }
            if samples.get(published, 0) > 100 and samples.get(indexed, 0) >= 1:
                break
            time.sleep(1)
        assert samples[published] > 100
        assert samples[indexed] >= 1
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Ctrl-C stops cleanly" in out
    assert "stopping: finishing the current batches" in err and "Traceback" not in err


def test_classify_adds_topics_and_entities_to_each_line(tmp_path: Path) -> None:
    seed_text = next((ROOT / "seeds" / "article").glob("*.txt")).read_text(encoding="utf-8")
    title, _, body = seed_text.partition("\n")
    rows = [
        {"id": "seed", "title": title, "text": body, "gold": ["defence", "trade"]},
        {
            "id": "recipe",
            "title": "A simple loaf",
            "text": "Mix flour, water, salt and yeast; bake for 40 minutes.",
        },
        {"id": "empty", "title": "", "text": ""},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = _newswatch(
        tmp_path, "classify", "--input", str(source), "--output", str(tmp_path / "out.jsonl")
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 3 lines" in result.stdout
    out = {
        r["id"]: r
        for r in map(json.loads, (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines())
    }
    assert out.keys() == {"seed", "recipe", "empty"} and out["seed"]["gold"] == ["defence", "trade"]
    assert {"defence", "trade"} <= {t["label"] for t in out["seed"]["topics"]}
    assert all(t["iptc_code"] and t["evidence"] for t in out["seed"]["topics"])
    assert {"Narendra Modi", "Vladimir Putin"} <= {
        e["canonical"] for e in out["seed"]["entities"] if e["label"] == "PERSON"
    }
    assert (
        out["recipe"]["topics"] == [] and out["empty"]["topics"] == out["empty"]["entities"] == []
    )


def test_feeds_commands_edit_the_list_and_round_trip_opml(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    seed_xml = ROOT / "seeds" / "feeds" / "seed.xml"
    added = _newswatch(
        tmp_path,
        "feeds",
        "add",
        str(seed_xml),
        "--name",
        "seed",
        "--outlet",
        "Seed",
        feeds_file=feeds,
    )
    assert added.returncode == 0, added.stderr
    again = _newswatch(tmp_path, "feeds", "add", str(seed_xml), feeds_file=feeds)
    assert again.returncode != 0 and "already" in (again.stdout + again.stderr)
    wsj = ROOT / "seeds" / "feeds" / "real" / "wsj-world-news"
    assert (
        _newswatch(
            tmp_path, "feeds", "add", wsj.as_uri(), "--name", "wsj", feeds_file=feeds
        ).returncode
        == 0
    )
    opml = tmp_path / "feeds.opml"
    exported = _newswatch(tmp_path, "feeds", "export-opml", "--output", str(opml), feeds_file=feeds)
    assert exported.returncode == 0, exported.stderr
    removed = _newswatch(tmp_path, "feeds", "remove", "wsj", feeds_file=feeds)
    assert removed.returncode == 0 and "removed" in removed.stdout
    listing = _newswatch(tmp_path, "feeds", "list", feeds_file=feeds)
    assert "seed" in listing.stdout and "wsj" not in listing.stdout
    imported = _newswatch(tmp_path, "feeds", "import-opml", str(opml), feeds_file=feeds)
    assert imported.returncode == 0 and "imported 1 new feeds" in imported.stdout
    listing = _newswatch(tmp_path, "feeds", "list", feeds_file=feeds)
    assert listing.returncode == 0 and "seed" in listing.stdout and "wsj" in listing.stdout
