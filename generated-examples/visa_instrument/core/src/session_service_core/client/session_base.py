"""What every session client does the same way, whatever the service's RPCs.

The rendered session.py
subclasses ServiceSession with the proto's own requests; here are NI's five
initialization behaviours mapped to the server's three, the rules for when
leaving a `with` block closes the session, and the one retry after the service
has moved.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc
from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior
from ni_grpc_extensions.channelpool import GrpcChannelPool

from .connection import ServiceConnection, ServiceIdentity, shared_connection, unreachable

Behavior = SessionInitializationBehavior
# The server's SessionInitializationBehavior values on the wire (DESIGN's table):
# UNSPECIFIED 0, INITIALIZE_NEW 1, ATTACH_TO_EXISTING 2. The SDK has five
# behaviours; the client keeps what the server does not need to know: whether
# leaving the `with` block closes the session.
SERVER_BEHAVIOR: dict[SessionInitializationBehavior, int] = {
    Behavior.AUTO: 0,
    Behavior.INITIALIZE_SERVER_SESSION: 1,
    Behavior.ATTACH_TO_SERVER_SESSION: 2,
    Behavior.INITIALIZE_SESSION_THEN_DETACH: 1,
    Behavior.ATTACH_TO_SESSION_THEN_CLOSE: 2,
}
CLOSE_ON_EXIT = frozenset(
    {Behavior.INITIALIZE_SERVER_SESSION, Behavior.ATTACH_TO_SESSION_THEN_CLOSE}
)

StubT = TypeVar("StubT")
ResponseT = TypeVar("ResponseT")
SessionT = TypeVar("SessionT", bound="ServiceSession[Any]")


def server_behavior(initialization_behavior: SessionInitializationBehavior) -> int:
    """Return the server's wire value for one of the SDK's behaviours; ValueError for others."""
    try:
        return SERVER_BEHAVIOR[SessionInitializationBehavior(initialization_behavior)]
    except (KeyError, ValueError):
        accepted = ", ".join(behavior.name for behavior in SERVER_BEHAVIOR)
        raise ValueError(
            f"initialization_behavior {initialization_behavior!r} is not one of: {accepted}"
        ) from None


def closes_on_exit(
    initialization_behavior: SessionInitializationBehavior, new_session: bool
) -> bool:
    """Tell whether leaving the `with` block closes the session (NI's rules)."""
    return initialization_behavior in CLOSE_ON_EXIT or (
        initialization_behavior == Behavior.AUTO and new_session
    )


def connection_for(
    identity: ServiceIdentity,
    *,
    address: str | None,
    discovery_client: DiscoveryClient | None,
    grpc_channel_pool: GrpcChannelPool | None,
    connection: ServiceConnection | None,
) -> ServiceConnection:
    """Return the connection a session uses: the one given, else this process's shared one."""
    if connection is not None:
        return connection
    return shared_connection(identity, address, discovery_client, grpc_channel_pool)


class ServiceSession(Generic[StubT]):
    """One session of the service: opened by the subclass, closed by NI's rules.

    A subclass builds its Initialize request with `server_behavior(...)`, sends
    it through `_invoke`, hands the response to `_opened`, and implements
    `_close_session` with its Close request.
    """

    def __init__(
        self,
        resource_name: str,
        initialization_behavior: SessionInitializationBehavior,
        connection: ServiceConnection,
        stub_type: Callable[[grpc.Channel], StubT],
    ) -> None:
        server_behavior(initialization_behavior)  # refuse an unknown behaviour before any call
        self.initialization_behavior = SessionInitializationBehavior(initialization_behavior)
        self._resource_name = resource_name
        self._connection = connection
        self._stub_type = stub_type
        self._stub = stub_type(connection.channel())
        self._session_name = ""
        self._new_session = False
        self._closed = True  # nothing to close before _opened

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
            f"{type(self).__name__}({self._resource_name!r}, "
            f"session_name={self._session_name!r}, new_session={self._new_session})"
        )

    def __enter__(self: SessionT) -> SessionT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if closes_on_exit(self.initialization_behavior, self._new_session):
            self.close()

    def close(self) -> None:
        """Close the session for every client.

        Closing again, or after another client closed it, does nothing.
        """
        if self._closed:
            return
        try:
            self._close_session()
        except grpc.RpcError as error:
            if not (isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.NOT_FOUND):
                raise
        self._closed = True

    def _opened(self, session_name: str, new_session: bool) -> None:
        """Record the session the server opened or attached this client to."""
        self._session_name = session_name
        self._new_session = new_session
        self._closed = False

    def _close_session(self) -> None:
        """Send the service's Close request for this session."""
        raise NotImplementedError

    def _invoke(self, call: Callable[[StubT], ResponseT]) -> ResponseT:
        """Make `call` on the stub; no server answering becomes ServiceUnavailableError.

        An UNAVAILABLE the service answered itself (its resource is unavailable)
        is raised as it came, like every other status.
        """
        try:
            return call(self._stub)
        except grpc.RpcError as error:
            if not unreachable(error):
                raise
            if not self._connection.discovered:
                raise self._connection.unavailable(error) from error
        # The service may have restarted elsewhere: resolve it again and retry once. The
        # call never reached a server, so sending it again is safe.
        self._connection.forget()
        self._stub = self._stub_type(self._connection.channel())
        try:
            return call(self._stub)
        except grpc.RpcError as error:
            if unreachable(error):
                raise self._connection.unavailable(error) from error
            raise
