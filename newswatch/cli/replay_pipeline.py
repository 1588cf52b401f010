"""Replays wired end to end: archive (or Kafka by time) -> parse -> processors -> replay store -> rules.

Choice: a replay runs the stages' own functions in-process (`collectors.replay_entries`,
`processors.enrich_batch`, `Store.write`, the alert engine with `live=False`), one archived fetch
per batch in snapshot-time order, instead of producing onto the live topics. The live pipeline's
topics, consumer groups, store and alert state are never touched, and the order of work is fixed,
so two replays of the same archive give identical output. The replay's "now" is the snapshot
time: fetch time, published-time inference, `processed_at`, alert windows and `fired_at`.

Targets, named by the run (a second replay under the same name starts from empty):
    embedded        <data_dir>/replays/<run>/store.db   (articles and the run's alerts)
    Elasticsearch   alias <prefix>-replay-<run>-articles, alerts in <prefix>-replay-<run>-alerts
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from collectors import RawArchive, ReplayMemory, replay_entries
from newswatch.bus import Bus
from newswatch.cli.replay_cache import EnrichCache
from newswatch.embedded_store import EmbeddedStore
from newswatch.errors import PoisonRecordError
from newswatch.schema import Article, EnrichedArticle
from newswatch.settings import Settings
from newswatch.store import Store
from newswatch.topics import ENRICHED
from processors import Processor, check_text, enrich_batch
from sinks import (
    AlertIndex,
    ElasticAlertIndex,
    ElasticStore,
    EmbeddedAlertIndex,
    alerts_index_name,
    make_client,
)
from sinks.alerts import AlertRecord
from sinks.backtest import Backtester, WouldBeAlert

REPLAYS_DIR = "replays"
Advance = Callable[[int], None]


def _noop(_: int) -> None:
    return None


def run_name(
    since: datetime, until: datetime, feeds: Sequence[str] = (), kafka: bool = False
) -> str:
    """A stable default name: the window's dates, plus a short hash of the feed filter."""
    name = f"{since:%Y%m%d}-{until:%Y%m%d}" + ("-kafka" if kafka else "")
    if feeds:
        name += "-" + hashlib.sha256("\n".join(sorted(feeds)).encode()).hexdigest()[:6]
    return name


def check_run_name(run: str) -> str:
    """Run names become folder and index names: lower-case letters, digits, '-' and '_' only."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", run):
        raise ValueError(
            f"replay run name {run!r}: use 1-64 lower-case letters, digits, '-' or '_'"
        )
    return run


def replay_dir(settings: Settings, run: str) -> Path:
    """Where an embedded replay run keeps its store."""
    return settings.data_dir / REPLAYS_DIR / run


@dataclass
class ReplayTarget:
    """The run's own store and alert index, and a human description of where they are."""

    store: Store
    alerts: AlertIndex
    where: str

    def close(self) -> None:
        self.store.close()
        self.alerts.close()


def open_target(settings: Settings, run: str) -> ReplayTarget:
    """Create the run's store from empty (dropping a previous run of the same name)."""
    if settings.uses_elasticsearch:
        elastic = settings.elastic.model_copy(
            update={"index_prefix": f"{settings.elastic.index_prefix}-replay-{run}"}
        )
        store = ElasticStore(settings.store, elastic)
        store.drop()
        store.setup()
        client = make_client(settings.store, elastic)
        client.indices.delete(
            index=alerts_index_name(elastic.index_prefix), ignore_unavailable=True
        )
        index: AlertIndex = ElasticAlertIndex(client, elastic)
        index.setup()
        return ReplayTarget(store, index, f"{settings.store} alias {store.alias}")
    folder = replay_dir(settings, run)
    shutil.rmtree(folder, ignore_errors=True)
    embedded = EmbeddedStore(folder / "store.db")
    embedded.setup()
    alert_index = EmbeddedAlertIndex(folder / "store.db")
    alert_index.setup()
    return ReplayTarget(embedded, alert_index, str(folder / "store.db"))


@dataclass
class ReplayResult:
    """What a replay did; `alerts` holds every would-be alert when rules were evaluated."""

    run: str
    where: str = ""
    fetches: int = 0
    found: int = 0
    articles: int = 0
    empty: int = 0
    unreadable_fetches: int = 0
    classifier_version: str = ""
    alerts: list[WouldBeAlert] = field(default_factory=list)
    memory: ReplayMemory = field(default_factory=ReplayMemory)

    @property
    def duplicates(self) -> int:
        return self.found - self.articles - self.empty


class ReplaySink:
    """One replay batch at its "now": enrich (unless already enriched), evaluate rules, index.

    Rules see every batch at once, in order; writes to the store and the alert index are gathered
    into chunks of `write_every` documents (one transaction or bulk request each, instead of one
    per archived fetch), and `flush` writes the rest: the replay functions call it at the end.
    """

    write_every = 1000

    def __init__(
        self,
        target: ReplayTarget,
        processor: Processor | None,
        backtester: Backtester | None,
        cache: EnrichCache | None = None,
    ) -> None:
        self.target = target
        self.processor = processor
        self.backtester = backtester
        self.cache = cache
        self._articles: list[EnrichedArticle] = []
        self._alerts: list[AlertRecord] = []

    def step(self, articles: Sequence[Article], now: datetime, result: ReplayResult) -> None:
        enriched = self._enrich(articles, now, result)
        self._articles += enriched
        result.articles += len(enriched)
        if self.backtester is not None:
            fired = self.backtester.process(enriched, now)
            self._alerts += [f.alert for f in fired]
            result.alerts.extend(fired)
        if len(self._articles) + len(self._alerts) >= self.write_every:
            self.flush()

    def flush(self) -> None:
        """Write the gathered articles and alerts."""
        if self._articles:
            self.target.store.write(self._articles)
            self._articles = []
        if self._alerts:
            self.target.alerts.write(self._alerts)
            self._alerts = []

    def _enrich(
        self, articles: Sequence[Article], now: datetime, result: ReplayResult
    ) -> list[EnrichedArticle]:
        ready = [a for a in articles if isinstance(a, EnrichedArticle)]
        raw: list[Article] = []
        for article in articles:
            if isinstance(article, EnrichedArticle):
                continue
            try:
                check_text(article)
            except PoisonRecordError:
                result.empty += 1
                continue
            raw.append(article)
        if raw and self.cache is not None:
            ready += [e.model_copy(update={"processed_at": now}) for e in self.cache.enrich(raw)]
        elif raw and self.processor is not None:
            p = self.processor
            made = enrich_batch(raw, p.classifier, p.extractor, p.detector)
            ready += [e.model_copy(update={"processed_at": now}) for e in made]
        return ready


def replay_archive(
    settings: Settings,
    sink: ReplaySink,
    run: str,
    since: datetime,
    until: datetime,
    feeds: Sequence[str] = (),
    *,
    start: Callable[[int], None] = _noop,
    advance: Advance = _noop,
) -> ReplayResult:
    """Replay archived fetches with since <= fetch time < until, oldest first; `start(total)` then `advance(1)` each."""
    archive = RawArchive.for_settings(settings)
    try:
        entries = archive.entries(since, until, feeds)
        start(len(entries))
        result = ReplayResult(run, sink.target.where)
        if sink.processor is not None:
            result.classifier_version = sink.processor.version
        for step in replay_entries(archive, entries, run, result.memory):
            result.fetches += 1
            result.found += step.found
            if step.parsed.status in ("not-a-feed", "empty"):
                result.unreadable_fetches += 1
            sink.step(list(step.fresh), step.entry.fetched_at, result)
            advance(1)
        sink.flush()
        return result
    finally:
        archive.close()


def replay_bus(
    settings: Settings,
    bus: Bus,
    sink: ReplaySink,
    run: str,
    topic: str,
    since: datetime,
    until: datetime,
    *,
    enriched: bool | None = None,
    advance: Advance = _noop,
    idle_polls: int = 3,
    poll_s: float = 2.0,
    max_idle_s: float = 60.0,
) -> ReplayResult:
    """Re-read `topic` from the offsets for `since` in group `<prefix>.replay-<run>`, stopping at `until`.

    Stops when an empty poll finds the group caught up (lag 0: every record read and committed),
    or after `idle_polls` polls in a row that hold only records at or past `until` (every
    partition has passed the window while the live pipeline keeps producing), or after
    `max_idle_s` of empty polls. Records are handled per fetch time, in (timestamp, partition, offset) order.
    `enriched` says whether the topic holds EnrichedArticle records (default: it is news.enriched).
    """
    enriched = topic == ENRICHED if enriched is None else enriched
    model: type[Article] = EnrichedArticle if enriched else Article
    until_ms = int(until.timestamp() * 1000)
    consumer = bus.consumer(
        f"{settings.kafka.group_prefix}.replay-{run}",
        [topic],
        start="earliest",
        from_timestamp_ms=int(since.timestamp() * 1000),
    )
    result = ReplayResult(run, sink.target.where)
    if sink.processor is not None:
        result.classifier_version = sink.processor.version
    empty = past_only = 0
    try:
        while past_only < idle_polls:
            records = consumer.poll(500, poll_s)
            if records:
                consumer.commit(records)
            else:
                empty += 1
                if consumer.lag() == 0 or empty * poll_s >= max_idle_s:
                    break  # caught up with the topic's end (or the group never got records)
                continue
            empty = 0
            wanted = sorted(
                (r for r in records if r.timestamp_ms < until_ms),
                key=lambda r: (r.timestamp_ms, r.partition, r.offset),
            )
            past_only = 0 if wanted else past_only + 1
            articles = [
                model.model_validate_json(r.value).model_copy(update={"replay_run": run})
                for r in wanted
            ]
            for now, batch in _by_fetch_time(articles):
                fresh = []
                for article in batch:
                    if article.article_id in result.memory.seen:
                        result.memory.resightings[article.article_id] += 1
                    else:
                        result.memory.seen.add(article.article_id)
                        fresh.append(article)
                result.found += len(batch)
                result.fetches += 1
                sink.step(fresh, now, result)
            advance(len(wanted))
        sink.flush()
    finally:
        consumer.close()
    return result


def _by_fetch_time(articles: list[Article]) -> list[tuple[datetime, list[Article]]]:
    groups: dict[datetime, list[Article]] = {}
    for article in articles:
        groups.setdefault(article.fetched_at, []).append(article)
    return sorted(groups.items(), key=lambda kv: kv[0])
