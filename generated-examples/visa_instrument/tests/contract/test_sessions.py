"""The session contract every resource gets: NI's behaviour table, close rules and errors."""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc
import pytest

from visa_instrument_client.stubs import visa_instrument_pb2 as pb2
from visa_instrument_client.stubs import visa_instrument_pb2_grpc as pb2_grpc

from support import (
    ATTACH_TO_EXISTING,
    INITIALIZE_NEW,
    UNSPECIFIED,
    ServerProcess,
    close,
    connect,
    initialize,
    status_of,
)

Stub = pb2_grpc.VisaInstrumentStub
NewResource = Callable[[], str]


def test_unspecified_opens_when_none_is_open(stub: Stub, new_resource: NewResource) -> None:
    response = initialize(stub, new_resource(), UNSPECIFIED)
    assert response.new_session
    assert response.session_name


def test_unspecified_attaches_to_the_open_session(stub: Stub, new_resource: NewResource) -> None:
    resource = new_resource()
    opened = initialize(stub, resource, INITIALIZE_NEW)
    attached = initialize(stub, resource, UNSPECIFIED)
    assert (attached.session_name, attached.new_session) == (opened.session_name, False)


def test_initialize_new_opens_when_none_is_open(stub: Stub, new_resource: NewResource) -> None:
    assert initialize(stub, new_resource(), INITIALIZE_NEW).new_session


def test_initialize_new_refuses_an_open_session(stub: Stub, new_resource: NewResource) -> None:
    resource = new_resource()
    opened = initialize(stub, resource, INITIALIZE_NEW)
    error = status_of(lambda: initialize(stub, resource, INITIALIZE_NEW))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert opened.session_name in (error.details() or "")


def test_attach_to_existing_attaches(stub: Stub, new_resource: NewResource) -> None:
    resource = new_resource()
    opened = initialize(stub, resource, UNSPECIFIED)
    attached = initialize(stub, resource, ATTACH_TO_EXISTING)
    assert (attached.session_name, attached.new_session) == (opened.session_name, False)


def test_attach_to_existing_needs_an_open_session(stub: Stub, new_resource: NewResource) -> None:
    error = status_of(lambda: initialize(stub, new_resource(), ATTACH_TO_EXISTING))
    assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("open_first", [False, True], ids=["none-open", "session-open"])
@pytest.mark.parametrize("behavior", [3, -1, 1000])
def test_unknown_behavior_is_invalid(
    stub: Stub, new_resource: NewResource, behavior: int, open_first: bool
) -> None:
    resource = new_resource()
    if open_first:
        initialize(stub, resource, INITIALIZE_NEW)
    error = status_of(lambda: initialize(stub, resource, behavior))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "accepted values" in (error.details() or "")


def test_attach_after_close_finds_nothing(stub: Stub, new_resource: NewResource) -> None:
    resource = new_resource()
    close(stub, initialize(stub, resource).session_name)
    assert status_of(lambda: initialize(stub, resource, ATTACH_TO_EXISTING)).code() == (
        grpc.StatusCode.NOT_FOUND
    )
    assert initialize(stub, resource, INITIALIZE_NEW).new_session


def test_empty_resource_name_is_invalid(stub: Stub) -> None:
    error = status_of(lambda: initialize(stub, "  "))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "resource_name" in (error.details() or "")


def test_close_of_unknown_session_is_not_found(stub: Stub) -> None:
    error = status_of(lambda: close(stub, "no-such-session"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-session" in (error.details() or "")


def test_close_twice_is_not_found(stub: Stub, new_resource: NewResource) -> None:
    session_name = initialize(stub, new_resource()).session_name
    close(stub, session_name)
    assert status_of(lambda: close(stub, session_name)).code() == grpc.StatusCode.NOT_FOUND


def test_close_by_one_client_closes_for_all(
    server: ServerProcess, stub: Stub, new_resource: NewResource
) -> None:
    resource = new_resource()
    channel, other = connect(server.address)
    with channel:
        session_name = initialize(other, resource).session_name
        assert initialize(stub, resource).session_name == session_name
        close(other, session_name)
    assert initialize(stub, resource, INITIALIZE_NEW).new_session


def test_concurrent_initialize_new_has_one_winner(stub: Stub, new_resource: NewResource) -> None:
    resource = new_resource()
    start = threading.Barrier(32)
    outcomes: list[str] = []

    def race() -> None:
        start.wait()
        try:
            outcomes.append(initialize(stub, resource, INITIALIZE_NEW).session_name)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            outcomes.append(error.code().name)

    threads = [threading.Thread(target=race) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != grpc.StatusCode.ALREADY_EXISTS.name]
    assert len(outcomes) == 32
    assert len(winners) == 1, outcomes
    assert initialize(stub, resource, ATTACH_TO_EXISTING).session_name == winners[0]


def test_sessions_for_different_resources_are_independent(
    stub: Stub, new_resource: NewResource
) -> None:
    first, second = new_resource(), new_resource()
    a = initialize(stub, first, INITIALIZE_NEW)
    b = initialize(stub, second, INITIALIZE_NEW)
    assert a.session_name != b.session_name
    close(stub, a.session_name)
    assert initialize(stub, second, ATTACH_TO_EXISTING).session_name == b.session_name


CUSTOM_CALLS: dict[str, Callable[[Stub, str], object]] = {
    "Write": lambda stub, name: stub.Write(
        pb2.WriteRequest(session_name=name),
    ),
    "Query": lambda stub, name: stub.Query(
        pb2.QueryRequest(session_name=name),
    ),
    "Read": lambda stub, name: stub.Read(
        pb2.ReadRequest(session_name=name),
    ),
    "ReadBinaryValues": lambda stub, name: stub.ReadBinaryValues(
        pb2.ReadBinaryValuesRequest(session_name=name),
    ),
    "Clear": lambda stub, name: stub.Clear(
        pb2.ClearRequest(session_name=name),
    ),
    "Reset": lambda stub, name: stub.Reset(
        pb2.ResetRequest(session_name=name),
    ),
    "Identify": lambda stub, name: stub.Identify(
        pb2.IdentifyRequest(session_name=name),
    ),
}


@pytest.mark.parametrize("rpc", CUSTOM_CALLS)
def test_custom_rpc_on_unknown_session_is_not_found(stub: Stub, rpc: str) -> None:
    error = status_of(lambda: CUSTOM_CALLS[rpc](stub, "no-such-session"))
    assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("rpc", CUSTOM_CALLS)
def test_custom_rpc_on_closed_session_is_not_found(
    stub: Stub, new_resource: NewResource, rpc: str
) -> None:
    session_name = initialize(stub, new_resource()).session_name
    close(stub, session_name)
    error = status_of(lambda: CUSTOM_CALLS[rpc](stub, session_name))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert session_name in (error.details() or "")
