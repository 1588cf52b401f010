"""Sink worker wiring: enriched records from the bus -> a Store, rejections -> the DLQ topic.

Batching by size and time comes from the runner's poll: `StageRunner(batch_size=N)` asks the
consumer for up to N records and waits at most `idle_timeout_s` for the first one, so a busy
topic yields full batches (one bulk request of N documents) and a quiet one yields whatever
arrived, at once. Records are never held back between polls: the handler must have written a
batch before the runner commits its offsets, so a buffer spanning polls would break
at-least-once. `sink_runner` sets N from `ElasticSettings.bulk_docs` and the poll wait from
`ElasticSettings.bulk_interval_s`.
"""

from __future__ import annotations

from collections.abc import Sequence

from newswatch import (
    BatchResult,
    Bus,
    EnrichedArticle,
    Handler,
    PoisonRecordError,
    Record,
    Settings,
    StageRunner,
    Store,
    dead_letter,
    decode_batch,
    metrics,
    topics,
    utcnow,
)

SINK_GROUP_SUFFIX = "sink"


def make_store_handler(store: Store, stage: str = "sink") -> Handler:
    """A runner handler that writes each batch of EnrichedArticle records to `store`.

    Undecodable records and store rejections (e.g. mapping errors) come back as dead letters;
    SinkUnavailableError propagates so the runner waits, seeks back and re-reads. Within one
    batch the last record per article id wins, as it would in the index anyway.
    """

    store_label = store_kind(store)

    def handle(records: Sequence[Record]) -> BatchResult:
        decoded, dead = decode_batch(records, EnrichedArticle, stage)
        latest: dict[str, tuple[Record, EnrichedArticle]] = {}
        for record, article in decoded:
            latest.pop(article.article_id, None)
            latest[article.article_id] = (record, article)
        if latest:
            rejections = store.write([article for _, article in latest.values()])
            metrics.BULK_DOCS.labels(store_label).observe(len(latest))
            now = utcnow()
            for _, article in latest.values():
                metrics.observe_fetch_to_stage(stage, article.fetched_at, now)
            for rejection in rejections:
                record, _ = latest[rejection.article_id]
                error = PoisonRecordError(f"rejected by the store: {rejection.reason}")
                dead.append(dead_letter(record, stage, error))
        return BatchResult(dead=dead)

    return handle


def store_kind(store: Store) -> str:
    """A short metrics label for a store: "elastic", "embedded", or the class name."""
    name = type(store).__name__
    return name.removesuffix("Store").lower() or name


def sink_runner(
    bus: Bus, store: Store, settings: Settings, *, group: str | None = None
) -> StageRunner:
    """A StageRunner reading the enriched topic into `store`, batched by `bulk_docs`.

    Run it with `runner.run(idle_timeout_s=settings.elastic.bulk_interval_s)`.
    """
    group = group or f"{settings.kafka.group_prefix}-{SINK_GROUP_SUFFIX}"
    return StageRunner(
        stage="sink",
        bus=bus,
        consumer=bus.consumer(group, [topics.ENRICHED]),
        handler=make_store_handler(store, stage="sink"),
        batch_size=settings.elastic.bulk_docs,
    )
