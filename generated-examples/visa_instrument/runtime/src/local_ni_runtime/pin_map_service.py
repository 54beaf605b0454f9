"""NI Pin Map Service, emulated: pin maps registered from XML, keyed by their id (the file path)."""

from __future__ import annotations

import threading

import grpc
from ni.measurementlink.pinmap.v1 import pin_map_service_pb2 as pb2
from ni.measurementlink.pinmap.v1 import pin_map_service_pb2_grpc as pb2_grpc

from .pin_map import PinMap, PinMapError, parse


class PinMapServicer(pb2_grpc.PinMapServiceServicer):
    """Holds parsed pin maps for Session Management; the SDK calls UpdatePinMapFromXml."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pin_maps: dict[str, PinMap] = {}

    def get(self, pin_map_id: str) -> PinMap | None:
        """Return the pin map registered under `pin_map_id`, if any."""
        with self._lock:
            return self._pin_maps.get(pin_map_id)

    def UpdatePinMapFromXml(
        self, request: pb2.UpdatePinMapFromXmlRequest, context: grpc.ServicerContext
    ) -> pb2.PinMap:
        return self._store(request.pin_map_id, request.pin_map_xml, context)

    def CreatePinMapFromXml(
        self, request: pb2.CreatePinMapFromXmlRequest, context: grpc.ServicerContext
    ) -> pb2.PinMap:
        return self._store(request.pin_map_id, request.pin_map_xml, context)

    def GetPinMap(self, request: pb2.GetPinMapRequest, context: grpc.ServicerContext) -> pb2.PinMap:
        if self.get(request.pin_map_id) is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"No pin map with id {request.pin_map_id!r}.")
        return pb2.PinMap(pin_map_id=request.pin_map_id)

    def QueryPins(
        self, request: pb2.QueryPinsRequest, context: grpc.ServicerContext
    ) -> pb2.QueryPinsResponse:
        pin_map = self._registered(request.pin_map_id, context)
        pins = pin_map.dut_pins + pin_map.system_pins
        if request.instrument_type_id:  # only the pins connected to that type of instrument
            connected = {
                c.pin
                for c in pin_map.connections.values()
                if pin_map.instruments[c.instrument].type_id == request.instrument_type_id
            }
            pins = [pin for pin in pins if pin in connected]
        groups = [g for g in pin_map.pin_groups if g not in pin_map.relay_groups]
        return pb2.QueryPinsResponse(
            pins=[
                pb2.PinDefinition(display_name=pin, is_system_pin=pin in pin_map.system_pins)
                for pin in pins
            ],
            pin_groups=[
                pb2.PinGroupDefinition(
                    display_name=group,
                    pin_or_group_references=pin_map.pin_groups[group],
                    resolved_pins=_resolved(pin_map, group, context),
                )
                for group in groups
            ],
        )

    def QueryRelays(
        self, request: pb2.QueryRelaysRequest, context: grpc.ServicerContext
    ) -> pb2.QueryRelaysResponse:
        pin_map = self._registered(request.pin_map_id, context)
        relays = pin_map.site_relays + pin_map.system_relays
        return pb2.QueryRelaysResponse(
            relays=[
                pb2.RelayDefinition(
                    display_name=relay, is_system_relay=relay in pin_map.system_relays
                )
                for relay in relays
            ],
            relay_groups=[
                pb2.RelayGroupDefinition(
                    display_name=group,
                    relay_or_group_references=pin_map.pin_groups[group],
                    resolved_relays=_resolved(pin_map, group, context),
                )
                for group in pin_map.relay_groups
            ],
        )

    def QueryResourceAccessInformation(
        self, request: pb2.QueryResourceAccessInformationRequest, context: grpc.ServicerContext
    ) -> pb2.QueryResourceAccessInformationResponse:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "The local runtime does not emulate QueryResourceAccessInformation.",
        )

    def _registered(self, pin_map_id: str, context: grpc.ServicerContext) -> PinMap:
        pin_map = self.get(pin_map_id)
        if pin_map is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"No pin map with id {pin_map_id!r}.")
        return pin_map

    def _store(self, pin_map_id: str, xml: str, context: grpc.ServicerContext) -> pb2.PinMap:
        if not pin_map_id:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "pin_map_id is empty; use the file path."
            )
        try:
            pin_map = parse(xml)
        except PinMapError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{pin_map_id}: {error}")
        with self._lock:
            self._pin_maps[pin_map_id] = pin_map
        return pb2.PinMap(pin_map_id=pin_map_id)


def _resolved(pin_map: PinMap, group: str, context: grpc.ServicerContext) -> list[str]:
    """A group's pins or relays; INVALID_ARGUMENT when it names something undefined."""
    try:
        return pin_map.resolved(group)
    except PinMapError as error:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
