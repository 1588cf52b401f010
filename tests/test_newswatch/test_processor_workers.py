"""`newswatch process --workers N` on a real broker: N processes in one group, stopped as a unit."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from newswatch.kafka_bus import KafkaBus
from newswatch.settings import KafkaSettings


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_to_the_parent_stops_every_worker_cleanly(
    kafka_bootstrap: str, unique_name: str, tmp_path: Path
) -> None:
    """Issue 3: a service manager that signals only the main process (docker stop, kill PID) must
    not leave worker processes behind, still holding partitions of the group."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env |= {"NEWSWATCH_BUS": f"kafka://{kafka_bootstrap}", "NEWSWATCH_DATA_DIR": str(tmp_path),
            "NEWSWATCH_KAFKA__GROUP_PREFIX": unique_name, "NEWSWATCH_METRICS_PORT": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "newswatch", "process", "--workers", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        bus = KafkaBus([kafka_bootstrap], KafkaSettings())
        assert bus.wait_for_group(f"{unique_name}.processors", 2, timeout_s=240), "2 workers never formed a stable group"
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    assert re.search(r"processed \d+ articles", out), out  # both workers reported their stats
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) >= 2 and not [pid for pid in workers if _alive(pid)]
