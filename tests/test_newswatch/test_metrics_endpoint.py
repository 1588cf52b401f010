"""Issue 8: every stage updates its metrics. A real embedded `run --once` over the seed feeds, with
one webhook channel that answers and one that does not, then a scrape of a real /metrics endpoint."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from newswatch import load_settings, metrics
from newswatch.cli import wiring
from newswatch.cli.ops import StatusReport, status_report, status_tables

ROOT = Path(__file__).resolve().parents[2]

RULES = """
channels:
  good-hook: {type: webhook, url: "${GOOD_HOOK}"}
  dead-hook: {type: webhook, url: "${DEAD_HOOK}"}
rules:
  - name: putin-defence
    query: 'entity:"Vladimir Putin" AND topic:defence'
    channels: [good-hook, dead-hook]
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Samples, StatusReport]]:
    data = tmp_path_factory.mktemp("metrics")
    shutil.copytree(ROOT / "seeds" / "feeds", data / "feeds")
    shutil.copy(ROOT / "seeds" / "feeds.toml", data / "feeds.toml")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    hooks = HTTPServer(host="127.0.0.1", port=0)
    hooks.expect_request("/good").respond_with_data("ok")
    hooks.expect_request("/dead").respond_with_data("down", status=503)
    hooks.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("GOOD_HOOK", hooks.url_for("/good"))
    mp.setenv("DEAD_HOOK", hooks.url_for("/dead"))
    settings = load_settings(None, data_dir=data, alerts_file=data / "rules.yaml")
    bus, store = wiring.open_bus(settings), wiring.open_store(settings)
    try:
        wiring.run_once(settings, bus, store)
        port = _free_port()
        metrics.serve(port)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        report = status_report(settings)
    finally:
        bus.close()
        store.close()
        hooks.clear()
        hooks.stop()
        mp.undo()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    yield samples, report


@pytest.fixture
def scraped(run: tuple[Samples, StatusReport]) -> Samples:
    return run[0]


def _sum(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def test_fetch_outcomes_per_feed(scraped: Samples) -> None:
    assert _sum(scraped, "newswatch_feed_fetches_total", feed="seed", outcome="new") >= 1
    assert _sum(scraped, "newswatch_feed_fetches_total", feed="guardian", outcome="new") >= 1
    assert _sum(scraped, "newswatch_articles_total", stage="collector", outcome="published") > 100


def test_stage_throughput_and_fetch_to_sink_latency(scraped: Samples) -> None:
    sunk = _sum(scraped, "newswatch_articles_total", stage="sink", outcome="ok")
    assert sunk > 100
    assert _sum(scraped, "newswatch_fetch_to_stage_seconds_count", stage="sink") >= sunk
    assert _sum(scraped, "newswatch_fetch_to_stage_seconds_sum", stage="sink") > 0
    assert _sum(scraped, "newswatch_batch_seconds_count", stage="processor") >= 1


def test_bulk_sizes(scraped: Samples) -> None:
    assert _sum(scraped, "newswatch_sink_bulk_docs_count", store="embedded") >= 1
    assert _sum(scraped, "newswatch_sink_bulk_docs_sum", store="embedded") > 100


def test_alerts_fired_delivered_and_failed_per_channel(scraped: Samples) -> None:
    assert _sum(scraped, "newswatch_alerts_total", rule_type="match", outcome="fired") >= 1
    assert _sum(scraped, "newswatch_alerts_total", channel="good-hook", outcome="delivered") >= 1
    assert _sum(scraped, "newswatch_alerts_total", channel="dead-hook", outcome="retried") >= 1
    assert _sum(scraped, "newswatch_alerts_total", channel="dead-hook", outcome="delivered") == 0


def test_volume_gauges_exist_for_polled_feeds(scraped: Samples) -> None:
    assert ("newswatch_feed_volume_drop", frozenset({("feed", "seed")})) in scraped


def test_status_report_after_a_run(run: tuple[Samples, StatusReport]) -> None:
    report = run[1]
    by_stage = {s.stage: s for s in report.stages}
    assert by_stage["collector"].last_hour == by_stage["collector"].last_day > 100
    assert by_stage["processor"].last_hour == by_stage["collector"].last_hour
    assert all(by_stage[s].lag == 0 for s in ("processor", "sink", "alerts", "alert-index"))
    assert report.store_count is not None and report.store_count > 100
    assert report.dlq_size == 0 and report.healthy, report.problems
    assert report.pipeline_volume is not None and not report.pipeline_volume.dropped
    assert {"bus.db", "store.db", "collector.db", "archive/"} <= set(report.disk_bytes)
    assert [f.health for f in report.feeds if f.health != "ok"] == []
    assert len(status_tables(report)) >= 3
