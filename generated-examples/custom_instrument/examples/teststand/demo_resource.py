"""The instrument examples/teststand/demo.py plays the sequence with, and its state."""

from __future__ import annotations

import argparse
from pathlib import Path

from custom_instrument_client import CustomInstrumentClient

import teststand_custom_instrument as teststand

REGISTER_MAP = Path(__file__).resolve().parent.parent / "register_map.csv"


def choose(parser: argparse.ArgumentParser, argv: list[str] | None) -> str:
    """Parse the demo's command line; return the name of the instrument its session opens."""
    parser.parse_args(argv)
    return "CustomInstrument1"


def setup_sessions(pin_map_id: str) -> list[str]:
    """TestStand setup: open each instrument of the pin map (SPI, the example register map)."""
    return teststand.setup_sessions(pin_map_id, protocol="SPI", register_map_path=str(REGISTER_MAP))


def show(resource_name: str) -> None:
    """Attach to the session TestStand setup opened; print the GAIN register and the relay."""
    with CustomInstrumentClient(resource_name) as session:
        gain = session.read_register(register_name="GAIN").value
        relay = session.read_gpio_channel(port=0, channel=0).state
    print(f"{resource_name}: GAIN register {gain}, DUT supply relay closed: {relay}")
