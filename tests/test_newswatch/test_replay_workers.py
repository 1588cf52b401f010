"""Replay speed work (issue 6): enrichment in worker processes, in order; the replay cache; clean shutdown.

The worker tests load the real processors (spaCy) in spawned processes over a real slice of
../shared/corpora/feeds (skipped with a reason when absent) and over the committed archive.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import RawArchive, find_snapshots, import_snapshots
from newswatch import Article, Settings
from newswatch.cli import replay_pipeline as rp
from newswatch.cli.replay_cache import Fingerprints, ReplayCache
from newswatch.cli.replay_workers import (
    InlineEnricher,
    Job,
    Made,
    PoolEnricher,
    ReplayWorkerError,
    job_of,
)
from sinks.backtest import Backtester

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "archive" / "wire"
SHARED_WSJ = ROOT.parent / "shared" / "corpora" / "feeds" / "wsj-world-news"
MAY, JUNE = datetime(2020, 5, 1, tzinfo=UTC), datetime(2020, 5, 8, tzinfo=UTC)
RULES = "rules:\n  - {name: iran, query: 'Iran OR sanction*'}\n  - {name: defence, query: 'topic:defence'}\n"
needs_wsj = pytest.mark.skipif(
    not SHARED_WSJ.is_dir(), reason=f"shared corpus not present at {SHARED_WSJ}"
)


def archive_of(tmp: Path, folder: Path) -> Settings:
    settings = Settings(data_dir=tmp / "data")
    archive = RawArchive.for_settings(settings)
    import_snapshots(archive, find_snapshots(folder)[0])
    archive.close()
    return settings


def replay(
    settings: Settings, run: str, enricher: object, cache: ReplayCache | None = None, **kw: int
) -> tuple[rp.ReplayResult, rp.ReplaySink, list[dict[str, object]]]:
    """Replay May 1-8 2020 with the rules; the stored documents by id."""
    rules = settings.data_dir / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    target = rp.open_target(settings, run)
    tester = Backtester(rules)
    sink = rp.ReplaySink(target, enricher, tester, cache, **kw)  # type: ignore[arg-type]
    try:
        result = rp.replay_archive(settings, sink, run, MAY, JUNE)
    finally:
        sink.close()
        tester.close()
        target.close()
    with sqlite3.connect(rp.replay_dir(settings, run) / "store.db") as conn:
        docs = [
            json.loads(d) for (d,) in conn.execute("SELECT doc FROM articles ORDER BY article_id")
        ]
    return result, sink, docs


def alerts_of(result: rp.ReplayResult) -> list[tuple[str, str, datetime]]:
    return [(a.alert.rule, a.alert.alert_id, a.fired_at) for a in result.alerts]


@needs_wsj
def test_workers_give_exactly_what_one_process_gives_and_the_cache_serves_the_rerun(
    tmp_path: Path,
) -> None:
    settings = archive_of(tmp_path, SHARED_WSJ)
    inline, _, inline_docs = replay(settings, "wsj", InlineEnricher())
    cache = ReplayCache(tmp_path / "cache.db")
    # small batches and a short window: many batches in flight, finished out of order
    first, sink, first_docs = replay(settings, "wsj", PoolEnricher(2), cache, batch=7, ahead=3)
    assert multiprocessing.active_children() == []  # close() ended both workers
    assert len(inline_docs) > 40 and first_docs == inline_docs
    assert alerts_of(first) == alerts_of(inline) and len(first.alerts) > 3
    assert sink.enriched_here == sink.made["language"] > 0
    assert cache.misses["parts"] >= sum(sink.made.values()) > sink.enriched_here
    parsed_first = cache.misses["parsed"]
    again, resink, again_docs = replay(settings, "wsj", PoolEnricher(2), cache)
    cache.close()
    assert again_docs == inline_docs and alerts_of(again) == alerts_of(inline)
    assert resink.enriched_here == 0  # nothing reached spaCy, and no worker was started
    assert cache.hits["parsed"] == parsed_first and cache.hits["parts"] == sum(sink.made.values())


class OutOfOrder:
    """An Enricher of our own protocol whose batches finish in random order on threads."""

    version = "test.v1"
    fingerprints = Fingerprints("test-language", "test-entities", "test-topics")

    def __init__(self, jitter: bool = True) -> None:
        self.pool = ThreadPoolExecutor(4 if jitter else 1)
        self.jitter = jitter
        self.sent: list[int] = []

    def submit(self, jobs: Sequence[Job]) -> Future[list[Made]]:
        self.sent.append(len(jobs))

        def work() -> list[Made]:
            time.sleep(random.random() / 20 if self.jitter else 0)
            return [
                (job[0][:2], "[]" if job[6] else None, "[]" if job[7] else None) for job in jobs
            ]

        return self.pool.submit(work)

    def close(self) -> None:
        self.pool.shutdown()


def test_steps_finish_in_order_and_each_distinct_text_is_enriched_once(tmp_path: Path) -> None:
    settings = archive_of(tmp_path, FIXTURE)
    in_turn, _, in_turn_docs = replay(settings, "in-turn", OutOfOrder(jitter=False))
    enricher = OutOfOrder()
    result, sink, docs = replay(settings, "order", enricher, batch=1, ahead=3)
    assert len(docs) == 7 and all(d["processed_at"] == d["fetched_at"] for d in docs)
    assert [{**d, "replay_run": ""} for d in docs] == [
        {**d, "replay_run": ""} for d in in_turn_docs
    ]
    assert alerts_of(result) == alerts_of(in_turn) and len(result.alerts) == 3
    assert sum(enricher.sent) == sink.enriched_here == 7
    fired = [a.fired_at for a in result.alerts]
    assert fired == sorted(fired)  # the rules saw the steps in snapshot-time order
    # the same text under another id is served from this run's results, not enriched again
    target = rp.open_target(settings, "dups")
    twin = rp.ReplaySink(target, OutOfOrder(), None, batch=2)
    base = Article.create(link="https://a.example/1", title="Same words", summary="Same body",
                          published_at=MAY, fetched_at=MAY)  # fmt: skip
    copy = Article.create(link="https://b.example/2", title="Same words", summary="Same body",
                          published_at=MAY, fetched_at=MAY)  # fmt: skip
    outcome = rp.ReplayResult("dups")
    twin.step([base], MAY, outcome)
    twin.step([copy], JUNE, outcome)
    twin.flush()
    twin.close()
    target.close()
    assert (outcome.articles, twin.enriched_here) == (2, 1)


def test_a_dead_worker_stops_the_replay_with_the_next_step_and_leaves_no_process(
    tmp_path: Path,
) -> None:
    settings = archive_of(tmp_path, FIXTURE)
    enricher = PoolEnricher(2)
    article = Article.create(link="https://a.example/1", title="Iran talks", summary="Sanctions",
                             published_at=MAY, fetched_at=MAY)  # fmt: skip
    job = job_of(article, article.full_text, None, True, True)
    assert len(enricher.submit([job]).result(timeout=300)) == 1  # a worker is up
    workers = multiprocessing.active_children()
    assert len(workers) >= 1
    os.kill(workers[0].pid, signal.SIGKILL)  # type: ignore[arg-type]
    workers[0].join(10)
    target = rp.open_target(settings, "dead")
    sink = rp.ReplaySink(target, enricher, None, batch=1)
    with pytest.raises(ReplayWorkerError, match="Run the replay again"):
        rp.replay_archive(settings, sink, "dead", MAY, JUNE)
    sink.close()
    target.close()
    deadline = time.monotonic() + 30
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert multiprocessing.active_children() == []


LAUNCH = "from newswatch.cli import app, run\nfrom newswatch.cli.replay import register\nregister(app)\nrun()"

CTRL_C_AS_AT_A_TERMINAL = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
"""A suite started as a background job (`nohup ... &` in a script) hands its children SIGINT ignored,
and Python then installs no KeyboardInterrupt handler: the replay under test gets Ctrl-C as a user's."""


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


@needs_wsj
@pytest.mark.parametrize(
    "how",
    [
        pytest.param("group", id="ctrl-c-to-the-terminal-group"),
        pytest.param(signal.SIGTERM, id="sigterm-to-the-parent"),
        pytest.param(signal.SIGKILL, id="parent-killed-outright"),
    ],
)
def test_stopping_a_replay_ends_every_worker(tmp_path: Path, how: object) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(NEWSWATCH_DATA_DIR=str(tmp_path), COLUMNS="200")
    cli = [sys.executable, "-c", LAUNCH]
    assert subprocess.run([*cli, "archive", "import", str(SHARED_WSJ)], check=False, env=env, cwd=ROOT,
                          capture_output=True, timeout=300).returncode == 0  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_AS_AT_A_TERMINAL + LAUNCH, "replay", "--from", "2020-04-01", "--to", "2021-12-31",
                             "--workers", "2", "--fresh"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        workers = [c for c in children_of(proc.pid) if "spawn_main" in _cmdline(c)]
    assert len(workers) == 2, "the replay never started its two workers"
    time.sleep(0.5)  # workers loading or enriching (the replay ends ~4 s after they appear)
    assert proc.poll() is None, "the replay ended before it could be stopped; give it more work"
    if (
        how == "group"
    ):  # a terminal sends SIGINT to the whole group: the workers leave it to the parent
        for pid in [proc.pid, *workers]:
            os.kill(pid, signal.SIGINT)
    else:  # a service manager, `kill PID` or the OOM killer signals the parent alone
        proc.send_signal(how)  # type: ignore[arg-type]
    proc.communicate(timeout=120)
    assert proc.returncode != 0  # interrupted, not finished
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"workers {workers} outlived the replay"
        time.sleep(0.2)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
