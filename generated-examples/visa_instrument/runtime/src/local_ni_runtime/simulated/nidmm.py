"""NI-DMM, simulated: an NI PXI-4081 DMM reading a fixed input per measurement function.

NI's simulated 4081 gives the absolute resolution NI's acceptance test expects;
the inputs, ranges and digits follow runtime/README.md ("Simulated instruments").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nidmm import nidmm_pb2 as dmm
from session_pb2 import Session

from .common import INVALID_VALUE, DriverError, SessionRepository, SimulatedSession

SERVICE = dmm.DESCRIPTOR.services_by_name["NiDmm"]
MESSAGES = dmm

# NI-DMM attribute ids.
DMM_FUNCTION, DMM_RANGE, RESOLUTION_DIGITS, RESOLUTION_ABSOLUTE = 1250001, 1250002, 1250003, 1250008
AUTO_RANGE_ON, AUTO_RANGE_OFF, AUTO_RANGE_ONCE = -1.0, -2.0, -3.0

# The simulated PXI-4081: function -> (name, the input it reads, its ranges).
DMM_MODEL = "PXI-4081"
DMM_FUNCTIONS: dict[int, tuple[str, float, tuple[float, ...]]] = {
    1: ("DC_VOLTS", 1.5, (0.1, 1.0, 10.0, 100.0, 1000.0)),
    2: ("AC_VOLTS", 0.5, (0.05, 0.5, 5.0, 50.0, 700.0)),
    3: ("DC_CURRENT", 0.01, (1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 3.0)),
    4: ("AC_CURRENT", 0.005, (100e-6, 1e-3, 10e-3, 100e-3, 1.0, 3.0)),
    5: ("TWO_WIRE_RES", 1000.1, (10.0, 100.0, 1e3, 10e3, 100e3, 1e6, 10e6, 100e6, 5e9)),
    101: ("FOUR_WIRE_RES", 1000.0, (10.0, 100.0, 1e3, 10e3, 100e3, 1e6, 10e6)),
}
DMM_DIGITS = (3.5, 4.5, 5.5, 6.5, 7.5)


@dataclass
class DmmState:
    """The measurement a DMM session is configured for."""

    function: int = 1
    range: float = 10.0
    digits: float = 5.5

    def selected_range(self) -> float:
        """Return the range in use: the configured one, or the one auto-ranging picks."""
        _, reading, ranges = DMM_FUNCTIONS[self.function]
        if self.range > 0:
            return self.range
        return next((r for r in ranges if abs(reading) <= r), ranges[-1])

    def read(self) -> float:
        """Return the reading; NaN when the input is beyond the selected range."""
        _, reading, _ = DMM_FUNCTIONS[self.function]
        return reading if abs(reading) <= self.selected_range() else math.nan

    def resolution_absolute(self) -> float:
        """Return the absolute resolution: the range over 2 x 10^n counts at n.5 digits."""
        return self.selected_range() / (2 * 10.0 ** math.floor(self.digits))


def _dmm_function(value: int) -> int:
    if value not in DMM_FUNCTIONS:
        accepted = ", ".join(f"{name} ({number})" for number, (name, _, _) in DMM_FUNCTIONS.items())
        raise DriverError(
            INVALID_VALUE,
            f"Invalid value for parameter or property. Measurement function {value} is not "
            f"simulated by the local runtime's {DMM_MODEL}; simulated: {accepted}.",
        )
    return value


def _dmm_range(function: int, value: float, previous: float) -> float:
    if value in (AUTO_RANGE_ON, AUTO_RANGE_ONCE):
        return AUTO_RANGE_ON
    if value == AUTO_RANGE_OFF:
        return previous
    name, _, ranges = DMM_FUNCTIONS[function]
    chosen = next((r for r in ranges if 0 < value <= r * (1 + 1e-12)), None)
    if chosen is None:
        raise DriverError(
            INVALID_VALUE,
            f"Invalid value for parameter or property. Range {value:g} is not available for "
            f"{name} on the simulated {DMM_MODEL}: use one of "
            f"{', '.join(f'{r:g}' for r in ranges)} or -1 (auto range).",
        )
    return chosen


def _dmm_digits(value: float) -> float:
    chosen = next((d for d in DMM_DIGITS if DMM_DIGITS[0] <= value <= d), None)
    if chosen is None:
        raise DriverError(
            INVALID_VALUE,
            f"Invalid value for parameter or property. resolution_digits {value:g}: "
            f"the simulated {DMM_MODEL} accepts 3.5 to 7.5.",
        )
    return chosen


@dataclass
class DmmSession(SimulatedSession):
    """An NI-DMM session: the measurement it is configured for."""

    dmm: DmmState = field(default_factory=DmmState)


class Simulation:
    """The NI-DMM RPCs, over a session repository."""

    def __init__(self, sessions: SessionRepository) -> None:
        self.sessions = sessions

    def InitWithOptions(self, request: dmm.InitWithOptionsRequest) -> dmm.InitWithOptionsResponse:
        if not request.resource_name.strip():
            raise DriverError(
                INVALID_VALUE, "Resource name is empty; use the DMM's name, e.g. DMM1."
            )
        name, new = self.sessions.initialize(
            request.session_name,
            request.initialization_behavior,
            lambda: DmmSession(request.resource_name.strip()),
        )
        return dmm.InitWithOptionsResponse(vi=Session(name=name), new_session_initialized=new)

    def ConfigureMeasurementDigits(
        self, request: dmm.ConfigureMeasurementDigitsRequest
    ) -> dmm.ConfigureMeasurementDigitsResponse:
        state = self.sessions.get(request.vi, DmmSession).dmm
        function = _dmm_function(request.measurement_function_raw or request.measurement_function)
        chosen = _dmm_range(function, request.range, state.range)
        digits = _dmm_digits(request.resolution_digits)
        state.function, state.range, state.digits = function, chosen, digits
        return dmm.ConfigureMeasurementDigitsResponse()

    def Read(self, request: dmm.ReadRequest) -> dmm.ReadResponse:
        return dmm.ReadResponse(reading=self.sessions.get(request.vi, DmmSession).dmm.read())

    def SetAttributeViInt32(
        self, request: dmm.SetAttributeViInt32Request
    ) -> dmm.SetAttributeViInt32Response:
        state = self.sessions.get(request.vi, DmmSession).dmm
        if request.attribute_id != DMM_FUNCTION:
            raise _not_simulated_attribute(request.attribute_id)
        function = _dmm_function(request.attribute_value_raw or request.attribute_value)
        if function != state.function and state.range > 0:
            state.range = AUTO_RANGE_ON  # the old range may not exist for the new function
        state.function = function
        return dmm.SetAttributeViInt32Response()

    def GetAttributeViInt32(
        self, request: dmm.GetAttributeViInt32Request
    ) -> dmm.GetAttributeViInt32Response:
        state = self.sessions.get(request.vi, DmmSession).dmm
        if request.attribute_id != DMM_FUNCTION:
            raise _not_simulated_attribute(request.attribute_id)
        return dmm.GetAttributeViInt32Response(attribute_value=state.function)

    def SetAttributeViReal64(
        self, request: dmm.SetAttributeViReal64Request
    ) -> dmm.SetAttributeViReal64Response:
        state = self.sessions.get(request.vi, DmmSession).dmm
        value = request.attribute_value_raw or float(request.attribute_value)
        if request.attribute_id == DMM_RANGE:
            state.range = _dmm_range(state.function, value, state.range)
        elif request.attribute_id == RESOLUTION_DIGITS:
            state.digits = _dmm_digits(value)
        else:
            raise _not_simulated_attribute(request.attribute_id)
        return dmm.SetAttributeViReal64Response()

    def GetAttributeViReal64(
        self, request: dmm.GetAttributeViReal64Request
    ) -> dmm.GetAttributeViReal64Response:
        state = self.sessions.get(request.vi, DmmSession).dmm
        values = {
            DMM_RANGE: lambda: state.range,
            RESOLUTION_DIGITS: lambda: state.digits,
            RESOLUTION_ABSOLUTE: state.resolution_absolute,
        }
        if request.attribute_id not in values:
            raise _not_simulated_attribute(request.attribute_id)
        return dmm.GetAttributeViReal64Response(attribute_value=values[request.attribute_id]())

    def Close(self, request: dmm.CloseRequest) -> dmm.CloseResponse:
        self.sessions.close(request.vi)
        return dmm.CloseResponse()

    def GetErrorMessage(self, request: dmm.GetErrorMessageRequest) -> dmm.GetErrorMessageResponse:
        return dmm.GetErrorMessageResponse(
            error_message=f"Simulated NI-DMM status {request.error_code}."
        )


def _not_simulated_attribute(attribute_id: int) -> DriverError:
    return DriverError(
        INVALID_VALUE,
        f"Attribute {attribute_id} is not simulated by the local runtime's {DMM_MODEL}; "
        "simulated: function, range, resolution_digits, resolution_absolute.",
    )
