"""The example plug-ins share the bench DMM: what one configures, the other finds and reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from measurement_client import MeasurementCaller
from resource_checks import POWER_ON_FUNCTION, POWER_ON_RANGE, READING
from support import DCPOWER, DMM, write_pin_map


def test_dmm_plugin_finds_the_configuration_the_dcpower_plugin_set(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, _ = pin_map
    plugins[DCPOWER].measure(pin_map_id, dmm_function="VOLT:AC", dmm_range=1.0)
    outputs = plugins[DMM].measure(pin_map_id)
    assert (outputs["dmm_function"], outputs["dmm_range"]) == ("VOLT:AC", 1.0)
    assert outputs["dmm_reading"] == READING


def test_dcpower_plugin_fails_when_the_dmm_refuses_its_configuration(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, _ = pin_map
    with pytest.raises(grpc.RpcError) as caught:
        plugins[DCPOWER].measure(pin_map_id, dmm_range=5000.0)  # the DMM's ranges end at 1000
    assert isinstance(caught.value, grpc.Call)
    assert "The DMM refused" in (caught.value.details() or "")
    assert "-100" in (caught.value.details() or "")


def test_a_plugin_on_its_own_opens_the_instrument_on_the_servers_default_backend(
    plugins: dict[str, MeasurementCaller], tmp_path: Path, new_resource: Any
) -> None:
    pin_map_id = write_pin_map(tmp_path / "alone.pinmap", [new_resource()])
    outputs = plugins[DMM].measure(pin_map_id)  # no setup: the plug-in opens the session
    assert (outputs["dmm_function"], outputs["dmm_range"]) == (POWER_ON_FUNCTION, POWER_ON_RANGE)
