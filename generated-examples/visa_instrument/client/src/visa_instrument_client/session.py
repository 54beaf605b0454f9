"""A session of the VisaInstrument service, as measurement plug-ins and TestStand use it.

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

from .stubs import visa_instrument_pb2 as pb2
from .stubs import visa_instrument_pb2_grpc as pb2_grpc

SERVICE = ServiceIdentity(
    display_name="VISA Instrument Service",
    service_class="visa_instrument.VisaInstrumentService",
    provided_interface="visa_instrument.VisaInstrument",
    start_hint="server/start.bat on Windows, server/start.sh elsewhere",
)


class VisaInstrumentClient(ServiceSession[pb2_grpc.VisaInstrumentStub]):
    """A session of the VisaInstrument service for one resource.

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
        backend: str = "",
        timeout_milliseconds: int = 0,
        read_termination: str = "",
        write_termination: str = "",
        discovery_client: DiscoveryClient | None = None,
        grpc_channel_pool: GrpcChannelPool | None = None,
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Open or attach to the session for `resource_name`.

        Args:
            resource_name: The resource, as the pin map names the instrument.
            initialization_behavior: One of the SDK's five behaviours.
            backend: The pyvisa backend: empty is the server's default (NI-VISA), @py or
                FILE.yaml@sim. Used only when this call opens the session.
            timeout_milliseconds: How long one read or write may take before DEADLINE_EXCEEDED, 1 to
                600000 ms; 0 means 2000. Used only when this call opens the session.
            read_termination: What ends the instrument's answers: LF, CR, CRLF or NONE (END only);
                empty means LF. Used only when this call opens the session.
            write_termination: What the server appends to each command: LF, CR, CRLF or NONE; empty
                means LF. Used only when this call opens the session.
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
            resource_name, initialization_behavior, connection, pb2_grpc.VisaInstrumentStub
        )
        self.resource_name = resource_name
        request = pb2.InitializeRequest(
            resource_name=resource_name,
            initialization_behavior=pb2.SessionInitializationBehavior.ValueType(
                server_behavior(initialization_behavior)
            ),
            backend=backend,
            timeout_milliseconds=timeout_milliseconds,
            read_termination=read_termination,
            write_termination=write_termination,
        )
        response = self._invoke(lambda stub: stub.Initialize(request))
        self._opened(response.session_name, response.new_session)

    def _close_session(self) -> None:
        request = pb2.CloseRequest(session_name=self.session_name)
        self._invoke(lambda stub: stub.Close(request))

    def write(
        self,
        *,
        command: str = "",
    ) -> None:
        """Call Write; unset arguments keep the proto defaults."""
        request = pb2.WriteRequest(
            session_name=self.session_name,
            command=command,
        )
        self._invoke(lambda stub: stub.Write(request))

    def query(
        self,
        *,
        command: str = "",
    ) -> pb2.QueryResponse:
        """Call Query; unset arguments keep the proto defaults."""
        request = pb2.QueryRequest(
            session_name=self.session_name,
            command=command,
        )
        return self._invoke(lambda stub: stub.Query(request))

    def read(
        self,
    ) -> pb2.ReadResponse:
        """Call Read; unset arguments keep the proto defaults."""
        request = pb2.ReadRequest(
            session_name=self.session_name,
        )
        return self._invoke(lambda stub: stub.Read(request))

    def read_binary_values(
        self,
        *,
        command: str = "",
        datatype: str = "",
        big_endian: bool = False,
    ) -> pb2.ReadBinaryValuesResponse:
        """Call ReadBinaryValues; unset arguments keep the proto defaults."""
        request = pb2.ReadBinaryValuesRequest(
            session_name=self.session_name,
            command=command,
            datatype=datatype,
            big_endian=big_endian,
        )
        return self._invoke(lambda stub: stub.ReadBinaryValues(request))

    def clear(
        self,
    ) -> None:
        """Call Clear; unset arguments keep the proto defaults."""
        request = pb2.ClearRequest(
            session_name=self.session_name,
        )
        self._invoke(lambda stub: stub.Clear(request))

    def reset(
        self,
    ) -> None:
        """Call Reset; unset arguments keep the proto defaults."""
        request = pb2.ResetRequest(
            session_name=self.session_name,
        )
        self._invoke(lambda stub: stub.Reset(request))

    def identify(
        self,
    ) -> pb2.IdentifyResponse:
        """Call Identify; unset arguments keep the proto defaults."""
        request = pb2.IdentifyRequest(
            session_name=self.session_name,
        )
        return self._invoke(lambda stub: stub.Identify(request))
