"""Fault tolerance on the production path: a Kafka broker stopped and restarted in the middle of a
stream, with processor and sink workers running; afterwards every article is in Elasticsearch once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from newswatch import Article, BusUnavailableError, Settings, topics
from newswatch.cli import wiring

N = 150


def _articles() -> list[Article]:
    now = datetime.now(UTC)
    return [
        Article.create(
            link=f"https://faults.example/story/{i}", title=f"Army tests missile number {i}",
            summary="The defence ministry said the air force and navy joined the exercise.",
            text=f"Story {i}: troops from India and Russia took part in the drill near the border.",
            published_at=now, fetched_at=now, outlet="Faults Wire", language="en",
        )
        for i in range(N)
    ]


def _produce_steadily(settings: Settings, articles: list[Article], per_s: float, done: list[int]) -> None:
    """A collector-like producer that keeps retrying while the broker is away; counts into `done`."""
    bus = wiring.open_bus(settings)
    for i, art in enumerate(articles):
        while True:
            try:
                bus.produce(topics.RAW, art.article_id, art.to_bytes())
                bus.flush()
                done[0] += 1
                break
            except BusUnavailableError:
                time.sleep(0.5)
        time.sleep(1 / per_s if i < len(articles) - 1 else 0)
    bus.close()


def test_broker_restart_mid_stream_loses_nothing(private_kafka: Any, es_url: str, unique_name: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, bus=f"kafka://{private_kafka.addresses['kafka']}", store=es_url,
        elastic={"index_prefix": unique_name}, kafka={"partitions": 3, "group_prefix": unique_name},  # type: ignore[arg-type]
    )
    bus = wiring.open_bus(settings)
    store = wiring.open_store(settings)
    stop = threading.Event()
    runners = [wiring.processor_runner(settings, bus, stop), wiring.sink_runner(settings, bus, store, stop)]
    for runner in runners:
        runner.backoff_s, runner.max_backoff_s = 0.2, 2.0
    workers = [threading.Thread(target=r.run, kwargs={"idle_timeout_s": 0.5}) for r in runners]
    for worker in workers:
        worker.start()
    articles = _articles()
    produced = [0]
    producer = threading.Thread(target=_produce_steadily, args=(settings, articles, 25.0, produced))
    producer.start()
    try:
        time.sleep(2.5)  # mid-stream: some articles indexed, some in flight, most not yet produced
        produced_before_stop = produced[0]
        private_kafka.stop(["kafka"])
        time.sleep(8)
        private_kafka.up(["kafka"])
        producer.join(timeout=300)
        es = Elasticsearch(es_url)
        index = f"{unique_name}-articles"
        deadline = time.monotonic() + 240
        count = 0
        while time.monotonic() < deadline:
            es.indices.refresh(index=index)
            count = int(es.count(index=index)["count"])
            if count >= N:
                break
            time.sleep(1)
        ids = {hit["_id"] for hit in es.search(index=index, size=N + 10, source=False)["hits"]["hits"]}
        es.close()
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        for runner in runners:
            runner.consumer.close()  # else the group member's IO thread outlives the test
        store.drop()  # type: ignore[attr-defined]
        store.close()
        bus.close()
    assert not producer.is_alive()
    assert count == N
    assert ids == {a.article_id for a in articles}
    assert sum(r.stats.dead_lettered for r in runners) == 0
    assert 0 < produced_before_stop < N  # the broker really went away mid-stream
