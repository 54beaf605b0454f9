"""The client package against a real server process: the five behaviours and their exit rules."""

from __future__ import annotations

import socket
from collections.abc import Callable

import grpc
import pytest
from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.discovery.v1.discovery_service_pb2_grpc import DiscoveryServiceStub
from ni.measurementlink.sessionmanagement.v1.client import (
    SessionInformation,
    SessionInitializationBehavior,
)

from custom_instrument_client import (
    CUSTOM_INSTRUMENT_INSTRUMENT_TYPE,
    CustomInstrumentClient,
    CustomInstrumentSessionConstructor,
    ServiceConnection,
    ServiceNotFoundError,
    ServiceUnavailableError,
)
from custom_instrument_client.session import SERVICE
from custom_instrument_client.stubs import custom_instrument_pb2_grpc as pb2_grpc

from support import ATTACH_TO_EXISTING, ServerProcess, initialize, status_of

Behavior = SessionInitializationBehavior
Stub = pb2_grpc.CustomInstrumentStub
NewResource = Callable[[], str]


def is_open(stub: Stub, resource: str) -> bool:
    """Ask the server whether a session is open for `resource`, without opening one."""
    try:
        initialize(stub, resource, ATTACH_TO_EXISTING)
    except grpc.RpcError as error:
        assert isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.NOT_FOUND
        return False
    return True


def client(
    server: ServerProcess,
    resource: str,
    behavior: Behavior,
) -> CustomInstrumentClient:
    return CustomInstrumentClient(resource, behavior, address=server.address)


@pytest.mark.parametrize(
    ("behavior", "closes"),
    [
        (Behavior.AUTO, True),
        (Behavior.INITIALIZE_SERVER_SESSION, True),
        (Behavior.INITIALIZE_SESSION_THEN_DETACH, False),
    ],
)
def test_initializing_behaviors_and_their_exit(
    server: ServerProcess, stub: Stub, new_resource: NewResource, behavior: Behavior, closes: bool
) -> None:
    resource = new_resource()
    with client(server, resource, behavior) as session:
        assert session.new_session
        assert is_open(stub, resource)
    assert is_open(stub, resource) is not closes
    if not closes:
        # A second client (a later step) finds the session and can use it.
        with client(server, resource, Behavior.AUTO) as later:
            assert (later.session_name, later.new_session) == (session.session_name, False)


@pytest.mark.parametrize(
    ("behavior", "closes"),
    [
        (Behavior.AUTO, False),
        (Behavior.ATTACH_TO_SERVER_SESSION, False),
        (Behavior.ATTACH_TO_SESSION_THEN_CLOSE, True),
    ],
)
def test_attaching_behaviors_and_their_exit(
    server: ServerProcess, stub: Stub, new_resource: NewResource, behavior: Behavior, closes: bool
) -> None:
    resource = new_resource()
    owner = client(server, resource, Behavior.INITIALIZE_SESSION_THEN_DETACH)
    with client(server, resource, behavior) as session:
        assert (session.session_name, session.new_session) == (owner.session_name, False)
    assert is_open(stub, resource) is not closes


def test_two_auto_clients_share_and_only_the_creator_closes(
    server: ServerProcess, stub: Stub, new_resource: NewResource
) -> None:
    resource = new_resource()
    with client(server, resource, Behavior.AUTO) as creator:
        with client(server, resource, Behavior.AUTO) as sharer:
            assert sharer.session_name == creator.session_name
            assert creator.new_session and not sharer.new_session
        assert is_open(stub, resource)
    assert not is_open(stub, resource)


@pytest.mark.parametrize(
    ("behavior", "code"),
    [
        (Behavior.INITIALIZE_SERVER_SESSION, grpc.StatusCode.ALREADY_EXISTS),
        (Behavior.INITIALIZE_SESSION_THEN_DETACH, grpc.StatusCode.ALREADY_EXISTS),
    ],
)
def test_initialize_on_an_open_session_raises_the_servers_status(
    server: ServerProcess, new_resource: NewResource, behavior: Behavior, code: grpc.StatusCode
) -> None:
    resource = new_resource()
    with client(server, resource, Behavior.AUTO):
        error = status_of(lambda: client(server, resource, behavior))
        assert error.code() == code


@pytest.mark.parametrize(
    "behavior", [Behavior.ATTACH_TO_SERVER_SESSION, Behavior.ATTACH_TO_SESSION_THEN_CLOSE]
)
def test_attach_without_a_session_is_not_found(
    server: ServerProcess, new_resource: NewResource, behavior: Behavior
) -> None:
    error = status_of(lambda: client(server, new_resource(), behavior))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_closing_twice_or_after_another_client_is_harmless(
    server: ServerProcess, stub: Stub, new_resource: NewResource
) -> None:
    resource = new_resource()
    first = client(server, resource, Behavior.AUTO)
    second = client(server, resource, Behavior.AUTO)
    first.close()
    first.close()
    second.close()
    assert not is_open(stub, resource)


def test_unknown_behavior_is_refused_before_any_call(server: ServerProcess) -> None:
    with pytest.raises(ValueError, match="ATTACH_TO_SESSION_THEN_CLOSE"):
        CustomInstrumentClient("anything", 7, address=server.address)  # type: ignore[arg-type]


def test_unreachable_service_says_which_and_how_to_start(new_resource: NewResource) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once closed
    with pytest.raises(ServiceUnavailableError) as caught:
        CustomInstrumentClient(new_resource(), address=address)
    message = str(caught.value)
    for expected in (SERVICE.display_name, SERVICE.service_class, SERVICE.provided_interface):
        assert expected in message
    assert address in message and "start.bat" in message


def test_service_unknown_to_discovery_says_what_to_do(new_resource: NewResource) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{probe.getsockname()[1]}"
    # A discovery client whose NI Discovery Service does not answer.
    discovery = DiscoveryClient(stub=DiscoveryServiceStub(grpc.insecure_channel(nowhere)))
    connection = ServiceConnection(SERVICE, discovery_client=discovery)
    with pytest.raises(ServiceNotFoundError) as caught:
        CustomInstrumentClient(new_resource(), connection=connection)
    message = str(caught.value)
    assert SERVICE.service_class in message and "address=" in message


def test_constructor_builds_clients_from_session_information(
    server: ServerProcess, stub: Stub, new_resource: NewResource
) -> None:
    resource = new_resource()
    info = SessionInformation(
        session_name="pin-session",
        resource_name=resource,
        channel_list="0",
        instrument_type_id=CUSTOM_INSTRUMENT_INSTRUMENT_TYPE,
        session_exists=False,
        channel_mappings=[],
    )
    setup = CustomInstrumentSessionConstructor(
        Behavior.INITIALIZE_SESSION_THEN_DETACH, address=server.address
    )
    with setup(info) as first:
        assert first.resource_name == resource and first.new_session
    step = CustomInstrumentSessionConstructor(address=server.address)
    with step(info) as second:
        assert second.session_name == first.session_name and not second.new_session
    cleanup = CustomInstrumentSessionConstructor(
        Behavior.ATTACH_TO_SESSION_THEN_CLOSE, address=server.address
    )
    with cleanup(info):
        pass
    assert not is_open(stub, resource)


def test_clients_share_one_connection_per_address(
    server: ServerProcess, new_resource: NewResource
) -> None:
    first = client(server, new_resource(), Behavior.AUTO)
    second = client(server, new_resource(), Behavior.AUTO)
    assert first._connection is second._connection  # noqa: SLF001  (the point of the test)
    assert first._connection.channel() is second._connection.channel()  # noqa: SLF001
    first.close()
    second.close()
