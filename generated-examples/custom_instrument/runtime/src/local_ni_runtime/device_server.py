"""NI gRPC Device Server, simulated for NI-DCPower and NI-DMM: the RPCs the example plug-ins call.

Sessions follow NI's naming rules (initialize, attach, generated names). The SMU
drives a 1 kOhm load: a channel sourcing V volts measures V volts and V/1000
amps until the current limit clamps it, which puts the channel in compliance.
The DMM reads a 1.5 V cell. Driver errors travel as NI's do, status UNKNOWN with
an `ni-error` trailer; any RPC not simulated answers UNIMPLEMENTED with its name.
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
from session_pb2 import Session

SERVICE_CLASS = "ni.measurementlink.v1.grpcdeviceserver"
DCPOWER_INTERFACE = "nidcpower_grpc.NiDCPower"
DMM_INTERFACE = "nidmm_grpc.NiDmm"

# NI-DCPower attribute ids and values (from NI's driver headers).
CHANNEL_COUNT = 1050203
OUTPUT_FUNCTION, DC_VOLTAGE, DC_CURRENT = 1150008, 1006, 1007
VOLTAGE_LEVEL, CURRENT_LEVEL, CURRENT_LIMIT = 1250001, 1150009, 1250005
VOLTAGE_LIMIT = 1150010
# NI-DMM attribute ids.
RESOLUTION_ABSOLUTE = 1250008
# Error codes the simulation reports.
INVALID_VALUE = -1074135024
INVALID_SESSION = -1074130544
NOT_INITIATED = -1074116809
LOAD_OHMS = 1000.0
CELL_VOLTS = 1.5

INITIALIZE_NEW, ATTACH_TO_EXISTING = 1, 2
ResponseT = TypeVar("ResponseT", bound=Message)


class DriverError(Exception):
    """A driver error, returned as NI gRPC Device Server returns one."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SmuChannel:
    """The configured state of one SMU channel."""

    attributes: dict[int, float] = field(
        default_factory=lambda: {
            OUTPUT_FUNCTION: DC_VOLTAGE,
            VOLTAGE_LEVEL: 0.0,
            CURRENT_LIMIT: 0.01,
            CURRENT_LEVEL: 0.0,
            VOLTAGE_LIMIT: 1.0,
        }
    )
    initiated: bool = False

    def measure(self) -> tuple[float, float, bool]:
        """Return voltage, current and compliance for the load."""
        if self.attributes[OUTPUT_FUNCTION] == DC_CURRENT:
            current, limit = self.attributes[CURRENT_LEVEL], self.attributes[VOLTAGE_LIMIT]
            voltage = current * LOAD_OHMS
            if abs(voltage) > limit:
                return (
                    math.copysign(limit, voltage),
                    math.copysign(limit, voltage) / LOAD_OHMS,
                    True,
                )
            return voltage, current, False
        voltage, limit = self.attributes[VOLTAGE_LEVEL], self.attributes[CURRENT_LIMIT]
        current = voltage / LOAD_OHMS
        if abs(current) > limit:
            return math.copysign(limit, current) * LOAD_OHMS, math.copysign(limit, current), True
        return voltage, current, False


@dataclass
class SimulatedSession:
    """One driver session: SMU channels by name, or a DMM's configuration."""

    resource_name: str
    channels: dict[str, SmuChannel] = field(default_factory=dict)
    dmm_range: float = 10.0
    dmm_digits: float = 5.5


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
        if request.attribute_id == VOLTAGE_LEVEL and abs(value) > 24:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for voltage_level: {value} V; the simulated SMU sources -24 to 24.",
            )
        self._set(request.vi, request.channel_name, request.attribute_id, value)
        return dcpower.SetAttributeViReal64Response()

    def InitiateWithChannels(
        self, request: dcpower.InitiateWithChannelsRequest
    ) -> dcpower.InitiateWithChannelsResponse:
        for _, channel in _channels(self.sessions.get(request.vi), request.channel_name):
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
        session = self.sessions.get(request.vi)
        if not 3.5 <= request.resolution_digits <= 7.5:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid resolution_digits {request.resolution_digits}; use 3.5 to 7.5.",
            )
        session.dmm_range = request.range if request.range > 0 else 10.0
        session.dmm_digits = request.resolution_digits
        return dmm.ConfigureMeasurementDigitsResponse()

    def Read(self, request: dmm.ReadRequest) -> dmm.ReadResponse:
        session = self.sessions.get(request.vi)
        if session.dmm_range < CELL_VOLTS:
            return dmm.ReadResponse(reading=math.nan)  # over range, as NI-DMM reports it
        return dmm.ReadResponse(reading=CELL_VOLTS)

    def GetAttributeViReal64(
        self, request: dmm.GetAttributeViReal64Request
    ) -> dmm.GetAttributeViReal64Response:
        session = self.sessions.get(request.vi)
        if request.attribute_id != RESOLUTION_ABSOLUTE:
            raise DriverError(INVALID_VALUE, f"Attribute {request.attribute_id} is not simulated.")
        resolution = session.dmm_range / 10 ** math.floor(session.dmm_digits)
        return dmm.GetAttributeViReal64Response(attribute_value=resolution)

    def Close(self, request: dmm.CloseRequest) -> dmm.CloseResponse:
        self.sessions.close(request.vi)
        return dmm.CloseResponse()

    def GetErrorMessage(self, request: dmm.GetErrorMessageRequest) -> dmm.GetErrorMessageResponse:
        return dmm.GetErrorMessageResponse(
            error_message=f"Simulated NI-DMM status {request.error_code}."
        )


def handlers(sessions: SessionRepository | None = None) -> list[grpc.GenericRpcHandler]:
    """Return the gRPC handlers of both simulated drivers, sharing one session repository."""
    repository = sessions or SessionRepository()
    return [
        _service_handler(
            dcpower.DESCRIPTOR.services_by_name["NiDCPower"], dcpower, DCPowerSimulation(repository)
        ),
        _service_handler(dmm.DESCRIPTOR.services_by_name["NiDmm"], dmm, DmmSimulation(repository)),
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
                f"{name} is not simulated by the local runtime's NI gRPC Device Server; "
                "run against NI's device server for it.",
            )
        try:
            return implementation(request)
        except DriverError as error:
            context.set_trailing_metadata((("ni-error", str(error.code)),))
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        except _Status as error:
            context.abort(error.code, str(error))

    return answer
