"""Replay and backtest throughput, archive size per 1,000 items, and a month of 40 feeds, extrapolated.

    .venv/bin/python bench/bench_replay.py [--corpus DIR] [--kafka HOST:PORT] [--es URL]

Archive: every snapshot of ../shared/corpora/feeds imported into a fresh archive (zstd blobs +
SQLite index). Baseline, same run: the collector half of a replay alone (read blob, parse at
snapshot time, dedup). End to end: the same fetches through parse -> processors (spaCy, topics)
-> embedded replay store -> three alert rules (the `newswatch backtest` path, report excluded).
"items" are feed items inside the replayed bodies (repeats included): what the replay reads;
"articles" are the new ones it processes. The end-to-end run goes twice: first with an empty
enrichment cache, then as an analyst's re-run after editing a rule (spaCy results cached). With
--es the cached run also writes to an Elasticsearch replay index; with --kafka the processed
articles are produced on a topic of their own with their fetch times and replayed by time
(`replay --kafka --topic enriched`) into an embedded store.

The month figure applies costs measured here to a month of `--feeds` feeds that each change
`--bodies-per-day` times and carry `--articles-per-day` new items a day, plus the model load:
per fetch, a replay pass in which every item was seen before (read, cut, hash) plus feedparser on
the channel head with one item; per new article, the end-to-end time less that pass, divided by
the articles (parse of its item, processors or the cache, store, rules).
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from collectors import (
    RawArchive,
    ReplayMemory,
    find_snapshots,
    import_snapshots,
    parse_feed,
    replay_entries,
)
from collectors.replay import split_items
from newswatch import Settings
from newswatch.cli import replay_pipeline as rp
from newswatch.cli.replay_cache import EnrichCache
from processors import Processor, build_processor
from sinks.backtest import Backtester

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "feeds"
FAR_PAST, FAR_FUTURE = datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
RULES = """rules:
  - {name: sanctions, query: 'sanction* OR embargo'}
  - {name: china-trade, query: 'China AND (trade OR tariff*)', throttle: 6h}
  - {name: defence, query: 'topic:defence'}
"""


def build_archive(corpus: Path, data: Path) -> tuple[Settings, float, int]:
    settings = Settings(data_dir=data)
    archive = RawArchive.for_settings(settings)
    started, count = time.perf_counter(), 0
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        snaps, _ = find_snapshots(folder)
        count += len(snaps)
        import_snapshots(archive, snaps)
    elapsed = time.perf_counter() - started
    archive.close()
    return settings, elapsed, count


def parse_only(
    settings: Settings, skip: bool, memory: ReplayMemory | None = None
) -> tuple[float, int, int, int]:
    """Read + parse + dedup every archived fetch; (seconds, fetches, items, new articles)."""
    archive = RawArchive.for_settings(settings)
    entries = archive.entries()
    started = time.perf_counter()
    items = fresh = 0
    memory = memory if memory is not None else ReplayMemory()
    for step in replay_entries(archive, entries, "bench", memory, skip_seen_items=skip):
        items += step.found
        fresh += len(step.fresh)
    elapsed = time.perf_counter() - started
    archive.close()
    return elapsed, len(entries), items, fresh


def small_document_cost(settings: Settings) -> float:
    """Seconds to parse a fetch's channel head with one item: what a fetch with one new item costs."""
    archive = RawArchive.for_settings(settings)
    bodies = [archive.read(e.sha256) for e in archive.entries()]
    archive.close()
    cuts = [c for c in map(split_items, bodies) if c is not None]
    at = datetime(2021, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for head, chunks, tail in cuts:
        parse_feed(head + chunks[0] + tail, feed_url="https://bench.example/rss", fetched_at=at)
    return (time.perf_counter() - started) / max(1, len(cuts))


def end_to_end(
    settings: Settings, rules: Path, processor: Processor, run: str, cache: Path | None = None
) -> tuple[float, rp.ReplayResult]:
    """The backtest path (report excluded), optionally through an enrichment cache file."""
    target = rp.open_target(settings, run)
    tester = Backtester(rules)
    enrich_cache = EnrichCache(cache, processor) if cache else None
    started = time.perf_counter()
    sink = rp.ReplaySink(target, processor, tester, enrich_cache)
    result = rp.replay_archive(settings, sink, run, FAR_PAST, FAR_FUTURE)
    elapsed = time.perf_counter() - started
    tester.close()
    target.close()
    if enrich_cache is not None:
        enrich_cache.close()
    return elapsed, result


def kafka_replay(settings: Settings, bootstrap: str, data: Path) -> tuple[float, int]:
    """Produce the replayed articles with their fetch times on a fresh topic, then replay it by time."""
    from newswatch import EmbeddedStore, EnrichedArticle, TopicSpec
    from newswatch.kafka_bus import KafkaBus

    store = EmbeddedStore(rp.replay_dir(settings, "bench") / "store.db")
    docs = [
        EnrichedArticle.model_validate_json(d)
        for (d,) in store._conn.execute("SELECT doc FROM articles")
    ]
    store.close()
    topic = f"nw-bench-{secrets.token_hex(4)}"
    bus = KafkaBus([bootstrap], settings.kafka, client_id=topic)
    bus.ensure_topics([TopicSpec(topic, partitions=settings.kafka.partitions)])
    for doc in docs:
        bus.produce(
            topic,
            doc.article_id,
            doc.to_bytes(),
            timestamp_ms=int(doc.fetched_at.timestamp() * 1000),
        )
    bus.flush()
    target = rp.open_target(Settings(data_dir=data / "kafka"), "kafka")
    started = time.perf_counter()
    result = rp.replay_bus(settings, bus, rp.ReplaySink(target, None, None), "kafka", topic, FAR_PAST, FAR_FUTURE,
                           enriched=True, poll_s=1.0)  # fmt: skip
    elapsed = time.perf_counter() - started - 1.0  # the empty poll that finds it caught up
    target.close()
    bus.delete_topics([topic])
    bus.close()
    return elapsed, result.articles


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--kafka", default="", help="bootstrap host:port of a running broker")
    parser.add_argument("--es", default="", help="URL of a running Elasticsearch")
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument(
        "--bodies-per-day", type=float, default=24.0, help="changed bodies per feed per day"
    )
    parser.add_argument(
        "--articles-per-day", type=float, default=40.0, help="new articles per feed per day"
    )
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(
            f"no corpus at {args.corpus}: pass --corpus DIR (folders of dated snapshots)"
        )
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        data = Path(tmp)
        settings, import_s, snaps = build_archive(args.corpus, data / "data")
        archive = RawArchive.for_settings(settings)
        stats = archive.stats()
        archive.close()
        whole_s, fetches, items, fresh = parse_only(settings, skip=False)
        memory = ReplayMemory()
        base_s, _, _, _ = parse_only(settings, skip=True, memory=memory)
        seen_s, _, _, _ = parse_only(settings, skip=True, memory=memory)  # every item seen before
        per_fetch_month = seen_s / fetches + small_document_cost(settings)
        per_item_parse = max(0.0, base_s - seen_s) / max(1, fresh)
        load_started = time.perf_counter()
        processor = build_processor()
        load_s = time.perf_counter() - load_started
        rules = data / "rules.yaml"
        rules.write_text(RULES, encoding="utf-8")
        cache = data / "enrich-cache.db"
        full_s, result = end_to_end(settings, rules, processor, "bench", cache)
        warm_s, warm = end_to_end(settings, rules, processor, "bench", cache)
        per_fetch = base_s / fetches
        per_article = max(0.0, full_s - seen_s) / max(1, result.articles)
        per_article_warm = max(0.0, warm_s - seen_s) / max(1, warm.articles)
        print(f"archive: {snaps} snapshots imported in {import_s:.1f} s; {stats.raw_bytes / 1e6:.1f} MB raw -> "
              f"{stats.stored_bytes / 1e6:.1f} MB stored ({stats.raw_bytes / stats.stored_bytes:.1f}x)")  # fmt: skip
        print(f"archive size: {stats.stored_bytes / items * 1000 / 1e3:.0f} KB per 1,000 archived items "
              f"({items} items in {fetches} fetches), {stats.stored_bytes / fresh * 1000 / 1e6:.2f} MB per 1,000 distinct articles")  # fmt: skip
        print(f"collector half, whole-body parse (baseline): {items / whole_s:,.0f} items/s, {fetches / whole_s:.1f} fetches/s; "
              f"skipping items seen earlier: {items / base_s:,.0f} items/s ({per_fetch * 1000:.1f} ms per fetch), "
              f"ratio {whole_s / base_s:.2f}x")  # fmt: skip
        print(f"end to end, embedded, first run (parse, processors, store, 3 rules): {items / full_s:,.0f} items/s, "
              f"{result.articles / full_s:.1f} new articles/s ({per_article * 1000:.1f} ms per new article; model load {load_s:.1f} s)")  # fmt: skip
        print(f"end to end, embedded, rules edited and re-run (enrichment cached): {items / warm_s:,.0f} items/s, "
              f"{warm.articles / warm_s:.1f} articles/s, ratio to first run {full_s / warm_s:.1f}x")  # fmt: skip
        print(f"per fetch whose items were all seen earlier, plus a one-item parse: {per_fetch_month * 1000:.1f} ms; "
              f"per new article: parse {per_item_parse * 1000:.1f} ms, everything {per_article * 1000:.1f} ms "
              f"(cached enrichment {per_article_warm * 1000:.1f} ms)")  # fmt: skip
        counts = Counter(a.alert.rule for a in result.alerts)
        print(f"would-be alerts: {dict(sorted(counts.items()))} over {result.articles} articles; identical on the re-run: "
              f"{sorted(a.alert.alert_id for a in result.alerts) == sorted(a.alert.alert_id for a in warm.alerts)}")  # fmt: skip
        if args.es:
            es_s, es_result = end_to_end(
                settings.model_copy(update={"store": args.es}), rules, processor, "bench-es", cache
            )
            print(f"end to end, Elasticsearch replay index, enrichment cached: {items / es_s:,.0f} items/s "
                  f"({es_result.articles} articles), ratio to the embedded store {warm_s / es_s:.2f}")  # fmt: skip
        if args.kafka:
            k_s, k_n = kafka_replay(settings, args.kafka, data)
            print(
                f"Kafka replay by time (news.enriched -> replay store): {k_n / k_s:,.0f} articles/s ({k_n} articles)"
            )
        month_fetches = args.feeds * args.bodies_per_day * 30
        month_articles = args.feeds * args.articles_per_day * 30
        for label, cost in (
            ("first backtest", per_article),
            ("re-run after a rule edit", per_article_warm),
        ):
            month_s = load_s + month_fetches * per_fetch_month + month_articles * cost
            print(f"a month of {args.feeds} feeds ({month_fetches:,.0f} changed bodies, {month_articles:,.0f} new articles), "
                  f"{label}: ~{month_s:.0f} s = {month_s / 60:.1f} min (target < 5 min: {'met' if month_s < 300 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
