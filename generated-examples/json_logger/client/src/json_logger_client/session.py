"""A session of the JsonLogger service, as measurement plug-ins and TestStand use it.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. What
every service's client does alike (NI's behaviours, the close rules, the retry
after the service moved) is in session_base.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior
from ni_grpc_extensions.channelpool import GrpcChannelPool

from session_service_core.client.connection import ServiceConnection, ServiceIdentity
from session_service_core.client.session_base import ServiceSession, connection_for, server_behavior

from .stubs import json_logger_pb2 as pb2
from .stubs import json_logger_pb2_grpc as pb2_grpc

SERVICE = ServiceIdentity(
    display_name="JSON Logger Service",
    service_class="ni.logger.JSONLogService",
    provided_interface="ni.logger.v1.json",
    start_hint="server/start.bat on Windows, server/start.sh elsewhere",
)


class JsonLoggerClient(ServiceSession[pb2_grpc.JsonLoggerStub]):
    """A session of the JsonLogger service for one resource.

    Constructing it initializes or attaches to the server session, as
    `initialization_behavior` says. Use it in a `with` block: leaving the block
    closes the session for INITIALIZE_SERVER_SESSION and ATTACH_TO_SESSION_THEN_CLOSE,
    and for AUTO only if this client created it; otherwise it stays open for others.
    """

    def __init__(
        self,
        file_path: str,
        initialization_behavior: SessionInitializationBehavior = SessionInitializationBehavior.AUTO,
        *,
        discovery_client: DiscoveryClient | None = None,
        grpc_channel_pool: GrpcChannelPool | None = None,
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Open or attach to the session for `file_path`.

        Args:
            file_path: The resource, as the pin map names the instrument.
            initialization_behavior: One of the SDK's five behaviours.
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
        super().__init__(file_path, initialization_behavior, connection, pb2_grpc.JsonLoggerStub)
        self.file_path = file_path
        request = pb2.InitializeFileRequest(
            file_path=file_path,
            initialization_behavior=pb2.SessionInitializationBehavior.ValueType(
                server_behavior(initialization_behavior)
            ),
        )
        response = self._invoke(lambda stub: stub.InitializeFile(request))
        self._opened(response.session_name, response.new_session)

    def _close_session(self) -> None:
        request = pb2.CloseFileRequest(session_name=self.session_name)
        self._invoke(lambda stub: stub.CloseFile(request))

    def log_measurement_data(
        self,
        *,
        measurement_name: str = "",
        timestamp: datetime.datetime | None = None,
        measurement_configurations: Mapping[str, str] | None = None,
        measurement_outputs: Mapping[str, str] | None = None,
    ) -> None:
        """Call LogMeasurementData; unset arguments keep the proto defaults."""
        request = pb2.LogMeasurementDataRequest(
            session_name=self.session_name,
            measurement_name=measurement_name,
            measurement_configurations=measurement_configurations,
            measurement_outputs=measurement_outputs,
        )
        if timestamp is not None:
            request.timestamp.FromDatetime(timestamp)
        self._invoke(lambda stub: stub.LogMeasurementData(request))

    def log_data(
        self,
        measurement_name: str,
        configurations: Mapping[str, str],
        outputs: Mapping[str, str],
    ) -> None:
        """Log one record, stamped with the current UTC time."""
        self.log_measurement_data(
            measurement_name=measurement_name,
            timestamp=datetime.datetime.now(datetime.timezone.utc),
            measurement_configurations=configurations,
            measurement_outputs=outputs,
        )
