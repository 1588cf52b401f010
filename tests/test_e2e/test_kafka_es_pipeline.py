"""End to end on the production path: the CLI over seeds/ with Kafka as the bus and Elasticsearch as
the store, as separate services, with two processor workers in one consumer group."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from prometheus_client import REGISTRY

from newswatch import article_id, load_settings
from newswatch.cli.health import status_report
from tests.test_e2e.conftest import run_newswatch

ROOT = Path(__file__).resolve().parents[2]
SEED_URL = "https://newswatch.example/seed/india-russia-joint-defence-manufacturing"

pytestmark = pytest.mark.e2e


def _newswatch(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return run_newswatch(env, *args, timeout=timeout)


def _count(es: Elasticsearch, prefix: str) -> int:
    es.indices.refresh(index=f"{prefix}-articles")
    return int(es.count(index=f"{prefix}-articles")["count"])


@pytest.fixture
def production_env(
    private_kafka: Any, es_url: str, unique_name: str, tmp_path: Path
) -> dict[str, str]:
    return {
        "NEWSWATCH_BUS": f"kafka://{private_kafka.addresses['kafka']}",
        "NEWSWATCH_STORE": es_url,
        "NEWSWATCH_ELASTIC__INDEX_PREFIX": unique_name,
        "NEWSWATCH_KAFKA__PARTITIONS": "4",
        "NEWSWATCH_DATA_DIR": str(tmp_path / "data"),
        "NEWSWATCH_FEEDS_FILE": str(ROOT / "seeds" / "feeds.toml"),
        "NEWSWATCH_ALERTS_FILE": str(ROOT / "seeds" / "demo-alerts.yaml"),
    }


def test_separate_services_on_kafka_and_elasticsearch(
    production_env: dict[str, str], es_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = production_env
    prefix = env["NEWSWATCH_ELASTIC__INDEX_PREFIX"]
    collected = _newswatch(env, "collect", "--once")
    assert collected.returncode == 0, collected.stderr
    published = sum(int(n) for n in re.findall(r": new \(ok\), (\d+) new of", collected.stdout))
    assert published > 100

    processed = _newswatch(env, "process", "--workers", "2", "--once")
    assert processed.returncode == 0, processed.stderr
    assert f"processed {published} articles, 0 dead-lettered" in processed.stdout

    sunk = _newswatch(env, "sink", "--once")
    assert sunk.returncode == 0, sunk.stderr
    es = Elasticsearch(es_url)
    try:
        assert (
            _count(es, prefix) == published
        )  # every article, exactly once (ids are deterministic)
        seed = es.get(index=f"{prefix}-articles", id=article_id(SEED_URL))["_source"]
    finally:
        es.close()
    assert {"defence", "trade"} <= {t["label"] for t in seed["topics"]}
    assert {"Narendra Modi", "Vladimir Putin"} <= set(seed["entities_person"])

    found = _newswatch(env, "search", "S-400", "--entity", "Vladimir Putin", "--json")
    assert found.returncode == 0, found.stderr
    assert article_id(SEED_URL) in [
        json.loads(line)["article_id"] for line in found.stdout.splitlines() if line
    ]

    again = _newswatch(env, "run", "--once")  # the all-in-one mode on the same servers: nothing new
    assert again.returncode == 0, again.stderr
    assert "processed 0 articles" in again.stdout

    health = _newswatch(env, "health")  # exit 0: every group caught up, no dead letters, feeds ok
    assert health.returncode == 0, health.stdout + health.stderr
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    report = status_report(load_settings())
    by_stage = {s.stage: s for s in report.stages}
    assert by_stage["collector"].last_hour == published and report.store_count == published
    assert by_stage["processor"].lag == by_stage["sink"].lag == 0 and report.dlq_size == 0
    group = by_stage["processor"].group
    lags = {  # issue 8: lag per group and partition on /metrics, all four partitions of news.raw
        p: REGISTRY.get_sample_value(
            "newswatch_consumer_lag", {"group": group, "topic": "news.raw", "partition": str(p)}
        )
        for p in range(4)
    }
    assert lags == {0: 0, 1: 0, 2: 0, 3: 0}
