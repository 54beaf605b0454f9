"""The command line of scripts/bench.py: its options, and which of its processes this is."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _bench import affinity
from _bench.environment import render_and_measure
from _bench.plan import FULL, QUICK
from _bench.report import Results, machine, print_report, write_json
from _bench.scenarios import STEPS, measure_all
from _bench.servers import (
    KIND_BASELINE,
    KIND_FLOOR,
    KIND_FLOOR_ORJSON,
    KIND_REFERENCE,
    SERVE_DATABASE_BASELINE,
    SERVE_DATABASE_FLOOR,
    SERVE_VISA_BASELINE,
    SERVE_VISA_FLOOR,
)
from _bench.servicers import serve

FORWARDED = ("json", "compare")  # options the outer process passes on, as absolute paths


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; internal modes (--measure, --serve) are hidden."""
    parser = argparse.ArgumentParser(
        prog="python3 scripts/bench.py",
        description="Benchmark the rendered JSON logger and results database services; "
        "print a table, optionally JSON.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples (under a minute)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[name for name, _ in STEPS],
        help="take only this step's rows (repeat for several; default: every step)",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the scheduler place servers and clients (default on Linux: servers on "
        "the first CPU, clients on the others)",
    )
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--compare", type=Path, help="a previous --json file to compare with")
    parser.add_argument(
        "--project",
        type=Path,
        help="measure this rendered JSON logger project instead of a fresh render",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--serve",
        choices=[
            KIND_BASELINE,
            KIND_REFERENCE,
            KIND_FLOOR,
            KIND_FLOOR_ORJSON,
            SERVE_DATABASE_BASELINE,
            SERVE_DATABASE_FLOOR,
            SERVE_VISA_BASELINE,
            SERVE_VISA_FLOOR,
        ],
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    for option in FORWARDED:
        value = getattr(args, option)
        if value is not None:
            setattr(args, option, value.resolve())
    return args


def measure(args: argparse.Namespace) -> int:
    """Run every measurement against the servers of the render at args.measure."""
    plan = QUICK if args.quick else FULL
    if not args.no_pin:
        affinity.pin_this_process()
    previous = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    started = time.perf_counter()
    info = machine()
    table, evidence = measure_all(plan, args.only)
    elapsed = time.perf_counter() - started
    results = Results(table, evidence, info, elapsed, plan, args.quick)
    print_report(results, previous)
    if args.json:
        write_json(args.json, results)
    return 0


def main(argv: list[str]) -> int:
    """Dispatch to the outer part, the measurement, or a server."""
    args = parse_args(argv)
    if args.serve:
        return serve(args.serve)
    if args.measure:
        return measure(args)
    forwarded = (["--quick"] if args.quick else []) + (["--no-pin"] if args.no_pin else [])
    for step in args.only or []:
        forwarded += ["--only", step]
    for option in FORWARDED:
        value = getattr(args, option)
        if value is not None:
            forwarded += [f"--{option}", str(value)]
    return render_and_measure(args.project, forwarded)
