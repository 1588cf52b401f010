"""The feed list: a TOML file of `[[feeds]]` tables, plus OPML import and export.

Relative paths and relative `file:` URLs in the file are resolved against the file's own
directory on load, so a feed list and its snapshot folders can move together. Saving writes
the URLs exactly as the user gave them.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import listparser
import tomli_w
from pydantic import ValidationError

from newswatch import ConfigError, FeedSpec

_HEADER = (
    "# newswatch feed list: one [[feeds]] table per feed (url, name, outlet, interval_s, enabled, tags).\n"
    "# Edit by hand or with `newswatch feeds add|remove|import-opml`. Relative paths are relative to this file.\n\n"
)
_FEEDS_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*feeds[ \t]*\]\]", re.MULTILINE)


def resolve_feed_url(url: str, base_dir: Path) -> str:
    """Return `url` with a relative local path or relative `file:` URL made absolute (`file://` URI)."""
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return url
    if scheme == "file":
        rest = url[len("file:") :]
        if rest.startswith("//localhost/"):
            rest = rest[len("//localhost") :]
        elif rest.startswith("//") and not rest.startswith("///"):
            rest = rest[2:]  # file://seeds/x.xml: a relative path written as a URL
        elif rest.startswith("///"):
            rest = rest[2:]
        path = Path(rest)
    elif scheme and len(scheme) > 1:
        return url  # some other scheme: the fetcher refuses it with a clear reason
    else:
        path = Path(url).expanduser()  # a plain path (a one-letter "scheme" is a Windows drive)
    if not path.is_absolute():
        path = base_dir / path
    return Path(os.path.normpath(path)).as_uri()


def _line_of_table(text: str, index: int) -> int | None:
    """1-based line of the `index`-th `[[feeds]]` header, to point the user at the bad entry."""
    matches = list(_FEEDS_TABLE.finditer(text))
    if index >= len(matches):
        return None
    return text.count("\n", 0, matches[index].start()) + 1


def _read_specs(path: Path) -> list[FeedSpec]:
    """Parse the file into specs with URLs as written; raises ConfigError naming file, line and fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"feed list {path} does not exist: create it with `newswatch feeds add URL` "
            "or point NEWSWATCH_FEEDS_FILE at an existing file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read feed list {path}: {exc}; check the file's permissions and that it is UTF-8"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"feed list {path} is not valid TOML ({exc}); fix the syntax at that line"
        ) from exc
    unknown = sorted(set(data) - {"feeds"})
    if unknown:
        raise ConfigError(
            f"feed list {path}: unexpected top-level key(s) {unknown}; the file holds only [[feeds]] tables"
        )
    raw = data.get("feeds", [])
    if not isinstance(raw, list):
        raise ConfigError(
            f"feed list {path}: `feeds` must be an array of tables, written as [[feeds]] blocks"
        )
    specs: list[FeedSpec] = []
    for i, entry in enumerate(raw):
        line = _line_of_table(text, i)
        where = f"{path}:{line}" if line else f"{path} (feed #{i + 1})"
        try:
            specs.append(FeedSpec.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(
                f"{where}: invalid feed entry ({problems}); allowed keys are "
                "url (required), name, outlet, interval_s (> 0), enabled (true/false), tags (list of strings)"
            ) from None
    _check_unique(path, text, specs)
    return specs


def _check_unique(path: Path, text: str, specs: Sequence[FeedSpec]) -> None:
    """Two entries with the same URL or name would make `remove` ambiguous: refuse them."""
    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        for key in (spec.url, spec.name):
            if not key:
                continue
            if key in seen:
                first, again = _line_of_table(text, seen[key]), _line_of_table(text, i)
                raise ConfigError(
                    f"feed list {path}: '{key}' appears twice (lines {first} and {again}); "
                    "delete one of the two [[feeds]] tables"
                )
            seen[key] = i


def load_feeds(path: Path) -> list[FeedSpec]:
    """Load the feed list with local paths resolved against the file's directory."""
    base = path.resolve().parent
    return [
        spec.model_copy(update={"url": resolve_feed_url(spec.url, base)})
        for spec in _read_specs(path)
    ]


def _spec_to_table(spec: FeedSpec) -> dict[str, Any]:
    """A TOML table holding only the fields that differ from the defaults (TOML has no null)."""
    return spec.model_dump(mode="json", exclude_defaults=True)


def save_feeds(path: Path, feeds: Sequence[FeedSpec]) -> None:
    """Write the feed list atomically (a crash mid-write never leaves half a file)."""
    body = tomli_w.dumps({"feeds": [_spec_to_table(f) for f in feeds]})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(_HEADER + body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_feed(path: Path, spec: FeedSpec) -> list[FeedSpec]:
    """Append a feed (creating the file if needed); refuses a URL or name already in the list."""
    specs = _read_specs(path) if path.exists() else []
    for other in specs:
        if other.url == spec.url or (spec.name and other.name == spec.name):
            raise ConfigError(
                f"feed list {path} already has {other.url!r} (name {other.name!r}); "
                "remove it first with `newswatch feeds remove` or pick another name"
            )
    specs.append(spec)
    save_feeds(path, specs)
    return specs


def remove_feed(path: Path, url_or_name: str) -> FeedSpec:
    """Remove the feed whose URL (as written or resolved) or name matches; returns the removed spec."""
    specs = _read_specs(path)
    base = path.resolve().parent
    for i, spec in enumerate(specs):
        if url_or_name in (spec.url, spec.name, resolve_feed_url(spec.url, base)):
            del specs[i]
            save_feeds(path, specs)
            return spec
    known = ", ".join(s.name or s.url for s in specs) or "none"
    raise ConfigError(
        f"no feed {url_or_name!r} in {path} (feeds: {known}); see `newswatch feeds list`"
    )


def import_opml(path: Path) -> list[FeedSpec]:
    """Read an OPML subscription list into specs (listparser does the parsing; no network I/O)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read OPML file {path}: {exc}; check the path") from exc
    result = listparser.parse(data)
    if not result.feeds:
        why = f" ({result.bozo_exception})" if result.bozo else ""
        raise ConfigError(
            f"OPML file {path} lists no feeds{why}; is it an OPML export with <outline xmlUrl=...>?"
        )
    specs: list[FeedSpec] = []
    seen: set[str] = set()
    for feed in result.feeds:
        url = str(feed.get("url", "")).strip()
        if not url or url in seen:
            continue
        seen.add(url)
        tags = tuple(dict.fromkeys(str(t) for t in feed.get("tags", []) if t))
        name = str(feed.get("title", "") or "").strip()
        specs.append(FeedSpec(url=url, name="" if name == url else name, tags=tags))
    return specs


def export_opml(feeds: Sequence[FeedSpec], title: str = "newswatch feeds") -> str:
    """An OPML 2.0 document listing the feeds (listparser only reads OPML, so ElementTree writes it)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for spec in feeds:
        attrs = {"type": "rss", "text": spec.name or spec.url, "xmlUrl": spec.url}
        if spec.name:
            attrs["title"] = spec.name
        if spec.tags:
            attrs["category"] = ",".join(spec.tags)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
