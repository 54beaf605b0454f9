"""NI-DCPower, simulated: an NI PXIe-4141 SMU whose channels drive a 50 kOhm load.

It measures NI's figures where NI states them (runtime/README.md, "Simulated
instruments", gives each source) and follows the README's rules elsewhere: levels
and limits within the selected ranges, compliance when the load needs more than
the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nidcpower import nidcpower_pb2 as dcpower
from session_pb2 import Session

from .common import INVALID_VALUE, DriverError, SessionRepository, SimulatedSession

SERVICE = dcpower.DESCRIPTOR.services_by_name["NiDCPower"]
MESSAGES = dcpower

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
# NI-DCPower's "not initiated" error.
NOT_INITIATED = -1074116809

# The simulated PXIe-4141 (see runtime/README.md for the sources).
SMU_MODEL = "PXIe-4141"
SMU_VOLTAGE_RANGES = (0.1, 1.0, 6.0, 10.0)
SMU_CURRENT_RANGES = (10e-6, 100e-6, 1e-3, 10e-3, 100e-3)
LOAD_OHMS = 50_000.0


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
class SmuSession(SimulatedSession):
    """An NI-DCPower session: its SMU channels by fully qualified name."""

    channels: dict[str, SmuChannel] = field(default_factory=dict)


def _channels(session: SmuSession, channel_name: str) -> list[tuple[str, SmuChannel]]:
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


class Simulation:
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

        def create() -> SmuSession:
            return SmuSession(
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
        session = self.sessions.get(request.vi, SmuSession)
        if request.attribute_id == CHANNEL_COUNT:
            return dcpower.GetAttributeViInt32Response(attribute_value=len(session.channels))
        (_, channel), *_ = _channels(session, request.channel_name)
        value = int(channel.attributes.get(request.attribute_id, 0))
        return dcpower.GetAttributeViInt32Response(attribute_value=value)

    def GetAttributeViReal64(
        self, request: dcpower.GetAttributeViReal64Request
    ) -> dcpower.GetAttributeViReal64Response:
        (_, channel), *_ = _channels(
            self.sessions.get(request.vi, SmuSession), request.channel_name
        )
        value = float(channel.attributes.get(request.attribute_id, 0.0))
        return dcpower.GetAttributeViReal64Response(attribute_value=value)

    def GetChannelNameFromString(
        self, request: dcpower.GetChannelNameFromStringRequest
    ) -> dcpower.GetChannelNameFromStringResponse:
        session = self.sessions.get(request.vi, SmuSession)
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
        for name, channel in _channels(
            self.sessions.get(request.vi, SmuSession), request.channel_name
        ):
            channel.check(name)
        return dcpower.CommitWithChannelsResponse()

    def InitiateWithChannels(
        self, request: dcpower.InitiateWithChannelsRequest
    ) -> dcpower.InitiateWithChannelsResponse:
        chosen = _channels(self.sessions.get(request.vi, SmuSession), request.channel_name)
        for name, channel in chosen:
            channel.check(name)
        for _, channel in chosen:
            channel.initiated = True
        return dcpower.InitiateWithChannelsResponse()

    def AbortWithChannels(
        self, request: dcpower.AbortWithChannelsRequest
    ) -> dcpower.AbortWithChannelsResponse:
        for _, channel in _channels(
            self.sessions.get(request.vi, SmuSession), request.channel_name
        ):
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
        for _, channel in _channels(
            self.sessions.get(request.vi, SmuSession), request.channel_name
        ):
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
        for _, channel in _channels(self.sessions.get(vi, SmuSession), channel_name):
            channel.attributes[attribute] = value

    def _initiated(self, vi: Session, channel_name: str) -> list[SmuChannel]:
        chosen = _channels(self.sessions.get(vi, SmuSession), channel_name)
        idle = [name for name, channel in chosen if not channel.initiated]
        if idle:
            raise DriverError(NOT_INITIATED, f"Channels {', '.join(idle)} are not initiated.")
        return [channel for _, channel in chosen]
