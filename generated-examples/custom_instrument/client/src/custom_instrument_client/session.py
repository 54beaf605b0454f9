"""A session of the CustomInstrument service, as measurement plug-ins and TestStand use it.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. What
every service's client does alike (NI's behaviours, the close rules, the retry
after the service moved) is in session_base.py.
"""

from __future__ import annotations

from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior
from ni_grpc_extensions.channelpool import GrpcChannelPool

from session_service_core.client.connection import ServiceConnection, ServiceIdentity
from session_service_core.client.session_base import ServiceSession, connection_for, server_behavior

from .stubs import custom_instrument_pb2 as pb2
from .stubs import custom_instrument_pb2_grpc as pb2_grpc

SERVICE = ServiceIdentity(
    display_name="Custom Instrument Service",
    service_class="custom_instrument.CustomInstrumentService",
    provided_interface="custom_instrument.CustomInstrument",
    start_hint="server/start.bat on Windows, server/start.sh elsewhere",
)


class CustomInstrumentClient(ServiceSession[pb2_grpc.CustomInstrumentStub]):
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
        discovery_client: DiscoveryClient | None = None,
        grpc_channel_pool: GrpcChannelPool | None = None,
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
            discovery_client: Resolve the service with this client (a measurement
                service's own), as NI's driver session constructors do.
            grpc_channel_pool: Take the channel from this pool (a measurement
                service's own).
            address: Connect to `host:port` instead of asking NI Discovery Service.
            connection: A connection of your own.

        Raises:
            grpc.RpcError: The server refused, with its status code and details.
            ServiceNotFoundError: NI Discovery Service does not know the service.
            ServiceUnavailableError: Nothing answers at the service's address.
        """
        connection = connection_for(
            SERVICE,
            address=address,
            discovery_client=discovery_client,
            grpc_channel_pool=grpc_channel_pool,
            connection=connection,
        )
        super().__init__(
            resource_name, initialization_behavior, connection, pb2_grpc.CustomInstrumentStub
        )
        self.resource_name = resource_name
        request = pb2.InitializeRequest(
            resource_name=resource_name,
            initialization_behavior=pb2.SessionInitializationBehavior.ValueType(
                server_behavior(initialization_behavior)
            ),
            protocol=protocol,
            register_map_path=register_map_path,
        )
        response = self._invoke(lambda stub: stub.Initialize(request))
        self._opened(response.session_name, response.new_session)

    def _close_session(self) -> None:
        request = pb2.CloseRequest(session_name=self.session_name)
        self._invoke(lambda stub: stub.Close(request))

    def write_register(
        self,
        *,
        register_name: str = "",
        value: int = 0,
    ) -> None:
        """Call WriteRegister; unset arguments keep the proto defaults."""
        request = pb2.WriteRegisterRequest(
            session_name=self.session_name,
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
            session_name=self.session_name,
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
            session_name=self.session_name,
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
            session_name=self.session_name,
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
            session_name=self.session_name,
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
            session_name=self.session_name,
            port=port,
        )
        return self._invoke(lambda stub: stub.ReadGpioPort(request))
