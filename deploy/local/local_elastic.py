"""Elasticsearch 8.19 from the Maven Central integ-test zip: fetch, unzip per run, start as a non-root user."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import versions
from svc_common import (
    ServiceError,
    alive,
    cache_dir,
    file_lock,
    free_port,
    java_home,
    mvn,
    render,
    spawn,
    tail,
)

ES_USER = "newswatch-es"
ARTIFACT = (
    f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{versions.ELASTICSEARCH}:zip"
)
# What the integ-test zip holds; a version bump that changes it is reported (see check_modules).
EXPECTED_MODULES = {"apm", "transport-netty4", "x-pack-core", "x-pack-security"}


def fetch() -> Path:
    """The cached zip; `mvn dependency:copy` fills ~/.m2 and copies it here once."""
    home = cache_dir() / f"elasticsearch-{versions.ELASTICSEARCH}"
    zip_path = home / f"elasticsearch-{versions.ELASTICSEARCH}.zip"
    with file_lock(cache_dir() / ".mvn.lock"):
        if zip_path.exists():
            return zip_path
        home.mkdir(parents=True, exist_ok=True)
        mvn(
            ["dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={home}"],
            f"Elasticsearch {versions.ELASTICSEARCH}",
            cwd=home,
        )
    return zip_path


def _es_user() -> tuple[int, int] | None:
    """(uid, gid) to run ES as when we are root (ES refuses root); created once, idempotently."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
            capture_output=True,
            check=False,
        )  # a parallel run may have won the race
        try:
            entry = pwd.getpwnam(ES_USER)
        except KeyError as exc:
            raise ServiceError(f"cannot create system user {ES_USER} (useradd failed)") from exc
    return entry.pw_uid, entry.pw_gid


def _check_reachable(path: Path) -> None:
    """As root, every ancestor of the run dir must be searchable by others (not under /root)."""
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            raise ServiceError(
                f"{ES_USER} cannot reach {path}: {parent} is not searchable by others. "
                "Use a run dir outside /root, e.g. --run-dir /tmp/newswatch-services"
            )


def prepare(run: Path, zip_path: Path) -> dict[str, Any]:
    """Unzip a fresh ES tree into `run`, write its config, chown it to the ES user when root."""
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    run.chmod(0o755)
    unzip = subprocess.run(
        ["unzip", "-q", str(zip_path), "-d", str(run)], capture_output=True, text=True, check=False
    )  # the unzip CLI keeps the executable bits of bin/*
    if unzip.returncode != 0:
        raise ServiceError(
            f"unzip of {zip_path} failed: {unzip.stderr.strip()} (delete it to re-fetch)"
        )
    home = run / f"elasticsearch-{versions.ELASTICSEARCH}"
    for sub in ("data", "logs", "tmp"):
        (run / sub).mkdir()
    rec: dict[str, Any] = {
        "dir": str(run),
        "home": str(home),
        "port": free_port(),
        "transport_port": free_port(),
        "version": versions.ELASTICSEARCH,
        "cluster_name": f"newswatch-{os.getpid()}",
    }
    render(
        "elasticsearch.yml",
        home / "config" / "elasticsearch.yml",
        cluster_name=rec["cluster_name"],
        port=rec["port"],
        transport_port=rec["transport_port"],
        data_dir=run / "data",
        logs_dir=run / "logs",
    )
    user = _es_user()
    if user is not None:
        _check_reachable(run)
        subprocess.run(["chown", "-R", f"{user[0]}:{user[1]}", str(run)], check=True)
    return rec


def start(rec: dict[str, Any]) -> None:
    """Start ES in the foreground of a detached session (as the ES user when root)."""
    run, home = Path(rec["dir"]), Path(rec["home"])
    heap = os.environ.get("NEWSWATCH_ES_HEAP", versions.ES_HEAP)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(run),
        "LANG": "C.UTF-8",
        "ES_JAVA_HOME": str(java_home()),
        "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        "ES_TMPDIR": str(run / "tmp"),
    }
    cmd = [str(home / "bin" / "elasticsearch"), "-p", str(run / "es.pid")]
    user = _es_user()
    if user is not None:
        cmd = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--init-groups", "--", *cmd]
    out = run / "es.out"
    rec["pid"], rec["start_ticks"] = spawn(cmd, env=env, cwd=run, out=out)
    if user is not None:
        os.chown(out, *user)


def server_pid(rec: dict[str, Any]) -> int | None:
    """The server JVM's pid from ES's own pid file (the launcher's child), once written."""
    try:
        return int((Path(rec["dir"]) / "es.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def logs(rec: dict[str, Any]) -> str:
    """Tails of ES's console output and its cluster log, for error messages."""
    run = Path(rec["dir"])
    return tail(run / "es.out", 20) + "\n" + tail(run / "logs" / f"{rec['cluster_name']}.log", 40)


def _get(url: str, timeout_s: float) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return dict(json.load(resp))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def probe(url: str, timeout_s: float = 3.0) -> bool:
    """True when `_cluster/health` answers yellow or green (`GET /` is absent from this zip)."""
    body = _get(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout_s)
    return body is not None and body.get("status") in ("yellow", "green")


def check_modules(url: str) -> str | None:
    """A warning when the node's modules differ from what the integ-test zip is known to hold."""
    body = _get(f"{url}/_nodes/_local/plugins", 5.0) or {}
    found = {m["name"] for node in body.get("nodes", {}).values() for m in node.get("modules", [])}
    if found != EXPECTED_MODULES:
        return (
            f"Elasticsearch modules changed: expected {sorted(EXPECTED_MODULES)}, got {sorted(found)}; "
            "review which features tests may use"
        )
    return None


def wait_ready(rec: dict[str, Any], timeout_s: float) -> None:
    """Poll cluster health every 0.5 s; raise with the log tails on exit or timeout."""
    url = f"http://127.0.0.1:{rec['port']}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(rec["pid"], rec["start_ticks"]):
            raise ServiceError(f"Elasticsearch exited during start-up.\n{logs(rec)}")
        if probe(url, timeout_s=3.0):
            rec["server_pid"] = server_pid(rec)
            return
        time.sleep(0.5)
    raise ServiceError(f"Elasticsearch not ready at {url} after {timeout_s:.0f} s.\n{logs(rec)}")
