"""The ResultsDatabase servicer: sessions from the registry, work from the resource.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. Each
handler finds the session, unpacks the request into the resource method's
keyword arguments and packs what it returns into the response; the core's
status.py turns what it raises into the status the client sees.
"""

from __future__ import annotations

import grpc

from results_database_client.stubs import results_database_pb2 as pb2
from results_database_client.stubs import results_database_pb2_grpc as pb2_grpc
from session_service_core.server.arguments import moment
from session_service_core.server.errors import InvalidArgumentError
from session_service_core.server.limits import ensure_descriptor_headroom
from session_service_core.server.sessions import SessionRegistry
from session_service_core.server.status import answers_errors

from .resource import ResultsDatabaseResource as Resource


class ResultsDatabaseServicer(pb2_grpc.ResultsDatabaseServicer):
    """Answers the ResultsDatabase RPCs; one instance serves every client."""

    def __init__(self, registry: SessionRegistry[Resource]) -> None:
        self._registry = registry

    def open_sessions(self) -> int:
        """Return the number of open sessions."""
        return len(self._registry)

    @answers_errors
    def OpenDatabase(
        self, request: pb2.OpenDatabaseRequest, context: grpc.ServicerContext
    ) -> pb2.OpenDatabaseResponse:
        """Open a session for the named resource, or attach to the open one."""
        name = request.database_url
        if not name.strip():
            raise InvalidArgumentError(
                "database_url is empty; name the resource to open "
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
        return pb2.OpenDatabaseResponse(session_name=session.name, new_session=new_session)

    @answers_errors
    def LogResult(
        self, request: pb2.LogResultRequest, context: grpc.ServicerContext
    ) -> pb2.LogResultResponse:
        """Run LogResult on the session's resource."""
        return self._registry.call(request.session_name, _log_result, request)

    @answers_errors
    def QueryResults(
        self, request: pb2.QueryResultsRequest, context: grpc.ServicerContext
    ) -> pb2.QueryResultsResponse:
        """Run QueryResults on the session's resource."""
        return self._registry.call(request.session_name, _query_results, request)

    @answers_errors
    def CloseDatabase(
        self, request: pb2.CloseDatabaseRequest, context: grpc.ServicerContext
    ) -> pb2.CloseDatabaseResponse:
        """Close the session for every client attached to it."""
        self._registry.close(request.session_name)
        return pb2.CloseDatabaseResponse()


def _in_session(resource: Resource, session_name: str) -> Resource:
    """Tell a resource just opened the name its session has."""
    resource.session_name = session_name
    return resource


def _log_result(resource: Resource, request: pb2.LogResultRequest) -> pb2.LogResultResponse:
    value = resource.log_result(
        measurement_name=request.measurement_name,
        timestamp=moment("timestamp", request.timestamp) if request.HasField("timestamp") else None,
        site=request.site,
        pin_names=request.pin_names,
        status=request.status,
        configurations=request.configurations,
        outputs=request.outputs,
        station=request.station,
    )
    return pb2.LogResultResponse(result_id=value)


def _query_results(
    resource: Resource, request: pb2.QueryResultsRequest
) -> pb2.QueryResultsResponse:
    value = resource.query_results(
        measurement_name=request.measurement_name,
        since=moment("since", request.since) if request.HasField("since") else None,
        limit=request.limit,
    )
    return pb2.QueryResultsResponse(rows=value)
