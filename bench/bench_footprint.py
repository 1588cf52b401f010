"""Footprint figures for issue 8: disk per 100,000 articles, resident memory with 500 feeds, and
how long a dead feed takes to show.

    .venv/bin/python bench/bench_footprint.py [--feeds 500 --items 20]
    eval "$(.venv/bin/python deploy/local/services.py up)"   # adds the Elasticsearch figure

500 local feed files are generated from the seed feeds' real items (titles, summaries, dates;
each copy gets its own link, so every article is distinct): feeds x items articles in all. A
child process runs the embedded pipeline once over them (collect, process with spaCy, index,
alerts) and reports its memory: before loading anything (the baseline every ratio uses), at
peak (VmHWM, under load) and after a second, idle poll of the unchanged feeds. Disk per 100,000
articles is extrapolated from the files the run left (store, log, collector memory, archive).
With NEWSWATCH_LOCAL_ES set, the same enriched documents are indexed into a fresh index and its
primary store size (`_stats`, after a flush and a force-merge to one segment) is extrapolated.
Dead-feed detection comes from the scheduling maths (collectors.schedule), not from waiting.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PER = 100_000
MB = 1024 * 1024


def _proc_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def make_feeds(root: Path, feeds: int, items: int) -> int:
    """Write `feeds` RSS files of `items` real seed items each, plus feeds.toml; returns articles."""
    from collectors import Fetcher, load_feeds, parse_feed
    from newswatch import Article, Settings, utcnow

    fetcher = Fetcher(Settings().fetch)
    seed: list[Article] = []
    for spec in load_feeds(ROOT / "seeds" / "feeds.toml"):
        for doc in fetcher.fetch(spec.url).documents:
            seed.extend(parse_feed(doc.body, feed_url=spec.url, fetched_at=utcnow(), outlet=spec.outlet).articles)
    fetcher.close()
    rng, now = random.Random(8), utcnow()
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    toml = []
    for f in range(feeds):
        rows = []
        for k in range(items):
            art = seed[(f * items + k) % len(seed)]
            when = now - timedelta(minutes=rng.randint(0, 20 * 24 * 60))
            rows.append(
                f"<item><title>{escape(art.title)}</title><link>https://feed{f}.bench.example/{k}/{escape(art.url.split('//', 1)[-1])}</link>"
                f"<description>{escape(art.text or art.summary)}</description><pubDate>{format_datetime(when)}</pubDate></item>"
            )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench {f}</title>{"".join(rows)}</channel></rss>'
        (root / "feeds" / f"f{f:03d}.xml").write_text(body, encoding="utf-8")
        toml.append(f'[[feeds]]\nurl = "feeds/f{f:03d}.xml"\nname = "bench-{f:03d}"\noutlet = "Bench {f % 40}"\n')
    (root / "feeds.toml").write_text("\n".join(toml), encoding="utf-8")
    return feeds * items


def child(root: Path) -> None:
    """Run in a fresh process: baseline RSS, one loaded run, one idle poll; prints JSON."""
    baseline_kb = _proc_kb("VmRSS")
    from newswatch import Settings
    from newswatch.cli import wiring

    settings = Settings(data_dir=root / "data", feeds_file=root / "feeds.toml", alerts_file=ROOT / "seeds" / "demo-alerts.yaml")
    bus, store = wiring.open_bus(settings), wiring.open_store(settings)
    started = time.perf_counter()
    report = wiring.run_once(settings, bus, store)
    loaded_s = time.perf_counter() - started
    peak_kb = _proc_kb("VmHWM")
    started = time.perf_counter()
    wiring.run_once(settings, bus, store)  # unchanged feeds: same-body, nothing to process
    idle_s = time.perf_counter() - started
    result = {
        "baseline_mb": baseline_kb / 1024, "peak_mb": peak_kb / 1024, "idle_mb": _proc_kb("VmRSS") / 1024,
        "articles": store.count(), "published": sum(o.published for o in report.outcomes),
        "failed_feeds": sum(not o.ok for o in report.outcomes), "loaded_s": loaded_s, "idle_s": idle_s,
    }
    bus.close()
    store.close()
    print(json.dumps(result))


def disk(root: Path, articles: int) -> dict[str, float]:
    """Bytes on disk per 100,000 articles, per file the run left."""
    from newswatch.bus import sqlite_disk_bytes

    data = root / "data"
    sizes = {name: sqlite_disk_bytes(data / name) for name in ("store.db", "bus.db", "collector.db", "alerts.db")}
    sizes["archive/"] = sum(p.stat().st_size for p in (data / "archive").rglob("*") if p.is_file())
    return {k: v / articles * PER for k, v in sizes.items()}


def elastic_per_100k(root: Path) -> tuple[int, float] | None:
    """Index the run's enriched articles into a fresh index; primary store bytes per 100,000."""
    url = os.environ.get("NEWSWATCH_LOCAL_ES")
    if not url:
        return None
    import sqlite3

    from newswatch import ElasticSettings, EnrichedArticle
    from sinks import ElasticStore

    with sqlite3.connect(root / "data" / "store.db") as conn:
        docs = [EnrichedArticle.model_validate_json(d) for (d,) in conn.execute("SELECT doc FROM articles")]
    store = ElasticStore(url, ElasticSettings(index_prefix=f"bench-{uuid.uuid4().hex[:8]}"))
    store.setup()
    try:
        for start in range(0, len(docs), 500):
            store.write(docs[start : start + 500])
        store.refresh()
        store.client.indices.flush(index=store.alias)
        store.client.indices.forcemerge(index=store.alias, max_num_segments=1)
        stats = store.client.indices.stats(index=store.alias, metric="store")
        size = int(stats["_all"]["primaries"]["store"]["size_in_bytes"])
        return len(docs), size / len(docs) * PER
    finally:
        store.drop()
        store.close()


def dead_feed_maths() -> list[tuple[str, float, float]]:
    """(failure kind, hours until status says failing, hours until parked) for a feed polled at the default interval."""
    from collectors.schedule import failure_backoff, is_parked
    from collectors.state import FAILURE_WEIGHTS
    from newswatch import ScheduleSettings

    s = ScheduleSettings()
    rows = []
    for kind in ("timeout", "http-error", "not-found", "blocked"):
        interval, weight, elapsed = s.interval_s, 0.0, s.interval_s * (1 + s.jitter_fraction)  # first failing poll
        failing_at = elapsed
        while True:
            weight += FAILURE_WEIGHTS[kind]
            if is_parked(weight, interval, s.max_backoff_s):
                break
            elapsed += failure_backoff(weight, interval, s.max_backoff_s) * (1 + s.jitter_fraction)
        rows.append((kind, failing_at / 3600, elapsed / 3600))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        planned = make_feeds(root, args.feeds, args.items)
        out = subprocess.run([sys.executable, __file__, "--child", str(root)], capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(f"pipeline child failed:\n{out.stderr[-3000:]}")
        run = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"embedded pipeline, {args.feeds} feeds x {args.items} items = {planned} articles "
              f"({run['articles']} indexed, {run['failed_feeds']} feeds failed)")
        print(f"  resident memory: baseline {run['baseline_mb']:.0f} MiB (bare interpreter), "
              f"peak under load {run['peak_mb']:.0f} MiB ({run['peak_mb'] / run['baseline_mb']:.1f}x baseline), "
              f"idle after a no-op poll {run['idle_mb']:.0f} MiB; target < 1024 MiB: {'met' if run['peak_mb'] < 1024 else 'MISSED'}")
        print(f"  time: loaded run {run['loaded_s']:.0f}s ({run['articles'] / run['loaded_s']:.0f} articles/s), idle poll of every feed {run['idle_s']:.1f}s")
        per = disk(root, run["articles"])
        print(f"  disk per 100,000 articles (extrapolated from {run['articles']}): "
              + ", ".join(f"{k} {v / MB:.0f} MiB" for k, v in per.items()) + f"; total {sum(per.values()) / MB:.0f} MiB")
        es = elastic_per_100k(root)
        if es is None:
            print("  Elasticsearch: skipped (export NEWSWATCH_LOCAL_ES to measure)")
        else:
            print(f"  Elasticsearch primary store per 100,000 articles (from {es[0]}, one segment): {es[1] / MB:.0f} MiB "
                  f"({es[1] / per['store.db']:.2f}x the embedded store)")
    print("dead feed, default schedule (interval 900 s, jitter 10 %, back-off cap 24 h), worst case:")
    for kind, failing_h, parked_h in dead_feed_maths():
        print(f"  {kind:<11} status 'failing' after {failing_h * 60:.0f} min, 'parked' after {parked_h:.1f} h")
    from newswatch import Settings

    v = Settings().volume
    print(f"feed alive but silent (volume-drop signal, drop_ratio {v.drop_ratio:g}): flagged {24 * (1 - v.drop_ratio):.0f} h after "
          f"its last article (when the last 24 h fall under {v.drop_ratio:g} x its usual day), given {v.min_history_days} days of history")


if __name__ == "__main__":
    main()
