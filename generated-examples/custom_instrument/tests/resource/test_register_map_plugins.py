"""The example plug-ins share the instrument's state: what one writes, the other reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from measurement_client import MeasurementCaller
from resource_checks import register_default
from support import DCPOWER, DMM, write_pin_map


def test_dmm_plugin_reads_back_what_the_dcpower_plugin_wrote(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, _ = pin_map
    plugins[DCPOWER].measure(pin_map_id, gain_code=9)
    outputs = plugins[DMM].measure(pin_map_id)
    assert outputs["gain_code"] == 9
    assert outputs["relay_closed"] is True


def test_a_plugin_on_its_own_opens_the_instrument_with_its_register_map(
    plugins: dict[str, MeasurementCaller], tmp_path: Path, new_resource: Any
) -> None:
    pin_map_id = write_pin_map(tmp_path / "alone.pinmap", [new_resource()])
    outputs = plugins[DMM].measure(pin_map_id)  # no setup: the plug-in opens the session
    assert outputs["gain_code"] == register_default("GAIN")
    assert outputs["relay_closed"] is False
