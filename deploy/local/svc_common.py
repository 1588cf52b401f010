"""Helpers shared by the local Kafka and Elasticsearch runners: cache, ports, processes, Maven.

Standard library only: this runs before anything else is set up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import string
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
JAVA17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")


class ServiceError(Exception):
    """A service could not be fetched or started; the message holds the cause and a log tail."""


def cache_dir() -> Path:
    """Downloads live here across runs (outside git): `$NEWSWATCH_CACHE` or ~/.cache/newswatch."""
    base = os.environ.get("NEWSWATCH_CACHE") or str(Path.home() / ".cache" / "newswatch")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def java_home() -> Path:
    """The JDK for both servers: `$NEWSWATCH_JAVA_HOME`, else Java 17, else the `java` on PATH."""
    if env := os.environ.get("NEWSWATCH_JAVA_HOME"):
        if not (Path(env) / "bin" / "java").exists():
            raise ServiceError(f"NEWSWATCH_JAVA_HOME={env} has no bin/java: point it at a JDK 17+")
        return Path(env)
    if (JAVA17 / "bin" / "java").exists():
        return JAVA17
    java = shutil.which("java")
    if java is None:
        raise ServiceError(
            "no Java found: install openjdk-17-jre-headless or set NEWSWATCH_JAVA_HOME"
        )
    return Path(java).resolve().parent.parent


def free_port() -> int:
    """A port free on 127.0.0.1 right now (bind 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render(template: str, dest: Path, **values: object) -> None:
    """Fill `${name}` placeholders of a file in templates/ and write it to `dest`."""
    text = (TEMPLATES / template).read_text()
    dest.write_text(string.Template(text).substitute({k: str(v) for k, v in values.items()}))


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, headed by its path, or a note that it does not exist."""
    if not path.exists():
        return f"--- {path}: (no such file)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last {len(text)} lines of {path}:\n" + "\n".join(text)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`, so parallel `up`s never fetch or write state at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mvn(args: list[str], what: str, cwd: Path) -> None:
    """Run Maven in batch mode; a resolution failure is reported as Maven Central being unreachable."""
    if shutil.which("mvn") is None:
        raise ServiceError(f"cannot fetch {what}: `mvn` is not installed (apt-get install maven)")
    env = {**os.environ, "JAVA_HOME": str(java_home())}
    proc = subprocess.run(
        ["mvn", "-B", "-q", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        out = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        hint = "Maven Central looks unreachable from this machine (mvn failed at resolution)"
        if "Could not find artifact" in out:
            hint = "the artifact is not on Maven Central (check the version in deploy/local/versions.py)"
        raise ServiceError(f"cannot fetch {what}: {hint}.\n--- mvn output:\n{out}")


def proc_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks (guards against pid reuse), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def alive(pid: int | None, start_ticks: int | None) -> bool:
    """True while the recorded process (same pid, same start time) still runs."""
    if not pid:
        return False
    ticks = proc_start_ticks(pid)
    return ticks is not None and (start_ticks is None or ticks == start_ticks)


def terminate(procs: list[tuple[int, int | None]], timeout_s: float = 30.0) -> None:
    """SIGTERM each recorded (pid, start) still alive, wait up to `timeout_s`, then SIGKILL."""
    live = [(pid, ticks) for pid, ticks in procs if alive(pid, ticks)]
    for pid, _ in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(alive(p, t) for p, t in live):
        time.sleep(0.2)
    for pid, ticks in live:
        if alive(pid, ticks):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and any(alive(p, t) for p, t in live):
        time.sleep(0.1)


def spawn(cmd: list[str], *, env: dict[str, str], cwd: Path, out: Path) -> tuple[int, int | None]:
    """Start a server detached in its own session, output to `out`; returns (pid, start ticks)."""
    with out.open("ab") as handle:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc.returncode = 0  # detached on purpose: keep Popen.__del__ from warning it still runs
    return proc.pid, proc_start_ticks(proc.pid)
