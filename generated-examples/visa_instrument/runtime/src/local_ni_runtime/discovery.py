"""NI Discovery Service, emulated: services register, clients resolve them by interface."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import grpc
from ni.measurementlink.discovery.v1 import discovery_service_pb2 as pb2
from ni.measurementlink.discovery.v1 import discovery_service_pb2_grpc as pb2_grpc

from . import device_server

# NI Discovery Service files a registration without versions under this one.
UNVERSIONED = "0.0.1"


@dataclass(frozen=True)
class Registration:
    """One registered service."""

    order: int
    descriptor: pb2.ServiceDescriptor
    location: pb2.ServiceLocation

    @property
    def versions(self) -> list[str]:
        """The versions the service registered, or the one NI files it under."""
        return list(self.descriptor.versions) or [UNVERSIONED]


class DiscoveryServicer(pb2_grpc.DiscoveryServiceServicer):
    """Registrations in memory; resolution with NI's error codes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registrations: dict[str, Registration] = {}
        self._count = 0

    def register(self, descriptor: pb2.ServiceDescriptor, location: pb2.ServiceLocation) -> str:
        """Register a service in-process; return its registration id."""
        with self._lock:
            self._count += 1
            registration_id = str(uuid.uuid4())
            self._registrations[registration_id] = Registration(self._count, descriptor, location)
            return registration_id

    def RegisterService(
        self, request: pb2.RegisterServiceRequest, context: grpc.ServicerContext
    ) -> pb2.RegisterServiceResponse:
        descriptor, location = request.service_description, request.location
        missing = [
            name
            for name, value in (
                ("service_description.display_name", descriptor.display_name),
                ("service_description.provided_interfaces", list(descriptor.provided_interfaces)),
                ("service_description.service_class", descriptor.service_class),
                ("location.location", location.location),
            )
            if not value
        ]
        if not location.insecure_port and not location.ssl_authenticated_port:
            missing.append("location.insecure_port or location.ssl_authenticated_port")
        if missing:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"RegisterService needs {', '.join(missing)}."
            )
        for port in (location.insecure_port, location.ssl_authenticated_port):
            if port and not (port.isdigit() and 0 < int(port) < 65536):
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"Port {port!r} is not a valid TCP port."
                )
        return pb2.RegisterServiceResponse(registration_id=self.register(descriptor, location))

    def UnregisterService(
        self, request: pb2.UnregisterServiceRequest, context: grpc.ServicerContext
    ) -> pb2.UnregisterServiceResponse:
        with self._lock:
            self._registrations.pop(request.registration_id, None)
        return pb2.UnregisterServiceResponse()

    def EnumerateServices(
        self, request: pb2.EnumerateServicesRequest, context: grpc.ServicerContext
    ) -> pb2.EnumerateServicesResponse:
        found = self._matching(request.provided_interface, request.service_class, "")
        return pb2.EnumerateServicesResponse(available_services=[r.descriptor for r in found])

    def EnumerateActiveServices(
        self, request: pb2.EnumerateActiveServicesRequest, context: grpc.ServicerContext
    ) -> pb2.EnumerateActiveServicesResponse:
        found = self._matching(request.provided_interface, request.service_class, "")
        return pb2.EnumerateActiveServicesResponse(
            active_services=[
                pb2.ActiveServiceInformation(
                    service_descriptor=r.descriptor, service_location=r.location
                )
                for r in found
            ]
        )

    def ResolveService(
        self, request: pb2.ResolveServiceRequest, context: grpc.ServicerContext
    ) -> pb2.ServiceLocation:
        return self._resolve(request, context).location

    def ResolveServiceWithInformation(
        self, request: pb2.ResolveServiceWithInformationRequest, context: grpc.ServicerContext
    ) -> pb2.ResolveServiceWithInformationResponse:
        found = self._resolve(request, context)
        return pb2.ResolveServiceWithInformationResponse(
            service_location=found.location, service_descriptor=found.descriptor
        )

    def EnumerateComputeNodes(
        self, request: pb2.EnumerateComputeNodesRequest, context: grpc.ServicerContext
    ) -> pb2.EnumerateComputeNodesResponse:
        # Local only: a single remote node would make every client resolve remotely.
        return pb2.EnumerateComputeNodesResponse()

    def _resolve(
        self,
        request: pb2.ResolveServiceRequest | pb2.ResolveServiceWithInformationRequest,
        context: grpc.ServicerContext,
    ) -> Registration:
        if not request.provided_interface:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "ResolveService needs provided_interface."
            )
        found = self._matching(request.provided_interface, request.service_class, request.version)
        wanted = (
            f"interface {request.provided_interface!r}"
            + (f", class {request.service_class!r}" if request.service_class else "")
            + (f", version {request.version!r}" if request.version else "")
        )
        if not found and _is_device_server(request.provided_interface, request.service_class):
            context.abort(
                grpc.StatusCode.NOT_FOUND, device_server.not_simulated(request.provided_interface)
            )
        if not found:
            context.abort(grpc.StatusCode.NOT_FOUND, f"No registered service provides {wanted}.")
        classes = {r.descriptor.service_class for r in found}
        if len(classes) > 1 and not request.service_class:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"Several services provide {wanted} ({', '.join(sorted(classes))}); "
                "pass service_class to choose one.",
            )
        return max(found, key=lambda r: (_version_key(max(r.versions, key=_version_key)), r.order))

    def _matching(self, interface: str, service_class: str, version: str) -> list[Registration]:
        with self._lock:
            registrations = list(self._registrations.values())
        return [
            r
            for r in registrations
            if (not interface or interface in r.descriptor.provided_interfaces)
            and (not service_class or service_class == r.descriptor.service_class)
            and (not version or version in r.versions)
        ]


def _is_device_server(interface: str, service_class: str) -> bool:
    """Tell whether a look-up is for an NI gRPC Device Server driver interface."""
    if service_class:
        return service_class == device_server.SERVICE_CLASS
    package, _, service = interface.partition(".")
    return package.endswith("_grpc") and bool(service)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))
