"""The client against a second, independent server written here from the proto alone.

It proves the client speaks the wire contract, not just whatever our server accepts.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior

from json_logger_client import JsonLoggerClient
from json_logger_client.stubs import json_logger_pb2 as pb2
from json_logger_client.stubs import json_logger_pb2_grpc as pb2_grpc

Behavior = SessionInitializationBehavior
# Sample values of the message fields the custom RPCs send.
WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
HOLD = datetime.timedelta(seconds=90, microseconds=500)


class IndependentServicer(pb2_grpc.JsonLoggerServicer):
    """A minimal server: a dict of sessions, and a record of every request."""

    def __init__(self) -> None:
        self.sessions: dict[str, str] = {}  # resource -> session name
        self.requests: list[object] = []
        self._names = itertools.count()

    def InitializeFile(
        self,
        request: pb2.InitializeFileRequest,
        context: grpc.ServicerContext,
    ) -> pb2.InitializeFileResponse:
        self.requests.append(request)
        existing = self.sessions.get(request.file_path)
        behavior = request.initialization_behavior
        if existing is not None and behavior == pb2.SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, "open")
        if existing is None and behavior == pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING:
            context.abort(grpc.StatusCode.NOT_FOUND, "none")
        if existing is not None:
            return pb2.InitializeFileResponse(session_name=existing, new_session=False)
        name = f"independent-{next(self._names)}"
        self.sessions[request.file_path] = name
        return pb2.InitializeFileResponse(session_name=name, new_session=True)

    def CloseFile(
        self,
        request: pb2.CloseFileRequest,
        context: grpc.ServicerContext,
    ) -> pb2.CloseFileResponse:
        self.requests.append(request)
        for resource, name in list(self.sessions.items()):
            if name == request.session_name:
                del self.sessions[resource]
                return pb2.CloseFileResponse()
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown session")

    def LogMeasurementData(
        self,
        request: pb2.LogMeasurementDataRequest,
        context: grpc.ServicerContext,
    ) -> pb2.LogMeasurementDataResponse:
        self.requests.append(request)
        return pb2.LogMeasurementDataResponse()


@pytest.fixture(scope="module")
def independent() -> Iterator[tuple[IndependentServicer, str]]:
    servicer = IndependentServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb2_grpc.add_JsonLoggerServicer_to_server(servicer, server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    yield servicer, f"localhost:{port}"
    server.stop(grace=None)


WIRE = {
    Behavior.AUTO: pb2.SESSION_INITIALIZATION_BEHAVIOR_UNSPECIFIED,
    Behavior.INITIALIZE_SERVER_SESSION: pb2.SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW,
    Behavior.ATTACH_TO_SERVER_SESSION: pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING,
    Behavior.INITIALIZE_SESSION_THEN_DETACH: pb2.SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW,
    Behavior.ATTACH_TO_SESSION_THEN_CLOSE: pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING,
}


@pytest.mark.parametrize("behavior", list(Behavior))
def test_each_behavior_is_sent_as_the_wire_value(
    independent: tuple[IndependentServicer, str], behavior: Behavior
) -> None:
    servicer, address = independent
    resource = f"wire-{behavior.name}"
    if WIRE[behavior] == pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING:
        JsonLoggerClient(resource, Behavior.INITIALIZE_SESSION_THEN_DETACH, address=address)
    with JsonLoggerClient(resource, behavior, address=address):
        sent = servicer.requests[-1]
        assert isinstance(sent, pb2.InitializeFileRequest)
        assert sent.file_path == resource
        assert sent.initialization_behavior == WIRE[behavior]
    servicer.sessions.pop(resource, None)


CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "LogMeasurementData": (
        "log_measurement_data",
        {
            "measurement_name": "text ü",
            "timestamp": WHEN,
            "measurement_configurations": {"text ü": "text ü"},
            "measurement_outputs": {"text ü": "text ü"},
        },
    ),
}


def as_python(value: Any) -> Any:
    """Turn a received field back into the Python value the client was given."""
    if hasattr(value, "ToDatetime") and value.DESCRIPTOR.name == "Timestamp":
        return value.ToDatetime(tzinfo=datetime.timezone.utc)
    if hasattr(value, "ToTimedelta"):
        return value.ToTimedelta()
    if hasattr(value, "items"):
        return dict(value)
    if hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
        return [as_python(item) for item in value]
    return value


@pytest.mark.parametrize("rpc", CALLS)
def test_custom_rpc_sends_every_field(
    independent: tuple[IndependentServicer, str],
    rpc: str,
) -> None:
    servicer, address = independent
    method, arguments = CALLS[rpc]
    with JsonLoggerClient(f"fields-{rpc}", address=address) as session:
        getattr(session, method)(**arguments)
        sent = servicer.requests[-1]
        assert type(sent).__name__ == f"{rpc}Request"
        assert sent.session_name == session.session_name  # type: ignore[attr-defined]
        for name, value in arguments.items():
            received = as_python(getattr(sent, name))
            assert received == (list(value) if isinstance(value, list) else value), name
