"""Relevance labels for precision and recall: which articles a rule *should* have caught.

Accepted files (UTF-8; blank lines and `#` comments ignored):

    plain text   one article id or URL per line: relevant to every rule
    CSV / TSV    a header naming `article_id` or `url`, optionally `rule` (labels for that rule
                 only; empty = every rule) and `relevant` (1/0, yes/no, true/false; default yes)

A URL is canonicalised as the collector does, so tracking parameters do not matter.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from newswatch import ConfigError, article_id

_TRUE = {"1", "yes", "y", "true", "t", "relevant"}
ANY_RULE = ""


@dataclass
class Labels:
    """Relevant article ids per rule name (`""` holds labels that apply to every rule)."""

    relevant: dict[str, set[str]] = field(default_factory=dict)

    def for_rule(self, rule: str) -> set[str]:
        """Ids relevant to `rule`: its own labels plus the ones for every rule."""
        return self.relevant.get(ANY_RULE, set()) | self.relevant.get(rule, set())


def to_id(value: str) -> str:
    """An article id as given, or the id of a URL."""
    value = value.strip()
    if "://" in value:
        return article_id(value)
    return value


def load_labels(path: Path) -> Labels:
    """Read a labels file; ConfigError with the fix when it has no usable column."""
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return Labels()
    first = lines[0].lower()
    if not _has_header(first):
        return _from_rows((ANY_RULE, ln, "1") for ln in lines)
    dialect = "excel-tab" if "\t" in lines[0] else "excel"
    rows = list(csv.DictReader(io.StringIO("\n".join(lines)), dialect=dialect))
    key = "article_id" if rows and "article_id" in rows[0] else "url"
    if not rows or key not in rows[0]:
        raise ConfigError(f"labels file {path}: the header needs an 'article_id' or 'url' column")
    return _from_rows(
        (r.get("rule") or ANY_RULE, r.get(key) or "", r.get("relevant") or "1") for r in rows
    )


def _has_header(first: str) -> bool:
    cells = [c.strip() for c in first.replace("\t", ",").split(",")]
    return any(c in {"article_id", "url"} for c in cells)


def _from_rows(rows: Iterable[tuple[str, str, str]]) -> Labels:
    labels = Labels()
    for rule, value, flag in rows:
        if value.strip() and flag.strip().lower() in _TRUE:
            labels.relevant.setdefault(rule.strip(), set()).add(to_id(value))
    return labels
