"""Draw fresh feed items for a hand-labelled topic batch (no classifier involved).

    python -m eval.draw_topics --seed topics-fresh-1 > /tmp/topics_fresh1.candidates.jsonl
    python -m eval.draw_topics --build eval/data/topics_fresh1.labels.jsonl   # -> the gold file

The topic classifier was tuned on Reuters-21578, DVIDS, af.mil and the Guardian sections; this
draws from the *other* English outlets of `../shared/corpora/feeds`, with a fixed quota per
outlet (`QUOTAS`, weighted to world and business news so that defence, trade and energy items are
common enough to measure), at random with the given seed. Items are what the pipeline itself sees:
each snapshot goes through the collector's `parse_feed`, so title, summary and text are the
Article's. Items are de-duplicated by link and by normalised title; any link that appears in
`seeds/`, `tests/` or `eval/data/` is skipped. The output has empty `labels`: label every item by
hand from the definitions in `processors/taxonomy.toml` before running any classifier on it.

The repository keeps only the labels (`eval/data/topics_*.labels.jsonl`: id, url, provenance,
labels), not the publishers' text; `--build` re-reads each item from its snapshot in the corpora
and writes the gold file (`~/.cache/newswatch/eval/<name>.jsonl`) that `eval.topics` reads.

Round ten on, the corpora's world news is used up, and `--pool history` draws instead from
`eval.headlines_history`'s feed versions (`--history`, default
~/.cache/newswatch/eval/headlines-history): every eligible item of `HISTORY_OUTLETS`, a census, so
there is no keyword stage. Its labels rows carry `"corpus": "headlines-history"`, and `--build`
reads them from that root.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from eval.prepare import DEFAULT_CORPORA, default_out

REPO = Path(__file__).resolve().parents[1]
QUOTAS = {
    "wsj-world-news": 220, "indianexpress-explained": 150, "aljazeera-english-youtube": 100,
    "bbc-news-top-uk": 90, "cnn-edition": 90, "korea-times": 70, "nytimes-us": 60,
    "straitstimes-singapore": 50, "smh-sydney": 40, "foxnews-latest": 30, "nzherald": 25,
    "rnz-national": 25, "gmanews": 20, "philstar-headlines": 15, "dailytelegraph-au-breaking": 15,
}
"""Items per outlet (1,000 in all). af.mil and the Guardian are left out because tuning used them;
Indian Express opinion because its items are bare column titles; Indian Express "Explained" items
are titles only too (the feed carries no description), so its share is capped."""
NET = frozenset((
    "military", "army", "troops", "troop", "soldier", "soldiers", "navy", "naval", "warship",
    "warships", "marines", "missile", "missiles", "weapon", "weapons", "arms", "defence", "defense",
    "nato", "war", "wars", "pentagon", "airstrike", "airstrikes", "ceasefire", "invasion", "militants",
    "rebels", "shelling", "artillery", "drone", "drones", "nuclear", "submarine", "submarines",
    "trade", "tariff", "tariffs", "export", "exports", "exporter", "exporters", "import", "imports",
    "importer", "customs", "wto", "sanction", "sanctions", "embargo", "duties", "oil", "gas", "lng",
    "coal", "fuel", "fuels", "petrol", "gasoline", "diesel", "electricity", "power", "energy", "solar",
    "wind", "opec", "pipeline", "pipelines", "refinery", "refineries", "crude", "barrel", "barrels",
    "grid", "blackout", "blackouts", "hydro", "hydropower", "renewable", "renewables", "utility",
    "utilities",
))
"""The second stage's net: broad words for the three labels, written from their definitions only
(never from the classifiers' lexicons). An item that names none of them can still be a positive:
the first, random stage covers those, and design weights make both stages one estimate."""
HISTORY_OUTLETS = (
    "bbc-news-top-uk", "smh-sydney", "straitstimes-singapore", "rnz-national", "nzherald", "foxnews-latest",
    "gmanews", "dailytelegraph-au-breaking", "philstar-headlines",
)
"""Outlets of batches drawn from `eval.headlines_history`'s feed versions (`--pool history`, round
ten on): general-news feeds whose items carry a description. Such a batch is a census: every
eligible item of these outlets' versions (in a seeded order), each weighing 1.0, so the plain
figures are the population's."""
HISTORY = "headlines-history"
"""`corpus` of a labels row whose snapshot is one of `eval.headlines_history`'s versions."""
_URL = re.compile(r"https?://[^\s\"'<>]+")


def used_links() -> set[str]:
    """Every URL written anywhere in the repository's seeds, tests and eval data."""
    links: set[str] = set()
    for folder in ("seeds", "tests", "eval/data"):
        for path in (REPO / folder).rglob("*"):
            if path.name.startswith("topics_fresh"):
                continue  # this batch's own labels: drawing again must give the same items
            if path.is_file() and path.suffix in {".xml", ".jsonl", ".json", ".tsv", ".toml", ".txt"}:
                links.update(_URL.findall(path.read_text(encoding="utf-8", errors="replace")))
    return links


def _title_key(title: str) -> str:
    return " ".join(re.findall(r"\w+", title.lower()))


def outlet_items(folder: Path) -> list[dict[str, str]]:
    """One outlet's items across its snapshots, as the collector parses them, first version kept."""
    from collectors.parse import parse_feed

    items: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.xml")):
        result = parse_feed(path.read_bytes(), feed_url=f"file://{path}", outlet=folder.name,
                            fetched_at=datetime.now(UTC))
        for article in result.articles:
            link = str(article.url)
            if article.title.strip() and link not in items:
                items[link] = {"title": article.title, "summary": article.summary, "text": article.text,
                               "url": link, "provenance": f"{folder.name}/{path.name}"}
    return [items[k] for k in sorted(items)]


def eligible(corpora: Path, quotas: dict[str, int], exclude: tuple[Path, ...] = ()) -> dict[str, list[dict[str, str]]]:
    """Per outlet, the items a draw may pick: unused links (also none of the labels files
    `exclude`, i.e. earlier batches), titles not seen in an earlier outlet."""
    skip = used_links() | {str(row["url"]) for path in exclude for row in _rows(path)}
    titles: set[str] = set()
    pools: dict[str, list[dict[str, str]]] = {}
    for outlet in quotas:
        pools[outlet] = []
        for item in outlet_items(corpora / "feeds" / outlet):
            key = _title_key(item["title"])
            if item["url"] in skip or key in titles:
                continue
            titles.add(key)
            pools[outlet].append(item)
    return pools


def draw(corpora: Path, seed: str, quotas: dict[str, int], *, prefix: str = "tf1",
         exclude: tuple[Path, ...] = (), corpus: str | None = None) -> list[dict[str, object]]:
    """The batch: per outlet a seeded sample of the eligible items, in outlet order (rows name
    their `corpus` when it is not the shared corpora)."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for outlet, pool in eligible(corpora, quotas, exclude).items():
        for item in rng.sample(pool, min(quotas[outlet], len(pool))):
            rows.append({"id": f"{prefix}-{len(rows) + 1:04d}", "title": item["title"], "summary": item["summary"],
                         "text": item["text"], "labels": [], "source": outlet, "url": item["url"],
                         "provenance": item["provenance"], **({"corpus": corpus} if corpus else {})})
    return rows


def keyword_hit(item: dict[str, str]) -> bool:
    """Whether an item names any word of `NET` (title, summary or text)."""
    words = set(re.findall(r"[a-z]+", f"{item['title']} {item['summary']} {item['text']}".lower()))
    return not NET.isdisjoint(words)


def enrich(corpora: Path, seed: str, quotas: dict[str, int], first: Path, *, prefix: str = "tf1",
           exclude: tuple[Path, ...] = (), corpus: str | None = None) -> list[dict[str, object]]:
    """The second stage: per outlet, `quotas[o]` more items drawn among the eligible items that hit
    `NET` and are not in the first batch; each row of both stages gets its design weight."""
    rng = random.Random(seed)
    taken = {str(row["url"]) for row in _rows(first) if row.get("stratum", "random") == "random"}
    total = sum(quotas.values())
    rows: list[dict[str, object]] = []
    for outlet, pool in eligible(corpora, quotas, exclude).items():
        hits = [item for item in pool if keyword_hit(item) and item["url"] not in taken]
        if not hits:  # an outlet whose items earlier batches used up has nothing to add
            continue
        first_rate = min(1.0, quotas[outlet] / len(pool))
        second_rate = min(1.0, quotas[outlet] / len(hits))
        for item in rng.sample(hits, min(quotas[outlet], len(hits))):
            rows.append({"id": f"{prefix}k-{len(rows) + 1:04d}", "title": item["title"], "summary": item["summary"],
                         "text": item["text"], "labels": [], "source": outlet, "url": item["url"],
                         "provenance": item["provenance"], "stratum": "keyword",
                         "weight": _weight(outlet, pool, quotas, total, first_rate + (1 - first_rate) * second_rate),
                         **({"corpus": corpus} if corpus else {})})
    return rows


def random_stage_weights(corpora: Path, quotas: dict[str, int], labels: Path,
                         exclude: tuple[Path, ...] = ()) -> dict[str, float]:
    """Weight of every random-stage row of a labels file that also holds the keyword stage: a
    random-stage item that hits `NET` could have been drawn in either stage."""
    pools = eligible(corpora, quotas, exclude)
    total = sum(quotas.values())
    rows = _rows(labels)
    first_urls = {str(r["url"]) for r in rows if r.get("stratum", "random") == "random"}
    second_urls = {str(r["url"]) for r in rows if r.get("stratum") == "keyword"}
    weights: dict[str, float] = {}
    for row in rows:
        if row.get("stratum", "random") != "random":
            continue
        outlet = str(row["source"])
        pool = pools[outlet]
        item = next(i for i in pool if i["url"] == row["url"])
        first_rate = min(1.0, quotas[outlet] / len(pool))
        prob = first_rate
        if keyword_hit(item):
            hits = [i for i in pool if keyword_hit(i) and i["url"] not in first_urls]
            drawn = sum(1 for i in hits if i["url"] in second_urls)
            prob = first_rate + (1 - first_rate) * (drawn / len(hits) if hits else 0.0)
        weights[str(row["id"])] = _weight(outlet, pool, quotas, total, prob)
    return weights


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _weight(outlet: str, pool: list[dict[str, str]], quotas: dict[str, int], total: int, prob: float) -> float:
    """Population share of one item (the outlet's quota share over its pool) over its inclusion
    probability: a random first-stage item of any outlet weighs 1.0."""
    return round((quotas[outlet] / total) / len(pool) / prob * total, 6)


_MISSING = {
    None: "check ../shared/corpora against its MANIFEST.md (or pass --corpora PATH)",
    HISTORY: "make the feed versions with python -m eval.headlines_history --clone <a full clone of "
             "https://github.com/gesab001/headlines> (or pass --history PATH)",
}
"""What to do when a labels row's snapshot or item is not found, per corpus."""


def _article(path: Path, url: str, parsed: dict[Path, dict[str, dict[str, str]]],
             corpus: str | None = None) -> dict[str, str]:
    from collectors.parse import parse_feed

    if not path.is_file():
        raise SystemExit(f"no snapshot {path}: {_MISSING[corpus]}")
    if path not in parsed:
        result = parse_feed(path.read_bytes(), feed_url=f"file://{path}", outlet=path.parent.name,
                            fetched_at=datetime.now(UTC))
        parsed[path] = {str(a.url): {"title": a.title, "summary": a.summary, "text": a.text} for a in result.articles}
    try:
        return parsed[path][url]
    except KeyError:
        raise SystemExit(f"{url} is not in {path}: the snapshots differ from the ones labelled; "
                         f"{_MISSING[corpus]}") from None


def build(corpora: Path, labels: Path, history: Path | None = None) -> list[dict[str, object]]:
    """The gold rows of a committed labels file, text re-read from the snapshots it names: in the
    shared corpora, or for rows whose `corpus` is `HISTORY` in `eval.headlines_history`'s root."""
    from eval.headlines_history import default_root

    roots = {None: corpora, HISTORY: history or default_root()}
    parsed: dict[Path, dict[str, dict[str, str]]] = {}
    rows: list[dict[str, object]] = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        corpus = row.get("corpus")
        if corpus not in roots:
            raise SystemExit(f"{labels}: row {row['id']} names corpus {corpus!r}; known: {HISTORY!r} or none")
        item = _article(roots[corpus] / "feeds" / str(row["provenance"]), str(row["url"]), parsed, corpus)
        rows.append({"id": row["id"], **item, "labels": row["labels"], "source": row["source"],
                     "weight": row.get("weight", 1.0)})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print the unlabelled batch as JSONL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--seed", help="draw a new unlabelled batch with this seed (printed as JSONL)")
    mode.add_argument("--enrich", metavar="SEED", help="draw the keyword stage after the batch --first (JSONL)")
    mode.add_argument("--build", type=Path, metavar="LABELS", help="write the gold file of a labels file")
    parser.add_argument("--prefix", default="tf1", help="id prefix of a new batch (tf1, tf2, ...)")
    parser.add_argument("--exclude", type=Path, action="append", default=[], metavar="LABELS",
                        help="labels file of an earlier batch whose items a new draw must not repeat")
    parser.add_argument("--first", type=Path, help="labels file of the random stage, for --enrich")
    parser.add_argument("--out", type=Path, help="gold file for --build (default ~/.cache/newswatch/eval/<name>.jsonl)")
    parser.add_argument("--pool", choices=("corpora", "history"), default="corpora",
                        help="draw from the shared corpora (QUOTAS) or take every eligible item of "
                             "eval.headlines_history's feed versions (HISTORY_OUTLETS)")
    parser.add_argument("--history", type=Path, help="root of eval.headlines_history's versions "
                        "(default ~/.cache/newswatch/eval/headlines-history)")
    args = parser.parse_args(argv)
    from eval.headlines_history import default_root

    history = args.history or default_root()
    source, quotas, corpus = ((history, dict.fromkeys(HISTORY_OUTLETS, sys.maxsize), HISTORY)
                              if args.pool == "history" else (args.corpora, QUOTAS, None))
    if not args.build and not (source / "feeds").is_dir():
        parser.error(f"no feeds at {source}/feeds; pass --corpora PATH to ../shared/corpora, or make "
                     "the history versions with python -m eval.headlines_history --clone PATH")
    if args.seed:
        for row in draw(source, args.seed, quotas, prefix=args.prefix, exclude=tuple(args.exclude), corpus=corpus):
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if args.enrich:
        if args.pool == "history":
            parser.error("--pool history draws a census (every eligible item): there is no keyword stage to --enrich")
        if not args.first:
            parser.error("--enrich needs --first LABELS (the random stage's labels file)")
        for row in enrich(source, args.enrich, quotas, args.first, prefix=args.prefix,
                          exclude=tuple(args.exclude), corpus=corpus):
            print(json.dumps(row, ensure_ascii=False))
        return 0
    out = args.out or default_out() / args.build.name.replace(".labels.jsonl", ".jsonl")
    rows = build(args.corpora, args.build, history)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} items to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
