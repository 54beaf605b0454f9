"""What the example plug-ins and TestStand steps do with the instrument, and the state they leave.

tests/plugins/test_example_plugins.py and tests/plugins/test_local_runtime.py call these after
their own checks; tests/resource/test_register_map_plugins.py holds this preset's own tests
of the plug-ins.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from custom_instrument_client import CustomInstrumentClient

from support import PROJECT


def register_default(name: str) -> int:
    """A register's default value in the example register map."""
    path = PROJECT / "examples" / "register_map.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        defaults = {row[0].strip(): row[1].strip() for row in csv.reader(handle) if len(row) == 2}
    return int(defaults[name], 0)


def use_in_step(session: CustomInstrumentClient, step: str) -> None:
    """What a measurement step of the TestStand flow does with the shared session."""
    session.write_gpio_port(port=1, value=0x0F, mask=0xFF)


def check_teststand_flow(resources: list[str]) -> None:
    """Nothing to read back: cleanup closed the session, which discards the state."""


def check_dcpower(resource: str) -> None:
    """Nothing to read back here: the NI-DMM plug-in's outputs show what this one wrote."""


def check_dmm(resource: str, outputs: dict[str, Any]) -> None:
    """Before the NI-DCPower plug-in writes, the NI-DMM plug-in reads the map's defaults."""
    assert outputs["gain_code"] == register_default("GAIN")
    assert outputs["relay_closed"] is False


def check_concurrent(resource: str) -> None:
    """Nothing to read back: the outputs of concurrent measurements race by design."""


def demo_arguments(directory: Path) -> list[str]:
    """The demo opens the pin map's own instrument: no arguments."""
    return []


def check_demo(directory: Path, stdout: str) -> None:
    """The NI-DMM plug-in reported what the NI-DCPower plug-in wrote."""
    assert '"gain_code": 4, "relay_closed": true' in stdout
