"""The database examples/teststand/demo.py plays the sequence with, and its rows."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from results_database_client import ResultsDatabaseClient

import teststand_results_database as teststand


def choose(parser: argparse.ArgumentParser, argv: list[str] | None) -> str:
    """Parse the demo's command line; return the URL of the database its session opens."""
    parser.add_argument(
        "--database",
        help=(
            "the database URL the session writes to: sqlite:///PATH or "
            "postgresql://[user@]host[:port]/dbname (default: a new SQLite file in a "
            "temporary folder)"
        ),
    )
    args = parser.parse_args(argv)
    default = Path(tempfile.mkdtemp(prefix="demo-")) / "demo.db"
    return str(args.database or f"sqlite:///{default.resolve().as_posix()}")


def setup_sessions(pin_map_id: str) -> list[str]:
    """TestStand setup: open and register the session of every database of the pin map."""
    return teststand.setup_sessions(pin_map_id)


def show(resource_name: str) -> None:
    """Attach to the session TestStand setup opened; print the rows, read back with QueryResults."""
    with ResultsDatabaseClient(resource_name) as session:
        rows = session.results()
    print(f"rows in {resource_name}, read back with QueryResults:")
    for row in reversed(rows):
        print(f"  {json.dumps(row)}")
