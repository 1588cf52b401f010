"""Build the topic dev sets from ../shared/corpora and split them into tuning and held-out.

    python -m eval.prepare [--corpora DIR] [--out DIR]

Writes `topics_tuning.jsonl`, `topics_heldout.jsonl` and `manifest.json` to --out (default
$NEWSWATCH_EVAL_DIR or ~/.cache/newswatch/eval: outside the repository, because the corpora are
third-party text that must not be committed). The split is `eval.splits.split_of(id)`.

Label mapping (the origin labels, mapped as ../shared/corpora/labeled/README.md documents;
nothing is labelled by hand here). Each item also says which labels it `judged`:

* Reuters-21578: energy = any of the collection's nine Energy Codes; trade = `trade`.
  Judged: energy and trade on every item, except trade is not judged on items coded `bop`
  without `trade` (balance-of-payments stories report the trade balance, which our definition
  calls trade and Reuters' does not: an unresolved call the README leaves to us).
  Gold rules "gold.v2" (`REUTERS_RULES`, written up with the hand-check that sized them in
  `eval/relabelling.md`) then correct the mapping where Reuters' coding practice and our
  written label definitions part, from the origin codes alone (never from any model output):
  R1 `pet-chem` as the only energy code is not energy (chemicals and plastics, not energy
  supply); R2 trade is not judged on any `bop` item; R3 trade is not judged on `trade` items
  also coded `money-fx`, `dlr` or `interest` (currency stories that mention the trade
  balance); R4 trade is not judged on commodity-coded items without `trade` (Reuters files a
  commodity's export and import stories under the commodity); R5 energy is not judged on items
  coded both `crude` and `ship` (the 1987 Gulf tanker war). `--gold-rules origin` writes
  the plain mapping as before; the default writes both (`topics_<split>.jsonl` with the
  rules, `topics_<split>.origin.jsonl` without). Defence is
  never judged on Reuters: the collection has no defence code, and every code holds defence
  news by our definition (the 1987 Gulf tanker escorts under crude/ship, Royal Ordnance's sale
  under acq, arms control under trade), so absence of a code is no judgement. The harness
  still prints how often each label fires on items that do not judge it.
* DVIDS and af.mil (U.S. DoD / Air Force news): defence by provenance; judge defence only.
* Guardian (2022-02-07): labels from the Guardian's own keyword tags (`*_TAGS` below).
  Items only in non-news sections (sport, culture, money, science, tech, lifestyle, ...)
  judge all three labels; items in a news section (world, uk, business, environment,
  global-development, opinion, letters) judge energy and trade, and defence only when a
  defence tag is present, because the Guardian did not tag its Ukraine build-up coverage
  with military keywords.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from eval.gold import CORE_LABELS
from eval.splits import SPLITS, split_of

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO / ".." / "shared" / "corpora"

REUTERS_ENERGY = frozenset({"crude", "nat-gas", "gas", "pet-chem", "fuel", "heat", "jet", "naphtha", "propane"})
ENERGY_TAGS = frozenset({
    "business/energy-industry", "business/gas", "business/oil", "business/oilandgascompanies",
    "business/energy", "environment/energy", "environment/renewableenergy", "environment/fossil-fuels",
    "environment/gas", "environment/oil", "environment/coal", "environment/biomass-and-bioenergy",
    "environment/energyefficiency", "environment/nuclearpower", "environment/windpower",
    "environment/solarpower", "environment/fracking", "money/energy", "money/energy-bills",
    "society/fuel-poverty", "australia-news/energy-australia",
})
TRADE_TAGS = frozenset({
    "business/internationaltrade", "politics/trade-policy", "business/tariffs", "business/wto",
    "world/wto", "business/exports",
})
DEFENCE_TAGS = frozenset({
    "uk/ministry-of-defence", "us-news/us-military", "world/nato", "world/military", "uk/military",
    "uk/armed-forces", "world/arms-trade", "world/nuclear-weapons", "politics/defence",
})
REUTERS_COMMODITIES = frozenset({
    "alum", "barley", "carcass", "castor-oil", "castorseed", "citruspulp", "cocoa", "coconut",
    "coconut-oil", "coffee", "copper", "copra-cake", "corn", "corn-oil", "cornglutenfeed", "cotton",
    "cotton-oil", "cottonseed", "f-cattle", "fishmeal", "gold", "grain", "groundnut", "groundnut-oil",
    "hog", "iron-steel", "l-cattle", "lead", "lin-meal", "lin-oil", "linseed", "livestock", "lumber",
    "meal-feed", "nickel", "oat", "oilseed", "orange", "palladium", "palm-oil", "palmkernel",
    "platinum", "plywood", "pork-belly", "potato", "rape-meal", "rape-oil", "rapeseed", "red-bean",
    "rice", "rubber", "rye", "silver", "sorghum", "soy-meal", "soy-oil", "soybean", "strategic-metal",
    "sugar", "sun-meal", "sun-oil", "sunseed", "tapioca", "tea", "tin", "veg-oil", "wheat", "wool", "zinc",
})
"""The collection's commodity codes (agricultural, metals, forest and other raw materials)."""
REUTERS_RULES = (
    ("R1-petchem-only", lambda c: c & REUTERS_ENERGY == {"pet-chem"}, "energy", "negative"),
    ("R2-bop", lambda c: "bop" in c, "trade", "unjudged"),
    ("R3-currency", lambda c: "trade" in c and bool(c & {"money-fx", "dlr", "interest"}), "trade", "unjudged"),
    ("R4-commodity", lambda c: "trade" not in c and bool(c & REUTERS_COMMODITIES), "trade", "unjudged"),
    ("R5-gulf-shipping", lambda c: {"crude", "ship"} <= c, "energy", "unjudged"),
)
"""gold.v2: (name, applies to the origin codes, label, "negative" | "unjudged"); see eval/relabelling.md."""
GUARDIAN_NEWS_SECTIONS = frozenset({
    "world", "uk", "business", "environment", "global-development", "opinion", "letters",
})
_TAG = re.compile(r"<[^>]+>")


def clean_html(value: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", value)).split())


def reuters_gold(codes: frozenset[str], *, rules: bool = True) -> tuple[list[str], list[str], list[str]]:
    """(labels, judged, rules applied) of one Reuters item from its origin codes alone."""
    labels = {"energy"} if codes & REUTERS_ENERGY else set()
    if "trade" in codes:
        labels.add("trade")
    judged = {"energy"}
    if "trade" in codes or "bop" not in codes:
        judged.add("trade")
    applied = []
    if rules:
        for name, applies, label, action in REUTERS_RULES:
            if applies(codes) and (label in labels or label in judged):
                applied.append(name)
                labels.discard(label)
                if action == "unjudged":
                    judged.discard(label)
    return sorted(labels), sorted(judged), applied


def reuters(path: Path, *, rules: bool = True) -> Iterator[dict[str, object]]:
    """Reuters-21578 items with energy/trade labels mapped and judged labels set."""
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        codes = frozenset(row["labels"])
        labels, judged, applied = reuters_gold(codes, rules=rules)
        out = {"id": row["id"], "title": row["title"], "text": row["text"], "labels": labels,
               "judged": judged, "source": "reuters21578", "origin_labels": sorted(codes)}
        if applied:
            out["gold_rules"] = applied
        yield out


def dvids(path: Path) -> Iterator[dict[str, object]]:
    """DVIDS defence items: defence positives, judged for defence only."""
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        yield {"id": row["id"], "title": row.get("title", ""), "text": row["text"], "labels": ["defence"],
               "judged": ["defence"], "source": "dvids_defense", "origin_labels": row["labels"]}


def _entries(paths: Iterable[Path]) -> Iterator[tuple[Path, Any]]:
    import feedparser  # type: ignore[import-untyped]

    for path in sorted(paths):
        for entry in feedparser.parse(path.read_bytes()).entries:
            yield path, entry


def afmil(folder: Path) -> Iterator[dict[str, object]]:
    """af.mil feed items (title + description): defence positives, judged for defence only."""
    seen = set()
    for _path, entry in _entries(folder.glob("*.xml")):
        link = str(entry.get("link") or entry.get("id") or "")
        item_id = "afmil:" + link.split("://", 1)[-1]
        title = clean_html(str(entry.get("title", "")))
        if item_id in seen or not title:
            continue
        seen.add(item_id)
        yield {"id": item_id, "title": title, "summary": clean_html(str(entry.get("summary", ""))),
               "text": "", "labels": ["defence"], "judged": ["defence"], "source": "usaf-afmil"}


def guardian(folder: Path) -> Iterator[dict[str, object]]:
    """Guardian items labelled from their keyword tags; items in several sections merged."""
    merged: dict[str, dict[str, object]] = {}
    tags: dict[str, set[str]] = {}
    sections: dict[str, set[str]] = {}
    for path, entry in _entries(folder.glob("*.xml")):
        link = str(entry.get("link") or entry.get("id") or "")
        item_id = "guardian:" + link.split("theguardian.com/", 1)[-1]
        tags.setdefault(item_id, set()).update(
            str(t.get("scheme", "")).split("theguardian.com/", 1)[-1] for t in entry.get("tags", [])
        )
        sections.setdefault(item_id, set()).add(path.stem.split("_", 1)[-1])
        merged.setdefault(item_id, {
            "id": item_id, "title": clean_html(str(entry.get("title", ""))),
            "summary": clean_html(str(entry.get("summary", ""))), "text": "",
            "source": "guardian-sections",
        })
    for item_id, row in merged.items():
        found = tags[item_id]
        labels = [name for name, family in (("defence", DEFENCE_TAGS), ("trade", TRADE_TAGS),
                                             ("energy", ENERGY_TAGS)) if found & family]
        if sections[item_id] & GUARDIAN_NEWS_SECTIONS:
            judged = ["energy", "trade"] + (["defence"] if "defence" in labels else [])
        else:
            judged = list(CORE_LABELS)
        row.update(labels=labels, judged=sorted(judged), sections=sorted(sections[item_id]),
                   origin_labels=sorted(found))
        yield row


def build(corpora: Path, *, rules: bool = True) -> list[dict[str, object]]:
    """Every dev item from the corpora, in a stable order (by source, then id)."""
    labeled, feeds = corpora / "labeled", corpora / "feeds"
    rows = [*reuters(labeled / "reuters21578.jsonl", rules=rules), *dvids(labeled / "dvids_defense.jsonl"),
            *afmil(feeds / "usaf-afmil"), *guardian(feeds / "guardian-sections")]
    return sorted(rows, key=lambda r: (str(r["source"]), str(r["id"])))


def default_out() -> Path:
    """$NEWSWATCH_EVAL_DIR, else ~/.cache/newswatch/eval (never inside the repository)."""
    return Path(os.environ.get("NEWSWATCH_EVAL_DIR") or Path.home() / ".cache" / "newswatch" / "eval")


def write_splits(rows: list[dict[str, object]], out: Path, corpora: Path, suffix: str = "") -> dict[str, object]:
    """Write one JSONL per split plus a manifest (counts per split/source/label, input hashes);
    `suffix` (".origin") names the files of the plain mapping."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    handles = {s: (out / f"topics_{s}{suffix}.jsonl").open("w", encoding="utf-8") for s in SPLITS}
    try:
        for row in rows:
            split = split_of(str(row["id"]))
            handles[split].write(json.dumps(row, ensure_ascii=False) + "\n")
            counts[split][f"items:{row['source']}"] += 1
            for label in row["labels"]:  # type: ignore[attr-defined]
                counts[split][f"positive:{label}"] += 1
            for label in row["judged"]:  # type: ignore[attr-defined]
                counts[split][f"judged:{label}"] += 1
            for rule in row.get("gold_rules", []):  # type: ignore[attr-defined]
                counts[split][f"rule:{rule}"] += 1
    finally:
        for handle in handles.values():
            handle.close()
    inputs = [corpora / "labeled" / "reuters21578.jsonl", corpora / "labeled" / "dvids_defense.jsonl"]
    manifest: dict[str, object] = {
        "split": "eval.splits.split_of (sha256 of salt:id, 30% held out)",
        "gold_rules": "origin mapping only" if suffix else "gold.v2 (eval/relabelling.md)",
        "counts": {s: dict(sorted(c.items())) for s, c in counts.items()},
        "inputs": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs},
    }
    (out / f"manifest{suffix}.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help="the shared corpora folder")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: %(default)s -> cache)")
    parser.add_argument("--gold-rules", choices=("both", "v2", "origin"), default="both",
                        help="write the gold.v2 files, the plain origin mapping (*.origin.jsonl), or both")
    args = parser.parse_args(argv)
    if not (args.corpora / "labeled" / "reuters21578.jsonl").is_file():
        print(f"error: no corpora at {args.corpora.resolve()}; pass --corpora DIR "
              "(the folder with labeled/ and feeds/)", file=sys.stderr)
        return 2
    out = args.out or default_out()
    if args.gold_rules in ("both", "origin"):
        write_splits(build(args.corpora, rules=False), out, args.corpora, ".origin")
        print(f"wrote {out}/topics_tuning.origin.jsonl and topics_heldout.origin.jsonl (origin mapping)")
    if args.gold_rules in ("both", "v2"):
        manifest = write_splits(build(args.corpora), out, args.corpora)
        print(f"wrote {out}/topics_tuning.jsonl and topics_heldout.jsonl (gold.v2 rules)")
        print(json.dumps(manifest["counts"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
