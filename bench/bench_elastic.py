"""ElasticStore.write docs/s against raw `helpers.bulk` of the same documents, in one run.

    eval "$(.venv/bin/python deploy/local/services.py up --es-only)"
    .venv/bin/python bench/bench_elastic.py [--docs 20000] [--rounds 3] [--bulk-docs 500]

Both sides index into fresh indices made from the same template, in chunks of `--bulk-docs`, and
alternate which goes first each round. The baseline gets ready-made JSON dicts; ElasticStore
gets EnrichedArticle records, so its figure includes the record -> document conversion and the
per-document outcome bookkeeping that the sink really pays. Printed: median docs/s per side and
the median of the per-round ratios (each round's two runs share the machine's load; target
>= 0.85). Indices are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import helpers

from newswatch import Article, ElasticSettings, EnrichedArticle, Entity, TopicLabel, utcnow
from sinks import ElasticStore
from sinks.es_template import to_document

WORDS = (  # noqa: SIM905 - a sentence reads better than 26 quoted words
    "minister trade tariff steel oil market bank rates election court border army energy gas "
    "summit deal talks budget inflation storm climate vaccine union strike exports growth"
).split()
LABELS = ("PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "PRODUCT")


def synthetic_articles(n: int, seed: int = 7) -> list[EnrichedArticle]:
    """`n` articles shaped like real ones: ~300-word bodies, 2-3 topics, ~8 entities."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        when = start + timedelta(minutes=i)
        art = Article.create(
            link=f"https://bench.example/{i}",
            title=" ".join(rng.choices(WORDS, k=8)).capitalize(),
            summary=" ".join(rng.choices(WORDS, k=40)),
            text=" ".join(rng.choices(WORDS, k=300)),
            published_at=when,
            fetched_at=when,
            outlet=f"outlet-{i % 17}",
            language="en",
            feed_url=f"https://bench.example/feed-{i % 40}.xml",
        )
        topics = [
            TopicLabel(
                label=t, iptc_code=f"{hash(t) % 10**8:08d}", score=rng.random(), evidence=(t,)
            )
            for t in rng.sample(WORDS[:12], k=rng.randint(2, 3))
        ]
        entities = [
            Entity(
                text=w.title(),
                label=rng.choice(LABELS),
                canonical=w.title(),
                count=rng.randint(1, 4),
            )
            for w in rng.sample(WORDS, k=8)
        ]
        out.append(
            EnrichedArticle.from_article(
                art, topics=topics, entities=entities, classifier_version="bench"
            )
        )
    return out


def time_store(url: str, articles: list[EnrichedArticle], bulk_docs: int) -> float:
    store = ElasticStore(
        url, ElasticSettings(index_prefix=f"nw-bench-{uuid.uuid4().hex[:8]}", bulk_docs=bulk_docs)
    )
    store.setup()
    try:
        started = time.perf_counter()
        for i in range(0, len(articles), bulk_docs):
            rejected = store.write(articles[i : i + bulk_docs])
            assert not rejected, rejected[:1]
        elapsed = time.perf_counter() - started
        store.refresh()
        assert store.count() == len(articles)
        return len(articles) / elapsed
    finally:
        store.drop()
        store.close()


def time_raw(url: str, docs: list[dict[str, Any]], bulk_docs: int) -> float:
    store = ElasticStore(
        url, ElasticSettings(index_prefix=f"nw-bench-{uuid.uuid4().hex[:8]}", bulk_docs=bulk_docs)
    )
    store.setup()  # same template, alias and index as the store side
    try:
        actions = [{"_index": store.alias, "_id": d["article_id"], "_source": d} for d in docs]
        started = time.perf_counter()
        ok, errors = helpers.bulk(
            store.client, actions, chunk_size=bulk_docs, max_chunk_bytes=20 * 1024 * 1024
        )
        elapsed = time.perf_counter() - started
        assert ok == len(docs) and not errors
        return len(docs) / elapsed
    finally:
        store.drop()
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("NEWSWATCH_LOCAL_ES", ""), help="default: $NEWSWATCH_LOCAL_ES"
    )
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bulk-docs", type=int, default=ElasticSettings().bulk_docs)
    args = parser.parse_args(argv)
    if not args.url:
        parser.error(
            "no Elasticsearch: pass --url or run "
            '`eval "$(.venv/bin/python deploy/local/services.py up --es-only)"`'
        )
    articles = synthetic_articles(args.docs)
    docs = [to_document(a, utcnow()) for a in articles]
    time_store(args.url, articles[:1000], args.bulk_docs)  # warm-up: JIT, caches, first index
    store_rates, raw_rates = [], []
    for rnd in range(args.rounds):
        if rnd % 2 == 0:
            store_rates.append(time_store(args.url, articles, args.bulk_docs))
            raw_rates.append(time_raw(args.url, docs, args.bulk_docs))
        else:
            raw_rates.append(time_raw(args.url, docs, args.bulk_docs))
            store_rates.append(time_store(args.url, articles, args.bulk_docs))
        print(
            f"round {rnd + 1}: ElasticStore {store_rates[-1]:,.0f} docs/s, "
            f"raw bulk {raw_rates[-1]:,.0f} docs/s, "
            f"ratio {store_rates[-1] / raw_rates[-1]:.2f}",
            file=sys.stderr,
        )
    store_rate, raw_rate = statistics.median(store_rates), statistics.median(raw_rates)
    ratio = statistics.median(s / r for s, r in zip(store_rates, raw_rates, strict=True))
    print(f"docs={args.docs} bulk_docs={args.bulk_docs} rounds={args.rounds}")
    print(f"raw helpers.bulk      {raw_rate:10,.0f} docs/s (median)")
    print(f"ElasticStore.write    {store_rate:10,.0f} docs/s (median)")
    print(
        f"ratio                 {ratio:10.2f}  median of per-round ratios "
        f"(target >= 0.85: {'met' if ratio >= 0.85 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
