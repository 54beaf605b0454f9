"""--workers bounds how many RPCs run at once, seen through a real server.

A reflection stream's handler holds a pool thread for as long as the stream is
open (it waits on the client's next request), so it is a handler that blocks
for exactly as long as the test says.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from custom_instrument_client.stubs import custom_instrument_pb2 as pb2
from custom_instrument_client.stubs import custom_instrument_pb2_grpc as pb2_grpc

from support import close, launch_server

# How long a call may wait while the only thread is held: long enough that a pool
# which wrongly ran it would have answered, short enough to keep the suite quick.
HELD_DEADLINE_S = 2.0
# How long a call may take when a thread is free; generous for a loaded machine.
FREE_DEADLINE_S = 60.0


class HeldStream:
    """A reflection stream whose handler stays on a server thread until `release`."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._requests: queue.SimpleQueue[reflection_pb2.ServerReflectionRequest | None] = (
            queue.SimpleQueue()
        )
        call = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        self._responses = call(self._request_stream())
        # One answer means the handler runs; it then waits for the next request.
        self._requests.put(reflection_pb2.ServerReflectionRequest(list_services=""))
        next(self._responses)

    def _request_stream(self) -> Iterator[reflection_pb2.ServerReflectionRequest]:
        while (request := self._requests.get()) is not None:
            yield request

    def release(self) -> None:
        """End the stream, so its handler returns the thread."""
        self._requests.put(None)
        for _ in self._responses:
            pass


@pytest.mark.parametrize("workers", ["1", None])
def test_workers_bound_the_rpcs_that_run_at_once(
    tmp_path: Path, new_resource: Callable[[], str], workers: str | None
) -> None:
    server = launch_server(tmp_path, *(["--workers", workers] if workers else []))
    request = pb2.InitializeRequest(resource_name=new_resource())
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb2_grpc.CustomInstrumentStub(channel)
            held = HeldStream(channel)

            def initialize(timeout: float) -> pb2.InitializeResponse:
                return stub.Initialize(request, timeout=timeout)

            if workers == "1":
                try:
                    initialize(HELD_DEADLINE_S)
                except grpc.RpcError as error:
                    assert isinstance(error, grpc.Call)
                    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error
                else:
                    pytest.fail(
                        "with --workers 1 and its one thread held by another RPC, a second "
                        "RPC ran: --workers does not bound the RPCs that run at once"
                    )
                held.release()
                opened = initialize(FREE_DEADLINE_S)
            else:
                # The default adds threads while handlers block: the call runs beside it.
                opened = initialize(FREE_DEADLINE_S)
                held.release()
            close(stub, opened.session_name)
    finally:
        assert server.stop() == 0, server.log_text()
