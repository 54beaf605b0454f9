"""NI-SWITCH, simulated: any topology, remembering its explicit connections and relay positions.

A multiplexer connects and disconnects channel pairs; a relay driver (NI's
NIRelayDriverModule, e.g. a PXI-2567) opens and closes relays by name, each relay
open until closed (this runtime's starting state).

Errors are IVI's switch class codes (`IviSwtch.h` in ni/grpc-device).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from niswitch import niswitch_pb2 as switch
from session_pb2 import Session

from .common import INVALID_VALUE, DriverError, SessionRepository, SimulatedSession

SERVICE = switch.DESCRIPTOR.services_by_name["NiSwitch"]
MESSAGES = switch

RESOURCE_NOT_FOUND = -1074118654
# IVI switch class errors (IviSwtch.h).
INVALID_SWITCH_PATH = -1074126847
NO_SUCH_PATH = -1074126840
EXPLICIT_CONNECTION_EXISTS = -1074126836
CANNOT_CONNECT_TO_ITSELF = -1074126827
PATH_AVAILABLE, PATH_EXISTS = 1, 2
# NI-SWITCH relay actions and positions (niswitch.enums.RelayAction, RelayPosition).
OPEN_RELAY, CLOSE_RELAY = 20, 21
RELAY_OPEN, RELAY_CLOSED = 10, 11


@dataclass
class SwitchSession(SimulatedSession):
    """An NI-SWITCH session: its explicit connections, each an unordered pair of channels."""

    connections: set[frozenset[str]] = field(default_factory=set)
    # Relays closed by RelayControl; every other relay is open.
    closed_relays: set[str] = field(default_factory=set)


class Simulation:
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
            lambda: SwitchSession(resource or f"simulated {request.topology}"),
        )
        return switch.InitWithTopologyResponse(vi=Session(name=name), new_session_initialized=new)

    def Connect(self, request: switch.ConnectRequest) -> switch.ConnectResponse:
        session = self.sessions.get(request.vi, SwitchSession)
        _connect(session, _pair(request.channel1, request.channel2))
        return switch.ConnectResponse()

    def Disconnect(self, request: switch.DisconnectRequest) -> switch.DisconnectResponse:
        session = self.sessions.get(request.vi, SwitchSession)
        _disconnect(session, _pair(request.channel1, request.channel2))
        return switch.DisconnectResponse()

    def ConnectMultiple(
        self, request: switch.ConnectMultipleRequest
    ) -> switch.ConnectMultipleResponse:
        session = self.sessions.get(request.vi, SwitchSession)
        for pair in _path_list(request.connection_list):
            _connect(session, pair)
        return switch.ConnectMultipleResponse()

    def DisconnectMultiple(
        self, request: switch.DisconnectMultipleRequest
    ) -> switch.DisconnectMultipleResponse:
        session = self.sessions.get(request.vi, SwitchSession)
        for pair in _path_list(request.disconnection_list):
            _disconnect(session, pair)
        return switch.DisconnectMultipleResponse()

    def DisconnectAll(self, request: switch.DisconnectAllRequest) -> switch.DisconnectAllResponse:
        self.sessions.get(request.vi, SwitchSession).connections.clear()
        return switch.DisconnectAllResponse()

    def CanConnect(self, request: switch.CanConnectRequest) -> switch.CanConnectResponse:
        session = self.sessions.get(request.vi, SwitchSession)
        pair = _pair(request.channel1, request.channel2)
        capability = PATH_EXISTS if pair in session.connections else PATH_AVAILABLE
        return switch.CanConnectResponse(path_capability_raw=capability)

    def WaitForDebounce(
        self, request: switch.WaitForDebounceRequest
    ) -> switch.WaitForDebounceResponse:
        self.sessions.get(request.vi, SwitchSession)
        return switch.WaitForDebounceResponse()  # simulated relays settle at once

    def IsDebounced(self, request: switch.IsDebouncedRequest) -> switch.IsDebouncedResponse:
        self.sessions.get(request.vi, SwitchSession)
        return switch.IsDebouncedResponse(is_debounced=True)

    def RelayControl(self, request: switch.RelayControlRequest) -> switch.RelayControlResponse:
        session = self.sessions.get(request.vi, SwitchSession)
        action = request.relay_action_raw or request.relay_action
        if action not in (OPEN_RELAY, CLOSE_RELAY):
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. Relay action {action}: use "
                f"{OPEN_RELAY} (open) or {CLOSE_RELAY} (close).",
            )
        # NI's relay examples pass a session's channel list, e.g. "K0, K1".
        for relay in _relay_names(request.relay_name):
            if action == CLOSE_RELAY:
                session.closed_relays.add(relay)
            else:
                session.closed_relays.discard(relay)
        return switch.RelayControlResponse()

    def GetRelayPosition(
        self, request: switch.GetRelayPositionRequest
    ) -> switch.GetRelayPositionResponse:
        session = self.sessions.get(request.vi, SwitchSession)
        (relay,) = _relay_names(request.relay_name, single=True)
        position = RELAY_CLOSED if relay in session.closed_relays else RELAY_OPEN
        return switch.GetRelayPositionResponse(relay_position_raw=position)

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


def _connect(session: SwitchSession, pair: frozenset[str]) -> None:
    if pair in session.connections:
        raise DriverError(
            EXPLICIT_CONNECTION_EXISTS,
            f"An explicit connection between {' and '.join(sorted(pair))} already exists.",
        )
    session.connections.add(pair)


def _disconnect(session: SwitchSession, pair: frozenset[str]) -> None:
    if pair not in session.connections:
        raise DriverError(
            NO_SUCH_PATH,
            f"No explicit path exists between {' and '.join(sorted(pair))}.",
        )
    session.connections.discard(pair)


def _relay_names(text: str, single: bool = False) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or (single and len(names) > 1):
        raise DriverError(
            INVALID_VALUE,
            f"Invalid value for parameter or property. Relay name {text!r}: name "
            + ("one relay, e.g. K0." if single else "one relay or a list, e.g. K0 or 'K0, K1'."),
        )
    return names
