"""What the example plug-ins and TestStand steps do with the instrument, and the state they leave.

tests/plugins/test_example_plugins.py and tests/plugins/test_local_runtime.py call these after
their own checks; tests/resource/test_visa_instrument_plugins.py holds this preset's own
tests of the plug-ins. The instrument is the simulated bench DMM of
examples/bench_dmm.yaml, which keeps its state after a session closes, as a real
instrument does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visa_instrument_client import VisaInstrumentClient

# The bench DMM's state before anyone configures it (examples/bench_dmm.yaml).
POWER_ON_FUNCTION, POWER_ON_RANGE = "VOLT:DC", 10.0
READING = 1.00023
# What the NI-DCPower plug-in sets when its configuration is left at its defaults.
PLUGIN_FUNCTION, PLUGIN_RANGE = "VOLT:DC", 100.0
STEP_RANGE = 1.0  # what a TestStand step of the flow sets


def configuration(resource: str) -> tuple[str, float]:
    """The DMM's function and range, asked through a session of the resource (attached or new)."""
    with VisaInstrumentClient(resource) as session:
        function = session.query(command="SENS:FUNC?").response
        measuring_range = float(session.query(command="SENS:RANG?").response)
    return function, measuring_range


def use_in_step(session: VisaInstrumentClient, step: str) -> None:
    """What a measurement step of the TestStand flow does with the shared session."""
    session.write(command=f"SENS:RANG {STEP_RANGE:g}")
    assert session.identify().model == "BDM-6500"


def check_teststand_flow(resources: list[str]) -> None:
    """Cleanup closed the session; the instrument kept the range the steps set."""
    assert configuration(resources[0]) == (POWER_ON_FUNCTION, STEP_RANGE)


def check_dcpower(resource: str) -> None:
    """The NI-DCPower plug-in left the DMM configured as its defaults say."""
    assert configuration(resource) == (PLUGIN_FUNCTION, PLUGIN_RANGE)


def check_dmm(resource: str, outputs: dict[str, Any]) -> None:
    """Before the NI-DCPower plug-in configures it, the NI-DMM plug-in finds the power-on state."""
    assert outputs["dmm_function"] == POWER_ON_FUNCTION
    assert outputs["dmm_range"] == POWER_ON_RANGE
    assert outputs["dmm_reading"] == READING


def check_concurrent(resource: str) -> None:
    """Interleaved measurements left the DMM configured and its error queue empty."""
    assert configuration(resource) == (PLUGIN_FUNCTION, PLUGIN_RANGE)
    with VisaInstrumentClient(resource) as session:
        assert session.query(command="SYST:ERR?").response == '+0,"No error"'


def demo_arguments(directory: Path) -> list[str]:
    """The demo opens GPIB0::22::INSTR on the tests' simulation (their PYVISA_LIBRARY)."""
    return []


def check_demo(directory: Path, stdout: str) -> None:
    """The NI-DMM plug-in found the range the NI-DCPower plug-in set, and the demo showed it."""
    assert f'"dmm_range": {PLUGIN_RANGE}' in stdout
    assert (
        "Bench Instruments BDM-6500 (serial SIM000001), function VOLT:DC, range +1.000000E+02"
        in stdout
    )
