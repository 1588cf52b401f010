"""`newswatch kibana install`: import the dashboards in deploy/kibana/ through Kibana's API.

    newswatch kibana install --kibana-url http://localhost:5601 [--api-key K | --username U --password P]
                             [--space SPACE] [--prefix newswatch] [--file deploy/kibana/newswatch.ndjson]

Posts the NDJSON to `/api/saved_objects/_import?overwrite=true` (in `/s/<space>` when given) with
the `kbn-xsrf` header, after pointing the data views at `<prefix>-articles` and `<prefix>-alerts`.
The command fails unless Kibana answers `"success": true`, and lists each object it refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from newswatch.cli.context import app_context, fail
from newswatch.errors import NewswatchError

app = typer.Typer(help="Kibana: import newswatch's data views, dashboard and saved searches.", no_args_is_help=True)

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "deploy" / "kibana" / "newswatch.ndjson"
DEFAULT_PREFIX = "newswatch"


@app.callback()
def kibana() -> None:
    """Kibana: import newswatch's data views, dashboard and saved searches (a group, so `install` is a sub-command)."""


class KibanaImportError(NewswatchError):
    """Kibana refused the import, or could not be reached; the message says what to fix."""


def with_prefix(ndjson: str, prefix: str) -> bytes:
    """The NDJSON with data view titles moved from `newswatch-*` to `<prefix>-*`."""
    lines = []
    for line in ndjson.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        title = obj.get("attributes", {}).get("title", "")
        if obj.get("type") == "index-pattern" and title.startswith(f"{DEFAULT_PREFIX}-"):
            obj["attributes"]["title"] = prefix + title.removeprefix(DEFAULT_PREFIX)
        lines.append(json.dumps(obj, ensure_ascii=False, sort_keys=True))
    return ("\n".join(lines) + "\n").encode("utf-8")


def import_url(kibana_url: str, space: str | None) -> str:
    """The import endpoint, in a space when one is named."""
    base = kibana_url.rstrip("/")
    if space:
        base += f"/s/{space}"
    return f"{base}/api/saved_objects/_import"


def import_objects(client: httpx.Client, url: str, ndjson: bytes) -> dict[str, Any]:
    """POST the objects with overwrite; returns Kibana's answer, raises KibanaImportError."""
    try:
        resp = client.post(url, params={"overwrite": "true"}, headers={"kbn-xsrf": "newswatch"},
                           files={"file": ("newswatch.ndjson", ndjson, "application/ndjson")})
    except httpx.HTTPError as exc:
        raise KibanaImportError(f"cannot reach Kibana at {url} ({type(exc).__name__}: {exc}); "
                                "is it running and is --kibana-url right?") from exc
    if resp.status_code in (401, 403):
        raise KibanaImportError(f"Kibana refused the credentials ({resp.status_code}): "
                                "check --api-key or --username/--password and the user's saved-object privileges")
    if resp.status_code != 200:
        raise KibanaImportError(f"Kibana answered {resp.status_code} to the import: {resp.text[:500]}")
    try:
        body: dict[str, Any] = resp.json()
    except ValueError as exc:
        raise KibanaImportError(f"Kibana's answer is not JSON: {resp.text[:300]}") from exc
    if body.get("success") is not True:
        problems = "; ".join(
            f"{e.get('type')}/{e.get('id')} ({e.get('title', '')}): {e.get('error', {}).get('type', 'error')}"
            for e in body.get("errors", [])
        )
        raise KibanaImportError(f"Kibana did not import every object: {problems or body}")
    return body


@app.command()
def install(
    ctx: typer.Context,
    kibana_url: Annotated[str, typer.Option("--kibana-url", help="e.g. http://localhost:5601")],
    api_key: Annotated[str | None, typer.Option(help="Kibana API key (encoded) [env: NEWSWATCH_KIBANA_API_KEY]",
                                                   envvar="NEWSWATCH_KIBANA_API_KEY")] = None,
    username: Annotated[str | None, typer.Option(help="basic-auth user")] = None,
    password: Annotated[str | None, typer.Option(help="basic-auth password [env: NEWSWATCH_KIBANA_PASSWORD]",
                                                    envvar="NEWSWATCH_KIBANA_PASSWORD")] = None,
    space: Annotated[str | None, typer.Option(help="Kibana space id (default space when omitted)")] = None,
    prefix: Annotated[str | None, typer.Option(help="index prefix [default: NEWSWATCH_ELASTIC__INDEX_PREFIX]")] = None,
    file: Annotated[Path, typer.Option(help="saved objects NDJSON")] = DEFAULT_FILE,
    timeout: Annotated[float, typer.Option(help="seconds to wait for Kibana")] = 30.0,
) -> None:
    """Import the data views, the "News overview" dashboard and the saved searches (overwriting)."""
    app = app_context(ctx)
    if api_key and username:
        fail(ctx, "give either --api-key or --username/--password, not both")
    if not file.is_file():
        fail(ctx, f"no saved objects at {file}: pass --file deploy/kibana/newswatch.ndjson from a newswatch checkout")
    chosen_prefix = prefix or app.settings.elastic.index_prefix
    headers = {"Authorization": f"ApiKey {api_key}"} if api_key else {}
    auth = httpx.BasicAuth(username, password or "") if username else None
    url = import_url(kibana_url, space)
    with httpx.Client(headers=headers, auth=auth, timeout=timeout) as client:
        try:
            body = import_objects(client, url, with_prefix(file.read_text(encoding="utf-8"), chosen_prefix))
        except KibanaImportError as exc:
            fail(ctx, str(exc))
            return
    app.console.print(
        f"imported {body.get('successCount', 0)} saved objects into {url.rsplit('/api/', 1)[0]} "
        f"(data views {chosen_prefix}-articles, {chosen_prefix}-alerts); open Dashboards -> News overview",
        highlight=False, markup=False,
    )


__all__ = ["KibanaImportError", "app", "import_objects", "with_prefix"]
