"""What a run prints and writes: the table, the servers' CPU use, the machine, the JSON."""

from __future__ import annotations

import contextlib
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _bench import affinity
from _bench.plan import Plan
from _bench.project import modules
from _bench.servers import KIND_BASELINE, KIND_GENERATED, KIND_REFERENCE
from _bench.table import Table


def machine() -> dict[str, Any]:
    """Where the run happened."""
    memory = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
        memory = round(int(meminfo[0].split()[1]) / 1024 / 1024, 1)
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(value, 2) for value in os.getloadavg()]
    grpc_version = modules().grpc.__version__
    return {
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "grpcio": str(grpc_version),
        "load_average_at_start": load,
        "cpu_placement": affinity.describe(),
    }


def _format(value: float | None, unit: str) -> str:
    """`value` as the table shows a figure in `unit`."""
    if value is None:
        return "n/a"
    if unit == "records/s":
        return f"{value:,.0f}"
    if unit == "fds":
        return f"{value:+.0f}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("MiB", "cores"):
        return f"{value:.2f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def render_table(table: Table, previous: dict[str, Any] | None) -> str:
    """The table as fixed-width text, with a column against `previous` (a --json document)."""
    old = {row["key"]: row for row in previous["rows"]} if previous else {}
    header = ["metric", "unit", "generated", "baseline", "gen/base", "rounds", "gen/floor"]
    header += ["NI-style"]
    header += ["target", "met"]
    if previous:
        header.append("gen vs old")
    lines = []
    for row in table.rows:
        met = {True: "yes", False: "NO", None: ""}[row.met]
        cells = [
            row.label,
            row.unit,
            _format(row.values.get(KIND_GENERATED), row.unit),
            _format(row.values.get(KIND_BASELINE), row.unit),
            f"{row.ratio:.2f}x" if row.ratio is not None else "",
            f"{row.rounds[0]:.2f}-{row.rounds[1]:.2f}x" if row.rounds is not None else "",
            f"{row.floor_ratio:.2f}x" if row.floor_ratio is not None else "",
            _format(row.values.get(KIND_REFERENCE), row.unit)
            if KIND_REFERENCE in row.values
            else "",
            row.target,
            met,
        ]
        if previous:
            before = old.get(row.key, {}).get("values", {}).get(KIND_GENERATED)
            now = row.values.get(KIND_GENERATED)
            cells.append(f"{now / before:.2f}x" if now is not None and before else "")
        lines.append(cells)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([fmt(header), rule, *(fmt(cells) for cells in lines)])


@dataclass(frozen=True)
class Results:
    """What one measuring run found, and where and how it ran."""

    table: Table
    evidence: dict[str, Any]
    machine: dict[str, Any]
    seconds: float
    plan: Plan
    quick: bool


def _cpu_use(cpu: dict[str, Any]) -> str:
    """Each row's server CPU use, as `key generated / baseline` in cores."""
    return ", ".join(
        f"{key} {_format(v[KIND_GENERATED], 'cores')} / {_format(v[KIND_BASELINE], 'cores')}"
        for key, v in cpu.items()
    )


def print_report(results: Results, previous: dict[str, Any] | None) -> None:
    """Print the table, the servers' CPU use while logging, the machine and missed targets."""
    print(render_table(results.table, previous))
    print()
    busy = _cpu_use(results.evidence.get("throughput", {}))
    if busy:
        print(f"server CPU in cores (generated / baseline) while logging: {busy}")
    database = results.evidence.get("database", {})  # per backend: its rows, or why skipped
    rows = {k: v for per in database.values() if isinstance(per, dict) for k, v in per.items()}
    if rows:
        print(f"database server CPU (generated / baseline) while logging: {_cpu_use(rows)}")
    skipped: dict[str, list[str]] = {}
    for row in results.table.rows:
        if row.note:
            skipped.setdefault(row.note, []).append(row.key)
    for note, keys in skipped.items():
        print(f"{', '.join(keys)}: {note}")
    info = results.machine
    print(
        f"{info['cpus']} CPUs, {info['memory_gib']} GiB, Python {info['python']}, "
        f"grpcio {info['grpcio']}, load average at start {info['load_average_at_start']}, "
        f"{info['cpu_placement']}; "
        f"{'quick' if results.quick else 'full'} run, {results.seconds:.0f} s"
    )
    missed = [row.key for row in results.table.rows if row.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}")


def write_json(path: Path, results: Results) -> None:
    """Write the run to `path` as the JSON document `--compare` reads."""
    document = {
        "command": "python3 scripts/bench.py" + (" --quick" if results.quick else ""),
        "quick": results.quick,
        "plan": asdict(results.plan),
        "machine": results.machine,
        "seconds": round(results.seconds, 1),
        "rows": [asdict(row) for row in results.table.rows],
        "evidence": results.evidence,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
