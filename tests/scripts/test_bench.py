"""scripts/bench.py runs end to end: one quick run, every row present with numbers.

A smoke test only: the figures depend on the machine, so nothing here judges them
(the full benchmark and its targets are in scripts/BENCHMARK.md).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _bench.plan import QUICK
from helpers import ROOT

OPEN_SIZES = (QUICK.log_records, QUICK.huge_log_records)
OPEN_CASES = ("first", "again", "appended")
ROWS = {
    "tput_1",
    "tput_8",
    "tput_32",
    "tput_shared_8",
    "tput_shared_32",
    "tput_8_procs",
    "tput_8_aa",
    *(f"tput_{row}_floor" for row in ("1", "8", "32", "shared_8", "shared_32", "8_procs")),
    *(f"tput_{row}_floor_orjson" for row in ("8", "32")),
    "init_close_1_p50",
    "init_close_1_p99",
    "init_close_8_p50",
    "init_close_8_p99",
    "init_close_at_10",
    "init_close_at_1000",
    "init_close_at_10000",
    "init_close_growth",
    "rss_per_1000",
    "fds_after_close",
    "cycles_fd_growth",
    "cycles_rss_growth",
    "attach_0",
    "attach_20000",
    "attach_growth",
    *(f"open_{size}_{case}" for size in OPEN_SIZES for case in OPEN_CASES),
    *(f"open_growth_{case}" for case in OPEN_CASES),
    "plugin_measurement",
    "plugin_client_share",
    *(
        f"db_{backend}_{row}"
        for backend in ("sqlite", "postgresql")
        for row in ("1", "8", "32", "shared_8", "shared_32", "query")
    ),
    "db_sqlite_8_aa",
    *(f"db_sqlite_{row}_floor" for row in ("1", "8", "32", "shared_8", "shared_32")),
    "visa_query_p50",
    "visa_query_p99",
}
# Rows read from /proc: numbers on Linux only.
PROC_ROWS = {"rss_per_1000", "fds_after_close", "cycles_fd_growth", "cycles_rss_growth"}
# Rows measured against the NI-style reference server as well.
REFERENCE_ROWS = {
    "attach_0",
    "attach_20000",
    "attach_growth",
    *(f"open_20000_{case}" for case in OPEN_CASES),
    "plugin_measurement",
}


@pytest.mark.timeout(240)
def test_quick_bench_writes_every_row_with_numbers(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--json", str(output)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads(output.read_text(encoding="utf-8"))
    rows = {row["key"]: row for row in document["rows"]}
    assert set(rows) == ROWS
    on_linux = sys.platform.startswith("linux")
    for key, row in rows.items():
        if key in PROC_ROWS and not on_linux:
            continue
        if key.startswith("db_postgresql_") and row["note"].startswith("skipped: "):
            assert row["note"] in result.stdout  # no PostgreSQL server here: the report says why
            continue
        kinds = ["generated", "baseline"] + (["reference"] if key in REFERENCE_ROWS else [])
        for kind in kinds:
            value = row["values"][kind]
            assert isinstance(value, (int, float)) and math.isfinite(value), (key, kind, value)
        if row["unit"] == "records/s":  # a throughput row: its rounds' lowest and highest ratio
            lowest, highest = row["rounds"]
            assert lowest <= row["ratio"] <= highest, (key, row["rounds"], row["ratio"])
    assert document["quick"] is True
    assert document["machine"]["python"]
    placement = document["machine"]["cpu_placement"]
    assert placement in result.stdout
    if _can_pin():
        assert placement.startswith("servers pinned to CPU "), placement
    assert "Plug-in: initialize + 1 record + close" in result.stdout
    assert "LogResult, SQLite, 8 clients, own databases" in result.stdout
    # Every throughput row is judged against its floor: the row and its floor row are
    # measured in the same rounds (one baseline figure for both), generated/floor is
    # the median of those rounds' ratios, and its target is >= 0.9x floor.
    throughput = [key for key, row in rows.items() if row["unit"] == "records/s"]
    floored = [key for key in throughput if f"{key}_floor" in rows]
    assert set(floored) == {
        key
        for key in throughput
        if not key.endswith(("_floor", "_floor_orjson", "_aa")) and "postgresql" not in key
    }
    for key in floored:
        row, floor = rows[key], rows[f"{key}_floor"]
        assert row["target"] == ">= 0.9x floor", row
        lowest, highest = row["floor_rounds"]
        assert 0 < lowest <= row["floor_ratio"] <= highest, (row, floor)
        assert floor["floor_ratio"] is None and floor["floor_rounds"] is None, floor
        assert row["values"]["baseline"] == floor["values"]["baseline"], (row, floor)
        assert row["met"] is (row["floor_ratio"] >= 0.9), row
    for key in ("init_close_1_p50", "init_close_8_p50"):  # the floor is a third subject
        row = rows[key]
        assert row["floor_ratio"] == row["values"]["generated"] / row["values"]["floor"], row
        assert row["met"] is (row["floor_ratio"] <= 1.2), row
    share = rows["plugin_client_share"]  # the generated client against raw stub calls
    assert share["met"] is (share["ratio"] <= 1.1), share
    for key in ("visa_query_p50", "visa_query_p99"):  # pyvisa-sim with no session layer
        row = rows[key]
        assert row["floor_ratio"] == row["values"]["generated"] / row["values"]["floor"], row
    for size in OPEN_SIZES:
        for case in OPEN_CASES:
            row = rows[f"open_{size}_{case}"]
            assert row["met"] is (row["values"]["generated"] <= 5.0), row


def _can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


# A process with threads started before and after it is pinned, as a gRPC server has.
SERVER_LIKE = """
import sys, threading, time
def sleeper():
    time.sleep(60)
threading.Thread(target=sleeper, daemon=True).start()
print("ready", flush=True)
sys.stdin.readline()
threading.Thread(target=sleeper, daemon=True).start()
print("started", flush=True)
sys.stdin.readline()
"""

# Pins itself as bench.py --measure does, then a server-like child as start_target does.
PINNING = """
import json, os, subprocess, sys
from pathlib import Path
from _bench import affinity

def allowed(pid):
    return {
        task.name: [line.split()[1] for line in (task / "status").read_text().splitlines()
                    if line.startswith("Cpus_allowed_list:")][0]
        for task in Path(f"/proc/{pid}/task").iterdir()
    }

said = affinity.pin_this_process()
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
child.stdout.readline()
affinity.pin_server(child.pid)
child.stdin.write("go\\n"); child.stdin.flush()
child.stdout.readline()
print(json.dumps({"said": said, "described": affinity.describe(),
                  "server": allowed(child.pid), "clients": allowed(os.getpid())}))
child.stdin.close(); child.wait()
"""


@pytest.mark.skipif(not _can_pin(), reason="pinning needs Linux's sched_setaffinity and 2 CPUs")
def test_pinning_puts_every_server_thread_on_the_first_cpu_and_the_clients_on_the_rest() -> None:
    available = sorted(os.sched_getaffinity(0))
    result = subprocess.run(
        [sys.executable, "-c", PINNING, SERVER_LIKE],
        cwd=ROOT / "scripts",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(result.stdout)
    first, rest = str(available[0]), [str(cpu) for cpu in available[1:]]
    # The server's threads from before the pinning and the one it started after.
    assert len(found["server"]) == 3, found["server"]
    assert set(found["server"].values()) == {first}, found["server"]
    clients = {cpu for value in found["clients"].values() for cpu in _expand(value)}
    assert clients == set(rest), found["clients"]
    assert found["said"] == found["described"]
    assert found["said"].startswith(f"servers pinned to CPU {first}, clients to "), found["said"]


def _expand(cpus: str) -> list[str]:
    """The CPUs of a Cpus_allowed_list such as 1-3,5."""
    expanded = []
    for part in cpus.split(","):
        low, _, high = part.partition("-")
        expanded += [str(cpu) for cpu in range(int(low), int(high or low) + 1)]
    return expanded
