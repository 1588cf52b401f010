"""Opening the SQLite files newswatch keeps, one way: embedded log, store, collector state, raw
archive index, alert state, alert index, and the live view's reader of the store.

Every one is shared by the threads of a process and by other processes (the CLI's `status` reads
what a running `run` writes), so every one gets the same connection settings.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal


def connect_sqlite(
    path: Path, schema: str = "", *, synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
) -> sqlite3.Connection:
    """Open (creating its folder) a database in WAL mode and apply `schema` (idempotent DDL).

    Autocommit (`isolation_level=None`: transactions are explicit `BEGIN`s), usable from any
    thread (callers guard it with a lock), and a 30 s wait for another writer's lock. With WAL,
    `NORMAL` can lose the last commits on a power cut but never corrupts; `FULL` syncs each commit.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    if schema:
        conn.executescript(schema)
    return conn
