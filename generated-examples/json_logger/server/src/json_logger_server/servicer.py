"""The JsonLogger servicer: sessions from the registry, work from the resource.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. Each
handler finds the session, unpacks the request into the resource method's
keyword arguments and packs what it returns into the response; the core's
status.py turns what it raises into the status the client sees.
"""

from __future__ import annotations

import grpc

from json_logger_client.stubs import json_logger_pb2 as pb2
from json_logger_client.stubs import json_logger_pb2_grpc as pb2_grpc
from session_service_core.server.arguments import moment
from session_service_core.server.errors import InvalidArgumentError
from session_service_core.server.limits import ensure_descriptor_headroom
from session_service_core.server.sessions import SessionRegistry
from session_service_core.server.status import answers_errors

from .resource import JsonLoggerResource as Resource


class JsonLoggerServicer(pb2_grpc.JsonLoggerServicer):
    """Answers the JsonLogger RPCs; one instance serves every client."""

    def __init__(self, registry: SessionRegistry[Resource]) -> None:
        self._registry = registry

    def open_sessions(self) -> int:
        """Return the number of open sessions."""
        return len(self._registry)

    @answers_errors
    def InitializeFile(
        self, request: pb2.InitializeFileRequest, context: grpc.ServicerContext
    ) -> pb2.InitializeFileResponse:
        """Open a session for the named resource, or attach to the open one."""
        name = request.file_path
        if not name.strip():
            raise InvalidArgumentError(
                "file_path is empty; name the resource to open "
                "(in a pin map, the custom instrument's name)."
            )
        key = Resource.resource_key(name)

        def open_resource(session_name: str) -> Resource:
            ensure_descriptor_headroom(len(self._registry))  # leave descriptors for connections
            resource = Resource.open(key, name)
            return _in_session(resource, session_name)

        session, new_session = self._registry.initialize(
            key, request.initialization_behavior, open_resource
        )
        return pb2.InitializeFileResponse(session_name=session.name, new_session=new_session)

    @answers_errors
    def LogMeasurementData(
        self, request: pb2.LogMeasurementDataRequest, context: grpc.ServicerContext
    ) -> pb2.LogMeasurementDataResponse:
        """Run LogMeasurementData on the session's resource."""
        return self._registry.call(request.session_name, _log_measurement_data, request)

    @answers_errors
    def CloseFile(
        self, request: pb2.CloseFileRequest, context: grpc.ServicerContext
    ) -> pb2.CloseFileResponse:
        """Close the session for every client attached to it."""
        self._registry.close(request.session_name)
        return pb2.CloseFileResponse()


def _in_session(resource: Resource, session_name: str) -> Resource:
    """Tell a resource just opened the name its session has."""
    resource.session_name = session_name
    return resource


def _log_measurement_data(
    resource: Resource, request: pb2.LogMeasurementDataRequest
) -> pb2.LogMeasurementDataResponse:
    resource.log_measurement_data(
        measurement_name=request.measurement_name,
        timestamp=moment("timestamp", request.timestamp) if request.HasField("timestamp") else None,
        measurement_configurations=request.measurement_configurations,
        measurement_outputs=request.measurement_outputs,
    )
    return pb2.LogMeasurementDataResponse()
