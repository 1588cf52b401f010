"""Guard tests: stages meet only through the core's root; the core never imports a stage."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("collectors", "processors", "sinks")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("stage", STAGES)
def test_stages_import_no_other_stage_and_only_the_core_root(stage: str) -> None:
    offenders = []
    for path in sorted((ROOT / stage).rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in STAGES and top != stage:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
            if top == "newswatch" and name not in {"newswatch", "newswatch.topics"}:
                offenders.append(f"{path.relative_to(ROOT)} imports {name} (use `from newswatch import …`)")
    assert offenders == []


def test_core_imports_stages_only_from_the_cli() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "newswatch").rglob("*.py"))
        if "cli" not in path.relative_to(ROOT / "newswatch").parts
        for name in _imports(path)
        if name.split(".")[0] in STAGES
    ]
    assert offenders == []


def test_public_surface_is_pinned() -> None:
    import newswatch

    assert "cli" not in newswatch.__all__
    missing = [name for name in newswatch.__all__ if not hasattr(newswatch, name)]
    assert missing == []
    assert {"Article", "EnrichedArticle", "Bus", "Store", "StageRunner", "Settings"} <= set(newswatch.__all__)


def test_distribution_ships_exactly_the_four_packages() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(include) == sorted(["newswatch*", "collectors*", "processors*", "sinks*"])
    for package in ("newswatch", *STAGES):
        assert (ROOT / package / "__init__.py").exists()
