"""What the NI-DMM plug-in does with the shared CustomInstrument session.

It reads the GAIN register and the DUT supply relay (GPIO port 0, channel 0) as
the NI-DCPower plug-in left them, and returns them as its `gain_code` and
`relay_closed` outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from custom_instrument_client import CustomInstrumentClient

# How to open the instrument when this plug-in is the first to use it; a session
# that TestStand setup opened keeps its own protocol and register map.
PROTOCOL = "SPI"
# examples/register_map.csv; a folder written by scripts/deploy.py carries its own copy.
_HERE = Path(__file__).resolve().parent
_OWN_REGISTER_MAP = _HERE / "register_map.csv"
REGISTER_MAP_PATH = str(
    _OWN_REGISTER_MAP if _OWN_REGISTER_MAP.exists() else _HERE.parent / "register_map.csv"
)
GAIN_REGISTER = "GAIN"
RELAY_PORT, RELAY_CHANNEL = 0, 0


def use_session(
    session: CustomInstrumentClient,
    measurement_name: str,
    configuration: Mapping[str, Any],
    outputs: Mapping[str, Any],
) -> tuple[int, bool]:
    """Read the gain code and the relay back: the plug-in's `gain_code` and `relay_closed`."""
    gain_code = session.read_register(register_name=GAIN_REGISTER).value
    relay = session.read_gpio_channel(port=RELAY_PORT, channel=RELAY_CHANNEL)
    return gain_code, relay.state
