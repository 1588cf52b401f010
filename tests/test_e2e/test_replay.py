"""End to end: `archive import`, `replay` and `backtest` through the CLI, as an analyst runs them.

Over the committed archive (tests/fixtures/archive/README.md states what it holds and what a
`sanctions` rule must find) and over a real slice of ../shared/corpora/feeds when it is present.
The rule's channel is a live HTTP server that must receive nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "archive" / "wire"
SHARED_WSJ = ROOT / ".." / "shared" / "corpora" / "feeds" / "wsj-world-news"
# Registers the commands on the root app if the CLI does not (yet); harmless once it does.
LAUNCH = "from newswatch.cli import app, run\nfrom newswatch.cli.replay import register\nregister(app)\nrun()"

pytestmark = pytest.mark.e2e


def newswatch(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(NEWSWATCH_DATA_DIR=str(data_dir), COLUMNS="200")
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], env=env, capture_output=True, text=True, check=False,
                          timeout=600, cwd=ROOT)  # fmt: skip


def rules_file(path: Path, server: HTTPServer, query: str, name: str) -> Path:
    path.write_text(
        f'channels:\n  desk: {{type: webhook, url: "{server.url_for("/hook")}"}}\n'
        f"rules:\n  - name: {name}\n    query: '{query}'\n    channels: [desk]\n",
        encoding="utf-8",
    )
    return path


def stored_docs(db: Path) -> list[dict[str, object]]:
    with sqlite3.connect(db) as conn:
        return [
            json.loads(doc)
            for (doc,) in conn.execute("SELECT doc FROM articles ORDER BY article_id")
        ]


@pytest.fixture(scope="module")
def server() -> HTTPServer:
    srv = HTTPServer()
    srv.start()
    yield srv  # type: ignore[misc]
    srv.clear()
    srv.stop()


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory, server: HTTPServer) -> dict[str, object]:
    """Import the committed archive, then backtest a `sanctions` rule over it twice."""
    data = tmp_path_factory.mktemp("replay")
    imported = newswatch(data, "archive", "import", str(FIXTURE))
    rules = rules_file(data / "rules.yaml", server, "sanctions", "sanctions")
    args = (
        "backtest",
        "--rules",
        str(rules),
        "--from",
        "2020-05-04",
        "--to",
        "2020-05-07",
        "--run",
        "wire",
    )
    first = newswatch(data, *args, "--out", str(data / "first"))
    second = newswatch(data, *args, "--out", str(data / "second"))
    return {"data": data, "imported": imported, "first": first, "second": second}


def test_import_archives_every_snapshot(committed: dict[str, object]) -> None:
    result = committed["imported"]
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 0, result.stderr
    assert "archived 4 snapshots" in result.stdout


def test_backtest_finds_the_known_matches_and_reports_them(committed: dict[str, object]) -> None:
    data, first = committed["data"], committed["first"]
    assert isinstance(data, Path) and isinstance(first, subprocess.CompletedProcess)
    assert first.returncode == 0, first.stderr
    rows = list(
        csv.DictReader(io.StringIO((data / "first" / "alerts.csv").read_text(encoding="utf-8")))
    )
    assert [(r["fired_at"], r["title"]) for r in rows] == [
        ("2020-05-04 08:00:00Z", "EU weighs new sanctions on Russian oil"),
        ("2020-05-04 16:00:00Z", "US adds sanctions on shipping firms"),
        ("2020-05-05 10:00:00Z", "Sanctions relief talks stall"),
    ]
    report = (data / "first" / "report.md").read_text(encoding="utf-8")
    assert (
        "| would-be alerts | 3 |" in report
        and "| deduplicated (matched article seen again later) | 2 |" in report
    )
    assert all(r["title"] in report for r in rows)
    html = (data / "first" / "report.html").read_text(encoding="utf-8")
    assert all(r["title"] in html for r in rows) and "charts/sanctions.png" in html
    assert (data / "first" / "charts" / "sanctions.png").read_bytes().startswith(b"\x89PNG")


def test_no_notification_is_sent(committed: dict[str, object], server: HTTPServer) -> None:
    assert committed["first"].returncode == 0  # type: ignore[union-attr]
    assert server.log == []


def test_a_second_identical_run_gives_byte_identical_outputs(committed: dict[str, object]) -> None:
    data = committed["data"]
    assert isinstance(data, Path)
    for name in ("alerts.csv", "report.md", "report.html", "charts/sanctions.png"):
        assert (data / "first" / name).read_bytes() == (data / "second" / name).read_bytes(), name


def test_replay_writes_its_own_store_marked_with_the_run(committed: dict[str, object]) -> None:
    data = committed["data"]
    assert isinstance(data, Path)
    docs = stored_docs(data / "replays" / "wire" / "store.db")
    assert len(docs) == 7 and {d["replay_run"] for d in docs} == {"wire"}
    assert all(d["processed_at"] == d["fetched_at"] for d in docs)  # "now" is the snapshot time
    assert not (data / "store.db").exists()  # the live store is never touched


def test_replay_command_twice_gives_identical_indexed_content(tmp_path: Path) -> None:
    assert newswatch(tmp_path, "archive", "import", str(FIXTURE)).returncode == 0
    contents = []
    for _ in range(2):
        result = newswatch(tmp_path, "replay", "--from", "2020-05-01", "--to", "2020-05-31")
        assert result.returncode == 0, result.stderr
        assert "7 articles indexed (2 duplicates" in result.stdout
        contents.append(stored_docs(tmp_path / "replays" / "20200501-20200601" / "store.db"))
    assert contents[0] == contents[1]


def test_a_window_with_nothing_archived_says_how_to_fix_it(tmp_path: Path) -> None:
    result = newswatch(tmp_path, "replay", "--from", "2021-01-01", "--to", "2021-01-02")
    assert result.returncode == 1
    assert "newswatch archive import DIR" in result.stderr


@pytest.mark.skipif(not SHARED_WSJ.is_dir(), reason=f"shared corpus not present at {SHARED_WSJ}")
def test_backtest_over_a_real_month_of_wsj_snapshots(tmp_path: Path, server: HTTPServer) -> None:
    assert newswatch(tmp_path, "archive", "import", str(SHARED_WSJ)).returncode == 0
    rules = rules_file(tmp_path / "rules.yaml", server, "Iran", "iran")
    result = newswatch(
        tmp_path, "backtest", "--rules", str(rules), "--from", "2020-05-01", "--to", "2020-05-31"
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "replays" / "20200501-20200601"
    rows = list(
        csv.DictReader(
            io.StringIO((folder / "backtest" / "alerts.csv").read_text(encoding="utf-8"))
        )
    )
    # the rule's matches are exactly the replayed articles that mention the word, counted independently
    word = re.compile(r"\biran\b", re.IGNORECASE)
    expected = sorted(d["article_id"] for d in stored_docs(folder / "store.db")
                      if word.search(f"{d['title']} {d['summary']} {d['text']}"))  # fmt: skip
    assert len(expected) >= 3
    assert sorted(r["article_id"] for r in rows) == expected
    assert server.log == []
