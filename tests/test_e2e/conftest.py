"""Shared by the end-to-end tests: run the `newswatch` command as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def run_newswatch(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m newswatch ARGS` with only `env`'s NEWSWATCH_* settings (none leaked from the
    test runner's environment) and a wide terminal, so tables do not wrap."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        check=False,
        env={**clean, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
