"""Feed versions the shared corpora do not hold, for topic batches drawn after the corpora ran dry.

    python -m eval.headlines_history --clone PATH     # rebuild them from a clone of gesab001/headlines
    python -m eval.headlines_history --check-corpora   # transcription against the items the corpora share

`../shared/corpora/feeds` keeps 10-60 versions of each gesab001/headlines feed (2020-2021); the
repository committed 250-400 of each. Round ten read more versions (listed, with their commits, in
`eval/data/headlines_history.tsv`) and wrote each as a reduced feed — its items' `title`, `link`,
`description` and `pubDate` elements as they stand, everything else dropped — under
`~/.cache/newswatch/eval/headlines-history/feeds/<outlet>/<snapshot>.xml`, the corpora's layout, so
`eval.draw_topics --pool history` reads them like any outlet folder. The repository keeps only the
list and the labels; anyone with a full clone of https://github.com/gesab001/headlines re-makes
reduced files that the collector parses to the same items with `--clone` (`git show COMMIT:PATH`,
then the reduction; the bytes differ from round ten's: its header says "transcribed", and its
items' elements are in title, link, description, pubDate order).
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from eval.prepare import DEFAULT_CORPORA, default_out

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "eval" / "data" / "headlines_history.tsv"
"""One row per reduced version: outlet, file, repo, path, commit, snapshot_utc, total_chars, items,
role (primary or spare of the draw of commits), part (the topics_fresh4 part that first read it)."""
_ITEM = re.compile(r"<item\b[^>]*>(.*?)</item>", re.DOTALL)
_KEPT = re.compile(r"<(title|link|description|pubDate)>.*?</\1>", re.DOTALL)
_CHANNEL_TITLE = re.compile(r"<channel>.*?(<title>.*?</title>)", re.DOTALL)


def default_root() -> Path:
    """Where the reduced versions live: a `feeds/` folder laid out as the corpora's."""
    return default_out() / "headlines-history"


def manifest_rows(path: Path = MANIFEST) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def reduce_feed(xml: str, *, repo: str, path: str, commit: str) -> str:
    """The reduced form of one original feed version: the channel title and, per item, its
    title/link/description/pubDate elements character for character, in the original's order."""
    items = _ITEM.findall(xml)
    channel = _CHANNEL_TITLE.search(xml)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (f"<!-- reduced from repo {repo}, path {path}, commit {commit}, total_chars {len(xml)}, items {len(items)};"
        " items only (title, link, description, pubDate), other elements dropped -->"),
        f'<rss version="2.0"><channel>{channel.group(1) if channel else "<title></title>"}',
    ]
    lines += ["<item>" + "".join(m.group(0) for m in _KEPT.finditer(body)) + "</item>" for body in items]
    lines.append("</channel></rss>")
    return "\n".join(lines) + "\n"


def rebuild_from_clone(clone: Path, root: Path) -> int:
    """Write every manifest version, reduced, from a local clone of the origin repository."""
    rows = manifest_rows()
    for row in rows:
        shown = subprocess.run(["git", "-C", str(clone), "show", f"{row['commit']}:{row['path']}"],
                               capture_output=True, check=False)
        if shown.returncode:
            raise SystemExit(f"{row['path']} at {row['commit']} is not in {clone}: "
                             f"{shown.stderr.decode(errors='replace').strip()}; use a full (not shallow) clone "
                             "of https://github.com/gesab001/headlines")
        xml = shown.stdout.decode("utf-8", errors="replace")
        if len(xml) != int(row["total_chars"]):
            print(f"warning: {row['path']} at {row['commit'][:10]} has {len(xml)} characters, the list says "
                  f"{row['total_chars']}", file=sys.stderr)
        out = root / "feeds" / row["outlet"] / row["file"]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(reduce_feed(xml, repo=row["repo"], path=row["path"], commit=row["commit"]), encoding="utf-8")
    return len(rows)


def check_against_corpora(root: Path, corpora: Path) -> dict[str, int]:
    """Items that a reduced version shares (by link) with a corpora snapshot of the same outlet:
    how many, and how many have the same title and summary as the collector parses them there.
    It measures the transcription where the two overlap (consecutive versions share items)."""
    from eval.draw_topics import outlet_items

    for where in (root / "feeds", corpora / "feeds"):
        if not where.is_dir():
            raise SystemExit(f"no feeds at {where}: pass --root / --corpora (or make the versions with --clone)")
    counts = {"shared": 0, "same": 0}
    for folder in sorted((root / "feeds").iterdir()):
        if not folder.is_dir():
            continue
        theirs = {i["url"]: i for i in outlet_items(corpora / "feeds" / folder.name)}
        for item in outlet_items(folder):
            other = theirs.get(item["url"])
            if other is None:
                continue
            counts["shared"] += 1
            same = (item["title"], item["summary"]) == (other["title"], other["summary"])
            counts["same"] += same
            if not same:
                print(f"differs: {folder.name} {item['url']}\n  ours:   {item['title']!r} {item['summary'][:120]!r}\n"
                      f"  theirs: {other['title']!r} {other['summary'][:120]!r}", file=sys.stderr)
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="default ~/.cache/newswatch/eval/headlines-history")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--clone", type=Path, help="a local clone of https://github.com/gesab001/headlines")
    mode.add_argument("--check-corpora", action="store_true", help="compare items shared with the corpora")
    args = parser.parse_args(argv)
    root = args.root or default_root()
    if args.clone:
        n = rebuild_from_clone(args.clone, root)
        print(f"{datetime.now(UTC):%H:%M:%S} wrote {n} reduced versions under {root / 'feeds'}", file=sys.stderr)
        return 0
    counts = check_against_corpora(root, args.corpora)
    print(f"items shared with the corpora: {counts['shared']}; same title and summary: {counts['same']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
