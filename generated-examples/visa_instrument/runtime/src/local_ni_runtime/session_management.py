"""NI Session Management Service, emulated: reserve, register and unregister sessions.

Sessions come from the pin maps the pin map service holds, with NI's rules for
session names, resource names, channel lists and channel mappings. A reservation
is all-or-nothing and honours the request's timeout: 0 fails at once with
UNAVAILABLE, -1 waits forever, otherwise it waits up to the timeout. Multiplexer
sessions (one per pin map <Multiplexer>, named as the multiplexer) come with the
reservations whose connections route through them, and are registered and
looked up as NI's proto defines; reservations do not hold them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc
from ni.measurementlink.pin_map_context_pb2 import PinMapContext
from ni.measurementlink.sessionmanagement.v1 import session_management_service_pb2 as pb2
from ni.measurementlink.sessionmanagement.v1 import (
    session_management_service_pb2_grpc as pb2_grpc,
)
from ni.measurementlink.sessionmanagement.v1.client import INSTRUMENT_TYPE_NI_DAQMX
from session_pb2 import Session

from .pin_map import PinMap, PinMapError, Slot, channel_order
from .pin_map_service import PinMapServicer


@dataclass
class Reservation:
    """Who holds a session, and since when."""

    session_name: str
    instrument_type_id: str
    since: float
    annotations: dict[str, str] = field(default_factory=dict)


class Reservations:
    """Session names held by reservations; waiting with a timeout, all or nothing."""

    def __init__(self) -> None:
        self._held: dict[str, Reservation] = {}
        self._changed = threading.Condition()

    def acquire(self, wanted: list[Reservation], timeout_ms: int) -> bool:
        """Hold every wanted name, or none; False when the timeout passes first."""
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        with self._changed:
            while any(r.session_name in self._held for r in wanted):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(remaining)
            for reservation in wanted:
                self._held[reservation.session_name] = reservation
            return True

    def release(self, names: Iterable[str]) -> list[str]:
        """Release names; return those that were held."""
        with self._changed:
            released = [name for name in names if self._held.pop(name, None) is not None]
            self._changed.notify_all()
            return released

    def holders(self, names: Iterable[str]) -> list[Reservation]:
        """Return the reservations that hold any of `names`."""
        with self._changed:
            return [self._held[name] for name in names if name in self._held]

    def snapshot(self) -> list[Reservation]:
        """Return every reservation, oldest first."""
        with self._changed:
            return sorted(self._held.values(), key=lambda r: r.since)


class SessionManagementServicer(pb2_grpc.SessionManagementServiceServicer):
    """Every RPC of NI's session management proto: sessions and multiplexer sessions."""

    def __init__(self, pin_maps: PinMapServicer) -> None:
        self._pin_maps = pin_maps
        self.reservations = Reservations()
        self._registered_lock = threading.Lock()
        self._registered: dict[str, pb2.SessionInformation] = {}
        self._multiplexers: dict[str, pb2.MultiplexerSessionInformation] = {}
        self._reserved_lock = threading.Lock()
        self._reserved: dict[str, pb2.SessionInformation] = {}

    def ReserveSessions(
        self, request: pb2.ReserveSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.ReserveSessionsResponse:
        _check_timeout(request.timeout_in_milliseconds, context)
        if not request.pin_map_context.pin_map_id:
            return pb2.ReserveSessionsResponse()
        pin_map, sites = self._pin_map_and_sites(request.pin_map_context, context)
        names = list(request.pin_or_relay_names) or pin_map.everything()
        try:
            pins, groups = pin_map.expand(names)
        except PinMapError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        slots = [
            slot
            for slot in pin_map.slots(pins, sites)
            if not request.instrument_type_id
            or slot.instrument.type_id == request.instrument_type_id
        ]
        sessions = self._group(slots, pin_map)
        wanted = [
            Reservation(
                s.session.name, s.instrument_type_id, time.time(), dict(request.annotations)
            )
            for s in sessions
        ]
        if not self.reservations.acquire(wanted, request.timeout_in_milliseconds):
            holders = self.reservations.holders(r.session_name for r in wanted)
            held = ", ".join(sorted({h.session_name for h in holders})) or "(released meanwhile)"
            context.abort(
                grpc.StatusCode.UNAVAILABLE,
                f"Sessions already reserved by another client: {held}. "
                "Wait for them, pass a timeout, or clear stale reservations with "
                "`python -m local_ni_runtime reservations --clear`.",
            )
        with self._reserved_lock:
            self._reserved.update((info.session.name, info) for info in sessions)
        used = {slot.multiplexer for slot in slots if slot.multiplexer}
        return pb2.ReserveSessionsResponse(
            sessions=sessions,
            multiplexer_sessions=[
                self._multiplexer_info(name, pin_map.multiplexers[name])
                for name in pin_map.multiplexers
                if name in used
            ],
            group_mappings={
                group: pb2.ResolvedPinsOrRelays(pin_or_relay_names=members)
                for group, members in groups.items()
            },
        )

    def UnreserveSessions(
        self, request: pb2.UnreserveSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.UnreserveSessionsResponse:
        self.release(info.session.name for info in request.sessions)
        return pb2.UnreserveSessionsResponse()

    def RegisterSessions(
        self, request: pb2.RegisterSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.RegisterSessionsResponse:
        with self._registered_lock:
            names = [info.session.name for info in request.sessions]
            if not all(names):
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, "A session to register has no name."
                )
            taken = sorted({n for n in names if n in self._registered} | _duplicates(names))
            if taken:
                context.abort(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"Sessions already registered: {', '.join(taken)}. Unregister them first.",
                )
            for info in request.sessions:
                self._registered[info.session.name] = info
        return pb2.RegisterSessionsResponse()

    def UnregisterSessions(
        self, request: pb2.UnregisterSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.UnregisterSessionsResponse:
        with self._registered_lock:
            for info in request.sessions:
                self._registered.pop(info.session.name, None)
        return pb2.UnregisterSessionsResponse()

    def ReserveAllRegisteredSessions(
        self, request: pb2.ReserveAllRegisteredSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.ReserveAllRegisteredSessionsResponse:
        _check_timeout(request.timeout_in_milliseconds, context)
        with self._registered_lock:
            registered = [
                info
                for info in self._registered.values()
                if not request.instrument_type_id
                or info.instrument_type_id == request.instrument_type_id
            ]
        # Everything registered (channel list and mappings included), as ReserveSessions gives.
        sessions = []
        for info in registered:
            session = pb2.SessionInformation()
            session.CopyFrom(info)
            session.session_exists = True
            sessions.append(session)
        wanted = [
            Reservation(
                s.session.name, s.instrument_type_id, time.time(), dict(request.annotations)
            )
            for s in sessions
        ]
        if not self.reservations.acquire(wanted, request.timeout_in_milliseconds):
            context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "Registered sessions are reserved by another client and the timeout passed.",
            )
        with self._reserved_lock:
            self._reserved.update((info.session.name, info) for info in sessions)
        return pb2.ReserveAllRegisteredSessionsResponse(sessions=sessions)

    def RegisterMultiplexerSessions(
        self, request: pb2.RegisterMultiplexerSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.RegisterMultiplexerSessionsResponse:
        with self._registered_lock:
            names = [info.session.name for info in request.multiplexer_sessions]
            if not all(names):
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "A multiplexer session to register has no name.",
                )
            taken = sorted({n for n in names if n in self._multiplexers} | _duplicates(names))
            if taken:
                context.abort(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"Multiplexer sessions already registered: {', '.join(taken)}. "
                    "Unregister them first.",
                )
            for info in request.multiplexer_sessions:
                self._multiplexers[info.session.name] = info
        return pb2.RegisterMultiplexerSessionsResponse()

    def UnregisterMultiplexerSessions(
        self, request: pb2.UnregisterMultiplexerSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.UnregisterMultiplexerSessionsResponse:
        with self._registered_lock:
            for info in request.multiplexer_sessions:
                self._multiplexers.pop(info.session.name, None)
        return pb2.UnregisterMultiplexerSessionsResponse()

    def GetMultiplexerSessions(
        self, request: pb2.GetMultiplexerSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.GetMultiplexerSessionsResponse:
        pin_map, sites = self._pin_map_and_sites(request.pin_map_context, context)
        return pb2.GetMultiplexerSessionsResponse(
            multiplexer_sessions=[
                self._multiplexer_info(name, pin_map.multiplexers[name])
                for name in pin_map.routed_multiplexers(sites)
                if not request.multiplexer_type_id
                or pin_map.multiplexers[name] == request.multiplexer_type_id
            ]
        )

    def GetAllRegisteredMultiplexerSessions(
        self,
        request: pb2.GetAllRegisteredMultiplexerSessionsRequest,
        context: grpc.ServicerContext,
    ) -> pb2.GetAllRegisteredMultiplexerSessionsResponse:
        return pb2.GetAllRegisteredMultiplexerSessionsResponse(
            multiplexer_sessions=self._registered_multiplexers(request.multiplexer_type_id)
        )

    def GetSessions(
        self, request: pb2.GetSessionsRequest, context: grpc.ServicerContext
    ) -> pb2.GetSessionsResponse:
        with self._reserved_lock:
            reserved = dict(self._reserved)
        with self._registered_lock:
            sessions = {**reserved, **self._registered}
        return pb2.GetSessionsResponse(
            sessions=[
                info
                for info in sessions.values()
                if not request.instrument_type_id
                or info.instrument_type_id == request.instrument_type_id
            ],
            multiplexer_sessions=self._registered_multiplexers(request.multiplexer_type_id),
        )

    def release(self, names: Iterable[str]) -> list[str]:
        """Release the reservations of `names`; return those that were held."""
        released = self.reservations.release(names)
        with self._reserved_lock:
            for name in released:
                self._reserved.pop(name, None)
        return released

    def registered_multiplexer_names(self) -> list[str]:
        """Return the names of the registered multiplexer sessions."""
        with self._registered_lock:
            return sorted(self._multiplexers)

    def _registered_multiplexers(self, type_id: str) -> list[pb2.MultiplexerSessionInformation]:
        with self._registered_lock:
            return [
                info
                for info in self._multiplexers.values()
                if not type_id or info.multiplexer_type_id == type_id
            ]

    def _multiplexer_info(self, name: str, type_id: str) -> pb2.MultiplexerSessionInformation:
        """A multiplexer's session: named as the multiplexer, as NI's service names it."""
        with self._registered_lock:
            exists = name in self._multiplexers
        return pb2.MultiplexerSessionInformation(
            session=Session(name=name),
            resource_name=name,
            multiplexer_type_id=type_id,
            session_exists=exists,
        )

    def _pin_map_and_sites(
        self, pin_map_context: PinMapContext, context: grpc.ServicerContext
    ) -> tuple[PinMap, list[int]]:
        """The pin map a context names and its sites (all when none given), or NI's errors."""
        pin_map_id = pin_map_context.pin_map_id
        pin_map = self._pin_maps.get(pin_map_id)
        if pin_map is None:
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"No pin map with id {pin_map_id!r}; register it with UpdatePinMapFromXml first.",
            )
        sites = list(pin_map_context.sites) or pin_map.sites
        unknown_sites = [site for site in sites if site not in pin_map.sites]
        if unknown_sites:
            listed = ", ".join(str(site) for site in unknown_sites)
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f'Pin map does not contain site numbers: "{listed}"',
            )
        return pin_map, sites

    def registered_names(self) -> list[str]:
        """Return the names of the registered sessions."""
        with self._registered_lock:
            return sorted(self._registered)

    def _group(self, slots: list[Slot], pin_map: PinMap) -> list[pb2.SessionInformation]:
        """One SessionInformation per session, channels in order, NI's naming rules."""
        by_key: dict[str, list[Slot]] = {}
        for slot in slots:
            by_key.setdefault(slot.instrument.session_key(slot.channel), []).append(slot)
        sessions = []
        for key, members in by_key.items():
            first = members[0].instrument
            members.sort(key=lambda s: (s.instrument.name, channel_order(s.channel), s.site, s.pin))
            if first.fully_qualified:
                # NI-DCPower: every connected channel of the channel group, fully qualified.
                resource_name = ", ".join(
                    owner.qualified(channel) for owner, channel in pin_map.session_channels(key)
                )
            else:
                resource_name = first.name
            # NI names an NI-DAQmx session after its task, the others <type>-<resource>.
            if first.type_id == INSTRUMENT_TYPE_NI_DAQMX:
                name = resource_name
            else:
                name = f"{first.type_id}-{resource_name}"
            with self._registered_lock:
                exists = name in self._registered
            channels: list[str] = []
            for slot in members:
                qualified = slot.channel_name()
                if qualified not in channels:
                    channels.append(qualified)
            sessions.append(
                pb2.SessionInformation(
                    session=Session(name=name),
                    resource_name=resource_name,
                    channel_list=", ".join(channels),
                    instrument_type_id=first.type_id,
                    session_exists=exists,
                    channel_mappings=[
                        pb2.ChannelMapping(
                            pin_or_relay_name=slot.pin,
                            site=slot.site,
                            channel=slot.channel_name(),
                            multiplexer_resource_name=slot.multiplexer,
                            multiplexer_route=slot.route,
                        )
                        for slot in members
                    ],
                )
            )
        return sessions


def _check_timeout(timeout_ms: int, context: grpc.ServicerContext) -> None:
    if timeout_ms < -1:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"timeout_in_milliseconds {timeout_ms} is not accepted: use -1 (wait forever), "
            "0 (fail at once) or a positive number of milliseconds.",
        )


def _duplicates(names: list[str]) -> set[str]:
    return {name for name in names if names.count(name) > 1}
