"""Resident memory of each scaled-out process (issue 8): `collect`, `process`, `sink`, `alerts run`.

    .venv/bin/python deploy/local/services.py up --kafka-only --run-dir /tmp/nw-memory   # a broker of its own
    .venv/bin/python scripts/process_memory.py --kafka 127.0.0.1:PORT --es $NEWSWATCH_LOCAL_ES [--feeds 500 --items 20]

The Kafka broker must be one nothing else uses: the pipeline's topic names are fixed. Elasticsearch
may be shared (a fresh index prefix is used and deleted). The feeds are the 500 local files
`bench/bench_footprint.py` writes from the seed feeds' real items (feeds x items articles).

Each service starts as its own `newswatch` process. Printed per process: RSS once started and
idle (spaCy loaded), the peak while the feeds are collected and every article is processed,
indexed and matched (VmHWM), and RSS when idle again after that load. Memory is read from
/proc/PID/status, so this runs on Linux only.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    "collect": ["collect"],
    "process": ["process"],
    "sink": ["sink"],
    "alerts": ["alerts", "run"],
}


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _make_feeds(root: Path, feeds: int, items: int) -> int:
    spec = importlib.util.spec_from_file_location(
        "bench_footprint", ROOT / "bench" / "bench_footprint.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.make_feeds(root, feeds, items))


def _settled(
    procs: dict[str, subprocess.Popen[str]], seconds: float = 5.0, timeout_s: float = 300.0
) -> dict[str, int]:
    """RSS (KiB) per process once it has not grown for `seconds` (start-up done)."""
    deadline, last, stable_since = time.monotonic() + timeout_s, {}, time.monotonic()
    while time.monotonic() < deadline:
        now = {name: _kib(p.pid, "VmRSS") for name, p in procs.items()}
        if any(now[n] > last.get(n, 0) * 1.01 for n in now):
            stable_since = time.monotonic()
        last = now
        if time.monotonic() - stable_since >= seconds:
            break
        time.sleep(1.0)
    return last


def _indexed(es_url: str, prefix: str) -> int:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url)
    try:
        if not es.indices.exists_alias(name=f"{prefix}-articles"):
            return 0
        es.indices.refresh(index=f"{prefix}-articles")
        return int(es.count(index=f"{prefix}-articles")["count"])
    finally:
        es.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kafka", required=True, help="host:port of a broker nothing else uses")
    parser.add_argument("--es", required=True, help="Elasticsearch URL")
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600,
        help="seconds to wait for every article to be indexed",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="newswatch-memory-"))
    articles = _make_feeds(root, args.feeds, args.items)
    prefix = f"mem-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(
        NEWSWATCH_BUS=f"kafka://{args.kafka}",
        NEWSWATCH_STORE=args.es,
        NEWSWATCH_ELASTIC__INDEX_PREFIX=prefix,
        NEWSWATCH_KAFKA__GROUP_PREFIX=prefix,
        NEWSWATCH_DATA_DIR=str(root / "data"),
        NEWSWATCH_FEEDS_FILE=str(root / "feeds.toml"),
        NEWSWATCH_ALERTS_FILE=str(ROOT / "seeds" / "demo-alerts.yaml"),
    )
    newswatch = [sys.executable, "-m", "newswatch"]
    logs = {name: (root / f"{name}.log").open("w") for name in SERVICES}
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for name in ("process", "sink", "alerts"):
            procs[name] = subprocess.Popen(
                [*newswatch, *SERVICES[name]],
                env=env,
                stdout=logs[name],
                stderr=subprocess.STDOUT,
                text=True,
            )
        started = _settled(procs)
        procs["collect"] = subprocess.Popen(
            [*newswatch, "collect"],
            env=env,
            stdout=logs["collect"],
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.update(_settled({"collect": procs["collect"]}, seconds=2.0))
        began, deadline = time.monotonic(), time.monotonic() + args.timeout
        while (n := _indexed(args.es, prefix)) < articles and time.monotonic() < deadline:
            if dead := [name for name, p in procs.items() if p.poll() is not None]:
                sys.exit(f"{', '.join(dead)} exited; see the logs in {root}")
            time.sleep(5)
        loaded_s = time.monotonic() - began
        print(
            f"{n} of {articles} articles indexed in {loaded_s:.0f} s ({args.feeds} feeds x {args.items} items)"
        )
        time.sleep(20)  # alerts finish matching the last batch; then every process is idle
        peak = {name: _kib(p.pid, "VmHWM") for name, p in procs.items()}
        idle = _settled(procs)
        print(
            f"{'process':10} {'started, idle':>14} {'peak under load':>16} {'idle after load':>16}   (MiB)"
        )
        for name in SERVICES:
            print(
                f"{name:10} {started[name] / 1024:14.0f} {peak[name] / 1024:16.0f} {idle[name] / 1024:16.0f}"
            )
        print(
            f"{'all four':10} {sum(started.values()) / 1024:14.0f} {sum(peak.values()) / 1024:16.0f} {sum(idle.values()) / 1024:16.0f}"
        )
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs.values():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        _delete_indices(args.es, prefix)


def _delete_indices(es_url: str, prefix: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url)
    try:
        for index in es.indices.get(index=f"{prefix}-*"):  # by name: wildcard deletes are refused
            es.indices.delete(index=index)
        found = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
        for template in found.get("index_templates", []):
            es.indices.delete_index_template(name=template["name"])
    finally:
        es.close()


if __name__ == "__main__":
    main()
