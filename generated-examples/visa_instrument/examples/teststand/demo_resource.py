"""The instrument examples/teststand/demo.py plays the sequence with, and what it shows of it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from visa_instrument_client import VisaInstrumentClient

import teststand_visa_instrument as teststand

SIMULATION = Path(__file__).resolve().parent.parent / "bench_dmm.yaml"


def choose(parser: argparse.ArgumentParser, argv: list[str] | None) -> str:
    """Parse the demo's command line; return the resource string its session opens.

    The backend becomes PYVISA_LIBRARY of the server and plug-ins the demo starts:
    the default backend of every session they open.
    """
    parser.add_argument(
        "--resource",
        default="GPIB0::22::INSTR",
        help="the instrument's VISA resource string (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        default=os.environ.get("PYVISA_LIBRARY") or f"{SIMULATION}@sim",
        help=(
            "the pyvisa backend: @ivi for NI-VISA and a real instrument, @py for "
            "pyvisa-py (default: PYVISA_LIBRARY, else the simulated bench DMM of "
            "examples/bench_dmm.yaml)"
        ),
    )
    args = parser.parse_args(argv)
    os.environ["PYVISA_LIBRARY"] = args.backend
    return str(args.resource)


def setup_sessions(pin_map_id: str) -> list[str]:
    """TestStand setup: open each instrument of the pin map on the server's default backend."""
    return teststand.setup_sessions(pin_map_id)


def show(resource_name: str) -> None:
    """Attach to the session TestStand setup opened; print what the instrument is and holds."""
    with VisaInstrumentClient(resource_name) as session:
        identity = session.identify()
        function = session.query(command="SENS:FUNC?").response
        measuring_range = session.query(command="SENS:RANG?").response
    print(
        f"{resource_name}: {identity.manufacturer} {identity.model} "
        f"(serial {identity.serial_number}), function {function}, range {measuring_range}"
    )
