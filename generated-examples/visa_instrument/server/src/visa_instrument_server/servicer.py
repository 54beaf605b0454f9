"""The VisaInstrument servicer: sessions from the registry, work from the resource.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. Each
handler finds the session, unpacks the request into the resource method's
keyword arguments and packs what it returns into the response; the core's
status.py turns what it raises into the status the client sees.
"""

from __future__ import annotations

import grpc

from session_service_core.server.errors import InvalidArgumentError
from session_service_core.server.limits import ensure_descriptor_headroom
from session_service_core.server.sessions import SessionRegistry
from session_service_core.server.status import answers_errors
from visa_instrument_client.stubs import visa_instrument_pb2 as pb2
from visa_instrument_client.stubs import visa_instrument_pb2_grpc as pb2_grpc

from .resource import VisaInstrumentResource as Resource


class VisaInstrumentServicer(pb2_grpc.VisaInstrumentServicer):
    """Answers the VisaInstrument RPCs; one instance serves every client."""

    def __init__(self, registry: SessionRegistry[Resource]) -> None:
        self._registry = registry

    def open_sessions(self) -> int:
        """Return the number of open sessions."""
        return len(self._registry)

    @answers_errors
    def Initialize(
        self, request: pb2.InitializeRequest, context: grpc.ServicerContext
    ) -> pb2.InitializeResponse:
        """Open a session for the named resource, or attach to the open one."""
        name = request.resource_name
        if not name.strip():
            raise InvalidArgumentError(
                "resource_name is empty; name the resource to open "
                "(in a pin map, the custom instrument's name)."
            )
        key = Resource.resource_key(name)

        def open_resource(session_name: str) -> Resource:
            ensure_descriptor_headroom(len(self._registry))  # leave descriptors for connections
            resource = Resource.open(
                key,
                name,
                backend=request.backend,
                timeout_milliseconds=request.timeout_milliseconds,
                read_termination=request.read_termination,
                write_termination=request.write_termination,
            )
            return _in_session(resource, session_name)

        session, new_session = self._registry.initialize(
            key, request.initialization_behavior, open_resource
        )
        return pb2.InitializeResponse(session_name=session.name, new_session=new_session)

    @answers_errors
    def Write(self, request: pb2.WriteRequest, context: grpc.ServicerContext) -> pb2.WriteResponse:
        """Run Write on the session's resource."""
        return self._registry.call(request.session_name, _write, request)

    @answers_errors
    def Query(self, request: pb2.QueryRequest, context: grpc.ServicerContext) -> pb2.QueryResponse:
        """Run Query on the session's resource."""
        return self._registry.call(request.session_name, _query, request)

    @answers_errors
    def Read(self, request: pb2.ReadRequest, context: grpc.ServicerContext) -> pb2.ReadResponse:
        """Run Read on the session's resource."""
        return self._registry.call(request.session_name, _read, request)

    @answers_errors
    def ReadBinaryValues(
        self, request: pb2.ReadBinaryValuesRequest, context: grpc.ServicerContext
    ) -> pb2.ReadBinaryValuesResponse:
        """Run ReadBinaryValues on the session's resource."""
        return self._registry.call(request.session_name, _read_binary_values, request)

    @answers_errors
    def Clear(self, request: pb2.ClearRequest, context: grpc.ServicerContext) -> pb2.ClearResponse:
        """Run Clear on the session's resource."""
        return self._registry.call(request.session_name, _clear, request)

    @answers_errors
    def Reset(self, request: pb2.ResetRequest, context: grpc.ServicerContext) -> pb2.ResetResponse:
        """Run Reset on the session's resource."""
        return self._registry.call(request.session_name, _reset, request)

    @answers_errors
    def Identify(
        self, request: pb2.IdentifyRequest, context: grpc.ServicerContext
    ) -> pb2.IdentifyResponse:
        """Run Identify on the session's resource."""
        return self._registry.call(request.session_name, _identify, request)

    @answers_errors
    def Close(self, request: pb2.CloseRequest, context: grpc.ServicerContext) -> pb2.CloseResponse:
        """Close the session for every client attached to it."""
        self._registry.close(request.session_name)
        return pb2.CloseResponse()


def _in_session(resource: Resource, session_name: str) -> Resource:
    """Tell a resource just opened the name its session has."""
    resource.session_name = session_name
    return resource


def _write(resource: Resource, request: pb2.WriteRequest) -> pb2.WriteResponse:
    resource.write(command=request.command)
    return pb2.WriteResponse()


def _query(resource: Resource, request: pb2.QueryRequest) -> pb2.QueryResponse:
    value = resource.query(command=request.command)
    return pb2.QueryResponse(response=value)


def _read(resource: Resource, request: pb2.ReadRequest) -> pb2.ReadResponse:
    value = resource.read()
    return pb2.ReadResponse(response=value)


def _read_binary_values(
    resource: Resource, request: pb2.ReadBinaryValuesRequest
) -> pb2.ReadBinaryValuesResponse:
    value = resource.read_binary_values(
        command=request.command, datatype=request.datatype, big_endian=request.big_endian
    )
    return pb2.ReadBinaryValuesResponse(values=value)


def _clear(resource: Resource, request: pb2.ClearRequest) -> pb2.ClearResponse:
    resource.clear()
    return pb2.ClearResponse()


def _reset(resource: Resource, request: pb2.ResetRequest) -> pb2.ResetResponse:
    resource.reset()
    return pb2.ResetResponse()


def _identify(resource: Resource, request: pb2.IdentifyRequest) -> pb2.IdentifyResponse:
    result = resource.identify()
    return pb2.IdentifyResponse(
        manufacturer=result[0], model=result[1], serial_number=result[2], firmware_version=result[3]
    )
