#!/usr/bin/env python3
"""Run real Kafka and Elasticsearch on 127.0.0.1 from Maven Central artifacts; no Docker needed.

    .venv/bin/python deploy/local/services.py up      [--kafka-only|--es-only] [--run-dir DIR]
    .venv/bin/python deploy/local/services.py status  [--run-dir DIR]
    .venv/bin/python deploy/local/services.py stop    [--kafka-only|--es-only] [--run-dir DIR]
    .venv/bin/python deploy/local/services.py down    [--kafka-only|--es-only] [--run-dir DIR]

`up` downloads once into `$NEWSWATCH_CACHE` (default ~/.cache/newswatch) and ~/.m2, writes configs
into the run dir (`$NEWSWATCH_RUN_DIR`, default /tmp/newswatch-services), picks free ports, starts
both servers in parallel, waits until they answer and prints `export NEWSWATCH_LOCAL_KAFKA=...` and
`export NEWSWATCH_LOCAL_ES=...` on stdout (so `eval "$(... up)"` works); progress goes to stderr. The
run dir's services.json records pids and ports for `status`, `stop` and `down`. `stop` keeps data
and ports so a later `up` restarts the same server (fault tests); `down` stops and deletes.
Exit status: 0 ok, 1 a service failed (its log tail is printed), 2 usage, 3 nothing recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import local_elastic
import local_kafka
from svc_common import ServiceError, alive, file_lock, proc_start_ticks, terminate

KAFKA, ES = "kafka", "elasticsearch"
DEFAULT_TIMEOUT_S = {KAFKA: 90.0, ES: 180.0}


def log(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


class State:
    """services.json in the run dir: one record per service; written after every change."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "services.json"
        self._lock = threading.Lock()
        self.services: dict[str, dict[str, Any]] = (
            json.loads(self.path.read_text()) if self.path.exists() else {}
        )

    def put(self, name: str, rec: dict[str, Any] | None) -> None:
        with self._lock:
            if rec is None:
                self.services.pop(name, None)
            else:
                self.services[name] = rec
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.services, indent=2, sort_keys=True) + "\n")
            tmp.replace(self.path)


def address(name: str, rec: dict[str, Any]) -> str:
    return f"127.0.0.1:{rec['port']}" if name == KAFKA else f"http://127.0.0.1:{rec['port']}"


def exports(state: State) -> str:
    lines = []
    for name, var in ((KAFKA, "NEWSWATCH_LOCAL_KAFKA"), (ES, "NEWSWATCH_LOCAL_ES")):
        rec = state.services.get(name)
        if rec and rec.get("status") == "running":
            lines.append(f"export {var}={address(name, rec)}")
    return "\n".join(lines)


def is_running(name: str, rec: dict[str, Any]) -> bool:
    return alive(rec.get("pid"), rec.get("start_ticks"))


def probe(name: str, rec: dict[str, Any]) -> bool:
    module = local_kafka if name == KAFKA else local_elastic
    return module.probe(address(name, rec))


def _bring_up(name: str, run_dir: Path, state: State, timeout_s: float) -> dict[str, Any]:
    """Reuse a running server, restart a stopped one on its old ports and data, or start fresh."""
    started = time.monotonic()
    rec = state.services.get(name)
    if rec and is_running(name, rec) and probe(name, rec):
        log(f"{name} already running at {address(name, rec)} (pid {rec['pid']})")
        return rec
    if rec and is_running(name, rec):
        raise ServiceError(
            f"{name} pid {rec['pid']} is running but not answering; run `down` first"
        )
    timings: dict[str, float] = {}
    if name == KAFKA:
        libs = local_kafka.fetch()
        timings["fetch_s"] = time.monotonic() - started
        if not (rec and Path(rec["dir"], "data", "meta.properties").exists()):
            rec = local_kafka.prepare(run_dir / KAFKA, libs)
        timings["prepare_s"] = time.monotonic() - started - timings["fetch_s"]
        local_kafka.start(rec, libs)
    else:
        zip_path = local_elastic.fetch()
        timings["fetch_s"] = time.monotonic() - started
        if not (rec and Path(rec["home"], "bin", "elasticsearch").exists()):
            rec = local_elastic.prepare(run_dir / ES, zip_path)
        timings["prepare_s"] = time.monotonic() - started - timings["fetch_s"]
        local_elastic.start(rec)
    rec["status"] = "starting"
    state.put(name, rec)  # recorded before waiting, so `down` can always find the pid
    ready_from = time.monotonic()
    module = local_kafka if name == KAFKA else local_elastic
    module.wait_ready(rec, timeout_s)
    timings["ready_s"] = time.monotonic() - ready_from
    timings["total_s"] = time.monotonic() - started
    if name == ES:
        spid = rec.get("server_pid")
        rec["server_ticks"] = proc_start_ticks(spid) if spid else None
        if warning := local_elastic.check_modules(address(ES, rec)):
            log(f"WARNING: {warning}")
    rec.update(status="running", timings={k: round(v, 2) for k, v in timings.items()})
    state.put(name, rec)
    log(
        f"{name} {rec['version']} ready at {address(name, rec)} in {timings['total_s']:.1f} s "
        f"(fetch {timings['fetch_s']:.1f} s, prepare {timings['prepare_s']:.1f} s, "
        f"start {timings['ready_s']:.1f} s)"
    )
    return rec


def _stop(name: str, rec: dict[str, Any]) -> None:
    procs = [(rec["pid"], rec.get("start_ticks"))]
    if name == ES:
        spid = rec.get("server_pid") or local_elastic.server_pid(rec)
        if spid:
            procs.insert(0, (spid, rec.get("server_ticks")))
    terminate(procs)
    rec["status"] = "stopped"


def cmd_up(run_dir: Path, names: list[str], timeout_s: float | None) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)  # the ES user must traverse it
    with file_lock(run_dir / ".lock"):
        state = State(run_dir)
        before = {n for n in names if (r := state.services.get(n)) and is_running(n, r)}
        errors: list[str] = []
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            futures = {
                n: pool.submit(_bring_up, n, run_dir, state, timeout_s or DEFAULT_TIMEOUT_S[n])
                for n in names
            }
            for name, future in futures.items():
                try:
                    future.result()
                except ServiceError as exc:
                    errors.append(f"{name} failed to start: {exc}")
                except Exception as exc:  # noqa: BLE001 - report it and still clean up below
                    errors.append(f"{name} failed to start: {type(exc).__name__}: {exc}")
        if errors:
            for name in names:  # leave no half-started server behind
                rec = state.services.get(name)
                if rec and name not in before and rec.get("status") != "stopped":
                    _stop(name, rec)
                    state.put(name, rec)
            log("\n\n".join(errors))
            return 1
        print(exports(state), flush=True)
        return 0


def cmd_stop(run_dir: Path, names: list[str], delete: bool) -> int:
    if not (run_dir / "services.json").exists():
        log(f"nothing recorded in {run_dir}")
        return 3
    with file_lock(run_dir / ".lock"):
        state = State(run_dir)
        for name in names:
            rec = state.services.get(name)
            if rec is None:
                continue
            _stop(name, rec)
            log(f"{name} stopped (pid {rec['pid']})")
            if delete:
                shutil.rmtree(rec["dir"], ignore_errors=True)
                state.put(name, None)
            else:
                state.put(name, rec)
        if delete and not state.services:
            shutil.rmtree(run_dir, ignore_errors=True)
    return 0


def cmd_status(run_dir: Path) -> int:
    if not (run_dir / "services.json").exists():
        log(f"nothing recorded in {run_dir}")
        return 3
    state = State(run_dir)
    healthy = True
    for name, rec in state.services.items():
        running = is_running(name, rec)
        ready = running and probe(name, rec)
        healthy = healthy and ready
        word = (
            "ready"
            if ready
            else "running, not answering"
            if running
            else rec.get("status", "stopped")
        )
        print(
            f"# {name} {rec.get('version')}: {word} at {address(name, rec)} (pid {rec.get('pid')}, "
            f"dir {rec['dir']}, timings {rec.get('timings')})"
        )
    print(exports(state))
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "stop", "status"])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--kafka-only", action="store_true")
    only.add_argument("--es-only", action="store_true")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("NEWSWATCH_RUN_DIR", "/tmp/newswatch-services")),
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="readiness timeout per service, s"
    )
    args = parser.parse_args(argv)
    names = [KAFKA] if args.kafka_only else [ES] if args.es_only else [KAFKA, ES]
    run_dir = args.run_dir.resolve()
    try:
        if args.command == "up":
            return cmd_up(run_dir, names, args.timeout)
        if args.command == "status":
            return cmd_status(run_dir)
        return cmd_stop(run_dir, names, delete=args.command == "down")
    except ServiceError as exc:
        log(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
