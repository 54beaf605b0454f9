"""All emulated NI services in one gRPC server on localhost."""

from __future__ import annotations

from concurrent import futures
from types import TracebackType

import grpc
from ni.measurementlink.discovery.v1 import discovery_service_pb2 as discovery_pb2
from ni.measurementlink.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from ni.measurementlink.pinmap.v1 import pin_map_service_pb2_grpc as pin_map_grpc
from ni.measurementlink.sessionmanagement.v1 import (
    session_management_service_pb2_grpc as session_management_grpc,
)

from . import admin, device_server
from .discovery import DiscoveryServicer
from .pin_map_service import PinMapServicer
from .session_management import SessionManagementServicer

# How NI's SDK looks these services up in NI Discovery Service.
PIN_MAP_SERVICE = "ni.measurementlink.pinmap.v1.PinMapService"
SESSION_MANAGEMENT_SERVICE = "ni.measurementlink.sessionmanagement.v1.SessionManagementService"


class LocalRuntime:
    """NI's Discovery, Pin Map and Session Management services and a device server, on one port.

    The device server simulates NI's instrument drivers, one module each (`simulated/`).
    """

    def __init__(self, port: int = 0) -> None:
        """Bind to localhost:`port` (0: any free port); call start() to serve."""
        self.discovery = DiscoveryServicer()
        self.pin_maps = PinMapServicer()
        self.session_management = SessionManagementServicer(self.pin_maps)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32), options=[("grpc.so_reuseport", 0)]
        )
        discovery_grpc.add_DiscoveryServiceServicer_to_server(self.discovery, self._server)
        pin_map_grpc.add_PinMapServiceServicer_to_server(self.pin_maps, self._server)
        session_management_grpc.add_SessionManagementServiceServicer_to_server(
            self.session_management, self._server
        )
        self.devices = device_server.SessionRepository()
        self._server.add_generic_rpc_handlers(
            (admin.handler(self.session_management), *device_server.handlers(self.devices))
        )
        self.port = self._server.add_insecure_port(f"localhost:{port}")
        for interfaces, service_class, display in (
            ([PIN_MAP_SERVICE], PIN_MAP_SERVICE, "NI Pin Map Service"),
            ([SESSION_MANAGEMENT_SERVICE], SESSION_MANAGEMENT_SERVICE, "NI Session Management"),
            (
                list(device_server.INTERFACES),
                device_server.SERVICE_CLASS,
                "NI gRPC Device Server (simulated drivers)",
            ),
        ):
            self.discovery.register(
                discovery_pb2.ServiceDescriptor(
                    display_name=f"{display} (local runtime)",
                    provided_interfaces=interfaces,
                    service_class=service_class,
                ),
                discovery_pb2.ServiceLocation(location="localhost", insecure_port=str(self.port)),
            )

    @property
    def address(self) -> str:
        """Where the runtime listens: the value for NI_LOCAL_RUNTIME."""
        return f"localhost:{self.port}"

    def start(self) -> LocalRuntime:
        """Start serving."""
        self._server.start()
        return self

    def stop(self, grace: float | None = 1) -> None:
        """Stop serving, letting calls in flight finish for `grace` seconds."""
        self._server.stop(grace).wait()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
