"""Command line of the local runtime.

python -m local_ni_runtime [--port N]             serve until Ctrl+C / SIGTERM
python -m local_ni_runtime reservations [--clear]  list (or clear) reservations
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

import grpc

from . import admin
from .redirect import ENVIRONMENT_VARIABLE
from .server import LocalRuntime


def main(argv: list[str] | None = None) -> int:
    """Run a command; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m local_ni_runtime",
        description="NI Discovery, Pin Map and Session Management services, emulated on localhost.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to serve on (default: any free)")
    commands = parser.add_subparsers(dest="command")
    listing = commands.add_parser("reservations", help="list the reservations a runtime holds")
    listing.add_argument("--clear", action="store_true", help="release them all")
    listing.add_argument(
        "--address",
        default=os.environ.get(ENVIRONMENT_VARIABLE, ""),
        help=f"the runtime's address (default: ${ENVIRONMENT_VARIABLE})",
    )
    args = parser.parse_args(argv)
    if args.command == "reservations":
        return _reservations(args.address, args.clear)
    return _serve(args.port)


def _serve(port: int) -> int:
    try:
        runtime = LocalRuntime(port)
    except RuntimeError as error:
        print(f"error: cannot listen on localhost:{port} ({error})", file=sys.stderr)
        return 1
    stop = threading.Event()
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    with runtime:
        print(f"listening on {runtime.address}", flush=True)
        print(
            f"Point processes at it with {ENVIRONMENT_VARIABLE}={runtime.address}",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    return 0


def _reservations(address: str, clear: bool) -> int:
    if not address:
        print(f"error: pass --address or set {ENVIRONMENT_VARIABLE}", file=sys.stderr)
        return 2
    try:
        answer = admin.call(address, "ClearReservations" if clear else "ListReservations")
    except grpc.RpcError as error:
        print(f"error: no local runtime answers at {address}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2))
    return 0
