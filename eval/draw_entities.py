"""Draw fresh paragraphs for an entity gold batch from the shared feed corpora (no extractor involved).

    python -m eval.draw_entities --seed 2024-fresh-3 --per-outlet 2 > /tmp/candidates.jsonl
    python -m eval.draw_entities --seed S --outlets cnn-hp-hero,smh-sydney --per-outlet 4 --prefix fresh4-ent

Items of 150 to 700 characters with at least five capitalised words, text = title + ". " +
summary (HTML stripped), from the English outlets in `OUTLETS`, drawn at random with the given
seed, skipping any paragraph or URL already in eval/data/entities_*.jsonl. The output is only
candidates for annotation by hand ({"id", "text", "source", "url", "provenance"}, no entities):
annotate them before running the extractor on them, so its output cannot steer the gold.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from eval.prepare import DEFAULT_CORPORA, clean_html

REPO = Path(__file__).resolve().parents[1]
OUTLETS = (
    "usaf-afmil", "guardian-sections", "bbc-news-top-uk", "cnn-edition", "foxnews-latest", "nytimes-us",
    "nzherald", "latimes-california", "korea-times", "gmanews", "straitstimes-singapore", "rnz-national",
)


def used() -> tuple[set[str], set[str]]:
    """URLs and texts already in the committed entity gold sets."""
    urls, texts = set(), set()
    for path in sorted((REPO / "eval" / "data").glob("entities_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            urls.add(str(row.get("url", "")))
            texts.add(str(row["text"]))
    return urls, texts


def candidates(folder: Path) -> list[dict[str, str]]:
    """Eligible items of one outlet's snapshots, de-duplicated by link, in a stable order."""
    import feedparser  # type: ignore[import-untyped]

    seen: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            title = clean_html(str(entry.get("title", "")))
            summary = clean_html(str(entry.get("summary", "")))
            text = f"{title}. {summary}" if summary and summary != title else title
            link = str(entry.get("link") or entry.get("id") or "")
            capitals = sum(1 for w in text.split() if w[:1].isupper())
            if 150 <= len(text) <= 700 and capitals >= 5 and link:
                seen.setdefault(link, {"text": text, "url": link, "provenance": f"{folder.name}/{path.name}"})
    return [seen[k] for k in sorted(seen)]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print candidates as JSONL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--seed", required=True)
    parser.add_argument("--per-outlet", type=int, default=2)
    parser.add_argument("--prefix", default="fresh-ent")
    parser.add_argument("--outlets", default=",".join(OUTLETS),
                        help="comma-separated feed folders (default: the 12 English outlets above)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    urls, texts = used()
    n = 0
    for outlet in args.outlets.split(","):
        pool = [c for c in candidates(args.corpora / "feeds" / outlet)
                if c["url"] not in urls and c["text"] not in texts]
        for item in rng.sample(pool, min(args.per_outlet, len(pool))):
            n += 1
            print(json.dumps({"id": f"{args.prefix}-{n:03d}", "text": item["text"], "source": outlet,
                              "url": item["url"], "provenance": item["provenance"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
