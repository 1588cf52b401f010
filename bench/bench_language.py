"""Language detection: the current detector against the reference (v1) one, same items, same run.

    .venv/bin/python bench/bench_language.py [--rounds R] [--every K] [--show N]

Items: every article the collector's own parser (`collectors.parse_feed`) makes of the feed
files under ../shared/corpora/feeds (English and non-English outlets: golem-de, heise-online,
uol-noticias, jornal-de-noticias-pt, oren-ru, bbc-chinese, dw-chinese, bbc-urdu, le-cercle-psy,
...), seeds/feeds and tests/fixtures (feeds and the archive), plus the seed texts
(../shared/seed/*.txt, seeds/article/*.txt); de-duplicated by article id, in path order, so
the sample is the same on every run over the same files. `--every K` keeps every K-th item
(a quicker, still fixed, sample). Without the shared corpora it says so and checks the repo's
own fixtures only.

"reference" is py3langid.v1's `detect` frozen below: the stock `LanguageIdentifier.classify`
(the package's per-byte DFA walk) and the per-character letter count, with the same rules.
"current" is `processors.language.LanguageDetector`. Printed:

* agreement: items given the same `language` (target >= 99.5%), per reference language, per
  outlet where they differ,
  and the whole `Detection` (language, confidence, reason) being identical;
* every disagreement: outlet, both answers with confidence and reason, the text sampled;
* CPU cost per article (`process_time`, both detectors over all items in each round, in
  alternating order; the verdict is the median of the rounds' paired ratios), with the load.

`--processor N` instead times the whole processor (`enrich_batch`) with each detector, on the
first N of bench_processors' articles: the effect on the issue-2 ratio.
`--verify-automaton` instead checks, over every transition of py3langid's model, the premise of
the current detector's vectorised walk (`verify_automaton`).

Exit status 1 when agreement is under 99.5% (or the automaton check fails), else 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from bench_processors import text_article  # same folder: bench scripts run as `python bench/x.py`

from collectors.parse import parse_feed
from newswatch import Article
from processors.language import (
    LANGUAGES,
    MIN_CONFIDENCE,
    MIN_LETTERS,
    SAMPLE_CHARS,
    Detection,
    LanguageDetector,
    declared_language,
)

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora" / "feeds"
FIXTURE_FEEDS = (ROOT / "seeds" / "feeds", ROOT / "tests" / "fixtures")
TEXT_DIRS = (ROOT.parent / "shared" / "seed", ROOT / "seeds" / "article")
FEED_SUFFIXES = {".xml", ".rss", ".atom"}
TARGET = 0.995


class ReferenceDetector:
    """py3langid.v1's `LanguageDetector.detect`, frozen: the yardstick for any faster version."""

    name = "py3langid.v1 (reference)"

    def __init__(self, languages: tuple[str, ...] = LANGUAGES) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(languages))

    def detect(self, title: str, summary: str, text: str, declared: str = "") -> Detection:
        sample = " ".join(part for part in (title, summary, text[:SAMPLE_CHARS]) if part)[
            :SAMPLE_CHARS
        ]
        fallback = declared_language(declared)
        latin, other = reference_letter_counts(sample)
        if latin + other < MIN_LETTERS:
            return Detection(fallback, 0.0, "too-short" if not fallback else "declared")
        code, confidence = self._identifier.classify(sample)
        if confidence < MIN_CONFIDENCE and other <= latin:
            return Detection(
                fallback, round(confidence, 4), "unsure" if not fallback else "declared"
            )
        return Detection(str(code), round(confidence, 4), "detected")


def reference_letter_counts(text: str) -> tuple[int, int]:
    """py3langid.v1's letter count: (Latin letters, other letters), CJK/kana/hangul x3."""
    latin = other = 0
    for ch in text:
        if not ch.isalpha():
            continue
        if ch < "\u0250":
            latin += 1
        else:
            other += 3 if ch >= "\u2e80" else 1
    return latin, other


def verify_automaton(detector: LanguageDetector) -> int:
    """Check py3langid's n-gram DFA is the Aho-Corasick automaton of its own trie; return the
    number of transitions that are not (0 means `FastScorer`'s window walk is exact).

    Each state's string is its path from the start (breadth first, so the trie). Aho-Corasick:
    from state s on byte b the DFA goes to the state of the longest suffix of str(s) + b that is
    some state's string. Then the state after any text is that of its longest suffix among the
    trie's strings, none longer than the deepest state: the last `SCAN_WINDOW` bytes decide it.
    All 256 bytes from every state are checked (~27 M transitions, ~20 s, ~1 GB at the peak).
    """
    import numpy as np

    from processors.language import SCAN_WINDOW

    scorer = detector._scorer
    nxt, rowbase = scorer._next.astype(np.int64), scorer._rowbase.astype(np.int64)
    size = len(rowbase)
    depth = np.full(size, -1, dtype=np.int64)
    value = np.zeros(size, dtype=np.int64)  # the state's string as a big-endian integer
    depth[0], frontier, level = 0, np.array([0]), 0
    while len(frontier):
        level += 1
        source = np.repeat(frontier, 256)
        byte = np.tile(np.arange(256), len(frontier))
        target = nxt[rowbase[source] + byte]
        new = depth[target] < 0
        target, source, byte = target[new], source[new], byte[new]
        reached, first = np.unique(target, return_index=True)
        depth[reached] = level
        value[reached] = value[source[first]] * 256 + byte[first]
        frontier = reached
    deepest = int(depth.max())
    print(
        f"automaton: {size} states, all reached: {bool((depth >= 0).all())}, deepest {deepest} (SCAN_WINDOW {SCAN_WINDOW})"
    )
    key = (np.int64(1) << (8 * depth)) | value  # string -> unique integer (length marker bit)
    order = np.argsort(key)
    sorted_keys = key[order]
    wrong = 0
    for start in range(0, size, 2048):
        states = np.arange(start, min(size, start + 2048))
        source = np.repeat(states, 256)
        byte = np.tile(np.arange(256), len(states))
        length, string = depth[source] + 1, value[source] * 256 + byte
        expected = np.zeros(len(source), dtype=np.int64)
        for m in range(1, deepest + 2):  # longest suffix in the trie wins: later m overwrite
            suffix = (np.int64(1) << (8 * m)) | (string & ((np.int64(1) << (8 * m)) - 1))
            at = np.minimum(np.searchsorted(sorted_keys, suffix), size - 1)
            hit = (m <= length) & (sorted_keys[at] == suffix)
            expected[hit] = order[at[hit]]
        wrong += int((expected != nxt[rowbase[source] + byte]).sum())
    wrong += int(deepest > SCAN_WINDOW) + int((depth < 0).sum())
    print(f"transitions that are not Aho-Corasick: {wrong} (0: the window walk is exact)")
    return wrong


def processor_effect(limit: int, rounds: int, batch_size: int) -> None:
    """The whole processor (`enrich_batch`, as bench_processors times it, on its articles) with the
    current detection and with the reference's, paired rounds in alternating order, CPU time."""
    import bench_processors  # a sibling script: importable when this one is run

    from processors import build_processor, enrich_batch

    articles = bench_processors.load_articles(limit)
    processor = build_processor(batch_size=batch_size)
    current = processor.detector or LanguageDetector.default()
    reference = ReferenceDetector()

    class Reference(LanguageDetector):
        def __init__(self) -> None:  # no model of its own: the reference's
            pass

        def detect_many(self, items: Iterable[tuple[str, str, str, str]]) -> list[Detection]:
            return [reference.detect(*item) for item in items]

    arms: dict[str, LanguageDetector] = {"current": current, "reference": Reference()}
    for detector in arms.values():  # warm-up
        enrich_batch(articles, processor.classifier, processor.extractor, detector)
    took: dict[str, list[float]] = {name: [] for name in arms}
    lang: dict[str, list[float]] = {name: [] for name in arms}
    names = list(arms)
    for r in range(rounds):
        for name in names[r % 2 :] + names[: r % 2]:
            detector = arms[name]
            start = time.process_time()
            for i in range(0, len(articles), batch_size):
                detector.detect_many(
                    (a.title, a.summary, a.text, a.language) for a in articles[i : i + batch_size]
                )
            lang[name].append((time.process_time() - start) / len(articles))
            start = time.process_time()
            enrich_batch(articles, processor.classifier, processor.extractor, detector)
            took[name].append((time.process_time() - start) / len(articles))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"processor (enrich_batch) on {len(articles)} articles, {rounds} rounds, CPU per article (load {load}):"
    )
    for name in names:
        print(
            f"  {name:9} detection {statistics.median(lang[name]) * 1e6:6.1f} us, whole processor "
            f"{statistics.median(took[name]) * 1e3:6.2f} ms (median; best {min(took[name]) * 1e3:.2f} ms)"
        )
    gain = sorted(r / c for r, c in zip(took["reference"], took["current"], strict=True))
    print(
        f"  processor speed, current over reference, per round: median {statistics.median(gain):.3f}x "
        f"(min {gain[0]:.3f}x, max {gain[-1]:.3f}x); with the same bare spaCy, the bench_processors "
        "ratio moves by that factor"
    )


def _outlet(path: Path, base: Path) -> str:
    parts = path.relative_to(base).parts
    return parts[0] if len(parts) > 1 else base.name


def load_items(every: int = 1) -> tuple[list[tuple[str, Article]], bool]:
    """(outlet, article) for every distinct item, in path order; and whether the corpora were there."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    seen: dict[str, tuple[str, Article]] = {}
    have_corpora = CORPORA.is_dir()
    for base in (CORPORA, *FIXTURE_FEEDS):
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.suffix in FEED_SUFFIXES):
            result = parse_feed(path.read_bytes(), feed_url=f"file://{path}", fetched_at=now)
            for article in result.articles:
                seen.setdefault(article.article_id, (_outlet(path, base), article))
    for folder in TEXT_DIRS:
        for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            article = text_article(path, now)
            seen.setdefault(article.article_id, (folder.name, article))
    return list(seen.values())[::every], have_corpora


Detect = Callable[[str, str, str, str], Detection]


def run_all(detect: Detect, articles: list[Article]) -> tuple[list[Detection], float]:
    """Detections of all articles and the CPU seconds they took."""
    start = time.process_time()
    found = [detect(a.title, a.summary, a.text, a.language) for a in articles]
    return found, time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description="language detection: current vs reference (v1)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each detector")
    parser.add_argument("--every", type=int, default=1, help="keep every K-th item")
    parser.add_argument("--show", type=int, default=200, help="disagreements to list at most")
    parser.add_argument(
        "--batch-size", type=int, default=64, help="detect_many batch (the processor's)"
    )
    parser.add_argument(
        "--verify-automaton",
        action="store_true",
        help="only check the py3langid automaton is Aho-Corasick (FastScorer's premise), ~20 s",
    )
    parser.add_argument(
        "--processor",
        type=int,
        default=0,
        metavar="N",
        help="only time enrich_batch on bench_processors' first N articles, current vs reference detection",
    )
    args = parser.parse_args()
    if args.verify_automaton:
        return 1 if verify_automaton(LanguageDetector()) else 0
    if args.processor:
        processor_effect(args.processor, args.rounds, args.batch_size)
        return 0

    items, have_corpora = load_items(max(1, args.every))
    if not have_corpora:
        print(f"shared corpora absent ({CORPORA}): checking the repo's own fixtures only")
    if not items:
        print("no items found: nothing to check")
        return 0
    outlets = [o for o, _ in items]
    articles = [a for _, a in items]
    reference, current = ReferenceDetector(), LanguageDetector()
    print(
        f"{len(articles)} items from {len(set(outlets))} sources; reference {reference.name}, current {current.name}"
    )

    old, _ = run_all(reference.detect, articles)  # warm-up and the answers
    new, _ = run_all(current.detect, articles)
    same = [o.language == n.language for o, n in zip(old, new, strict=True)]
    agreement = sum(same) / len(same)
    identical = sum(o == n for o, n in zip(old, new, strict=True))
    languages = Counter(o.language for o in old)
    print(
        "reference languages: "
        + ", ".join(f"{lang or '?'} {n}" for lang, n in languages.most_common())
    )
    print(
        f"agreement on language: {sum(same)}/{len(same)} = {agreement:.4%} (target >= {TARGET:.1%}); "
        f"identical Detection (language, confidence, reason): {identical}/{len(same)}"
    )
    kept = Counter(o.language for o, ok in zip(old, same, strict=True) if ok)
    print(  # per reference language too: 99.5% overall could hide losing a whole small language
        "agreement by reference language: "
        + ", ".join(f"{lang or '?'} {kept[lang]}/{n}" for lang, n in languages.most_common())
    )
    per_outlet = Counter(o for o, ok in zip(outlets, same, strict=True) if not ok)
    if per_outlet:
        print(
            "disagreements by source: " + ", ".join(f"{o} {n}" for o, n in per_outlet.most_common())
        )
    shown = 0
    for outlet, article, o, n, ok in zip(outlets, articles, old, new, same, strict=True):
        if ok or shown >= args.show:
            continue
        shown += 1
        sample = " ".join(
            p for p in (article.title, article.summary, article.text[:SAMPLE_CHARS]) if p
        )
        print(
            f"  [{outlet}] reference {o.language or '?'} ({o.confidence:.3f} {o.reason}) / current "
            f"{n.language or '?'} ({n.confidence:.3f} {n.reason}) declared {article.language or '-'}: "
            f"{sample[:160]!r}"
        )

    size = args.batch_size

    def batched(articles: list[Article]) -> list[Detection]:
        out: list[Detection] = []
        for i in range(0, len(articles), size):
            chunk = articles[i : i + size]
            out += current.detect_many((a.title, a.summary, a.text, a.language) for a in chunk)
        return out

    print(f"current detect_many (batches of {size}) == current detect: {batched(articles) == new}")
    runs: dict[str, Callable[[], object]] = {
        "reference": lambda: [
            reference.detect(a.title, a.summary, a.text, a.language) for a in articles
        ],
        "current": lambda: [
            current.detect(a.title, a.summary, a.text, a.language) for a in articles
        ],
        "batched": lambda: batched(articles),
    }
    costs: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate who goes first
            start = time.process_time()
            runs[name]()
            costs[name].append((time.process_time() - start) / len(articles))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"CPU per article over {args.rounds} rounds (load average {load}, {os.cpu_count()} cores); "
        "'current' is detect() one article at a time, 'batched' is detect_many() as enrich_batch calls it:"
    )
    for name, values in costs.items():
        ratios = sorted(o / n for o, n in zip(costs["reference"], values, strict=True))
        print(
            f"  {name:9} median {statistics.median(values) * 1e6:6.1f} us  "
            f"(best {min(values) * 1e6:6.1f}, worst {max(values) * 1e6:6.1f}); "
            f"reference/{name} per round: median {statistics.median(ratios):.2f}x "
            f"(min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x)"
        )
    return 0 if agreement >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
