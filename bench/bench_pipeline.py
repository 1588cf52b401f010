"""Whole-pipeline figures: embedded end to end over seeds/, Kafka -> Elasticsearch latency, and
processor scale-out (2 workers vs 1 in one consumer group), each against a baseline in the same run.

    .venv/bin/python bench/bench_pipeline.py embedded
    eval "$(.venv/bin/python deploy/local/services.py up)"
    .venv/bin/python bench/bench_pipeline.py latency [--rate 50 --seconds 30] [--topology threads]
    .venv/bin/python bench/bench_pipeline.py workers [--articles 1200 --rounds 3]

embedded: `newswatch run --once` over seeds/ in a fresh data dir (collect, process, index, alerts),
    printed as articles/s and as a ratio to the processors alone on the same articles (the
    pipeline's overhead over its dominant cost).
latency: `newswatch process` and `newswatch sink` run as services (or as threads of this script
    with --topology threads, the shape of `newswatch run`); once --warmup articles have gone all
    the way through (groups joined, spaCy loaded), fresh articles go onto news.raw at a steady
    --rate/s for --seconds. A checker thread asks ES for the in-flight ids every
    --check-interval and records when each is first found: p50 and p95 from produce to
    searchable, and the same split by stage (processed_at and indexed_at of each document).
workers: `newswatch process --workers N` for N = 1 and 2. Each run waits until the group is
    stable with N members and --warmup articles went through, then times a fresh set of
    --articles articles from the first produce until every one of them is on news.enriched
    (counted by id, so nothing else on the shared topics counts). Articles/s per N, the ratio.

The bench groups are fresh and start at the current end of the shared topics, so whatever earlier
runs left on news.raw is never measured. Worker output goes to $BENCH_LOG_DIR if set.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from elasticsearch import Elasticsearch

from newswatch import Article, Bus, Consumer, Settings, Store, topics, utcnow
from newswatch.cli import wiring
from newswatch.kafka_bus import KafkaBus

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


def _skip_backlog(bus: Bus, group: str, topic: str) -> None:
    """Commit `group` at the current end of `topic`: a fresh bench group must not start on
    whatever earlier runs left on the shared topic (it would measure that backlog, not latency)."""
    from functools import partial

    from kafka import KafkaConsumer  # type: ignore[import-untyped]
    from kafka.structs import OffsetAndMetadata, TopicPartition  # type: ignore[import-untyped]

    assert isinstance(bus, KafkaBus)
    consumer = bus.open_client(partial(KafkaConsumer, group_id=group, enable_auto_commit=False), f"skip-{group}")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in ends.items()})
    finally:
        consumer.close(autocommit=False)


@dataclass
class _Seen:
    """When each article was sent, enriched (processed_at), handed to ES (indexed_at) and first found."""

    sent: dict[str, float] = field(default_factory=dict)
    processed: dict[str, float] = field(default_factory=dict)
    indexed: dict[str, float] = field(default_factory=dict)
    found: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pending(self, limit: int | None = None) -> list[str]:
        """Ids sent but not found yet, oldest first (at most `limit`)."""
        with self.lock:
            return [k for k in self.sent if k not in self.found][:limit]


def _check_searchable(client: Elasticsearch, index: str, seen: _Seen, stop: threading.Event, interval_s: float) -> None:
    """Every `interval_s`, look up the in-flight ids; record when each first turns up in search.

    At most the 1,000 oldest are asked for, so a backlog does not make the checker a load on ES
    itself; those are the ones that turn up first."""
    while not stop.is_set():
        pending = seen.pending(1000)
        if pending:
            resp = client.search(index=index, size=len(pending), query={"ids": {"values": pending}},
                                 source_includes=["processed_at", "indexed_at"])
            now = time.time()
            with seen.lock:
                for hit in resp["hits"]["hits"]:
                    if hit["_id"] not in seen.found:
                        seen.found[hit["_id"]] = now
                        seen.processed[hit["_id"]] = _epoch(hit["_source"]["processed_at"])
                        seen.indexed[hit["_id"]] = _epoch(hit["_source"]["indexed_at"])
        stop.wait(interval_s)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _articles(count: int, tag: str) -> list[Article]:
    """`count` fresh articles: the seed articles, repeated under new URLs as often as needed."""
    seeds = seed_articles()
    pool: list[Article] = []
    while len(pool) < count:
        pool += _fresh(seeds, f"{tag}-{len(pool)}")
    return pool[:count]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_latency(
    rate: float, seconds: float, check_interval_s: float, warmup: int, topology: str, processors: int = 1
) -> None:
    """Steady `rate`/s onto news.raw for `seconds`; each article's time to searchable, by stage.

    topology "services": `newswatch process` and `newswatch sink` as separate processes, as the
    README's scaled-out setup runs them; "threads": both workers as threads of this process
    (the shape of `newswatch run`, where they share one interpreter lock with the producer here).
    """
    from sinks import ElasticStore, make_client

    with tempfile.TemporaryDirectory() as tmp:
        settings = _kafka_settings(tmp)
        bus = wiring.open_bus(settings)
        store = wiring.open_store(settings)
        assert isinstance(store, ElasticStore)
        _skip_backlog(bus, wiring.group_name(settings, wiring.PROCESSOR_GROUP), topics.RAW)
        _skip_backlog(bus, wiring.group_name(settings, wiring.SINK_GROUP), topics.ENRICHED)
        stop_workers = _start_workers(settings, bus, store, topology, processors)
        client = make_client(settings.store, settings.elastic)
        index = f"{settings.elastic.index_prefix}-articles"
        pool = _articles(warmup + int(rate * seconds), f"lat{int(time.time())}")
        try:
            assert isinstance(bus, KafkaBus)
            _wait_stable(bus, wiring.group_name(settings, wiring.PROCESSOR_GROUP), processors)
            # Warm-up: groups joined, spaCy loaded, ES warm; the clock starts once these are searchable.
            warm = _Seen()
            with _checking(client, index, warm, check_interval_s):
                for art in pool[:warmup]:
                    warm.sent[art.article_id] = time.time()
                    bus.produce(topics.RAW, art.article_id, art.to_bytes())
                bus.flush()
                if not _wait_found(warm, 300):
                    sys.exit(f"warm-up: {len(warm.pending())}/{warmup} articles never became searchable; "
                             "check the workers' output above and `deploy/local/services.py status`")
            timed = _Seen()
            with _checking(client, index, timed, check_interval_s):
                started = time.perf_counter()
                for i, art in enumerate(pool[warmup:]):
                    time.sleep(max(0.0, started + i / rate - time.perf_counter()))
                    with timed.lock:
                        timed.sent[art.article_id] = time.time()
                    bus.produce(topics.RAW, art.article_id, art.to_bytes())
                    bus.flush()
                _wait_found(timed, 60)
        finally:
            stop_workers()
            client.close()
            store.drop()
            bus.close()
    print(f"workers: {topology}, {processors} processor(s) (load average now {os.getloadavg()[0]:.1f})")
    _report_latency(timed, rate, check_interval_s)


def _start_workers(settings: Settings, bus: Bus, store: Store, topology: str, processors: int) -> Callable[[], None]:
    """Start `processors` processor workers and a sink worker; returns the function that stops them."""
    if topology == "threads":
        if processors != 1:
            sys.exit("--topology threads runs one processor worker; use services for --processors N")
        stop = threading.Event()
        runs = [  # the same poll waits as `newswatch process` / `newswatch sink`
            (wiring.processor_runner(settings, bus, stop), wiring.drain_timeout_s(settings)),
            (wiring.sink_runner(settings, bus, store, stop), settings.elastic.bulk_interval_s),
        ]
        threads = [threading.Thread(target=r.run, kwargs={"idle_timeout_s": t}) for r, t in runs]
        for t in threads:
            t.start()

        def stop_threads() -> None:
            stop.set()
            for t in threads:
                t.join()

        return stop_threads
    return _start_services(settings, [("process", "--workers", str(processors)), ("sink",)]).stop


@dataclass
class _Services:
    """`newswatch <command>` processes started by `_start_services`."""

    procs: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        """SIGTERM (a clean stop: current batches finish), then wait; kill only if that hangs."""
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def cpu_seconds(self) -> float:
        """CPU time used so far by these processes and their live children (from /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in {p.pid for p in self.procs} | {c for p in self.procs for c in _children(p.pid)}:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _start_services(settings: Settings, commands: list[tuple[str, ...]]) -> _Services:
    """Run `newswatch <command>` processes on `settings`, as a user would.

    Their output goes to files in the data dir (or in $BENCH_LOG_DIR, kept)."""
    env = {**os.environ, "NEWSWATCH_DATA_DIR": str(settings.data_dir), "NEWSWATCH_BUS": settings.bus,
           "NEWSWATCH_STORE": settings.store, "NEWSWATCH_ELASTIC__INDEX_PREFIX": settings.elastic.index_prefix,
           "NEWSWATCH_KAFKA__GROUP_PREFIX": settings.kafka.group_prefix, "NEWSWATCH_METRICS_PORT": "0"}
    procs = []
    for command in commands:
        log_dir = Path(os.environ.get("BENCH_LOG_DIR") or settings.data_dir)
        log_file = (log_dir / f"{command[0]}-{time.time_ns()}.log").open("wb")
        procs.append(subprocess.Popen([sys.executable, "-m", "newswatch", *command], env=env,
                                      stdout=log_file, stderr=subprocess.STDOUT))
        log_file.close()
    return _Services(procs)


@contextmanager
def _checking(client: Elasticsearch, index: str, seen: _Seen, interval_s: float) -> Iterator[None]:
    """Run the searchability checker for `seen` while the block runs."""
    stop = threading.Event()
    checker = threading.Thread(target=_check_searchable, args=(client, index, seen, stop, interval_s))
    checker.start()
    try:
        yield
    finally:
        stop.set()
        checker.join()


def _wait_found(seen: _Seen, timeout_s: float) -> bool:
    """Wait until every sent article was found; False if `timeout_s` ran out first."""
    deadline = time.monotonic() + timeout_s
    while seen.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not seen.pending()


def _report_latency(seen: _Seen, rate: float, check_interval_s: float) -> None:
    ids = list(seen.found)
    total = [seen.found[k] - seen.sent[k] for k in ids]
    if not total:
        print(f"latency at {rate:.0f} articles/s: nothing became searchable within 60 s")
        return
    stages = {
        "raw -> enriched (consume, batch, enrich)": [seen.processed[k] - seen.sent[k] for k in ids],
        "enriched -> bulk start (produce, consume)": [seen.indexed[k] - seen.processed[k] for k in ids],
        "bulk start -> found (bulk, refresh, check)": [seen.found[k] - seen.indexed[k] for k in ids],
    }
    print(f"latency raw -> searchable in ES at {rate:.0f} articles/s: {len(ids)}/{len(seen.sent)} seen, "
          f"p50 {statistics.median(total):.2f} s, p95 {_pct(total, 0.95):.2f} s (target p95 <= 2 s; "
          f"checked every {check_interval_s * 1000:.0f} ms)")
    for name, values in stages.items():
        print(f"  {name:<44} p50 {statistics.median(values):.2f} s, p95 {_pct(values, 0.95):.2f} s")


def bench_workers(articles: int, rounds: int, warmup: int) -> None:
    """`newswatch process --workers N` for N = 1 and 2, each warm and in a stable group before
    the clock starts, then timed over the same number of fresh articles; ratio of articles/s."""
    with tempfile.TemporaryDirectory() as tmp:
        rates: dict[int, list[float]] = {1: [], 2: []}
        cpu_ms: dict[int, list[float]] = {1: [], 2: []}
        for round_no in range(rounds):
            for workers in (1, 2) if round_no % 2 == 0 else (2, 1):
                rate, cores = _time_workers(_kafka_settings(tmp), workers, articles, warmup)
                rates[workers].append(rate)
                cpu_ms[workers].append(1000 * cores / rate)
                print(f"round {round_no + 1}: {workers} worker(s): {rate:.1f} articles/s, workers used "
                      f"{cores:.2f} CPU cores (load average {os.getloadavg()[0]:.1f})", flush=True)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"{articles} fresh articles per run, after warm-up (model loaded, group stable, {warmup} articles processed)")
    print(f"1 worker: {one:.1f} articles/s, 2 workers: {two:.1f} articles/s (medians of {rounds} round(s))")
    print(f"worker CPU per article: 1 worker {statistics.median(cpu_ms[1]):.1f} ms, 2 workers "
          f"{statistics.median(cpu_ms[2]):.1f} ms (equal = no per-worker overhead; then the speed-up is "
          "bounded only by the cores the machine gives the workers)")
    print(f"speed-up 2 workers / 1 worker: {two / one:.2f}x (target >= 1.7x; at most 2x on 2 cores, "
          "which the Kafka broker and this script also use)")


def _time_workers(settings: Settings, workers: int, articles: int, warmup: int) -> tuple[float, float]:
    """Start `newswatch process --workers N`, warm it, time `articles` fresh ones.

    Returns articles/s and the CPU cores the workers used on average while timed (how much of
    the machine they actually got: near N on an idle machine, less when others load it)."""
    group = wiring.group_name(settings, wiring.PROCESSOR_GROUP)
    bus = wiring.open_bus(settings)
    assert isinstance(bus, KafkaBus)
    _skip_backlog(bus, group, topics.RAW)
    counter_group = f"{settings.kafka.group_prefix}.bench-counter"
    _skip_backlog(bus, counter_group, topics.ENRICHED)
    counter = bus.consumer(counter_group, [topics.ENRICHED])
    pool = _articles(warmup + articles, f"w{workers}-{int(time.time())}")
    services = _start_services(settings, [("process", "--workers", str(workers))])
    try:
        _wait_stable(bus, group, workers)
        for art in pool[:warmup]:
            bus.produce(topics.RAW, art.article_id, art.to_bytes())
        bus.flush()
        _count_enriched(counter, {a.article_id for a in pool[:warmup]}, 300)
        timed = {a.article_id for a in pool[warmup:]}
        payloads = [(a.article_id, a.to_bytes()) for a in pool[warmup:]]  # serialised before the clock
        cpu_before, started = services.cpu_seconds(), time.perf_counter()
        for key, value in payloads:
            bus.produce(topics.RAW, key, value)
        bus.flush()
        missing = _count_enriched(counter, timed, 600)
        elapsed = time.perf_counter() - started
        cores = (services.cpu_seconds() - cpu_before) / elapsed
    finally:
        services.stop()
        counter.close()
        bus.close()
    if missing:
        sys.exit(f"{workers} worker(s): {missing} of {articles} articles never reached {topics.ENRICHED}")
    return articles / elapsed, cores


def _wait_stable(bus: KafkaBus, group: str, members: int, timeout_s: float = 300) -> None:
    """Wait until `group` is Stable with `members` members, or stop the bench saying so."""
    if not bus.wait_for_group(group, members, timeout_s):
        sys.exit(f"group {group} did not settle with {members} member(s) in {timeout_s:.0f} s")


def _count_enriched(counter: Consumer, wanted: set[str], timeout_s: float) -> int:
    """Read news.enriched until every id in `wanted` was seen; returns how many never came."""
    left = set(wanted)
    deadline = time.monotonic() + timeout_s
    while left and time.monotonic() < deadline:
        for record in counter.poll(500, 0.2):
            left.discard(record.key or "")
    return len(left)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["embedded", "latency", "workers"])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--articles", type=int, default=1200, help="workers: fresh articles timed per run")
    parser.add_argument("--rounds", type=int, default=1, help="workers: 1-vs-2 rounds (order alternates); medians printed")
    parser.add_argument("--check-interval", type=float, default=0.05, help="latency: seconds between searchability checks")
    parser.add_argument("--topology", choices=["services", "threads"], default="services",
                        help="latency: workers as separate `newswatch process`/`sink` processes, or threads here")
    parser.add_argument("--processors", type=int, default=1, help="latency: processor worker processes (services)")
    parser.add_argument("--warmup", type=int, default=50, help="latency: articles sent (and awaited) before the clock starts")
    args = parser.parse_args()
    if args.what == "embedded":
        bench_embedded()
    elif args.what == "latency":
        bench_latency(args.rate, args.seconds, args.check_interval, args.warmup, args.topology, args.processors)
    else:
        bench_workers(args.articles, args.rounds, args.warmup)


if __name__ == "__main__":
    main()
