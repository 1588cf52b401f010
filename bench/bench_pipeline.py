"""Whole-pipeline figures: embedded end to end over seeds/, Kafka -> Elasticsearch latency, and
processor scale-out (2 workers vs 1 in one consumer group), each against a baseline in the same run.

    .venv/bin/python bench/bench_pipeline.py embedded
    eval "$(.venv/bin/python deploy/local/services.py up)"
    .venv/bin/python bench/bench_pipeline.py latency [--rate 50 --seconds 60]
    .venv/bin/python bench/bench_pipeline.py workers [--articles 1200]

embedded: `newswatch run --once` over seeds/ in a fresh data dir (collect, process, index, alerts),
    printed as articles/s and as a ratio to the processors alone on the same articles (the
    pipeline's overhead over its dominant cost).
latency: a steady stream of fresh articles at --rate/s onto news.raw while a processor and a
    sink worker run; each article's time from produce to searchable in ES (p50, p95).
workers: the same raw articles processed by 1 worker, then by 2 worker processes in one
    consumer group (fresh groups each), as articles/s and the speed-up ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from newswatch import Article, Settings, topics, utcnow
from newswatch.cli import wiring

ROOT = Path(__file__).resolve().parents[1]


def seed_articles() -> list[Article]:
    """Every article of the seed feeds, parsed as the collector does."""
    from collectors import Fetcher, load_feeds, parse_feed

    fetcher = Fetcher(Settings().fetch)
    articles: dict[str, Article] = {}
    for spec in load_feeds(ROOT / "seeds" / "feeds.toml"):
        for doc in fetcher.fetch(spec.url).documents:
            for art in parse_feed(doc.body, feed_url=spec.url, fetched_at=utcnow(), outlet=spec.outlet).articles:
                articles.setdefault(art.article_id, art)
    fetcher.close()
    return list(articles.values())


def bench_embedded() -> None:
    from processors import build_processor, enrich_batch

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), feeds_file=ROOT / "seeds" / "feeds.toml",
                            alerts_file=ROOT / "seeds" / "demo-alerts.yaml")
        bus, store = wiring.open_bus(settings), wiring.open_store(settings)
        build_processor()  # load spaCy once up front so both sides start warm
        started = time.perf_counter()
        report = wiring.run_once(settings, bus, store)
        pipeline_s = time.perf_counter() - started
        count = store.count()
        bus.close()
        store.close()
    articles = seed_articles()
    processor = build_processor()
    started = time.perf_counter()
    for i in range(0, len(articles), 64):
        enrich_batch(articles[i : i + 64], processor.classifier, processor.extractor)
    processors_s = time.perf_counter() - started
    print(f"embedded run --once over seeds/: {count} articles in {pipeline_s:.1f} s = {count / pipeline_s:.1f} articles/s "
          f"(alerts fired: {report.alerted.produced})")
    print(f"processors alone on the same {len(articles)} articles: {len(articles) / processors_s:.1f} articles/s")
    print(f"ratio pipeline / processors alone: {(count / pipeline_s) / (len(articles) / processors_s):.2f}")


def _kafka_settings(tmp: str, **extra: object) -> Settings:
    kafka, es = os.environ.get("NEWSWATCH_LOCAL_KAFKA"), os.environ.get("NEWSWATCH_LOCAL_ES")
    if not kafka or not es:
        sys.exit('start the servers first: eval "$(.venv/bin/python deploy/local/services.py up)"')
    prefix = f"bench{int(time.time())}"
    return Settings(data_dir=Path(tmp), bus=f"kafka://{kafka}", store=es,
                    elastic={"index_prefix": prefix}, kafka={"group_prefix": prefix}, **extra)  # type: ignore[arg-type]


def _fresh(articles: list[Article], tag: str) -> list[Article]:
    """Copies with new URLs (so new ids): each run measures new work, not dedup."""
    return [
        Article.create(link=f"{a.url or 'https://bench.example/x'}?bench={tag}-{i}", feed_url=a.feed_url,
                       **a.model_dump(exclude={"article_id", "url", "original_url", "guid", "feed_url"}))
        for i, a in enumerate(articles)
    ]


def bench_latency(rate: float, seconds: float) -> None:
    from sinks import ElasticStore

    with tempfile.TemporaryDirectory() as tmp:
        settings = _kafka_settings(tmp)
        bus = wiring.open_bus(settings)
        store = wiring.open_store(settings)
        assert isinstance(store, ElasticStore)
        stop = threading.Event()
        workers = [wiring.processor_runner(settings, bus, stop), wiring.sink_runner(settings, bus, store, stop)]
        workers[1].batch_size = 64
        threads = [threading.Thread(target=w.run, kwargs={"idle_timeout_s": 0.1}) for w in workers]
        for t in threads:
            t.start()
        pool = _fresh(seed_articles(), f"lat{int(time.time())}")
        total = min(len(pool), int(rate * seconds))
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        time.sleep(5)  # let both groups join before the clock starts
        started = time.perf_counter()
        for i, art in enumerate(pool[:total]):
            time.sleep(max(0.0, started + i / rate - time.perf_counter()))
            bus.produce(topics.RAW, art.article_id, art.to_bytes())
            bus.flush()
            sent[art.article_id] = time.perf_counter()
            if i % 10 == 0:
                _poll_searchable(store, sent, seen)
        deadline = time.perf_counter() + 60
        while len(seen) < len(sent) and time.perf_counter() < deadline:
            _poll_searchable(store, sent, seen)
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
        store.drop()
        bus.close()
    lat = sorted(seen[k] - sent[k] for k in seen)
    p50, p95 = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]
    print(f"latency raw -> searchable in ES at {rate:.0f} articles/s: {len(lat)}/{len(sent)} seen, "
          f"p50 {p50:.2f} s, p95 {p95:.2f} s (target p95 <= 2 s)")


def _poll_searchable(store, sent: dict[str, float], seen: dict[str, float]) -> None:  # noqa: ANN001
    """Record when each in-flight id first becomes visible to search (after ES's 1 s refresh)."""
    pending = [k for k in sent if k not in seen]
    if not pending:
        return
    resp = store.client.search(
        index=f"{store.settings.index_prefix}-articles", size=len(pending), query={"ids": {"values": pending}}, source=False
    )
    now = time.perf_counter()
    for hit in resp["hits"]["hits"]:
        seen.setdefault(hit["_id"], now)


def bench_workers(articles: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for workers in (1, 2):
            settings = _kafka_settings(tmp)
            group = f"{settings.kafka.group_prefix}w{workers}"
            settings = settings.model_copy(update={"kafka": settings.kafka.model_copy(update={"group_prefix": group})})
            bus = wiring.open_bus(settings)
            pool = _fresh(seed_articles(), f"w{workers}-{int(time.time())}")
            while len(pool) < articles:
                pool += _fresh(pool, f"more{len(pool)}")
            for art in pool[:articles]:
                bus.produce(topics.RAW, art.article_id, art.to_bytes())
            bus.flush()
            started = time.perf_counter()
            stats = wiring.run_processor_workers(settings, workers, once=True)
            elapsed = time.perf_counter() - started
            results[workers] = stats.consumed / elapsed
            print(f"{workers} worker(s): {stats.consumed} articles in {elapsed:.1f} s = {results[workers]:.1f} articles/s "
                  "(includes each worker's spaCy load and group join)")
            bus.close()
        print(f"speed-up 2 workers / 1 worker: {results[2] / results[1]:.2f}x (target >= 1.7x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["embedded", "latency", "workers"])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--articles", type=int, default=1200)
    args = parser.parse_args()
    if args.what == "embedded":
        bench_embedded()
    elif args.what == "latency":
        bench_latency(args.rate, args.seconds)
    else:
        bench_workers(args.articles)


if __name__ == "__main__":
    main()
