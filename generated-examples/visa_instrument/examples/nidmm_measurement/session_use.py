"""What the NI-DMM plug-in does with the shared VisaInstrument session.

It asks the bench DMM for the function and range it finds (what the NI-DCPower
plug-in set, or the DMM's own), takes a reading, and returns the three as its
`dmm_function`, `dmm_range` and `dmm_reading` outputs: each exchange is one query,
which no other plug-in's command can come between.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visa_instrument_client import VisaInstrumentClient

# The pyvisa backend when this plug-in is the first to open the instrument: empty
# for the server's default (NI-VISA on a station, or its PYVISA_LIBRARY). A session
# that TestStand setup opened keeps its own.
BACKEND = ""


def use_session(
    session: VisaInstrumentClient,
    measurement_name: str,
    configuration: Mapping[str, Any],
    outputs: Mapping[str, Any],
) -> tuple[str, float, float]:
    """Read the DMM's configuration and one reading: `dmm_function`, `dmm_range`, `dmm_reading`."""
    function = session.query(command="SENS:FUNC?").response.strip().strip('"')
    measuring_range = float(session.query(command="SENS:RANG?").response)
    reading = float(session.query(command="READ?").response)
    if abs(reading) > measuring_range * 1.2:  # past the DMM's overrange
        raise ValueError(f"The DMM read {reading:g} on its {measuring_range:g} range: overrange.")
    return function, measuring_range, reading
