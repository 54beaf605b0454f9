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
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "The local runtime does not emulate QueryPins."
        )

    def QueryRelays(
        self, request: pb2.QueryRelaysRequest, context: grpc.ServicerContext
    ) -> pb2.QueryRelaysResponse:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "The local runtime does not emulate QueryRelays."
        )

    def QueryResourceAccessInformation(
        self, request: pb2.QueryResourceAccessInformationRequest, context: grpc.ServicerContext
    ) -> pb2.QueryResourceAccessInformationResponse:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "The local runtime does not emulate QueryResourceAccessInformation.",
        )

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
