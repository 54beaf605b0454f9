"""A session of the JsonLogger service, as measurement plug-ins and TestStand use it.

Template-owned: `copier update` rewrites this file.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TypeVar

import grpc
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior

from .connection import ServiceConnection, ServiceIdentity, shared_connection
from .stubs import json_logger_pb2 as pb2
from .stubs import json_logger_pb2_grpc as pb2_grpc

SERVICE = ServiceIdentity(
    display_name="JSON Logger Service",
    service_class="ni.logger.JSONLogService",
    provided_interface="ni.logger.v1.json",
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
Stub = pb2_grpc.JsonLoggerStub


class JsonLoggerClient:
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
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Open or attach to the session for `file_path`.

        Args:
            file_path: The resource, as the pin map names the instrument.
            initialization_behavior: One of the SDK's five behaviours.
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
        self.file_path = file_path
        self.initialization_behavior = SessionInitializationBehavior(initialization_behavior)
        self._connection = connection or shared_connection(SERVICE, address)
        self._stub = pb2_grpc.JsonLoggerStub(self._connection.channel())
        request = pb2.InitializeFileRequest(
            file_path=file_path,
            initialization_behavior=_SERVER_BEHAVIOR[self.initialization_behavior],
        )
        response = self._invoke(lambda stub: stub.InitializeFile(request))
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
            f"{type(self).__name__}({self.file_path!r}, "
            f"session_name={self._session_name!r}, new_session={self._new_session})"
        )

    def __enter__(self) -> JsonLoggerClient:
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
            request = pb2.CloseFileRequest(session_name=self._session_name)
            self._invoke(lambda stub: stub.CloseFile(request))
        except grpc.RpcError as error:
            if not (isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.NOT_FOUND):
                raise
        self._closed = True

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
            session_name=self._session_name,
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
        self._stub = pb2_grpc.JsonLoggerStub(self._connection.channel())
        try:
            return call(self._stub)
        except grpc.RpcError as error:
            if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.UNAVAILABLE:
                raise self._connection.unavailable(error) from error
            raise
