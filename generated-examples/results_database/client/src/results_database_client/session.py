"""A session of the ResultsDatabase service, as measurement plug-ins and TestStand use it.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. What
every service's client does alike (NI's behaviours, the close rules, the retry
after the service moved) is in session_base.py.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior
from ni_grpc_extensions.channelpool import GrpcChannelPool

from session_service_core.client.connection import ServiceConnection, ServiceIdentity
from session_service_core.client.session_base import ServiceSession, connection_for, server_behavior

from .stubs import results_database_pb2 as pb2
from .stubs import results_database_pb2_grpc as pb2_grpc

SERVICE = ServiceIdentity(
    display_name="Results Database Service",
    service_class="results_database.ResultsDatabaseService",
    provided_interface="results_database.ResultsDatabase",
    start_hint="server/start.bat on Windows, server/start.sh elsewhere",
)


class ResultsDatabaseClient(ServiceSession[pb2_grpc.ResultsDatabaseStub]):
    """A session of the ResultsDatabase service for one resource.

    Constructing it initializes or attaches to the server session, as
    `initialization_behavior` says. Use it in a `with` block: leaving the block
    closes the session for INITIALIZE_SERVER_SESSION and ATTACH_TO_SESSION_THEN_CLOSE,
    and for AUTO only if this client created it; otherwise it stays open for others.
    """

    def __init__(
        self,
        database_url: str,
        initialization_behavior: SessionInitializationBehavior = SessionInitializationBehavior.AUTO,
        *,
        discovery_client: DiscoveryClient | None = None,
        grpc_channel_pool: GrpcChannelPool | None = None,
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Open or attach to the session for `database_url`.

        Args:
            database_url: The resource, as the pin map names the instrument.
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
        super().__init__(
            database_url, initialization_behavior, connection, pb2_grpc.ResultsDatabaseStub
        )
        self.database_url = database_url
        request = pb2.OpenDatabaseRequest(
            database_url=database_url,
            initialization_behavior=pb2.SessionInitializationBehavior.ValueType(
                server_behavior(initialization_behavior)
            ),
        )
        response = self._invoke(lambda stub: stub.OpenDatabase(request))
        self._opened(response.session_name, response.new_session)

    def _close_session(self) -> None:
        request = pb2.CloseDatabaseRequest(session_name=self.session_name)
        self._invoke(lambda stub: stub.CloseDatabase(request))

    def log_result(
        self,
        *,
        measurement_name: str = "",
        timestamp: datetime.datetime | None = None,
        site: int = 0,
        pin_names: Sequence[str] | None = None,
        status: str = "",
        configurations: Mapping[str, str] | None = None,
        outputs: Mapping[str, str] | None = None,
        station: str = "",
    ) -> pb2.LogResultResponse:
        """Call LogResult; unset arguments keep the proto defaults."""
        request = pb2.LogResultRequest(
            session_name=self.session_name,
            measurement_name=measurement_name,
            site=site,
            pin_names=pin_names,
            status=status,
            configurations=configurations,
            outputs=outputs,
            station=station,
        )
        if timestamp is not None:
            request.timestamp.FromDatetime(timestamp)
        return self._invoke(lambda stub: stub.LogResult(request))

    def query_results(
        self,
        *,
        measurement_name: str = "",
        since: datetime.datetime | None = None,
        limit: int = 0,
    ) -> pb2.QueryResultsResponse:
        """Call QueryResults; unset arguments keep the proto defaults."""
        request = pb2.QueryResultsRequest(
            session_name=self.session_name,
            measurement_name=measurement_name,
            limit=limit,
        )
        if since is not None:
            request.since.FromDatetime(since)
        return self._invoke(lambda stub: stub.QueryResults(request))

    def log(
        self,
        measurement_name: str,
        *,
        status: str = "",
        configurations: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        pin_names: Sequence[str] = (),
        site: int = 0,
        timestamp: datetime.datetime | None = None,
        station: str = "",
    ) -> int:
        """Log one result row; return its id.

        Each configuration and output value is sent as its JSON text (json.dumps), so
        the database stores it as that JSON value: 5.0, true, ["SmuPin"], "text".
        Other sequences and mappings (a protobuf repeated field, a tuple) go as JSON
        arrays and objects; values JSON has no form for as their str() text.
        """

        def plain(value: Any) -> Any:  # what json.dumps cannot encode itself
            if isinstance(value, Mapping):
                return dict(value)
            if not isinstance(value, (str, bytes)):
                try:
                    return list(value)  # a protobuf repeated field, a set, an array
                except TypeError:
                    pass
            return str(value)

        def as_json(values: Mapping[str, Any] | None) -> dict[str, str]:
            return {
                name: json.dumps(value, ensure_ascii=False, default=plain)
                for name, value in (values or {}).items()
            }

        response = self.log_result(
            measurement_name=measurement_name,
            timestamp=timestamp,
            site=site,
            pin_names=pin_names,
            status=status,
            configurations=as_json(configurations),
            outputs=as_json(outputs),
            station=station,
        )
        return response.result_id

    def results(
        self,
        measurement_name: str = "",
        since: datetime.datetime | None = None,
        limit: int = 0,
    ) -> list[dict[str, Any]]:
        """Return the rows QueryResults finds (0 means 100, up to 10,000), newest first."""
        response = self.query_results(measurement_name=measurement_name, since=since, limit=limit)
        return [json.loads(row) for row in response.rows]
