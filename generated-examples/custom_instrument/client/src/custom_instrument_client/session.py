"""A session of the CustomInstrument service, as measurement plug-ins and TestStand use it.

Template-owned: `copier update` rewrites this file.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import grpc
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior

from .connection import ServiceConnection, ServiceIdentity, shared_connection
from .stubs import custom_instrument_pb2 as pb2
from .stubs import custom_instrument_pb2_grpc as pb2_grpc

SERVICE = ServiceIdentity(
    display_name="Custom Instrument Service",
    service_class="custom_instrument.CustomInstrumentService",
    provided_interface="custom_instrument.CustomInstrument",
    start_hint="server/start.bat on Windows, server/start.sh elsewhere",
)

# The SDK has five behaviours; the server knows three. The client keeps the rest:
# whether leaving the `with` block closes the session.
_SERVER_BEHAVIOR: dict[
    SessionInitializationBehavior, pb2.SessionInitializationBehavior.ValueType
] = {
    SessionInitializationBehavior.AUTO: pb2.SESSION_INITIALIZATION_BEHAVIOR_UNSPECIFIED,
    SessionInitializationBehavior.INITIALIZE_SERVER_SESSION: (
        pb2.SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW
    ),
    SessionInitializationBehavior.ATTACH_TO_SERVER_SESSION: (
        pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING
    ),
    SessionInitializationBehavior.INITIALIZE_SESSION_THEN_DETACH: (
        pb2.SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW
    ),
    SessionInitializationBehavior.ATTACH_TO_SESSION_THEN_CLOSE: (
        pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING
    ),
}
_CLOSE_ON_EXIT = frozenset(
    {
        SessionInitializationBehavior.INITIALIZE_SERVER_SESSION,
        SessionInitializationBehavior.ATTACH_TO_SESSION_THEN_CLOSE,
    }
)

ResponseT = TypeVar("ResponseT")
Stub = pb2_grpc.CustomInstrumentStub


class CustomInstrumentClient:
    """A session of the CustomInstrument service for one resource.

    Constructing it initializes or attaches to the server session, as
    `initialization_behavior` says. Use it in a `with` block: leaving the block
    closes the session for INITIALIZE_SERVER_SESSION and ATTACH_TO_SESSION_THEN_CLOSE,
    and for AUTO only if this client created it; otherwise it stays open for others.
    """

    def __init__(
        self,
        resource_name: str,
        initialization_behavior: SessionInitializationBehavior = SessionInitializationBehavior.AUTO,
        *,
        protocol: str = "",
        register_map_path: str = "",
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Open or attach to the session for `resource_name`.

        Args:
            resource_name: The resource, as the pin map names the instrument.
            initialization_behavior: One of the SDK's five behaviours.
            protocol: The bus the instrument is reached through: SPI, I2C or UART (any case); empty
                means SPI. Used only when this call opens the session.
            register_map_path: A CSV register map (register name, default value) as the server sees
                its path; empty: no registers. Used only when this call opens the session.
            address: Connect to `host:port` instead of asking NI Discovery Service.
            connection: A connection of your own (for example one built with a
                measurement service's discovery client and channel pool).

        Raises:
            grpc.RpcError: The server refused, with its status code and details.
            ServiceNotFoundError: NI Discovery Service does not know the service.
            ServiceUnavailableError: Nothing answers at the service's address.
        """
        if initialization_behavior not in _SERVER_BEHAVIOR:
            accepted = ", ".join(behavior.name for behavior in _SERVER_BEHAVIOR)
            raise ValueError(
                f"initialization_behavior {initialization_behavior!r} is not one of: {accepted}"
            )
        self.resource_name = resource_name
        self.initialization_behavior = SessionInitializationBehavior(initialization_behavior)
        self._connection = connection or shared_connection(SERVICE, address)
        self._stub = pb2_grpc.CustomInstrumentStub(self._connection.channel())
        request = pb2.InitializeRequest(
            resource_name=resource_name,
            initialization_behavior=_SERVER_BEHAVIOR[self.initialization_behavior],
            protocol=protocol,
            register_map_path=register_map_path,
        )
        response = self._invoke(lambda stub: stub.Initialize(request))
        self._session_name = response.session_name
        self._new_session = response.new_session
        self._closed = False

    @property
    def session_name(self) -> str:
        """The server's name for the session, shared by every client attached to it."""
        return self._session_name

    @property
    def new_session(self) -> bool:
        """Whether this client created the session (False: it attached to an open one)."""
        return self._new_session

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.resource_name!r}, "
            f"session_name={self._session_name!r}, new_session={self._new_session})"
        )

    def __enter__(self) -> CustomInstrumentClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        behavior = self.initialization_behavior
        if behavior in _CLOSE_ON_EXIT or (
            behavior == SessionInitializationBehavior.AUTO and self._new_session
        ):
            self.close()

    def close(self) -> None:
        """Close the session for every client.

        Closing again, or after another client closed it, does nothing.
        """
        if self._closed:
            return
        try:
            request = pb2.CloseRequest(session_name=self._session_name)
            self._invoke(lambda stub: stub.Close(request))
        except grpc.RpcError as error:
            if not (isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.NOT_FOUND):
                raise
        self._closed = True

    def write_register(
        self,
        *,
        register_name: str = "",
        value: int = 0,
    ) -> None:
        """Call WriteRegister; unset arguments keep the proto defaults."""
        request = pb2.WriteRegisterRequest(
            session_name=self._session_name,
            register_name=register_name,
            value=value,
        )
        self._invoke(lambda stub: stub.WriteRegister(request))

    def read_register(
        self,
        *,
        register_name: str = "",
    ) -> pb2.ReadRegisterResponse:
        """Call ReadRegister; unset arguments keep the proto defaults."""
        request = pb2.ReadRegisterRequest(
            session_name=self._session_name,
            register_name=register_name,
        )
        return self._invoke(lambda stub: stub.ReadRegister(request))

    def write_gpio_channel(
        self,
        *,
        port: int = 0,
        channel: int = 0,
        state: bool = False,
    ) -> None:
        """Call WriteGpioChannel; unset arguments keep the proto defaults."""
        request = pb2.WriteGpioChannelRequest(
            session_name=self._session_name,
            port=port,
            channel=channel,
            state=state,
        )
        self._invoke(lambda stub: stub.WriteGpioChannel(request))

    def read_gpio_channel(
        self,
        *,
        port: int = 0,
        channel: int = 0,
    ) -> pb2.ReadGpioChannelResponse:
        """Call ReadGpioChannel; unset arguments keep the proto defaults."""
        request = pb2.ReadGpioChannelRequest(
            session_name=self._session_name,
            port=port,
            channel=channel,
        )
        return self._invoke(lambda stub: stub.ReadGpioChannel(request))

    def write_gpio_port(
        self,
        *,
        port: int = 0,
        value: int = 0,
        mask: int = 0,
    ) -> None:
        """Call WriteGpioPort; unset arguments keep the proto defaults."""
        request = pb2.WriteGpioPortRequest(
            session_name=self._session_name,
            port=port,
            value=value,
            mask=mask,
        )
        self._invoke(lambda stub: stub.WriteGpioPort(request))

    def read_gpio_port(
        self,
        *,
        port: int = 0,
    ) -> pb2.ReadGpioPortResponse:
        """Call ReadGpioPort; unset arguments keep the proto defaults."""
        request = pb2.ReadGpioPortRequest(
            session_name=self._session_name,
            port=port,
        )
        return self._invoke(lambda stub: stub.ReadGpioPort(request))

    def _invoke(self, call: Callable[[Stub], ResponseT]) -> ResponseT:
        """Make `call` on the stub; UNAVAILABLE becomes ServiceUnavailableError."""
        try:
            return call(self._stub)
        except grpc.RpcError as error:
            if not (isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.UNAVAILABLE):
                raise
            if not self._connection.discovered:
                raise self._connection.unavailable(error) from error
        # The service may have restarted elsewhere: resolve it again and retry once. An
        # UNAVAILABLE call never reached a server, so sending it again is safe.
        self._connection.forget()
        self._stub = pb2_grpc.CustomInstrumentStub(self._connection.channel())
        try:
            return call(self._stub)
        except grpc.RpcError as error:
            if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.UNAVAILABLE:
                raise self._connection.unavailable(error) from error
            raise
