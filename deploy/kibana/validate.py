"""Check Kibana saved objects offline (structure) and against a real index (`_field_caps`).

    .venv/bin/python deploy/kibana/validate.py [--es URL --prefix newswatch] [FILE]

Structure: every line parses, has id/type/attributes/references, JSON-in-string attributes parse,
every reference resolves to an object in the file, search sources name their index reference,
dashboard grid data is whole, inside the 48 columns and free of overlaps.

Fields: every field a saved object uses is collected with what it needs (`date` for time fields
and date histograms, `aggregatable` for terms and sorts, `exists` for columns, queries and
formats), then checked against `GET <index>/_field_caps?fields=*` of the data view's index, which
is what Kibana itself asks. A field renamed in the mapping shows up as "missing".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRID_COLUMNS = 48
JSON_ATTRIBUTES = {
    "index-pattern": ("fields", "fieldFormatMap", "fieldAttrs", "runtimeFieldMap", "sourceFilters", "typeMeta"),
    "visualization": ("visState", "uiStateJSON", "kibanaSavedObjectMeta.searchSourceJSON"),
    "search": ("kibanaSavedObjectMeta.searchSourceJSON",),
    "dashboard": ("panelsJSON", "optionsJSON", "kibanaSavedObjectMeta.searchSourceJSON"),
}
DATE_TYPES = {"date", "date_nanos"}
TERMS_TYPES = {"keyword", "constant_keyword", "long", "integer", "short", "byte", "double", "float",
               "half_float", "scaled_float", "ip", "boolean", "date", "date_nanos"}
_KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*:")


@dataclass(frozen=True)
class FieldUse:
    """One field one object relies on: `need` is "date", "aggregatable" or "exists"."""

    object_id: str
    data_view: str
    field: str
    need: str


def load(path: Path) -> list[dict[str, Any]]:
    """The objects of an NDJSON file (blank lines ignored); raises ValueError naming the line."""
    objects = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                objects.append(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
    return objects


def _attr(obj: dict[str, Any], dotted: str) -> Any:
    value: Any = obj.get("attributes", {})
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parsed(obj: dict[str, Any], dotted: str) -> Any:
    """A JSON-in-string attribute, parsed."""
    return json.loads(_attr(obj, dotted))


def check_structure(objects: list[dict[str, Any]]) -> list[str]:
    """Problems with the objects themselves; [] when they are sound."""
    problems: list[str] = []
    known = {(o.get("type"), o.get("id")) for o in objects}
    if len(known) != len(objects):
        problems.append("duplicate (type, id) pairs")
    for obj in objects:
        where = f"{obj.get('type')}/{obj.get('id')}"
        missing = [k for k in ("id", "type", "attributes", "references") if k not in obj]
        if missing:
            problems.append(f"{where}: missing {missing}")
            continue
        if obj["type"] not in JSON_ATTRIBUTES:
            problems.append(f"{where}: unexpected type {obj['type']!r}")
            continue
        if not obj["attributes"].get("title"):
            problems.append(f"{where}: no title")
        for name in JSON_ATTRIBUTES[obj["type"]]:
            try:
                parsed(obj, name)
            except (TypeError, ValueError) as exc:
                problems.append(f"{where}: {name} is not a JSON string ({exc})")
        names = set()
        for ref in obj["references"]:
            names.add(ref.get("name"))
            if (ref.get("type"), ref.get("id")) not in known:
                problems.append(f"{where}: reference {ref.get('name')} -> {ref.get('type')}/{ref.get('id')} "
                                "is not in the file")
        problems += _check_source(obj, where, names)
        if obj["type"] == "visualization":
            problems += _check_vis(obj, where)
        if obj["type"] == "dashboard":
            problems += _check_panels(obj, where, names)
    return problems


def _check_source(obj: dict[str, Any], where: str, names: set[str]) -> list[str]:
    try:
        source = parsed(obj, "kibanaSavedObjectMeta.searchSourceJSON") if obj["type"] != "index-pattern" else {}
    except (TypeError, ValueError):
        return []
    ref = source.get("indexRefName")
    if obj["type"] in ("visualization", "search") and ref is None:
        return [f"{where}: search source has no indexRefName"]
    if ref is not None and ref not in names:
        return [f"{where}: indexRefName {ref!r} matches no reference"]
    return []


def _check_vis(obj: dict[str, Any], where: str) -> list[str]:
    try:
        state = parsed(obj, "visState")
    except (TypeError, ValueError):
        return []
    problems = []
    if state.get("title") != obj["attributes"]["title"]:
        problems.append(f"{where}: visState title differs from the object title")
    ids = [agg.get("id") for agg in state.get("aggs", [])]
    if len(ids) != len(set(ids)) or not ids:
        problems.append(f"{where}: aggs missing or with duplicate ids")
    return problems


def _check_panels(obj: dict[str, Any], where: str, names: set[str]) -> list[str]:
    try:
        panels = parsed(obj, "panelsJSON")
    except (TypeError, ValueError):
        return []
    problems: list[str] = []
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel.get("gridData", {})
        index = str(panel.get("panelIndex"))
        numbers = [grid.get(k) for k in ("x", "y", "w", "h")]
        if not all(isinstance(n, int) for n in numbers) or grid.get("i") != index:
            problems.append(f"{where}: panel {index} grid data incomplete: {grid}")
            continue
        x, y, w, h = numbers
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > GRID_COLUMNS:
            problems.append(f"{where}: panel {index} outside the {GRID_COLUMNS}-column grid: {grid}")
        for cx in range(x, x + w):
            for cy in range(y, y + h):
                if (cx, cy) in cells:
                    problems.append(f"{where}: panel {index} overlaps panel {cells[cx, cy]}")
                    break
                cells[cx, cy] = index
            else:
                continue
            break
        ref = panel.get("panelRefName")
        if ref not in names and f"{index}:{ref}" not in names:
            problems.append(f"{where}: panel {index} panelRefName {ref!r} matches no reference")
    return problems


def field_uses(objects: list[dict[str, Any]]) -> list[FieldUse]:
    """Every field the objects use, with the data view (its title, i.e. index pattern) and need."""
    views = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    uses: list[FieldUse] = []
    for obj in objects:
        oid = obj["id"]
        if obj["type"] == "index-pattern":
            title = obj["attributes"]["title"]
            if obj["attributes"].get("timeFieldName"):
                uses.append(FieldUse(oid, title, obj["attributes"]["timeFieldName"], "date"))
            uses += [FieldUse(oid, title, f, "exists") for f in parsed(obj, "fieldFormatMap")]
            continue
        view = next((views.get(r["id"]) for r in obj["references"] if r["type"] == "index-pattern"), None)
        if view is None:
            continue
        if obj["type"] == "visualization":
            for agg in parsed(obj, "visState").get("aggs", []):
                field = agg.get("params", {}).get("field")
                if field:
                    need = "date" if agg["type"] == "date_histogram" else "aggregatable"
                    uses.append(FieldUse(oid, view, field, need))
        if obj["type"] == "search":
            uses += [FieldUse(oid, view, c, "exists") for c in obj["attributes"].get("columns", [])]
            uses += [FieldUse(oid, view, s[0], "aggregatable") for s in obj["attributes"].get("sort", [])]
        query = parsed(obj, "kibanaSavedObjectMeta.searchSourceJSON").get("query", {}).get("query", "")
        uses += [FieldUse(oid, view, f, "exists") for f in _KQL_FIELD.findall(str(query))]
    return uses


def check_fields(uses: list[FieldUse], caps: dict[str, dict[str, Any]]) -> list[str]:
    """Problems of `uses` against field caps per data view title (`caps[title]` = response["fields"])."""
    problems = []
    for use in uses:
        fields = caps.get(use.data_view)
        if fields is None:
            problems.append(f"{use.object_id}: no field caps for data view {use.data_view}")
            continue
        types = {k: v for k, v in fields.get(use.field, {}).items() if k != "unmapped"}
        where = f"{use.object_id}: field {use.field!r} ({use.data_view})"
        if not types:
            problems.append(f"{where} is missing from the index")
            continue
        if len(types) > 1:
            problems.append(f"{where} has conflicting types {sorted(types)}")
            continue
        kind, cap = next(iter(types.items()))
        if use.need == "date" and (kind not in DATE_TYPES or not cap.get("aggregatable")):
            problems.append(f"{where} must be an aggregatable date, is {kind}")
        if use.need == "aggregatable" and (kind not in TERMS_TYPES or not cap.get("aggregatable")):
            problems.append(f"{where} must be aggregatable (keyword, number, date), is {kind}"
                            f"{'' if cap.get('aggregatable') else ' and not aggregatable'}")
    return problems


def field_caps(client: Any, index: str) -> dict[str, Any]:
    """`GET <index>/_field_caps?fields=*`: the `fields` part."""
    return dict(client.field_caps(index=index, fields="*")["fields"])


def with_prefix(objects: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The objects with data view titles moved from `newswatch-*` to `<prefix>-*`."""
    out = json.loads(json.dumps(objects))
    for obj in out:
        if obj["type"] == "index-pattern" and obj["attributes"]["title"].startswith("newswatch-"):
            obj["attributes"]["title"] = prefix + obj["attributes"]["title"].removeprefix("newswatch")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=Path(__file__).with_name("newswatch.ndjson"))
    parser.add_argument("--es", help="Elasticsearch URL: also check fields with _field_caps")
    parser.add_argument("--prefix", default="newswatch")
    args = parser.parse_args()
    objects = with_prefix(load(args.file), args.prefix)
    problems = check_structure(objects)
    if args.es and not problems:
        from elasticsearch import Elasticsearch

        client = Elasticsearch(args.es)
        titles = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
        problems = check_fields(field_uses(objects), {t: field_caps(client, t) for t in titles})
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(objects)} objects, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
