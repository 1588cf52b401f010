"""Replays wired end to end: archive (or Kafka by time) -> parse -> processors -> replay store -> rules.

Choice: a replay runs the stages' own functions in-process (`collectors.replay_entries`,
`processors.enrich_batch`, `Store.write`, the alert engine with `live=False`), one archived fetch
per batch in snapshot-time order, instead of producing onto the live topics. The live pipeline's
topics, consumer groups, store and alert state are never touched, and the order of work is fixed,
so two replays of the same archive give identical output. The replay's "now" is the snapshot
time: fetch time, published-time inference, `processed_at`, alert windows and `fired_at`.
The one exception to "in-process" is spaCy: `ReplaySink` may hand enrichment to worker processes
(`newswatch.cli.replay_workers`) and consumes their results in step order, and parses and
enrichments come from the replay cache (`newswatch.cli.replay_cache`) when a run has seen them.

Targets, named by the run (a second replay under the same name starts from empty):
    embedded        <data_dir>/replays/<run>/store.db   (articles and the run's alerts)
    Elasticsearch   alias <prefix>-replay-<run>-articles, alerts in <prefix>-replay-<run>-alerts
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from collectors import RawArchive, ReplayMemory, replay_entries
from newswatch.bus import Bus
from newswatch.cli.replay_cache import CachedParse, PartKeys, ReplayCache, part_keys, rebuild
from newswatch.cli.replay_workers import (
    NLP_BATCH,
    Enricher,
    InlineEnricher,
    Job,
    Made,
    job_of,
    result_of,
)
from newswatch.embedded_store import EmbeddedStore
from newswatch.errors import PoisonRecordError
from newswatch.schema import Article, EnrichedArticle
from newswatch.settings import Settings
from newswatch.store import Store
from newswatch.topics import ENRICHED
from processors import Processor, check_text, is_english
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


@dataclass
class _Step:
    """One replay batch waiting for its enrichment: finished (rules, store) strictly in order."""

    now: datetime
    result: ReplayResult
    ready: list[EnrichedArticle]
    raw: list[Article]
    keys: list[PartKeys]


class ReplaySink:
    """Replay batches at their "now": enrich (unless already enriched), evaluate rules, index.

    Enrichment is in three parts, each cached on its own (`newswatch.cli.replay_cache`): the
    language, and for English (or unknown) articles the entities and the topics. `step` looks
    each part up (this run's results, then the cache) and queues a job for every article still
    missing one, asking only for the missing parts, into batches of `batch` jobs for the
    enricher; it finishes the oldest steps whose parts are in, strictly in step order, so the
    rules and the store see exactly what a sequential replay shows them. Batches are cut by
    count, never by timing, so two runs enrich identical batches. An article whose parts were
    already made in this run (a syndicated copy, an id that changed) is not enriched again.
    At most `ahead` batches are in flight (default: two per worker); `step` then waits.

    Rules see every batch at once, in order; writes to the store and the alert index are gathered
    into chunks of `write_every` documents, and `flush` finishes every step and writes the rest:
    the replay functions call it at the end. `close` stops the workers (the CLI calls it always).
    """

    write_every = 1000

    def __init__(
        self,
        target: ReplayTarget,
        enricher: Enricher | Processor | None,
        backtester: Backtester | None,
        cache: ReplayCache | None = None,
        *,
        batch: int = NLP_BATCH,
        ahead: int | None = None,
    ) -> None:
        self.target = target
        self.enricher: Enricher | None = (
            InlineEnricher(processor=enricher) if isinstance(enricher, Processor) else enricher
        )
        self.backtester = backtester
        self.cache = cache
        self.batch = batch
        self.ahead = ahead or 2 * getattr(self.enricher, "workers", 1)
        self._articles: list[EnrichedArticle] = []
        self._alerts: list[AlertRecord] = []
        self._steps: deque[_Step] = deque()
        self._done: dict[bytes, str] = {}  # part key -> value, for every part known in this run
        self._queued: list[tuple[PartKeys, Job]] = []  # jobs not yet submitted
        self._waiting: set[PartKeys] = set()  # articles (by their keys) queued or in flight
        self._flight: deque[tuple[Future[list[Made]], list[PartKeys]]] = deque()
        # articles sent to the processors (the rest came from the cache or earlier in this run),
        # and the parts made for them
        self.enriched_here = 0
        self.made: Counter[str] = Counter()

    @property
    def version(self) -> str:
        """The classifier version of the enricher, '' when records arrive enriched."""
        return self.enricher.version if self.enricher is not None else ""

    def step(self, articles: Sequence[Article], now: datetime, result: ReplayResult) -> None:
        """Take one batch (one archived fetch); finish whatever earlier batches are ready."""
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
        if raw and self.enricher is None:
            raise ValueError("ReplaySink got raw articles but has no enricher; pass one")
        keys: list[PartKeys] = []
        if self.enricher is not None:
            prints = self.enricher.fingerprints
            texts = [a.full_text for a in raw]
            keys = [part_keys(prints, a, t) for a, t in zip(raw, texts, strict=True)]
            self._lookup(keys, raw, texts)
        self._steps.append(_Step(now, result, ready, raw, keys))
        if len(self._queued) >= self.batch:
            self._submit()
        self._finish(wait=False)
        while len(self._flight) > self.ahead:
            self._collect()
            self._finish(wait=False)

    def _ready(self, keys: PartKeys) -> bool:
        """Whether every part the article needs is known: its language, and for English its entities and topics."""
        language = self._done.get(keys.language)
        if language is None:
            return False
        return not is_english(language) or (
            keys.entities in self._done and keys.topics in self._done
        )

    def _lookup(self, keys: list[PartKeys], raw: list[Article], texts: list[str]) -> None:
        """Resolve parts from this run and the cache; queue a job for each article still missing one."""
        done = self._done
        if self.cache is not None:
            unknown = [k for pk in keys if pk not in self._waiting
                       for k in (pk.language, pk.entities, pk.topics) if k not in done]  # fmt: skip
            if unknown:
                done.update(self.cache.parts(list(dict.fromkeys(unknown))))
        for pk, article, text in zip(keys, raw, texts, strict=True):
            if pk in self._waiting or self._ready(pk):
                continue
            job = job_of(
                article, text, done.get(pk.language), pk.entities not in done, pk.topics not in done
            )
            self._waiting.add(pk)
            self._queued.append((pk, job))

    def _submit(self) -> None:
        if self._queued and self.enricher is not None:
            keys = [k for k, _ in self._queued]
            self._flight.append((self.enricher.submit([j for _, j in self._queued]), keys))
            self.enriched_here += len(keys)
            self._queued = []

    def _collect(self) -> None:
        """Wait for the oldest batch in flight and record the parts it made."""
        future, keys = self._flight.popleft()
        rows: list[tuple[bytes, str]] = []
        for pk, (language, entities, topics) in zip(keys, result_of(future), strict=True):
            if pk.language not in self._done:  # else the job was given the language
                rows.append((pk.language, language))
                self.made["language"] += 1
            if entities is not None:
                rows.append((pk.entities, entities))
                self.made["entities"] += 1
            if topics is not None:
                rows.append((pk.topics, topics))
                self.made["topics"] += 1
        self._done.update(rows)
        self._waiting.difference_update(keys)
        if self.cache is not None:
            self.cache.put_parts(rows)

    def _finish(self, *, wait: bool) -> None:
        """Finish steps in order while their parts are in; with `wait`, until none is left."""
        while self._steps:
            step = self._steps[0]
            if not all(map(self._ready, step.keys)):
                if self._flight and (wait or self._flight[0][0].done()):
                    self._collect()
                    continue
                if wait and self._queued:
                    self._submit()
                    continue
                if wait:  # every missing part is queued or in flight, so this is a bug
                    raise RuntimeError("replay step waits for an enrichment nobody computes")
                return
            self._steps.popleft()
            self._complete(step)

    def _complete(self, step: _Step) -> None:
        version, done = self.version, self._done
        enriched = step.ready.copy()
        for article, keys in zip(step.raw, step.keys, strict=True):
            language = done[keys.language]
            english = is_english(language)
            enriched.append(rebuild(article, language, done[keys.entities] if english else None,
                                    done[keys.topics] if english else None, version, step.now))  # fmt: skip
        self._articles += enriched
        step.result.articles += len(enriched)
        if self.backtester is not None:
            fired = self.backtester.process(enriched, step.now)
            self._alerts += [f.alert for f in fired]
            step.result.alerts.extend(fired)
        if len(self._articles) + len(self._alerts) >= self.write_every:
            self._write()

    def flush(self) -> None:
        """Finish every step (waiting for the workers), then write the gathered articles and alerts."""
        self._finish(wait=True)
        self._write()
        if self.cache is not None:
            self.cache.flush()

    def _write(self) -> None:
        if self._articles:
            self.target.store.write(self._articles)
            self._articles = []
        if self._alerts:
            self.target.alerts.write(self._alerts)
            self._alerts = []

    def close(self) -> None:
        """Stop the enricher's workers (batches not started are cancelled); safe to call twice."""
        if self.enricher is not None:
            self.enricher.close()


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
        result = ReplayResult(run, sink.target.where, classifier_version=sink.version)
        parse = CachedParse(sink.cache) if sink.cache is not None else None
        for step in replay_entries(archive, entries, run, result.memory, parse=parse):
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
    result = ReplayResult(run, sink.target.where, classifier_version=sink.version)
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
