"""What the NI-DCPower plug-in does with the shared VisaInstrument session.

It sets the bench DMM's function and range (its `dmm_function` and `dmm_range`
configurations) through the session, so that the NI-DMM plug-in, a later step,
finds the DMM configured and only has to read.
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
) -> tuple[()]:
    """Configure the DMM; refuse a configuration it did not take. No further outputs."""
    function, measuring_range = configuration["dmm_function"], configuration["dmm_range"]
    session.write(command=f"SENS:FUNC {function}")
    session.write(command=f"SENS:RANG {measuring_range:g}")
    # One query for the instrument's error queue: what it refused, it says there.
    error = session.query(command="SYST:ERR?").response
    if not error.startswith(("+0", "0")):
        raise ValueError(
            f"The DMM refused function {function!r} or range {measuring_range:g}: {error}"
        )
    return ()
