"""`newswatch eval topics|entities`: the quality harnesses of `eval/` behind the CLI.

The harness code lives in the top-level `eval` package of a source checkout (it is not part of
the installed wheel), so these commands work from the repository root; elsewhere they say so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from newswatch.cli.context import app_context, fail

app = typer.Typer(help="Measure topic and entity quality against gold JSONL files.", no_args_is_help=True)

GoldOption = Annotated[Path, typer.Option("--gold", exists=True, dir_okay=False, help="gold JSONL file")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of the text report")]


def _harness(ctx: typer.Context, name: str) -> Any:
    import importlib
    import sys

    checkout = Path(__file__).resolve().parents[2]  # newswatch/cli/evaluate.py -> repository root
    if (checkout / "eval" / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))  # an editable install: the harness sits beside the package
    try:
        return importlib.import_module(f"eval.{name}")
    except ModuleNotFoundError as exc:
        fail(ctx, f"the evaluation harness is not importable ({exc}); run from a newswatch source "
                  "checkout (the repository root), where eval/ lives")


def _show(ctx: typer.Context, report: Any, as_json: bool, lines: list[str] | None = None) -> None:
    console = app_context(ctx).console
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    for line in lines if lines is not None else report.lines():
        console.print(escape(line), highlight=False, soft_wrap=True)


@app.command()
def topics(
    ctx: typer.Context,
    gold: GoldOption,
    taxonomy: Annotated[Path | None, typer.Option(help="taxonomy TOML (default: the packaged one)")] = None,
    misses: Annotated[int, typer.Option(help="worst misses shown per label and kind")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Per-label precision/recall/F1, macro-F1, confusion and worst misses of the topic classifier."""
    harness = _harness(ctx, "topics")
    _show(ctx, harness.run(gold, taxonomy=taxonomy, misses=misses), as_json)


@app.command()
def entities(
    ctx: typer.Context,
    gold: GoldOption,
    misses: Annotated[int, typer.Option(help="wrong entities shown per type")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Entity precision/recall/F1 by type (PERSON, ORG, GPE) on canonical names."""
    harness = _harness(ctx, "entities")
    report = harness.run(gold)
    _show(ctx, report, as_json, report.lines(misses))
