"""The status each failure answers with (status.py), exception by exception."""

from __future__ import annotations

import errno
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2

from session_service_core.server import errors
from session_service_core.server.files import ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION
from session_service_core.server.status import (
    answers_errors,
    caller_time_left,
    refusing_undecodable,
    status_for,
)

SERVICE_ERRORS = [
    (errors.InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (errors.PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (errors.FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.UnimplementedError, grpc.StatusCode.UNIMPLEMENTED),
    (errors.ResourceExhaustedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.DataLossError, grpc.StatusCode.DATA_LOSS),
]


@pytest.mark.parametrize(("error_type", "code"), SERVICE_ERRORS)
def test_a_service_error_keeps_its_code_and_message(
    error_type: type[errors.ServiceError], code: grpc.StatusCode
) -> None:
    assert status_for("Rpc", error_type("what was wrong"), 0) == (code, "what was wrong")


def sharing_violation(winerror: int) -> PermissionError:
    """A PermissionError as Windows raises it when another program holds the file."""
    error = PermissionError(errno.EACCES, "The process cannot access the file", "log.ndjson")
    error.winerror = winerror  # type: ignore[attr-defined,unused-ignore]
    return error


@pytest.mark.parametrize("winerror", [ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION])
def test_a_sharing_violation_is_a_failed_precondition_naming_the_file(winerror: int) -> None:
    code, details = status_for("Open", sharing_violation(winerror), 0)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.startswith("Open: another program has 'log.ndjson' open and does not share it")


def test_another_permission_error_is_permission_denied() -> None:
    error = PermissionError(errno.EACCES, "Permission denied", "/var/log/x.ndjson")
    code, details = status_for("Open", error, 0)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert details.startswith("Open: the operating system refused access: ")
    assert "/var/log/x.ndjson" in details


@pytest.mark.parametrize(
    ("number", "sessions", "said"),
    [
        (errno.EMFILE, 0, "0 sessions open"),
        (errno.EMFILE, 1, "1 session open"),
        (errno.ENFILE, 3, "3 sessions open"),
    ],
)
def test_running_out_of_descriptors_is_resource_exhausted_counting_sessions(
    number: int, sessions: int, said: str
) -> None:
    code, details = status_for("Open", OSError(number, "Too many open files"), sessions)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details.startswith(
        "Open: the server has run out of file descriptors (Too many open files)"
    )
    assert f"with {said}." in details
    assert "ulimit -n" in details


@pytest.mark.parametrize(
    ("number", "says"),
    [
        (errno.ENAMETOOLONG, "longer than the file system allows (why). Choose a shorter"),
        (errno.ENXIO, "a socket or a device, not a file (why). Name a regular file."),
    ],
)
def test_a_name_the_file_system_cannot_open_is_invalid_argument(number: int, says: str) -> None:
    code, details = status_for("Open", OSError(number, "why", "z" * 5000), 0)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert says in details and "(5,000 characters)" in details and len(details) < 400


def test_a_name_windows_finds_too_long_is_invalid_argument() -> None:
    error = FileNotFoundError(errno.ENOENT, "The filename or extension is too long", "x.ndjson")
    error.winerror = 206  # type: ignore[attr-defined,unused-ignore]
    code, details = status_for("Open", error, 0)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "longer than the file system allows" in details


def test_a_message_is_cut_after_2000_characters_saying_so() -> None:
    assert status_for("Read", errors.InvalidArgumentError("w" * 2000), 0)[1] == "w" * 2000
    code, details = status_for("Read", errors.InvalidArgumentError("w" * 20_000), 0)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == "w" * 2000 + "... (cut from 20,000 characters)"
    assert status_for("Read", KeyError("k" * 20_000), 0)[1].endswith("characters)")


def test_a_permission_error_without_a_file_name_says_so_without_one() -> None:
    code, details = status_for("Open", PermissionError(errno.EACCES, "Permission denied"), 0)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert "refused access: [Errno 13] Permission denied. Grant" in details


class Echo:
    """Answers Check with the service it was asked about and how long its caller waits."""

    def open_sessions(self) -> int:
        return 0

    @answers_errors
    def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext) -> bytes:
        return f"{request.service}|{caller_time_left()}".encode()


def test_requests_that_do_not_parse_reach_the_handler_and_caller_time_left_answers() -> None:
    """A real in-process server, its methods registered through refusing_undecodable."""
    check = Echo().Check
    parse = health_pb2.HealthCheckRequest.FromString
    methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Raw": grpc.unary_unary_rpc_method_handler(check),  # bytes as they came: left alone
        "Lambda": grpc.unary_unary_rpc_method_handler(check, lambda data: parse(data)),
        "Parsed": grpc.unary_unary_rpc_method_handler(check, parse),
    }
    server = grpc.server(futures.ThreadPoolExecutor(2))
    handler = grpc.method_handlers_generic_handler("test.Echo", methods)
    refusing_undecodable(server).add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("localhost:0")
    server.start()
    undecodable = bytes([1 << 3 | 2, 2, 0xFF, 0xFE])  # field 1 (service): not UTF-8
    try:
        with grpc.insecure_channel(f"localhost:{port}") as channel:
            for method, message in [
                ("Parsed", "grpc.health.v1.HealthCheckRequest"),
                ("Lambda", "/test.Echo/Lambda"),
            ]:
                call: Callable[..., bytes] = channel.unary_unary(f"/test.Echo/{method}")
                with pytest.raises(grpc.RpcError) as caught:
                    call(undecodable, timeout=60)
                error = caught.value
                assert isinstance(error, grpc.Call)
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert f"not a valid {message} message" in (error.details() or "")
            request = health_pb2.HealthCheckRequest(service="s").SerializeToString()
            parsed: Callable[..., bytes] = channel.unary_unary("/test.Echo/Parsed")
            service, left = parsed(request, timeout=60).decode().split("|")
            assert service == "s" and 0 < float(left) < 120  # about 60
            assert parsed(request).decode() == "s|None"  # no deadline
    finally:
        server.stop(None)


def test_shown_quotes_a_callers_string_cut_to_a_few_hundred_characters() -> None:
    assert errors.shown("short") == "'short'"
    long = errors.shown("a" * 17_000)
    assert long == repr("a" * errors.SHOWN_CHARACTERS) + "... (17,000 characters)"


@pytest.mark.parametrize(
    "error", [OSError(errno.EIO, "Input/output error"), KeyError("register"), RuntimeError("")]
)
def test_anything_else_is_internal_naming_what_failed(error: Exception) -> None:
    code, details = status_for("Read", error, 0)
    assert code == grpc.StatusCode.INTERNAL
    assert details == f"Read failed: {type(error).__name__}: {error}"


def test_a_decorated_handler_keeps_its_name() -> None:
    """The RPC name in every message comes from the handler's name."""

    class Servicer:
        def open_sessions(self) -> int:
            return 0

        def LogSomething(self, request: object, context: grpc.ServicerContext) -> None:
            """Handle LogSomething."""

    decorated = answers_errors(Servicer.LogSomething)
    assert decorated.__name__ == "LogSomething"
    assert decorated.__doc__ == "Handle LogSomething."
