"""The log file examples/teststand/demo.py plays the sequence with, and its records."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import teststand_json_logger as teststand


def choose(parser: argparse.ArgumentParser, argv: list[str] | None) -> str:
    """Parse the demo's command line; return the log file its session opens."""
    parser.add_argument(
        "--log",
        type=Path,
        help="the log file the session writes (default: a new file in a temporary folder)",
    )
    args = parser.parse_args(argv)
    log = args.log or Path(tempfile.mkdtemp(prefix="demo-")) / "demo.ndjson"
    return str(log.resolve())


def setup_sessions(pin_map_id: str) -> list[str]:
    """TestStand setup: open and register the session of every log file of the pin map."""
    return teststand.setup_sessions(pin_map_id)


def show(resource_name: str) -> None:
    """Print the records the plug-ins logged."""
    print(f"log file: {resource_name}")
    for line in Path(resource_name).read_text(encoding="utf-8").splitlines():
        print(f"  {line}")
