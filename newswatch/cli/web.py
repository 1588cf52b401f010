"""`newswatch web`: serve the live view (sinks/web) over the configured store with uvicorn."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer

from newswatch.cli import wiring
from newswatch.cli.context import app_context, fail
from newswatch.errors import NewswatchError


def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="address to listen on; 0.0.0.0 exposes it to the network")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
) -> None:
    """Serve the live view: incoming articles (server-sent events), topics, entities, search, alerts."""
    import uvicorn

    from sinks.web import AlertFeed, create_app

    app = app_context(ctx)
    settings = app.settings
    try:
        store = wiring.open_store(settings)
    except NewswatchError as exc:
        fail(ctx, str(exc))
        return
    alerts = None
    try:
        bus = wiring.open_bus(settings)
        group = f"{settings.kafka.group_prefix}.web.{socket.gethostname()}.{os.getpid()}"
        alerts = AlertFeed(bus, group).start()
    except NewswatchError as exc:
        bus = None
        app.errors.print(f"recent alerts disabled: {exc}", highlight=False, markup=False)
    app.console.print(f"newswatch live view on http://{host}:{port}/ (Ctrl-C stops)", highlight=False)
    try:
        # the search box's entity: names resolve as alert rules' do (wiring.alerts_stage)
        uvicorn.run(create_app(store, alerts=alerts, resolve=wiring.resolve_entity), host=host, port=port,
                    log_level="warning", timeout_graceful_shutdown=2)
    finally:
        if alerts is not None:
            alerts.close()
        if bus is not None:
            bus.close()
        store.close()


__all__ = ["web"]
