"""The client's session_base.py: NI's five behaviours, the close rules, the retry after a move."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import pytest
from ni.measurementlink.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from ni.measurementlink.discovery.v1.client import DiscoveryClient, ServiceInfo, ServiceLocation
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior
from ni_grpc_extensions.channelpool import GrpcChannelPool

from local_ni_runtime.discovery import DiscoveryServicer
from session_service_core.client.connection import (
    ServiceConnection,
    ServiceIdentity,
    ServiceUnavailableError,
)
from session_service_core.client.session_base import ServiceSession, closes_on_exit, server_behavior
from session_service_core.server.errors import UnavailableError
from session_service_core.server.status import answers_errors

Behavior = SessionInitializationBehavior

# DESIGN's table: the SDK's behaviour, the server's wire value, and whether leaving
# the `with` block closes a session this client created, and one it attached to.
TABLE = [
    (Behavior.AUTO, 0, True, False),
    (Behavior.INITIALIZE_SERVER_SESSION, 1, True, True),
    (Behavior.ATTACH_TO_SERVER_SESSION, 2, False, False),
    (Behavior.INITIALIZE_SESSION_THEN_DETACH, 1, False, False),
    (Behavior.ATTACH_TO_SESSION_THEN_CLOSE, 2, True, True),
]


@pytest.mark.parametrize(("behavior", "wire", "closes_new", "closes_attached"), TABLE)
def test_each_behaviour_maps_to_the_wire_and_closes_by_nis_rules(
    behavior: SessionInitializationBehavior, wire: int, closes_new: bool, closes_attached: bool
) -> None:
    assert server_behavior(behavior) == wire
    assert closes_on_exit(behavior, new_session=True) is closes_new
    assert closes_on_exit(behavior, new_session=False) is closes_attached


def test_every_sdk_behaviour_is_in_the_table() -> None:
    assert {row[0] for row in TABLE} == set(SessionInitializationBehavior)


@pytest.mark.parametrize("value", [5, -1, 99])
def test_an_unknown_behaviour_is_refused_naming_the_accepted_ones(value: int) -> None:
    with pytest.raises(
        ValueError, match=f"initialization_behavior {value} is not one of: "
    ) as raised:
        server_behavior(value)  # type: ignore[arg-type]
    for behavior in Behavior:
        assert behavior.name in str(raised.value)


# ServiceSession's calls and close against real gRPC servers on localhost: a probe
# service with one method, found through the runtime's NI Discovery Service (run
# in-process) or at a fixed address.
PROBE = ServiceIdentity("Probe Service", "probe.ProbeService", "probe.v1", "start the probe")


class ProbeServer:
    """A gRPC server whose one method answers with its name, or with `refusal` if set.

    With `resource_unavailable`, the method raises the server's UnavailableError
    through the generated servers' own `answers_errors`, as a resource does.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.refusal: grpc.StatusCode | None = None
        self.resource_unavailable = False
        self.calls = 0
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        method: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
            self._call
        )
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("probe.Probe", {"Call": method})]
        )
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def _call(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.calls += 1
        if self.refusal is not None:
            context.abort(self.refusal, f"{self.name} refuses")
        if self.resource_unavailable:
            return self._unavailable(request, context)
        return self.name.encode()

    def open_sessions(self) -> int:
        """What answers_errors asks of a servicer."""
        return 1

    @answers_errors
    def _unavailable(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        raise UnavailableError(f"{self.name}'s instrument does not answer")

    def stop(self) -> None:
        self._server.stop(None).wait()


class ProbeStub:
    def __init__(self, channel: grpc.Channel) -> None:
        self.call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/probe.Probe/Call"
        )


class ProbeSession(ServiceSession[ProbeStub]):
    """A session as the rendered client makes one, minus the Initialize request."""

    def __init__(self, connection: ServiceConnection) -> None:
        super().__init__("probe-1", Behavior.AUTO, connection, ProbeStub)
        self._opened("probe-session", new_session=True)

    def ask(self) -> str:
        """Call the probe; return the name of the server that answered."""
        answer: bytes = self._invoke(lambda stub: stub.call(b""))
        return answer.decode()

    def _close_session(self) -> None:
        self._invoke(lambda stub: stub.call(b"close"))


class Discovery:
    """The runtime's NI Discovery Service on localhost, and a client of it."""

    def __init__(self) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        discovery_grpc.add_DiscoveryServiceServicer_to_server(DiscoveryServicer(), self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.client = DiscoveryClient(stub=discovery_grpc.DiscoveryServiceStub(self._channel))
        self._registration = ""

    def point_at(self, probe: ProbeServer) -> None:
        """Register the probe service at `probe`'s address, in place of any earlier one."""
        if self._registration:
            self.client.unregister_service(self._registration)
        info = ServiceInfo(
            service_class=PROBE.service_class,
            description_url="",
            provided_interfaces=[PROBE.provided_interface],
            display_name=PROBE.display_name,
        )
        host, port = probe.address.rsplit(":", 1)
        self._registration = self.client.register_service(info, ServiceLocation(host, port, ""))

    def stop(self) -> None:
        self._channel.close()
        self._server.stop(None).wait()


@pytest.fixture
def probes() -> Iterator[Callable[[str], ProbeServer]]:
    """Start probe servers for one test; each stops when the test ends."""
    started: list[ProbeServer] = []

    def start(name: str) -> ProbeServer:
        started.append(ProbeServer(name))
        return started[-1]

    yield start
    for probe in started:
        probe.stop()


@pytest.fixture
def pool() -> Iterator[GrpcChannelPool]:
    """The channels of one test, closed when it ends.

    A later test's probe may get a port this test's probe had; a channel left open
    would still be backing off from it, and gRPC shares that state between channels.
    """
    with GrpcChannelPool() as channels:
        yield channels


@pytest.fixture
def discovery() -> Iterator[Discovery]:
    running = Discovery()
    yield running
    running.stop()


def discovered_session(discovery: Discovery, pool: GrpcChannelPool) -> ProbeSession:
    connection = ServiceConnection(PROBE, discovery_client=discovery.client, grpc_channel_pool=pool)
    return ProbeSession(connection)


def test_a_call_follows_the_service_to_its_new_address(
    discovery: Discovery, probes: Callable[[str], ProbeServer], pool: GrpcChannelPool
) -> None:
    first = probes("first")
    discovery.point_at(first)
    session = discovered_session(discovery, pool)
    assert session.ask() == "first"
    first.stop()
    second = probes("second")
    discovery.point_at(second)
    assert session.ask() == "second"  # UNAVAILABLE at the old address, then resolved again
    assert session.ask() == "second"
    assert second.calls == 2


def test_a_service_still_gone_after_resolving_again_is_unavailable_naming_it(
    discovery: Discovery, probes: Callable[[str], ProbeServer], pool: GrpcChannelPool
) -> None:
    gone = probes("gone")
    discovery.point_at(gone)  # stays registered, as after a server that was killed
    gone.stop()
    session = discovered_session(discovery, pool)
    with pytest.raises(ServiceUnavailableError) as caught:
        session.ask()
    assert PROBE.service_class in str(caught.value) and gone.address in str(caught.value)


def test_a_refusal_after_resolving_again_is_the_servers_status(
    discovery: Discovery, probes: Callable[[str], ProbeServer], pool: GrpcChannelPool
) -> None:
    first = probes("first")
    discovery.point_at(first)
    session = discovered_session(discovery, pool)
    session.ask()
    first.stop()
    second = probes("second")
    second.refusal = grpc.StatusCode.PERMISSION_DENIED
    discovery.point_at(second)
    with pytest.raises(grpc.RpcError) as caught:
        session.ask()
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("discovered", [True, False], ids=["discovered", "fixed-address"])
def test_an_unavailable_resource_is_the_servers_status_not_an_unreachable_service(
    discovery: Discovery,
    probes: Callable[[str], ProbeServer],
    discovered: bool,
    pool: GrpcChannelPool,
) -> None:
    probe = probes("bench")
    discovery.point_at(probe)
    connection = (
        ServiceConnection(PROBE, discovery_client=discovery.client, grpc_channel_pool=pool)
        if discovered
        else ServiceConnection(PROBE, address=probe.address, grpc_channel_pool=pool)
    )
    session = ProbeSession(connection)
    probe.resource_unavailable = True
    with pytest.raises(grpc.RpcError) as caught:
        session.ask()
    assert not isinstance(caught.value, ServiceUnavailableError)
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details() == "bench's instrument does not answer"
    assert probe.calls == 1  # it reached the service: not sent again
    probe.resource_unavailable = False
    assert session.ask() == "bench"  # the same connection serves on


def test_a_fixed_address_that_stops_answering_is_unavailable_naming_it(
    probes: Callable[[str], ProbeServer], pool: GrpcChannelPool
) -> None:
    probe = probes("fixed")
    session = ProbeSession(ServiceConnection(PROBE, address=probe.address, grpc_channel_pool=pool))
    assert session.ask() == "fixed"
    probe.stop()
    with pytest.raises(ServiceUnavailableError, match=probe.address):
        session.ask()


def test_close_raises_a_refusal_other_than_not_found_and_can_be_retried(
    probes: Callable[[str], ProbeServer], pool: GrpcChannelPool
) -> None:
    probe = probes("refusing")
    session = ProbeSession(ServiceConnection(PROBE, address=probe.address, grpc_channel_pool=pool))
    probe.refusal = grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as caught:
        session.close()
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    probe.refusal = None
    session.close()  # still open: this close is sent
    assert probe.calls == 2


def test_close_after_not_found_or_once_closed_sends_nothing(
    probes: Callable[[str], ProbeServer], pool: GrpcChannelPool
) -> None:
    probe = probes("closing")
    session = ProbeSession(ServiceConnection(PROBE, address=probe.address, grpc_channel_pool=pool))
    probe.refusal = grpc.StatusCode.NOT_FOUND  # another client closed it first
    session.close()
    session.close()
    assert probe.calls == 1
    probe.stop()
    session.close()  # the service is gone, and the session closed: nothing to send
