"""The sink worker: enriched records from the bus into a store, failures onto the dead-letter topic.

The bus is EmbeddedBus (wiring only); the store is the real thing: EmbeddedStore, or
ElasticStore on the real node for the integration cases.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newswatch import (
    DeadLetter,
    EmbeddedBus,
    EmbeddedStore,
    EnrichedArticle,
    Entity,
    Settings,
    StageRunner,
    Store,
    topics,
)
from sinks import ElasticStore, make_store_handler, sink_runner

StoreFactory = Callable[..., ElasticStore]


def publish(bus: EmbeddedBus, values: list[bytes | EnrichedArticle]) -> None:
    for value in values:
        if isinstance(value, EnrichedArticle):
            bus.produce(topics.ENRICHED, value.article_id, value.to_bytes())
        else:
            bus.produce(topics.ENRICHED, None, value)
    bus.flush()


def dead_letters(bus: EmbeddedBus) -> list[DeadLetter]:
    records = bus.consumer("test-dlq-reader", [topics.DLQ]).poll(10_000, 0.05)
    return [DeadLetter.model_validate_json(r.value) for r in records]


def run_sink(bus: EmbeddedBus, store: Store, *, batch_size: int = 4) -> StageRunner:
    runner = StageRunner(
        stage="sink",
        bus=bus,
        consumer=bus.consumer("sink", [topics.ENRICHED]),
        handler=make_store_handler(store),
        batch_size=batch_size,
        backoff_s=0.0,
        max_backoff_s=0.05,
    )
    runner.run(until_idle=True, idle_timeout_s=0.05)
    return runner


def unmappable(article: EnrichedArticle) -> EnrichedArticle:
    """Valid as a record, refused by the mapping: an entity count beyond the integer range."""
    return article.model_copy(
        update={
            "article_id": "unmappable-1",
            "entities": (Entity(text="x", label="ORG", canonical="x", count=2**40),),
        }
    )


def test_embedded_store_poison_bytes_dead_lettered_rest_stored(
    tmp_path: Path, corpus: list[EnrichedArticle]
) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    store = EmbeddedStore(tmp_path / "store.db")
    store.setup()
    publish(bus, [*corpus[:3], b"not a record", *corpus[3:]])
    run_sink(bus, store)
    assert store.count() == len(corpus)
    (dead,) = dead_letters(bus)
    assert (dead.stage, dead.error_class, dead.payload, dead.offset) == (
        "sink",
        "PoisonRecordError",
        b"not a record",
        3,
    )
    assert bus.consumer("sink", [topics.ENRICHED]).lag() == 0


def test_last_record_per_id_in_a_batch_wins(tmp_path: Path, corpus: list[EnrichedArticle]) -> None:
    store = EmbeddedStore(tmp_path / "store.db")
    store.setup()
    bus = EmbeddedBus(tmp_path / "bus.db")
    newer = corpus[0].model_copy(update={"title": "Updated headline"})
    publish(bus, [corpus[0], corpus[1], newer])
    run_sink(bus, store, batch_size=10)
    assert store.count() == 2
    assert store.get(newer.article_id) == newer


def test_sink_runner_batches_by_bulk_docs(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    store = EmbeddedStore(tmp_path / "store.db")
    settings = Settings(data_dir=tmp_path, elastic={"bulk_docs": 123})  # type: ignore[arg-type]
    runner = sink_runner(bus, store, settings)
    assert runner.batch_size == 123 and runner.stage == "sink"


@pytest.mark.integration
def test_mapping_rejection_goes_to_dlq_with_reason_and_stream_goes_on(
    tmp_path: Path, es_store: ElasticStore, corpus: list[EnrichedArticle]
) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bad = unmappable(corpus[0])
    publish(bus, [*corpus[:2], bad, b"\x00garbage", *corpus[2:]])
    runner = run_sink(bus, es_store)
    es_store.refresh()
    assert es_store.count() == len(corpus)
    assert {es_store.get(a.article_id) for a in corpus} == set(corpus)
    dead = sorted(dead_letters(bus), key=lambda d: d.offset or 0)
    assert [(d.offset, d.error_class) for d in dead] == [
        (2, "PoisonRecordError"),
        (3, "PoisonRecordError"),
    ]
    assert dead[0].key == "unmappable-1" and "rejected by the store: 400" in dead[0].message
    assert "entities.count" in dead[0].message
    assert EnrichedArticle.model_validate_json(dead[0].payload) == bad, (
        "the DLQ keeps the original bytes"
    )
    assert runner.stats.dead_lettered == 2


@pytest.mark.integration
def test_bulk_connection_errors_make_the_runner_wait_and_reread_nothing_lost(
    tmp_path: Path,
    es_url: str,
    es_store_factory: StoreFactory,
    failing_bulk_client: Callable[..., Any],
    corpus: list[EnrichedArticle],
) -> None:
    client, calls = failing_bulk_client(es_url, fail_calls={2, 3})
    store = es_store_factory(client=client, max_attempts=1, backoff_s=0.0, max_backoff_s=0.01)
    store.setup()
    bus = EmbeddedBus(tmp_path / "bus.db")
    many = [
        a.model_copy(update={"article_id": f"{a.article_id}-{i}"}) for i in range(5) for a in corpus
    ]
    publish(bus, many)
    runner = run_sink(bus, store, batch_size=8)
    store.refresh()
    assert runner.stats.retries == 2, (
        "each failed bulk call -> SinkUnavailableError -> wait, seek back, re-read"
    )
    assert store.count() == len(many)
    found = store.client.search(index=store.alias, size=100, source=False)["hits"]["hits"]
    assert sorted(h["_id"] for h in found) == sorted(a.article_id for a in many)
    assert dead_letters(bus) == []
    assert len(calls) == -(-len(many) // 8) + 2
