"""Finding and reaching the service: through NI Discovery Service, or at a given address.

The location is resolved once and the channel comes from a
channel pool, so a plug-in that opens a session per measurement pays for neither
again. Nothing here touches the network until the first call.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import grpc
from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni_grpc_extensions.channelpool import GrpcChannelPool

from .. import local_runtime


class ServiceIdentity(NamedTuple):
    """How NI Discovery Service knows the service, and how to start it."""

    display_name: str
    service_class: str
    provided_interface: str
    start_hint: str

    def describe(self) -> str:
        """Name the service the way an error message should."""
        return (
            f"{self.display_name} (service class {self.service_class!r}, "
            f"interface {self.provided_interface!r})"
        )


class ServiceNotFoundError(RuntimeError):
    """NI Discovery Service could not tell where the service listens."""


class ServiceUnavailableError(ConnectionError):
    """The service's address is known but nothing answers there."""


# The server's status.py puts this in the trailing metadata of every status it
# answers with itself.
ANSWERED_KEY = "session-service-answered"


def unreachable(error: grpc.RpcError) -> bool:
    """Whether `error` is gRPC's own UNAVAILABLE (no server answered), safe to send again.

    An UNAVAILABLE the service answered itself (its resource is unavailable) is not:
    the call reached the service, and its status is the caller's to see.
    """
    if not (isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.UNAVAILABLE):
        return False
    return not any(key == ANSWERED_KEY for key, _ in error.trailing_metadata() or ())


class ServiceConnection:
    """A channel to the service, found once and shared; thread-safe."""

    def __init__(
        self,
        identity: ServiceIdentity,
        *,
        address: str | None = None,
        discovery_client: DiscoveryClient | None = None,
        grpc_channel_pool: GrpcChannelPool | None = None,
    ) -> None:
        """Reach the service at `address`, or wherever NI Discovery Service says it is."""
        self.identity = identity
        self._fixed_address = address
        self._discovery_client = discovery_client
        self._pool = grpc_channel_pool
        self._lock = threading.Lock()
        self._address: str | None = None
        self._channel: grpc.Channel | None = None

    @property
    def address(self) -> str | None:
        """The address in use, once known."""
        return self._address

    def channel(self) -> grpc.Channel:
        """Return the channel, resolving the service's location on first use."""
        with self._lock:
            if self._channel is None:
                if self._pool is None:
                    self._pool = GrpcChannelPool()
                address = self._fixed_address or self._resolve()
                self._channel = self._pool.get_channel(address)
                self._address = address
            return self._channel

    @property
    def discovered(self) -> bool:
        """Whether the address comes from NI Discovery Service (and may move)."""
        return self._fixed_address is None

    def forget(self) -> None:
        """Drop the resolved location: the next channel() asks NI Discovery Service again."""
        with self._lock:
            self._channel = None

    def unavailable(self, error: grpc.RpcError) -> ServiceUnavailableError:
        """Describe an UNAVAILABLE call, and look the service up again next time."""
        with self._lock:
            address, self._channel = self._address, None
        return ServiceUnavailableError(
            f"{self.identity.describe()} is not reachable at {address}: {_details(error)}. "
            f"Start it ({self.identity.start_hint}) and try again."
        )

    def _resolve(self) -> str:
        if self._discovery_client is None:
            self._discovery_client = DiscoveryClient(grpc_channel_pool=self._pool)
        try:
            location = self._discovery_client.resolve_service(
                provided_interface=self.identity.provided_interface,
                service_class=self.identity.service_class,
            )
        except (grpc.RpcError, OSError, NotImplementedError, RuntimeError) as error:
            raise ServiceNotFoundError(
                f"NI Discovery Service could not locate {self.identity.describe()}: "
                f"{type(error).__name__}: {_details(error)}. Start the service "
                f"({self.identity.start_hint}), or pass address='host:port' to connect "
                f"directly.{local_runtime.hint()}"
            ) from error
        return location.insecure_address


def _details(error: BaseException) -> str:
    if isinstance(error, grpc.Call):
        return f"{error.code().name}: {error.details()}"
    return str(error) or type(error).__name__


_shared_lock = threading.Lock()
_shared_pool: GrpcChannelPool | None = None
_SharedKey = tuple[
    ServiceIdentity, "str | None", "DiscoveryClient | None", "GrpcChannelPool | None"
]
_shared: dict[_SharedKey, ServiceConnection] = {}


def shared_connection(
    identity: ServiceIdentity,
    address: str | None = None,
    discovery_client: DiscoveryClient | None = None,
    grpc_channel_pool: GrpcChannelPool | None = None,
) -> ServiceConnection:
    """Return this process's connection to the service, resolved once and reused.

    Args:
        identity: The service.
        address: Connect to `host:port` instead of asking NI Discovery Service.
        discovery_client: Ask this discovery client (a measurement service's own)
            instead of one made here.
        grpc_channel_pool: Take channels from this pool (a measurement service's
            own) instead of the one this process shares.

    Every client and constructor of the process that passes the same arguments
    shares the connection, so the service is resolved once, not once per session.
    """
    global _shared_pool
    key: _SharedKey = (identity, address, discovery_client, grpc_channel_pool)
    with _shared_lock:
        connection = _shared.get(key)
        if connection is None:
            pool = grpc_channel_pool
            if pool is None:
                if _shared_pool is None:
                    _shared_pool = GrpcChannelPool()
                pool = _shared_pool
            connection = ServiceConnection(
                identity, address=address, discovery_client=discovery_client, grpc_channel_pool=pool
            )
            _shared[key] = connection
        return connection
