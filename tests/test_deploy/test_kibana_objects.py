"""Kibana saved objects, offline: the NDJSON is what build_objects.py makes, and it is sound.

Sound means: every line parses, JSON-in-string attributes parse, references resolve inside the
file, search sources name their index reference, dashboard grid data is valid. The checks live in
deploy/kibana/validate.py (also a script); broken copies of the objects show each check bites.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

KIBANA = Path(__file__).resolve().parents[2] / "deploy" / "kibana"
NDJSON = KIBANA / "newswatch.ndjson"


def load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kibana_{name}", KIBANA / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


validate = load_module("validate")


@pytest.fixture
def objects() -> list[dict[str, Any]]:
    return validate.load(NDJSON)


def _by_id(objects: list[dict[str, Any]], oid: str) -> dict[str, Any]:
    return next(o for o in objects if o["id"] == oid)


def test_ndjson_is_the_generators_output() -> None:
    built = subprocess.run([sys.executable, str(KIBANA / "build_objects.py")], capture_output=True, text=True,
                           check=True).stdout
    assert built == NDJSON.read_text(encoding="utf-8"), "regenerate: python deploy/kibana/build_objects.py > " \
                                                        "deploy/kibana/newswatch.ndjson"


def test_objects_are_sound(objects: list[dict[str, Any]]) -> None:
    assert validate.check_structure(objects) == []


def test_the_issue_asks_for_these_objects(objects: list[dict[str, Any]]) -> None:
    views = {o["attributes"]["title"]: o["attributes"]["timeFieldName"] for o in objects if o["type"] == "index-pattern"}
    assert views == {"newswatch-articles": "published_at", "newswatch-alerts": "fired_at"}
    board = _by_id(objects, "nw-dashboard-overview")
    assert board["attributes"]["title"] == "News overview"
    panels = {p["title"] for p in json.loads(board["attributes"]["panelsJSON"])}
    assert panels >= {"Article volume over time by topic", "Top people", "Top organisations",
                      "Top countries and places", "Top outlets", "Topic × country", "Latest articles",
                      "Recent alerts"}
    searches = {o["attributes"]["title"]: json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
                for o in objects if o["type"] == "search"}
    for topic in ("defence", "trade", "energy"):
        assert searches[f"Topic: {topic}"]["query"] == {"query": f'topics.label : "{topic}"', "language": "kuery"}
    latest = _by_id(objects, "nw-search-latest")
    assert "url" in latest["attributes"]["columns"]
    formats = json.loads(_by_id(objects, "newswatch-articles")["attributes"]["fieldFormatMap"])
    assert formats["url"]["id"] == "url"  # latest articles show the url as a link


def _break(objects: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    broken = copy.deepcopy(objects)
    board = _by_id(broken, "nw-dashboard-overview")
    panels = json.loads(board["attributes"]["panelsJSON"])
    if how == "dangling-reference":
        _by_id(broken, "nw-vis-top-people")["references"][0]["id"] = "no-such-data-view"
    elif how == "bad-json-string":
        _by_id(broken, "nw-vis-top-outlets")["attributes"]["visState"] = '{"title": '
    elif how == "panel-outside-grid":
        panels[0]["gridData"]["w"] = 49
    elif how == "overlapping-panels":
        panels[1]["gridData"].update(x=0, y=0)
    elif how == "panel-without-reference":
        panels[2]["panelRefName"] = "panel_missing"
    elif how == "search-without-index-ref":
        _by_id(broken, "nw-search-latest")["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = "{}"
    board["attributes"]["panelsJSON"] = json.dumps(panels)
    return broken


@pytest.mark.parametrize("how", ["dangling-reference", "bad-json-string", "panel-outside-grid",
                                 "overlapping-panels", "panel-without-reference", "search-without-index-ref"])
def test_each_structure_check_catches_its_fault(objects: list[dict[str, Any]], how: str) -> None:
    assert validate.check_structure(_break(objects, how)) != []


def test_field_uses_cover_every_visualisation(objects: list[dict[str, Any]]) -> None:
    uses = {(u.object_id, u.field, u.need) for u in validate.field_uses(objects)}
    assert ("newswatch-articles", "published_at", "date") in uses
    assert ("nw-vis-volume-by-topic", "published_at", "date") in uses
    assert ("nw-vis-topic-by-country", "entities_gpe", "aggregatable") in uses
    assert ("nw-search-topic-defence", "topics.label", "exists") in uses
    used_by = {u.object_id for u in validate.field_uses(objects)}
    assert {o["id"] for o in objects if o["type"] in ("visualization", "search")} <= used_by


def test_the_cli_and_the_validator_rewrite_prefixes_alike(objects: list[dict[str, Any]]) -> None:
    from newswatch.cli.kibana import with_prefix

    cli = [json.loads(line) for line in with_prefix(NDJSON.read_text(encoding="utf-8"), "acme").splitlines()]
    assert cli == validate.with_prefix(objects, "acme")
    assert {o["attributes"]["title"] for o in cli if o["type"] == "index-pattern"} == {"acme-articles", "acme-alerts"}
