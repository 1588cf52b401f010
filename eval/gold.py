"""Gold JSONL files for the harnesses: one object per line, validated as it is read.

Topics:   {"id", "title", "summary"?, "text", "labels": [...], "judged"?: [...], "source"?, "weight"?}
          `judged` lists the labels whose presence or absence the item asserts; when absent
          the item judges every core label (defence, trade, energy). `weight` (default 1) is
          the item's design weight when the sample was drawn with unequal probabilities.
Entities: {"id", "text", "entities": [{"text", "label", "canonical"}], "source"?}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CORE_LABELS = ("defence", "trade", "energy")


class GoldFileError(ValueError):
    """A gold file that cannot be read: the message names the file, the line and the fix."""


@dataclass(frozen=True)
class TopicItem:
    """One topic gold item."""

    id: str
    title: str
    summary: str
    text: str
    labels: frozenset[str]
    judged: frozenset[str]
    source: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class GoldEntity:
    """One gold entity: surface text as written, type, and canonical name."""

    text: str
    label: str
    canonical: str


@dataclass(frozen=True)
class EntityItem:
    """One entity gold paragraph."""

    id: str
    text: str
    entities: tuple[GoldEntity, ...]
    source: str = ""


def _rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldFileError(f"cannot read gold file {path}: {exc}; check the path") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFileError(f"{path}:{number}: not JSON ({exc}); one object per line") from exc
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise GoldFileError(f"{path}:{number}: each line needs a string 'id'")
        yield number, row


def _strings(value: object, where: str, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GoldFileError(f"{where}: '{field}' must be a list of strings")
    return list(value)


def read_topic_gold(path: Path) -> list[TopicItem]:
    """Every item of a topic gold file."""
    items = []
    for number, row in _rows(path):
        where = f"{path}:{number}"
        if "labels" not in row:
            raise GoldFileError(f"{where}: missing 'labels' (use [] for an item with no topic)")
        labels = _strings(row["labels"], where, "labels")
        judged = _strings(row.get("judged", list(CORE_LABELS)), where, "judged")
        weight = row.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise GoldFileError(f"{where}: 'weight' must be a positive number (or left out for 1)")
        items.append(
            TopicItem(
                id=str(row["id"]), title=str(row.get("title") or ""),
                summary=str(row.get("summary") or ""), text=str(row.get("text") or ""),
                labels=frozenset(labels), judged=frozenset(judged), source=str(row.get("source") or ""),
                weight=float(weight),
            )
        )
    return items


def read_entity_gold(path: Path) -> list[EntityItem]:
    """Every paragraph of an entity gold file."""
    items = []
    for number, row in _rows(path):
        where = f"{path}:{number}"
        raw = row.get("entities")
        if not isinstance(raw, list) or not isinstance(row.get("text"), str):
            raise GoldFileError(f"{where}: needs 'text' (string) and 'entities' (list)")
        ents = []
        for ent in raw:
            if not isinstance(ent, dict) or not {"text", "label", "canonical"} <= ent.keys():
                raise GoldFileError(f"{where}: each entity needs text, label and canonical")
            ents.append(GoldEntity(str(ent["text"]), str(ent["label"]), str(ent["canonical"])))
        items.append(EntityItem(str(row["id"]), str(row["text"]), tuple(ents), str(row.get("source") or "")))
    return items
