"""scripts/bench.py runs end to end: one quick run, every row present with numbers.

A smoke test only: the figures depend on the machine, so nothing here judges them
(the full benchmark and its targets are in the README's Performance section).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

ROWS = {
    "tput_1",
    "tput_8",
    "tput_32",
    "tput_shared_8",
    "tput_shared_32",
    "tput_8_procs",
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
    "open_large_first",
    "open_large_again",
    "open_large_appended",
    "plugin_measurement",
    "plugin_client_share",
    *(
        f"db_{backend}_{row}"
        for backend in ("sqlite", "postgresql")
        for row in ("1", "8", "32", "shared_8", "shared_32", "query")
    ),
}
# Rows read from /proc: numbers on Linux only.
PROC_ROWS = {"rss_per_1000", "fds_after_close", "cycles_fd_growth", "cycles_rss_growth"}
# Rows measured against the NI-style reference server as well.
REFERENCE_ROWS = {
    "attach_0",
    "attach_20000",
    "attach_growth",
    "open_large_first",
    "open_large_again",
    "open_large_appended",
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
    assert document["quick"] is True
    assert document["machine"]["python"]
    assert "Plug-in: initialize + 1 record + close" in result.stdout
    assert "LogResult, SQLite, 8 clients, own databases" in result.stdout
