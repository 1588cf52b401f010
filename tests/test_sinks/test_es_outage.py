"""Elasticsearch stopped for ~30 s mid-stream: nothing lost, nothing committed early, DLQ empty.

The sink backs off, commits nothing it has not indexed and catches up after the restart; every
article is then in the index exactly once.

Runs on a node of its own (`private_elasticsearch`), since it stops it: about 2-3 minutes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from newswatch import ElasticSettings, EmbeddedBus, EnrichedArticle, StageRunner, topics
from sinks import ElasticStore, make_store_handler

pytestmark = pytest.mark.integration

ES = "elasticsearch"
N = 600
RATE_PER_S = 20
DOWN_FOR_S = 30


def _ids_in_index(store: ElasticStore) -> list[str]:
    store.refresh()
    resp = store.client.search(index=store.alias, size=N + 100, source=False, sort=["_doc"])
    return [h["_id"] for h in resp["hits"]["hits"]]


def test_es_stopped_mid_stream_nothing_lost(
    private_elasticsearch: Any, tmp_path: Path, unique_name: str, corpus: list[EnrichedArticle]
) -> None:
    service = private_elasticsearch  # tests/servers.py LocalService: .addresses, .stop(), .up()
    url = service.addresses[ES]
    store = ElasticStore(
        url,
        ElasticSettings(index_prefix=unique_name),
        max_attempts=3,
        backoff_s=0.2,
        max_backoff_s=2.0,
        request_timeout=5.0,
    )
    store.setup()
    bus = EmbeddedBus(tmp_path / "bus.db")
    articles = [
        corpus[i % len(corpus)].model_copy(update={"article_id": f"outage-{i:04d}"})
        for i in range(N)
    ]
    runner = StageRunner(
        stage="sink",
        bus=bus,
        consumer=bus.consumer("sink", [topics.ENRICHED]),
        handler=make_store_handler(store),
        batch_size=50,
        backoff_s=0.5,
        max_backoff_s=3.0,
    )
    worker = threading.Thread(target=runner.run, kwargs={"idle_timeout_s": 0.2}, daemon=True)

    def produce() -> None:
        producer = EmbeddedBus(tmp_path / "bus.db")
        for i, article in enumerate(articles):
            producer.produce(topics.ENRICHED, article.article_id, article.to_bytes())
            if i % 10 == 9:
                producer.flush()
                time.sleep(10 / RATE_PER_S)
        producer.flush()
        producer.close()

    producer = threading.Thread(target=produce, daemon=True)
    worker.start()
    producer.start()
    try:
        deadline = time.monotonic() + 60
        while runner.stats.consumed < N // 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert runner.stats.consumed >= N // 5, "the stream never got going"

        service.stop([ES])
        stopped_at = time.monotonic()
        time.sleep(DOWN_FOR_S)
        lag_while_down = bus.consumer("sink", [topics.ENRICHED]).lag()
        retries_while_down = runner.stats.retries
        assert service.up([ES]) is None
        restarted_after = time.monotonic() - stopped_at

        producer.join(timeout=120)
        deadline = time.monotonic() + 180
        while bus.consumer("sink", [topics.ENRICHED]).lag() > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        runner.stop_event.set()
        worker.join(timeout=30)

    print(
        f"ES stopped -> ready again after {restarted_after:.0f} s, "
        f"lag while down {lag_while_down}, retries {runner.stats.retries}"
    )
    assert lag_while_down > 0, "nothing may be committed while the store is down"
    assert retries_while_down >= 1, "the runner must have backed off during the outage"
    ids = _ids_in_index(store)
    assert len(ids) == len(set(ids)) == N
    assert set(ids) == {a.article_id for a in articles}
    assert bus.consumer("dlq-reader", [topics.DLQ]).poll(1000, 0.05) == []
    assert bus.consumer("sink", [topics.ENRICHED]).lag() == 0
    store.drop()
    store.close()
