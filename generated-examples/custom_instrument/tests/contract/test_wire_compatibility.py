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

from custom_instrument_client import CustomInstrumentClient
from custom_instrument_client.stubs import custom_instrument_pb2 as pb2
from custom_instrument_client.stubs import custom_instrument_pb2_grpc as pb2_grpc

Behavior = SessionInitializationBehavior
# Sample values of the message fields the custom RPCs send.
WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
HOLD = datetime.timedelta(seconds=90, microseconds=500)


class IndependentServicer(pb2_grpc.CustomInstrumentServicer):
    """A minimal server: a dict of sessions, and a record of every request."""

    def __init__(self) -> None:
        self.sessions: dict[str, str] = {}  # resource -> session name
        self.requests: list[object] = []
        self._names = itertools.count()

    def Initialize(
        self,
        request: pb2.InitializeRequest,
        context: grpc.ServicerContext,
    ) -> pb2.InitializeResponse:
        self.requests.append(request)
        existing = self.sessions.get(request.resource_name)
        behavior = request.initialization_behavior
        if existing is not None and behavior == pb2.SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, "open")
        if existing is None and behavior == pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING:
            context.abort(grpc.StatusCode.NOT_FOUND, "none")
        if existing is not None:
            return pb2.InitializeResponse(session_name=existing, new_session=False)
        name = f"independent-{next(self._names)}"
        self.sessions[request.resource_name] = name
        return pb2.InitializeResponse(session_name=name, new_session=True)

    def Close(
        self,
        request: pb2.CloseRequest,
        context: grpc.ServicerContext,
    ) -> pb2.CloseResponse:
        self.requests.append(request)
        for resource, name in list(self.sessions.items()):
            if name == request.session_name:
                del self.sessions[resource]
                return pb2.CloseResponse()
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown session")

    def WriteRegister(
        self,
        request: pb2.WriteRegisterRequest,
        context: grpc.ServicerContext,
    ) -> pb2.WriteRegisterResponse:
        self.requests.append(request)
        return pb2.WriteRegisterResponse()

    def ReadRegister(
        self,
        request: pb2.ReadRegisterRequest,
        context: grpc.ServicerContext,
    ) -> pb2.ReadRegisterResponse:
        self.requests.append(request)
        return pb2.ReadRegisterResponse()

    def WriteGpioChannel(
        self,
        request: pb2.WriteGpioChannelRequest,
        context: grpc.ServicerContext,
    ) -> pb2.WriteGpioChannelResponse:
        self.requests.append(request)
        return pb2.WriteGpioChannelResponse()

    def ReadGpioChannel(
        self,
        request: pb2.ReadGpioChannelRequest,
        context: grpc.ServicerContext,
    ) -> pb2.ReadGpioChannelResponse:
        self.requests.append(request)
        return pb2.ReadGpioChannelResponse()

    def WriteGpioPort(
        self,
        request: pb2.WriteGpioPortRequest,
        context: grpc.ServicerContext,
    ) -> pb2.WriteGpioPortResponse:
        self.requests.append(request)
        return pb2.WriteGpioPortResponse()

    def ReadGpioPort(
        self,
        request: pb2.ReadGpioPortRequest,
        context: grpc.ServicerContext,
    ) -> pb2.ReadGpioPortResponse:
        self.requests.append(request)
        return pb2.ReadGpioPortResponse()


@pytest.fixture(scope="module")
def independent() -> Iterator[tuple[IndependentServicer, str]]:
    servicer = IndependentServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb2_grpc.add_CustomInstrumentServicer_to_server(servicer, server)
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
        CustomInstrumentClient(resource, Behavior.INITIALIZE_SESSION_THEN_DETACH, address=address)
    with CustomInstrumentClient(resource, behavior, address=address):
        sent = servicer.requests[-1]
        assert isinstance(sent, pb2.InitializeRequest)
        assert sent.resource_name == resource
        assert sent.initialization_behavior == WIRE[behavior]
    servicer.sessions.pop(resource, None)


CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "WriteRegister": (
        "write_register",
        {
            "register_name": "text ü",
            "value": 7,
        },
    ),
    "ReadRegister": (
        "read_register",
        {
            "register_name": "text ü",
        },
    ),
    "WriteGpioChannel": (
        "write_gpio_channel",
        {
            "port": 7,
            "channel": 7,
            "state": True,
        },
    ),
    "ReadGpioChannel": (
        "read_gpio_channel",
        {
            "port": 7,
            "channel": 7,
        },
    ),
    "WriteGpioPort": (
        "write_gpio_port",
        {
            "port": 7,
            "value": 7,
            "mask": 7,
        },
    ),
    "ReadGpioPort": (
        "read_gpio_port",
        {
            "port": 7,
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
    with CustomInstrumentClient(f"fields-{rpc}", address=address) as session:
        getattr(session, method)(**arguments)
        sent = servicer.requests[-1]
        assert type(sent).__name__ == f"{rpc}Request"
        assert sent.session_name == session.session_name  # type: ignore[attr-defined]
        for name, value in arguments.items():
            received = as_python(getattr(sent, name))
            assert received == (list(value) if isinstance(value, list) else value), name
