"""NI gRPC Device Server, simulated for NI-DCPower, NI-DMM and NI-SWITCH multiplexers.

Sessions follow NI's naming rules (initialize, attach, generated names). The
instruments behave as NI's simulated PXIe-4141 SMU and PXI-4081 DMM where NI
states their values, and follow the rules in runtime/README.md ("Simulated
instruments") elsewhere: the SMU drives a 50 kOhm load within its selected
ranges and limits; the DMM reads a fixed input per measurement function within
its selected range; a switch keeps the explicit connections made on it. Driver
errors travel as NI's do, status UNKNOWN with an `ni-error` trailer; any RPC not
simulated answers UNIMPLEMENTED with its name.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf import descriptor
from google.protobuf.message import Message
from nidcpower import nidcpower_pb2 as dcpower
from nidmm import nidmm_pb2 as dmm
from niswitch import niswitch_pb2 as switch
from session_pb2 import Session

SERVICE_CLASS = "ni.measurementlink.v1.grpcdeviceserver"
DCPOWER_INTERFACE = "nidcpower_grpc.NiDCPower"
DMM_INTERFACE = "nidmm_grpc.NiDmm"
SWITCH_INTERFACE = "niswitch_grpc.NiSwitch"
INTERFACES = (DCPOWER_INTERFACE, DMM_INTERFACE, SWITCH_INTERFACE)
REAL_DEVICE_SERVER = (
    "To test against NI's real NI gRPC Device Server, start it (with the driver installed) "
    "and set MEASUREMENT_PLUGIN_GRPC_DEVICE_SERVER_ADDRESS=http://localhost:<its port> for "
    "the plug-in, so NI's SDK sends its driver calls there; or run on a station with NI "
    "software and without NI_LOCAL_RUNTIME."
)


def not_simulated(interface: str) -> str:
    """Say that the runtime does not simulate `interface` and how to test with NI's server."""
    return (
        f"The local runtime does not simulate {interface} (NI gRPC Device Server); it "
        f"simulates {', '.join(INTERFACES)}. {REAL_DEVICE_SERVER}"
    )


# NI-DCPower attribute ids and values (from NI's driver headers).
CHANNEL_COUNT = 1050203
OUTPUT_FUNCTION, DC_VOLTAGE, DC_CURRENT = 1150008, 1006, 1007
VOLTAGE_LEVEL, CURRENT_LEVEL, CURRENT_LIMIT = 1250001, 1150009, 1250005
VOLTAGE_LIMIT = 1150010
VOLTAGE_LEVEL_RANGE, CURRENT_LIMIT_RANGE = 1150005, 1150004
CURRENT_LEVEL_RANGE, VOLTAGE_LIMIT_RANGE = 1150011, 1150012
# Each range -> the attribute that turns its autoranging on (1) or off (0).
AUTORANGE = {
    VOLTAGE_LEVEL_RANGE: 1150015,
    CURRENT_LIMIT_RANGE: 1150016,
    CURRENT_LEVEL_RANGE: 1150017,
    VOLTAGE_LIMIT_RANGE: 1150018,
}
# NI-DMM attribute ids.
DMM_FUNCTION, DMM_RANGE, RESOLUTION_DIGITS, RESOLUTION_ABSOLUTE = 1250001, 1250002, 1250003, 1250008
AUTO_RANGE_ON, AUTO_RANGE_OFF, AUTO_RANGE_ONCE = -1.0, -2.0, -3.0
# Error codes the simulation reports (IVI's "Invalid value for parameter or property" and
# NI's invalid session and "not initiated" codes).
INVALID_VALUE = -1074135024
INVALID_SESSION = -1074130544
NOT_INITIATED = -1074116809
RESOURCE_NOT_FOUND = -1074118654
# IVI switch class errors (IviSwtch.h).
INVALID_SWITCH_PATH = -1074126847
NO_SUCH_PATH = -1074126840
EXPLICIT_CONNECTION_EXISTS = -1074126836
CANNOT_CONNECT_TO_ITSELF = -1074126827
PATH_AVAILABLE, PATH_EXISTS = 1, 2

# The simulated PXIe-4141 (see runtime/README.md for the sources).
SMU_MODEL = "PXIe-4141"
SMU_VOLTAGE_RANGES = (0.1, 1.0, 6.0, 10.0)
SMU_CURRENT_RANGES = (10e-6, 100e-6, 1e-3, 10e-3, 100e-3)
LOAD_OHMS = 50_000.0
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

INITIALIZE_NEW, ATTACH_TO_EXISTING = 1, 2
ResponseT = TypeVar("ResponseT", bound=Message)


class DriverError(Exception):
    """A driver error, returned as NI gRPC Device Server returns one."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SmuChannel:
    """The configured state of one SMU channel (a PXIe-4141 channel driving a 50 kOhm load)."""

    attributes: dict[int, float] = field(
        default_factory=lambda: {
            OUTPUT_FUNCTION: DC_VOLTAGE,
            VOLTAGE_LEVEL: 0.0,
            CURRENT_LIMIT: 0.01,
            VOLTAGE_LEVEL_RANGE: 10.0,
            CURRENT_LIMIT_RANGE: 0.01,
            CURRENT_LEVEL: 0.0,
            VOLTAGE_LIMIT: 1.0,
            CURRENT_LEVEL_RANGE: 0.01,
            VOLTAGE_LIMIT_RANGE: 10.0,
        }
    )
    initiated: bool = False

    def check(self, name: str) -> None:
        """Refuse a level or limit outside its selected range, as NI-DCPower does on commit.

        With autoranging on, the range becomes the smallest one that holds the value.
        """
        pairs = (
            [(VOLTAGE_LEVEL, VOLTAGE_LEVEL_RANGE), (CURRENT_LIMIT, CURRENT_LIMIT_RANGE)]
            if self.attributes[OUTPUT_FUNCTION] == DC_VOLTAGE
            else [(CURRENT_LEVEL, CURRENT_LEVEL_RANGE), (VOLTAGE_LIMIT, VOLTAGE_LIMIT_RANGE)]
        )
        for value_id, range_id in pairs:
            value = self.attributes[value_id]
            if self.attributes.get(AUTORANGE[range_id]) == 1:  # the smallest range that fits
                self.attributes[range_id] = _smu_value(range_id, abs(value) or 1e-12)
            selected = self.attributes[range_id]
            if abs(value) > selected:
                raise DriverError(
                    INVALID_VALUE,
                    f"Invalid value for parameter or property. Channel {name}: "
                    f"{_SMU_NAMES[value_id]} {value:g} is outside the selected "
                    f"{_SMU_NAMES[range_id]} of {selected:g}; choose a larger range "
                    f"(the {SMU_MODEL} has {_SMU_RANGES[range_id]}) or a smaller value.",
                )

    def measure(self) -> tuple[float, float, bool]:
        """Return voltage, current and compliance for the load."""
        if self.attributes[OUTPUT_FUNCTION] == DC_CURRENT:
            current, limit = self.attributes[CURRENT_LEVEL], self.attributes[VOLTAGE_LIMIT]
            voltage = current * LOAD_OHMS
            if abs(voltage) > abs(limit):
                clamped = math.copysign(abs(limit), voltage)
                return clamped, clamped / LOAD_OHMS, True
            return voltage, current, False
        voltage, limit = self.attributes[VOLTAGE_LEVEL], self.attributes[CURRENT_LIMIT]
        current = voltage / LOAD_OHMS
        if abs(current) > abs(limit):
            clamped = math.copysign(abs(limit), current)
            return clamped * LOAD_OHMS, clamped, True
        return voltage, current, False


_SMU_NAMES = {
    VOLTAGE_LEVEL: "voltage_level",
    CURRENT_LIMIT: "current_limit",
    CURRENT_LEVEL: "current_level",
    VOLTAGE_LIMIT: "voltage_limit",
    VOLTAGE_LEVEL_RANGE: "voltage_level_range",
    CURRENT_LIMIT_RANGE: "current_limit_range",
    CURRENT_LEVEL_RANGE: "current_level_range",
    VOLTAGE_LIMIT_RANGE: "voltage_limit_range",
}
_VOLTS = ", ".join(f"{r:g}" for r in SMU_VOLTAGE_RANGES) + " V"
_AMPS = ", ".join(f"{r:g}" for r in SMU_CURRENT_RANGES) + " A"
_SMU_RANGES = {
    VOLTAGE_LEVEL_RANGE: _VOLTS,
    VOLTAGE_LIMIT_RANGE: _VOLTS,
    CURRENT_LIMIT_RANGE: _AMPS,
    CURRENT_LEVEL_RANGE: _AMPS,
}
# Each level or limit -> the ranges that bound it.
_SMU_BOUNDS = {
    VOLTAGE_LEVEL: SMU_VOLTAGE_RANGES,
    VOLTAGE_LIMIT: SMU_VOLTAGE_RANGES,
    CURRENT_LIMIT: SMU_CURRENT_RANGES,
    CURRENT_LEVEL: SMU_CURRENT_RANGES,
    VOLTAGE_LEVEL_RANGE: SMU_VOLTAGE_RANGES,
    VOLTAGE_LIMIT_RANGE: SMU_VOLTAGE_RANGES,
    CURRENT_LIMIT_RANGE: SMU_CURRENT_RANGES,
    CURRENT_LEVEL_RANGE: SMU_CURRENT_RANGES,
}


def _smu_value(attribute: int, value: float) -> float:
    """Check a level, limit or range against the SMU; coerce a range up to a valid one."""
    bounds = _SMU_BOUNDS.get(attribute)
    if bounds is None:
        return value
    name = _SMU_NAMES[attribute]
    if abs(value) > bounds[-1]:
        raise DriverError(
            INVALID_VALUE,
            f"Invalid value for parameter or property. {name} {value:g} is beyond the "
            f"simulated {SMU_MODEL}'s largest range ({bounds[-1]:g}).",
        )
    if attribute in _SMU_RANGES:
        if value <= 0:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. {name} {value:g}: a range is "
                f"positive ({_SMU_RANGES[attribute]}).",
            )
        return next(r for r in bounds if value <= r * (1 + 1e-12))
    return value


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
class SimulatedSession:
    """One driver session: SMU channels by name, or a DMM's configuration."""

    resource_name: str
    channels: dict[str, SmuChannel] = field(default_factory=dict)
    dmm: DmmState = field(default_factory=DmmState)
    # A switch's explicit connections, each an unordered pair of channel names.
    connections: set[frozenset[str]] = field(default_factory=set)


class SessionRepository:
    """Sessions by name, with NI gRPC Device Server's initialize and attach rules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, SimulatedSession] = {}
        self._generated = itertools.count(1)

    def initialize(
        self, name: str, behavior: int, create: Callable[[], SimulatedSession]
    ) -> tuple[str, bool]:
        """Return the session name and whether a new session was initialized."""
        with self._lock:
            name = name or f"ni:generated:{next(self._generated)}"
            exists = name in self._sessions
            if exists and behavior == INITIALIZE_NEW:
                raise _Status(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"Cannot initialize '{name}' when a session already exists.",
                )
            if not exists and behavior == ATTACH_TO_EXISTING:
                raise _Status(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Cannot attach to '{name}' because a session has not been initialized.",
                )
            if not exists:
                self._sessions[name] = create()
            return name, not exists

    def get(self, vi: Session) -> SimulatedSession:
        """Return the session a request names; DriverError if there is none."""
        with self._lock:
            session = self._sessions.get(vi.name)
        if session is None:
            raise DriverError(INVALID_SESSION, f"The session '{vi.name}' is not open.")
        return session

    def close(self, vi: Session) -> None:
        """Close the session for every client, as NI's Close does."""
        with self._lock:
            if self._sessions.pop(vi.name, None) is None:
                raise DriverError(INVALID_SESSION, f"The session '{vi.name}' is not open.")

    def names(self) -> list[str]:
        """Return the names of the open sessions."""
        with self._lock:
            return sorted(self._sessions)


class _Status(Exception):
    """A gRPC status other than a driver error (initialize/attach conflicts)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _channels(session: SimulatedSession, channel_name: str) -> list[tuple[str, SmuChannel]]:
    names = [c.strip() for c in channel_name.split(",") if c.strip()] or list(session.channels)
    found = []
    for name in names:
        qualified = (
            name if "/" in name else f"{session.resource_name.split(',')[0].split('/')[0]}/{name}"
        )
        if qualified not in session.channels:
            known = ", ".join(session.channels)
            raise DriverError(INVALID_VALUE, f"Channel '{name}' is not in this session ({known}).")
        found.append((qualified, session.channels[qualified]))
    return found


class DCPowerSimulation:
    """The NI-DCPower RPCs, over a session repository."""

    def __init__(self, sessions: SessionRepository) -> None:
        self.sessions = sessions

    def InitializeWithIndependentChannels(
        self, request: dcpower.InitializeWithIndependentChannelsRequest
    ) -> dcpower.InitializeWithIndependentChannelsResponse:
        resources = [r.strip() for r in request.resource_name.split(",") if r.strip()]
        if not resources or any("/" not in r for r in resources):
            raise DriverError(
                INVALID_VALUE, f"Resource name {request.resource_name!r} is not like 'DCPower1/0'."
            )

        def create() -> SimulatedSession:
            return SimulatedSession(
                ",".join(resources), channels={name: SmuChannel() for name in resources}
            )

        name, new = self.sessions.initialize(
            request.session_name, request.initialization_behavior, create
        )
        return dcpower.InitializeWithIndependentChannelsResponse(
            vi=Session(name=name), new_session_initialized=new
        )

    def GetAttributeViInt32(
        self, request: dcpower.GetAttributeViInt32Request
    ) -> dcpower.GetAttributeViInt32Response:
        session = self.sessions.get(request.vi)
        if request.attribute_id == CHANNEL_COUNT:
            return dcpower.GetAttributeViInt32Response(attribute_value=len(session.channels))
        (_, channel), *_ = _channels(session, request.channel_name)
        value = int(channel.attributes.get(request.attribute_id, 0))
        return dcpower.GetAttributeViInt32Response(attribute_value=value)

    def GetAttributeViReal64(
        self, request: dcpower.GetAttributeViReal64Request
    ) -> dcpower.GetAttributeViReal64Response:
        (_, channel), *_ = _channels(self.sessions.get(request.vi), request.channel_name)
        value = float(channel.attributes.get(request.attribute_id, 0.0))
        return dcpower.GetAttributeViReal64Response(attribute_value=value)

    def GetChannelNameFromString(
        self, request: dcpower.GetChannelNameFromStringRequest
    ) -> dcpower.GetChannelNameFromStringResponse:
        session = self.sessions.get(request.vi)
        names = list(session.channels)
        picked = []
        for part in request.index.split(","):
            start, _, end = part.strip().partition("-")
            picked += names[int(start) : int(end or start) + 1]
        return dcpower.GetChannelNameFromStringResponse(channel_name=",".join(picked))

    def SetAttributeViInt32(
        self, request: dcpower.SetAttributeViInt32Request
    ) -> dcpower.SetAttributeViInt32Response:
        value = request.attribute_value_raw or request.attribute_value
        self._set(request.vi, request.channel_name, request.attribute_id, value)
        return dcpower.SetAttributeViInt32Response()

    def SetAttributeViReal64(
        self, request: dcpower.SetAttributeViReal64Request
    ) -> dcpower.SetAttributeViReal64Response:
        value = request.attribute_value_raw or request.attribute_value
        value = _smu_value(request.attribute_id, value)
        self._set(request.vi, request.channel_name, request.attribute_id, value)
        return dcpower.SetAttributeViReal64Response()

    def CommitWithChannels(
        self, request: dcpower.CommitWithChannelsRequest
    ) -> dcpower.CommitWithChannelsResponse:
        for name, channel in _channels(self.sessions.get(request.vi), request.channel_name):
            channel.check(name)
        return dcpower.CommitWithChannelsResponse()

    def InitiateWithChannels(
        self, request: dcpower.InitiateWithChannelsRequest
    ) -> dcpower.InitiateWithChannelsResponse:
        chosen = _channels(self.sessions.get(request.vi), request.channel_name)
        for name, channel in chosen:
            channel.check(name)
        for _, channel in chosen:
            channel.initiated = True
        return dcpower.InitiateWithChannelsResponse()

    def AbortWithChannels(
        self, request: dcpower.AbortWithChannelsRequest
    ) -> dcpower.AbortWithChannelsResponse:
        for _, channel in _channels(self.sessions.get(request.vi), request.channel_name):
            channel.initiated = False
        return dcpower.AbortWithChannelsResponse()

    def WaitForEventWithChannels(
        self, request: dcpower.WaitForEventWithChannelsRequest
    ) -> dcpower.WaitForEventWithChannelsResponse:
        self._initiated(request.vi, request.channel_name)
        return dcpower.WaitForEventWithChannelsResponse()  # the simulated source settles at once

    def MeasureMultiple(
        self, request: dcpower.MeasureMultipleRequest
    ) -> dcpower.MeasureMultipleResponse:
        readings = [
            channel.measure() for channel in self._initiated(request.vi, request.channel_name)
        ]
        return dcpower.MeasureMultipleResponse(
            voltage_measurements=[v for v, _, _ in readings],
            current_measurements=[i for _, i, _ in readings],
        )

    def QueryInCompliance(
        self, request: dcpower.QueryInComplianceRequest
    ) -> dcpower.QueryInComplianceResponse:
        (channel,) = self._initiated(request.vi, request.channel_name)
        return dcpower.QueryInComplianceResponse(in_compliance=channel.measure()[2])

    def ResetWithChannels(
        self, request: dcpower.ResetWithChannelsRequest
    ) -> dcpower.ResetWithChannelsResponse:
        for _, channel in _channels(self.sessions.get(request.vi), request.channel_name):
            channel.attributes = SmuChannel().attributes
            channel.initiated = False
        return dcpower.ResetWithChannelsResponse()

    def Close(self, request: dcpower.CloseRequest) -> dcpower.CloseResponse:
        self.sessions.close(request.vi)
        return dcpower.CloseResponse()

    def ErrorMessage(self, request: dcpower.ErrorMessageRequest) -> dcpower.ErrorMessageResponse:
        return dcpower.ErrorMessageResponse(
            error_message=f"Simulated NI-DCPower status {request.error_code}."
        )

    def _set(self, vi: Session, channel_name: str, attribute: int, value: float) -> None:
        for _, channel in _channels(self.sessions.get(vi), channel_name):
            channel.attributes[attribute] = value

    def _initiated(self, vi: Session, channel_name: str) -> list[SmuChannel]:
        chosen = _channels(self.sessions.get(vi), channel_name)
        idle = [name for name, channel in chosen if not channel.initiated]
        if idle:
            raise DriverError(NOT_INITIATED, f"Channels {', '.join(idle)} are not initiated.")
        return [channel for _, channel in chosen]


class DmmSimulation:
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
            lambda: SimulatedSession(request.resource_name.strip()),
        )
        return dmm.InitWithOptionsResponse(vi=Session(name=name), new_session_initialized=new)

    def ConfigureMeasurementDigits(
        self, request: dmm.ConfigureMeasurementDigitsRequest
    ) -> dmm.ConfigureMeasurementDigitsResponse:
        state = self.sessions.get(request.vi).dmm
        function = _dmm_function(request.measurement_function_raw or request.measurement_function)
        chosen = _dmm_range(function, request.range, state.range)
        digits = _dmm_digits(request.resolution_digits)
        state.function, state.range, state.digits = function, chosen, digits
        return dmm.ConfigureMeasurementDigitsResponse()

    def Read(self, request: dmm.ReadRequest) -> dmm.ReadResponse:
        return dmm.ReadResponse(reading=self.sessions.get(request.vi).dmm.read())

    def SetAttributeViInt32(
        self, request: dmm.SetAttributeViInt32Request
    ) -> dmm.SetAttributeViInt32Response:
        state = self.sessions.get(request.vi).dmm
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
        state = self.sessions.get(request.vi).dmm
        if request.attribute_id != DMM_FUNCTION:
            raise _not_simulated_attribute(request.attribute_id)
        return dmm.GetAttributeViInt32Response(attribute_value=state.function)

    def SetAttributeViReal64(
        self, request: dmm.SetAttributeViReal64Request
    ) -> dmm.SetAttributeViReal64Response:
        state = self.sessions.get(request.vi).dmm
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
        state = self.sessions.get(request.vi).dmm
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


class SwitchSimulation:
    """The NI-SWITCH RPCs a multiplexed measurement calls, over a session repository.

    Any topology and channel names are accepted; the switch remembers which channel
    pairs are explicitly connected and refuses what NI-SWITCH refuses for them.
    """

    def __init__(self, sessions: SessionRepository) -> None:
        self.sessions = sessions

    def InitWithTopology(
        self, request: switch.InitWithTopologyRequest
    ) -> switch.InitWithTopologyResponse:
        resource = request.resource_name.strip()
        if not resource and not request.simulate:
            raise DriverError(
                RESOURCE_NOT_FOUND,
                "Resource name is empty; name the switch module, or set simulate to True.",
            )
        name, new = self.sessions.initialize(
            request.session_name,
            request.initialization_behavior,
            lambda: SimulatedSession(resource or f"simulated {request.topology}"),
        )
        return switch.InitWithTopologyResponse(vi=Session(name=name), new_session_initialized=new)

    def Connect(self, request: switch.ConnectRequest) -> switch.ConnectResponse:
        session = self.sessions.get(request.vi)
        _connect(session, _pair(request.channel1, request.channel2))
        return switch.ConnectResponse()

    def Disconnect(self, request: switch.DisconnectRequest) -> switch.DisconnectResponse:
        session = self.sessions.get(request.vi)
        _disconnect(session, _pair(request.channel1, request.channel2))
        return switch.DisconnectResponse()

    def ConnectMultiple(
        self, request: switch.ConnectMultipleRequest
    ) -> switch.ConnectMultipleResponse:
        session = self.sessions.get(request.vi)
        for pair in _path_list(request.connection_list):
            _connect(session, pair)
        return switch.ConnectMultipleResponse()

    def DisconnectMultiple(
        self, request: switch.DisconnectMultipleRequest
    ) -> switch.DisconnectMultipleResponse:
        session = self.sessions.get(request.vi)
        for pair in _path_list(request.disconnection_list):
            _disconnect(session, pair)
        return switch.DisconnectMultipleResponse()

    def DisconnectAll(self, request: switch.DisconnectAllRequest) -> switch.DisconnectAllResponse:
        self.sessions.get(request.vi).connections.clear()
        return switch.DisconnectAllResponse()

    def CanConnect(self, request: switch.CanConnectRequest) -> switch.CanConnectResponse:
        session = self.sessions.get(request.vi)
        pair = _pair(request.channel1, request.channel2)
        capability = PATH_EXISTS if pair in session.connections else PATH_AVAILABLE
        return switch.CanConnectResponse(path_capability_raw=capability)

    def WaitForDebounce(
        self, request: switch.WaitForDebounceRequest
    ) -> switch.WaitForDebounceResponse:
        self.sessions.get(request.vi)
        return switch.WaitForDebounceResponse()  # simulated relays settle at once

    def IsDebounced(self, request: switch.IsDebouncedRequest) -> switch.IsDebouncedResponse:
        self.sessions.get(request.vi)
        return switch.IsDebouncedResponse(is_debounced=True)

    def Close(self, request: switch.CloseRequest) -> switch.CloseResponse:
        self.sessions.close(request.vi)
        return switch.CloseResponse()

    def ErrorMessage(self, request: switch.ErrorMessageRequest) -> switch.ErrorMessageResponse:
        return switch.ErrorMessageResponse(
            error_message=f"Simulated NI-SWITCH status {request.error_code}."
        )


def _pair(channel1: str, channel2: str) -> frozenset[str]:
    first, second = channel1.strip(), channel2.strip()
    if not first or not second:
        raise DriverError(
            INVALID_SWITCH_PATH, "Invalid switch path: both channel names are needed."
        )
    if first == second:
        raise DriverError(CANNOT_CONNECT_TO_ITSELF, f"Cannot connect channel {first} to itself.")
    return frozenset((first, second))


def _path_list(text: str) -> list[frozenset[str]]:
    """Parse NI-SWITCH's list syntax, "c0->r0, [c1->r1->c2]": one explicit pair per item."""
    pairs = []
    for item in text.split(","):
        legs = [leg.strip() for leg in item.strip().strip("[]").split("->")]
        if len(legs) < 2 or not all(legs):
            raise DriverError(
                INVALID_SWITCH_PATH,
                f"Invalid switch path list {text!r}: each item is like 'c0->r0' or '[c0->r1->c2]'.",
            )
        pairs.append(_pair(legs[0], legs[-1]))
    return pairs


def _connect(session: SimulatedSession, pair: frozenset[str]) -> None:
    if pair in session.connections:
        raise DriverError(
            EXPLICIT_CONNECTION_EXISTS,
            f"An explicit connection between {' and '.join(sorted(pair))} already exists.",
        )
    session.connections.add(pair)


def _disconnect(session: SimulatedSession, pair: frozenset[str]) -> None:
    if pair not in session.connections:
        raise DriverError(
            NO_SUCH_PATH,
            f"No explicit path exists between {' and '.join(sorted(pair))}.",
        )
    session.connections.discard(pair)


def _not_simulated_attribute(attribute_id: int) -> DriverError:
    return DriverError(
        INVALID_VALUE,
        f"Attribute {attribute_id} is not simulated by the local runtime's {DMM_MODEL}; "
        "simulated: function, range, resolution_digits, resolution_absolute.",
    )


def handlers(sessions: SessionRepository | None = None) -> list[grpc.GenericRpcHandler]:
    """Return the gRPC handlers of the simulated drivers, sharing one session repository."""
    repository = sessions or SessionRepository()
    return [
        _service_handler(
            dcpower.DESCRIPTOR.services_by_name["NiDCPower"], dcpower, DCPowerSimulation(repository)
        ),
        _service_handler(dmm.DESCRIPTOR.services_by_name["NiDmm"], dmm, DmmSimulation(repository)),
        _service_handler(
            switch.DESCRIPTOR.services_by_name["NiSwitch"], switch, SwitchSimulation(repository)
        ),
    ]


def _service_handler(
    service: descriptor.ServiceDescriptor, messages: Any, simulation: object
) -> grpc.GenericRpcHandler:
    methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        request_type = getattr(messages, method.input_type.name)
        response_type = getattr(messages, method.output_type.name)
        implementation = getattr(simulation, method.name, None)
        behavior = _answer(method.full_name, implementation)
        if method.client_streaming or method.server_streaming:
            behavior = _answer(method.full_name, None)
            methods[method.name] = grpc.stream_stream_rpc_method_handler(
                lambda requests, context, b=behavior: [b(None, context)],
                request_deserializer=request_type.FromString,
                response_serializer=response_type.SerializeToString,
            )
            continue
        methods[method.name] = grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=request_type.FromString,
            response_serializer=response_type.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(service.full_name, methods)


def _answer(
    name: str, implementation: Callable[[Any], Message] | None
) -> Callable[[Any, grpc.ServicerContext], Message]:
    def answer(request: Any, context: grpc.ServicerContext) -> Message:
        if implementation is None:
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{name} is not simulated by the local runtime's NI gRPC Device Server. "
                f"{REAL_DEVICE_SERVER}",
            )
        try:
            return implementation(request)
        except DriverError as error:
            context.set_trailing_metadata((("ni-error", str(error.code)),))
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        except _Status as error:
            context.abort(error.code, str(error))

    return answer
