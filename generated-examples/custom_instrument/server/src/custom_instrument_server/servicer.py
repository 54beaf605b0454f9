"""The CustomInstrument servicer: sessions from the registry, work from the resource.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. Each
handler finds the session, unpacks the request into the resource method's
keyword arguments and packs what it returns into the response; the core's
status.py turns what it raises into the status the client sees.
"""

from __future__ import annotations

import grpc

from custom_instrument_client.stubs import custom_instrument_pb2 as pb2
from custom_instrument_client.stubs import custom_instrument_pb2_grpc as pb2_grpc
from session_service_core.server.errors import InvalidArgumentError
from session_service_core.server.limits import ensure_descriptor_headroom
from session_service_core.server.sessions import SessionRegistry
from session_service_core.server.status import answers_errors

from .resource import CustomInstrumentResource as Resource


class CustomInstrumentServicer(pb2_grpc.CustomInstrumentServicer):
    """Answers the CustomInstrument RPCs; one instance serves every client."""

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
                key, name, protocol=request.protocol, register_map_path=request.register_map_path
            )
            return _in_session(resource, session_name)

        session, new_session = self._registry.initialize(
            key, request.initialization_behavior, open_resource
        )
        return pb2.InitializeResponse(session_name=session.name, new_session=new_session)

    @answers_errors
    def WriteRegister(
        self, request: pb2.WriteRegisterRequest, context: grpc.ServicerContext
    ) -> pb2.WriteRegisterResponse:
        """Run WriteRegister on the session's resource."""
        return self._registry.call(request.session_name, _write_register, request)

    @answers_errors
    def ReadRegister(
        self, request: pb2.ReadRegisterRequest, context: grpc.ServicerContext
    ) -> pb2.ReadRegisterResponse:
        """Run ReadRegister on the session's resource."""
        return self._registry.call(request.session_name, _read_register, request)

    @answers_errors
    def WriteGpioChannel(
        self, request: pb2.WriteGpioChannelRequest, context: grpc.ServicerContext
    ) -> pb2.WriteGpioChannelResponse:
        """Run WriteGpioChannel on the session's resource."""
        return self._registry.call(request.session_name, _write_gpio_channel, request)

    @answers_errors
    def ReadGpioChannel(
        self, request: pb2.ReadGpioChannelRequest, context: grpc.ServicerContext
    ) -> pb2.ReadGpioChannelResponse:
        """Run ReadGpioChannel on the session's resource."""
        return self._registry.call(request.session_name, _read_gpio_channel, request)

    @answers_errors
    def WriteGpioPort(
        self, request: pb2.WriteGpioPortRequest, context: grpc.ServicerContext
    ) -> pb2.WriteGpioPortResponse:
        """Run WriteGpioPort on the session's resource."""
        return self._registry.call(request.session_name, _write_gpio_port, request)

    @answers_errors
    def ReadGpioPort(
        self, request: pb2.ReadGpioPortRequest, context: grpc.ServicerContext
    ) -> pb2.ReadGpioPortResponse:
        """Run ReadGpioPort on the session's resource."""
        return self._registry.call(request.session_name, _read_gpio_port, request)

    @answers_errors
    def Close(self, request: pb2.CloseRequest, context: grpc.ServicerContext) -> pb2.CloseResponse:
        """Close the session for every client attached to it."""
        self._registry.close(request.session_name)
        return pb2.CloseResponse()


def _in_session(resource: Resource, session_name: str) -> Resource:
    """Tell a resource just opened the name its session has."""
    resource.session_name = session_name
    return resource


def _write_register(
    resource: Resource, request: pb2.WriteRegisterRequest
) -> pb2.WriteRegisterResponse:
    resource.write_register(register_name=request.register_name, value=request.value)
    return pb2.WriteRegisterResponse()


def _read_register(
    resource: Resource, request: pb2.ReadRegisterRequest
) -> pb2.ReadRegisterResponse:
    value = resource.read_register(register_name=request.register_name)
    return pb2.ReadRegisterResponse(value=value)


def _write_gpio_channel(
    resource: Resource, request: pb2.WriteGpioChannelRequest
) -> pb2.WriteGpioChannelResponse:
    resource.write_gpio_channel(port=request.port, channel=request.channel, state=request.state)
    return pb2.WriteGpioChannelResponse()


def _read_gpio_channel(
    resource: Resource, request: pb2.ReadGpioChannelRequest
) -> pb2.ReadGpioChannelResponse:
    value = resource.read_gpio_channel(port=request.port, channel=request.channel)
    return pb2.ReadGpioChannelResponse(state=value)


def _write_gpio_port(
    resource: Resource, request: pb2.WriteGpioPortRequest
) -> pb2.WriteGpioPortResponse:
    resource.write_gpio_port(port=request.port, value=request.value, mask=request.mask)
    return pb2.WriteGpioPortResponse()


def _read_gpio_port(
    resource: Resource, request: pb2.ReadGpioPortRequest
) -> pb2.ReadGpioPortResponse:
    value = resource.read_gpio_port(port=request.port)
    return pb2.ReadGpioPortResponse(value=value)
