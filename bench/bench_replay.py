"""Replay and backtest throughput, archive size per 1,000 items, and a month of 40 feeds.

    .venv/bin/python -u bench/bench_replay.py [--corpus DIR] [--workers N] [--month [--days N] [--only-month]]
                                              [--kafka HOST:PORT] [--es URL]

Archive: every snapshot of ../shared/corpora/feeds imported into a fresh archive (zstd blobs +
SQLite index). Collector half, same run: read blob, parse at snapshot time, dedup, with the
whole body parsed (baseline) and with items seen earlier skipped. End to end: the same fetches
through parse -> processors (spaCy, topics) -> embedded replay store -> three alert rules (the
`newswatch backtest` path, report excluded), three times: the baseline (everything in this
process, no replay cache: the path before issue 6's speed work), a first run (`--workers`
enrichment processes, empty replay cache) and an analyst's re-run after editing a rule (parse
and enrichment served by the cache). "items" are feed items inside the replayed bodies (repeats
included); "articles" are the new ones processed. Each run prints wall time and this process's
CPU time; the ratios against the baseline are the figures to compare on a loaded machine.
With --es the re-run also writes to an Elasticsearch replay index; with --kafka the processed
articles are produced on a topic of their own with their fetch times and replayed by time.

A month: the estimate applies costs measured here to `--feeds` feeds that each change
`--bodies-per-day` times and carry `--articles-per-day` new items a day (per fetch: a replay
pass in which every item was seen before plus feedparser on the channel head with one item;
per new article: end-to-end wall time less that pass, divided by the articles; this counts the
per-fetch work as if it did not overlap with the workers, so it errs high). `--month` measures
it instead: it builds that month as an archive (real corpus titles and summaries recombined so
that no two items share a text; each body holds the feed's newest 30 items) and backtests it,
first run, re-run after a rule edit, and re-run after a taxonomy change (`lexicon.v4` instead of
the default: the replay cache serves the language and the entities, only the classifier runs)
(`--days N` builds and backtests the first N days only, for profiling a
slice; `--only-month` skips the corpus's end-to-end runs and estimate). Every run prints the CPU
seconds of this process and of the enrichment workers, so a loaded machine's figures still add
up; the month also prints its collector half alone (read, parse, dedup: CPU seconds) and the
floor those CPU seconds set on this machine's cores.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

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
from newswatch.cli import wiring
from newswatch.cli.replay_cache import ReplayCache
from newswatch.cli.replay_workers import InlineEnricher, PoolEnricher, ProcessorSpec
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


@dataclass
class Run:
    """One end-to-end run: wall, this process's and the workers' CPU seconds, the result, and what the cache served."""

    wall_s: float
    cpu_s: float
    workers_cpu_s: float
    result: rp.ReplayResult
    enriched_here: int
    made: Counter[str]
    hits: dict[str, int]
    misses: dict[str, int]


def end_to_end(
    settings: Settings,
    rules: Path,
    run: str,
    workers: int,
    cache: Path | None = None,
    spec: ProcessorSpec | None = None,
) -> Run:
    """The backtest path (report excluded): `workers` enrichment processes (0: this process),
    optional cache, the default processors unless `spec` names others."""
    target = rp.open_target(settings, run)
    tester = Backtester(rules, resolve=wiring.resolve_entity)  # as `newswatch backtest` builds it
    replay_cache = ReplayCache(cache) if cache else None
    enricher = PoolEnricher(workers, spec) if workers else InlineEnricher(spec)
    sink = rp.ReplaySink(target, enricher, tester, replay_cache)
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    try:
        result = rp.replay_archive(settings, sink, run, FAR_PAST, FAR_FUTURE)
    finally:
        sink.close()
        tester.close()
        target.close()
        if replay_cache is not None:
            replay_cache.close()
    hits, misses = (replay_cache.hits, replay_cache.misses) if replay_cache else ({}, {})
    return Run(
        time.perf_counter() - wall,
        time.process_time() - cpu,
        _children_cpu() - children,  # the pool's workers, reaped by `sink.close`
        result,
        sink.enriched_here,
        sink.made,
        hits,
        misses,
    )


def _children_cpu() -> float:
    """CPU seconds of this process's finished child processes (the enrichment workers)."""
    times = os.times()
    return times.children_user + times.children_system


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


def corpus_texts(settings: Settings) -> list[tuple[str, str]]:
    """(title, summary) of every distinct article the corpus replays to: the month's raw text."""
    archive = RawArchive.for_settings(settings)
    texts = [(a.title, a.summary) for step in replay_entries(archive, archive.entries(), "texts")
             for a in step.fresh if a.title and a.summary]  # fmt: skip
    archive.close()
    return texts


def _rss_item(feed: int, number: int, texts: list[tuple[str, str]], published: datetime) -> bytes:
    n = len(texts)
    title, summary = (
        texts[number % n][0],
        texts[(number + 1 + number // n) % n][1],
    )  # distinct pairs
    link = f"https://month.example/feed-{feed}/{number}"
    return (f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
            f"<description>{escape(summary)}</description></item>").encode()  # fmt: skip


def month_archive(
    texts: list[tuple[str, str]], data: Path, feeds: int, days: int, bodies_per_day: int,
    articles_per_day: int, window: int = 30,
) -> Settings:  # fmt: skip
    """A synthetic month: `feeds` RSS feeds fetched `bodies_per_day` times a day, each fetch adding
    its share of `articles_per_day` new items to the newest `window`; item text recombines the
    corpus's real titles and summaries, so no two items share a text (nothing is served by dedup)."""
    settings = Settings(data_dir=data)
    archive = RawArchive.for_settings(settings)
    start = datetime(2021, 3, 1, tzinfo=UTC)
    step = timedelta(days=1) / bodies_per_day
    number = 0
    for feed in range(feeds):
        items: list[bytes] = []
        url = f"https://month.example/feed-{feed}/rss.xml"
        for k in range(days * bodies_per_day):
            at = start + k * step + timedelta(seconds=37 * feed)
            new = (
                k + 1
            ) * articles_per_day // bodies_per_day - k * articles_per_day // bodies_per_day
            for _ in range(new):
                items.insert(0, _rss_item(feed, number, texts, at - timedelta(minutes=5)))
                number += 1
            del items[window:]
            head = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Month feed {feed}</title>'
                    f"<link>https://month.example/feed-{feed}/</link><description>bench</description>"
                    f"<lastBuildDate>{format_datetime(at, usegmt=True)}</lastBuildDate>").encode()  # fmt: skip
            archive.add(url, head + b"".join(items) + b"</channel></rss>", at, outlet=f"month-{feed}",
                        content_type="application/rss+xml", origin="import")  # fmt: skip
    archive.close()
    return settings


def describe(label: str, run: Run, items: int, baseline: Run | None) -> str:
    """One printed line per end-to-end run."""
    r = run.result
    ratio = f", {baseline.wall_s / run.wall_s:.1f}x the baseline" if baseline else ""
    served = "".join(
        f"; cache {t}: {run.hits[t]} hits, {run.misses[t]} misses" for t in sorted(run.hits)
    )
    return (f"{label}: {run.wall_s:.1f} s wall ({run.cpu_s:.1f} s CPU in this process, {run.workers_cpu_s:.1f} s in the "
            f"workers), {items / run.wall_s:,.0f} items/s, "
            f"{r.articles / run.wall_s:.1f} articles/s, {run.wall_s / max(1, r.articles) * 1000:.1f} ms wall per article{ratio}; "
            f"{run.enriched_here} articles sent to the processors (parts made: {dict(sorted(run.made.items()))}){served}")  # fmt: skip


def month(args: argparse.Namespace, settings: Settings, data: Path, rules: Path) -> None:
    """Build a month (or `--days`) of `--feeds` feeds as an archive and backtest it: first run, then the re-run."""
    started = time.perf_counter()
    texts = corpus_texts(settings)
    month_settings = month_archive(texts, data / "month", args.feeds, args.days, int(args.bodies_per_day),
                                   int(args.articles_per_day))  # fmt: skip
    archive = RawArchive.for_settings(month_settings)
    stats = archive.stats()
    archive.close()
    span = "a month" if args.days == 30 else f"{args.days} days"
    print(f"{span} archive: {stats.entries:,} fetches of {stats.feeds} feeds built in {time.perf_counter() - started:.0f} s "
          f"from {len(texts):,} corpus texts; {stats.stored_bytes / 1e6:.0f} MB stored", flush=True)  # fmt: skip
    cpu = time.process_time()
    parse_s, fetches, _, fresh = parse_only(month_settings, skip=True)
    parse_cpu = time.process_time() - cpu
    print(f"{span}, collector half alone (read, parse new items, dedup): {parse_s:.1f} s wall, {parse_cpu:.1f} s CPU = "
          f"{parse_cpu / fetches * 1000:.2f} ms CPU per fetch ({fetches:,} fetches, {fresh:,} new articles)", flush=True)  # fmt: skip
    cache = data / "month-cache.db"
    cores = os.cpu_count() or 1
    for label, spec in (
        ("first backtest", None),
        ("re-run after a rule edit", None),
        ("re-run after a taxonomy change (lexicon.v4)", ProcessorSpec(classifier="lexicon.v4")),
    ):
        load = os.getloadavg()[0]
        run = end_to_end(month_settings, rules, "month", args.workers, cache, spec)
        print(
            describe(
                f"{span} of {args.feeds} feeds, {label} (measured)", run, run.result.found, None
            )
        )
        total = run.cpu_s + run.workers_cpu_s
        per_article = run.workers_cpu_s / max(1, run.enriched_here) * 1000
        print(f"  = {run.wall_s / 60:.1f} min for {run.result.fetches:,} fetches and {run.result.articles:,} articles "
              f"(target < 5 min: {'met' if run.wall_s < 300 else 'NOT met'}); load {load:.1f} at start, "
              f"{os.getloadavg()[0]:.1f} at end", flush=True)  # fmt: skip
        print(f"  CPU: {run.cpu_s:.0f} s main + {run.workers_cpu_s:.0f} s "
              f"workers ({per_article:.1f} ms per article enriched, model loads included) = {total:.0f} s; "
              f"floor on {cores} idle cores {total / cores:.0f} s = {total / cores / 60:.1f} min", flush=True)  # fmt: skip


def corpus_runs(
    args: argparse.Namespace,
    settings: Settings,
    data: Path,
    rules: Path,
    import_s: float,
    snaps: int,
) -> None:
    """The corpus's figures: archive size, collector half, end to end (baseline, first, re-run), estimate."""
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
    parts = InlineEnricher().parts
    parts.classifier, parts.extractor, parts.detector  # noqa: B018 - the model loads, timed
    load_s = time.perf_counter() - load_started
    print(f"archive: {snaps} snapshots imported in {import_s:.1f} s; {stats.raw_bytes / 1e6:.1f} MB raw -> "
          f"{stats.stored_bytes / 1e6:.1f} MB stored ({stats.raw_bytes / stats.stored_bytes:.1f}x)")  # fmt: skip
    print(f"archive size: {stats.stored_bytes / items * 1000 / 1e3:.0f} KB per 1,000 archived items "
          f"({items} items in {fetches} fetches), {stats.stored_bytes / fresh * 1000 / 1e6:.2f} MB per 1,000 distinct articles")  # fmt: skip
    print(f"collector half, whole-body parse (baseline): {items / whole_s:,.0f} items/s, {fetches / whole_s:.1f} fetches/s; "
          f"skipping items seen earlier: {items / base_s:,.0f} items/s ({base_s / fetches * 1000:.1f} ms per fetch), "
          f"ratio {whole_s / base_s:.2f}x", flush=True)  # fmt: skip
    baseline = None
    if not args.no_baseline:
        baseline = end_to_end(settings, rules, "bench", 0)
        print(
            describe("end to end, baseline (one process, no replay cache)", baseline, items, None),
            flush=True,
        )
    cache = data / "replay-cache.db"
    first = end_to_end(settings, rules, "bench", args.workers, cache)
    print(
        describe(
            f"end to end, first run ({args.workers} enrichment workers, empty cache)",
            first,
            items,
            baseline,
        ),
        flush=True,
    )
    warm = end_to_end(settings, rules, "bench", args.workers, cache)
    print(
        describe(
            "end to end, re-run after a rule edit (parse and enrichment cached)",
            warm,
            items,
            baseline,
        ),
        flush=True,
    )
    result = first.result
    per_article = max(0.0, first.wall_s - seen_s) / max(1, result.articles)
    per_article_warm = max(0.0, warm.wall_s - seen_s) / max(1, warm.result.articles)
    print(f"per fetch whose items were all seen earlier, plus a one-item parse: {per_fetch_month * 1000:.1f} ms; "
          f"per new article: parse {per_item_parse * 1000:.1f} ms, everything {per_article * 1000:.1f} ms "
          f"(re-run {per_article_warm * 1000:.1f} ms); model load {load_s:.1f} s")  # fmt: skip
    counts = Counter(a.alert.rule for a in result.alerts)
    same = [
        sorted(a.alert.alert_id for a in r.result.alerts)
        for r in (first, warm, *([baseline] if baseline else []))
    ]
    print(f"would-be alerts: {dict(sorted(counts.items()))} over {result.articles} articles; identical in every run: "
          f"{all(x == same[0] for x in same)}")  # fmt: skip
    if args.es:
        es = end_to_end(
            settings.model_copy(update={"store": args.es}),
            rules,
            "bench-es",
            args.workers,
            cache,
        )
        print(f"end to end, Elasticsearch replay index, cached: {items / es.wall_s:,.0f} items/s "
              f"({es.result.articles} articles), ratio to the embedded store {warm.wall_s / es.wall_s:.2f}")  # fmt: skip
    if args.kafka:
        k_s, k_n = kafka_replay(settings, args.kafka, data)
        print(
            f"Kafka replay by time (news.enriched -> replay store): {k_n / k_s:,.0f} articles/s ({k_n} articles)"
        )
    month_fetches = args.feeds * args.bodies_per_day * 30
    month_articles = args.feeds * args.articles_per_day * 30
    for label, cost, fetch_cost, load in (
        ("first backtest", per_article, per_fetch_month, load_s),
        ("re-run after a rule edit", per_article_warm, seen_s / fetches, 0.0),
    ):
        month_s = load + month_fetches * fetch_cost + month_articles * cost
        print(f"a month of {args.feeds} feeds ({month_fetches:,.0f} changed bodies, {month_articles:,.0f} new articles), "
              f"{label}, estimated: ~{month_s:.0f} s = {month_s / 60:.1f} min (target < 5 min: {'met' if month_s < 300 else 'NOT met'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--kafka", default="", help="bootstrap host:port of a running broker")
    parser.add_argument("--es", default="", help="URL of a running Elasticsearch")
    parser.add_argument(
        "--workers", type=int, default=2, help="enrichment processes (0: this process)"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the sequential baseline run"
    )
    parser.add_argument(
        "--month", action="store_true", help="build and backtest the month (adds ~15 min)"
    )
    parser.add_argument(
        "--days", type=int, default=30, help="with --month: build and backtest this many days"
    )
    parser.add_argument(
        "--only-month",
        action="store_true",
        help="with --month: skip the corpus's end-to-end runs and the estimate",
    )
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
    print(f"load at start: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        data = Path(tmp)
        settings, import_s, snaps = build_archive(args.corpus, data / "data")
        rules = data / "rules.yaml"
        rules.write_text(RULES, encoding="utf-8")
        if not (args.month and args.only_month):
            corpus_runs(args, settings, data, rules, import_s, snaps)
        if args.month:
            month(args, settings, data, rules)
    print(f"load at end: {os.getloadavg()[0]:.1f} (1 min)")


if __name__ == "__main__":
    main()
