"""Callers that misbehave affect only themselves: long strings, unparsable bytes, descriptors.

Each test runs a real server process and looks only at what callers see.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2

from custom_instrument_client.stubs import custom_instrument_pb2 as pb2
from custom_instrument_client.stubs import custom_instrument_pb2_grpc as pb2_grpc

from support import ServerProcess, close, connect, initialize, status_of

# A status message stays well below what gRPC clients take in metadata (8 KB).
MESSAGE_LIMIT = 2100
SERVICE = pb2.DESCRIPTOR.services_by_name["CustomInstrument"].full_name
CLOSE_REQUEST = pb2.CloseRequest


def health_check(channel: grpc.Channel) -> int:
    """Ask grpc.health.v1.Health/Check for the server (its typing stubs lack the stub's methods)."""
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    answer: health_pb2.HealthCheckResponse = check(health_pb2.HealthCheckRequest(), timeout=60)
    return answer.status


def test_an_unknown_session_name_of_17_kb_is_not_found_and_shortened(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("-v")
    name = "x" * 17_000
    channel, stub = connect(server.address)
    with channel:
        error = status_of(lambda: close(stub, name))
    details = error.details() or ""
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert len(details) < MESSAGE_LIMIT and "(17,000 characters)" in details
    server.wait_for_log("Close: NOT_FOUND")
    assert "x" * 1000 not in server.log_text()  # the log line quotes it shortened too


def test_a_resource_name_of_17_kb_gets_a_short_answer(
    stub: pb2_grpc.CustomInstrumentStub, new_resource: Callable[[], str]
) -> None:
    """Refused or opened, as the resource decides; never a metadata error or a long message."""
    try:
        response = initialize(stub, new_resource() + "y" * 17_000)
    except grpc.RpcError as error:
        assert isinstance(error, grpc.Call)
        assert error.code() not in (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.INTERNAL,
            grpc.StatusCode.UNKNOWN,
        ), error.details()
        assert len(error.details() or "") < MESSAGE_LIMIT
    else:
        close(stub, response.session_name)


def test_a_request_that_does_not_parse_is_invalid_argument_and_the_server_serves_on(
    stub: pb2_grpc.CustomInstrumentStub, server: ServerProcess, new_resource: Callable[[], str]
) -> None:
    # session_name as a length-delimited field holding bytes that are not UTF-8.
    number = CLOSE_REQUEST.DESCRIPTOR.fields_by_name["session_name"].number
    undecodable = bytes([number << 3 | 2, 2, 0xFF, 0xFE])
    with grpc.insecure_channel(server.address) as channel:
        raw: Callable[..., bytes] = channel.unary_unary("/" + SERVICE + "/Close")
        with pytest.raises(grpc.RpcError) as caught:
            raw(undecodable, timeout=60)
    error = caught.value
    assert isinstance(error, grpc.Call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid " + CLOSE_REQUEST.DESCRIPTOR.full_name in (error.details() or "")
    assert "UTF-8" in (error.details() or "")
    close(stub, initialize(stub, new_resource()).session_name)  # the server serves on


def test_at_the_open_file_limit_new_sessions_are_refused_and_connections_still_accepted(
    start_server: Callable[..., ServerProcess], new_resource: Callable[[], str]
) -> None:
    if sys.platform == "win32":
        pytest.skip("RLIMIT_NOFILE is POSIX's; Windows has no per-process limit to reach")
    limit = 128
    # The limit is set by a small program that then becomes the server (exec), not in
    # a preexec_fn: that runs between fork and exec of this multi-threaded process.
    lower_limit_then_exec = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit})); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    server = start_server(wrapper=[sys.executable, "-c", lower_limit_then_exec])
    channels: list[grpc.Channel] = []
    opened: list[tuple[pb2_grpc.CustomInstrumentStub, str]] = []
    refusal = None
    try:
        # Each round adds a connection of its own (a descriptor in the server) and a
        # session (more, for resources that hold files): the server must refuse
        # sessions before the connections need what is left.
        for _ in range(limit):
            channel = grpc.insecure_channel(
                server.address, options=[("grpc.use_local_subchannel_pool", 1)]
            )
            channels.append(channel)
            stub = pb2_grpc.CustomInstrumentStub(channel)
            try:
                opened.append((stub, initialize(stub, new_resource()).session_name))
            except grpc.RpcError as error:
                assert isinstance(error, grpc.Call)
                refusal = error
                break
        assert refusal is not None, f"{len(opened)} sessions opened under a limit of {limit}"
        details = refusal.details() or ""
        assert refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, details
        assert f"of its {limit} file descriptors open (RLIMIT_NOFILE)" in details
        assert "ulimit -Hn" in details and "LimitNOFILE" in details
        # A new client still connects and is served; closing a session frees room.
        with grpc.insecure_channel(
            server.address, options=[("grpc.use_local_subchannel_pool", 1)]
        ) as fresh:
            assert health_check(fresh) == health_pb2.HealthCheckResponse.SERVING
            fresh_stub = pb2_grpc.CustomInstrumentStub(fresh)
            for _, session_name in opened:
                close(fresh_stub, session_name)
            for channel in channels:
                channel.close()
            channels.clear()
            # The server drops the closed connections' descriptors when it notices them
            # gone, a moment later on a busy machine: new sessions open once it has.
            close(fresh_stub, _initialize_once_room(fresh_stub, new_resource()))
    finally:
        for channel in channels:
            channel.close()


def _initialize_once_room(stub: pb2_grpc.CustomInstrumentStub, resource: str) -> str:
    """Open a session on `resource`, asking again while the server still lacks descriptors."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return initialize(stub, resource).session_name
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            exhausted = error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            if not exhausted or time.monotonic() > deadline:
                raise
        time.sleep(0.05)
