"""The gRPC status each failure answers with, as DESIGN's error table gives it.

A ServiceError keeps its
code; a Windows sharing violation (another program holds the file) is
FAILED_PRECONDITION; any other PermissionError PERMISSION_DENIED; running out of
file descriptors RESOURCE_EXHAUSTED; a name too long for the file system or a
path to a socket or device (ENAMETOOLONG, ENXIO) INVALID_ARGUMENT; anything else
INTERNAL, naming what failed. Every message is cut to MESSAGE_CHARACTERS: it
travels in gRPC's metadata and lands in the log.

A request whose bytes do not parse as its message (a string field holding
invalid UTF-8) would get grpcio's own INTERNAL "Exception deserializing request!"
before any handler runs; `refusing_undecodable` registers a service so that such a
request reaches its handler and answers INVALID_ARGUMENT saying what was wrong.
"""

from __future__ import annotations

import errno
import functools
import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

import grpc
from google.protobuf.message import DecodeError

from .errors import InvalidArgumentError, ServiceError, shown
from .files import is_sharing_violation

_logger = logging.getLogger(__name__)
# The process's (EMFILE) or the system's (ENFILE) table of open files is full.
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE})
# What the caller named cannot be opened as asked: a name or path component longer
# than the file system takes, or a socket or device (such as under /proc) by that name.
_TOO_LONG = frozenset({errno.ENAMETOOLONG})
_TOO_LONG_ON_WINDOWS = frozenset({206})  # ERROR_FILENAME_EXCED_RANGE, errno ENOENT
_NOT_A_FILE = frozenset({errno.ENXIO})
_TOO_LONG_SAYS = (
    "a name in the path is longer than the file system allows",
    "Choose a shorter name (most file systems take up to 255 bytes a name).",
)
_NOT_A_FILE_SAYS = ("it names a socket or a device, not a file", "Name a regular file.")
# The most characters of a status message (gRPC clients refuse metadata above about 8 KB).
MESSAGE_CHARACTERS = 2000


class CountsSessions(Protocol):
    """A servicer that can say how many sessions are open (for RESOURCE_EXHAUSTED)."""

    def open_sessions(self) -> int:
        """Return the number of open sessions."""
        ...


ServicerT = TypeVar("ServicerT", bound=CountsSessions)
RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
Handler = Callable[[ServicerT, RequestT, grpc.ServicerContext], ResponseT]


def status_for(rpc: str, error: Exception, open_sessions: int) -> tuple[grpc.StatusCode, str]:
    """Return the status code and details that answer `rpc` failing with `error`.

    Logs the failure: expected refusals at INFO, what an operator must act on at
    WARNING, and unexpected failures with their traceback.
    """
    if isinstance(error, ServiceError):
        message = _cut(str(error))
        _logger.info("%s: %s: %s", rpc, error.code.name, message)
        return error.code, message
    if isinstance(error, PermissionError) and is_sharing_violation(error):
        _logger.info("%s: sharing violation: %s", rpc, _cut(str(error)))
        return grpc.StatusCode.FAILED_PRECONDITION, _cut(
            f"{rpc}: another program has {shown(str(error.filename))} open and does not share "
            f"it ({error.strerror}). Close it there, or choose another resource."
        )
    if isinstance(error, PermissionError):
        _logger.warning("%s: permission denied: %s", rpc, _cut(str(error)))
        return grpc.StatusCode.PERMISSION_DENIED, _cut(
            f"{rpc}: the operating system refused access: {_described(error)}. "
            "Grant the server's user access or choose another resource."
        )
    if isinstance(error, OSError) and (_name_too_long(error) or error.errno in _NOT_A_FILE):
        _logger.info("%s: %s", rpc, _cut(str(error)))
        why, advice = _TOO_LONG_SAYS if _name_too_long(error) else _NOT_A_FILE_SAYS
        return grpc.StatusCode.INVALID_ARGUMENT, _cut(
            f"{rpc}: cannot open {shown(str(error.filename))}: {why} ({error.strerror}). {advice}"
        )
    if isinstance(error, OSError) and error.errno in _OUT_OF_DESCRIPTORS:
        _logger.warning("%s: out of file descriptors, %d sessions open", rpc, open_sessions)
        plural = "" if open_sessions == 1 else "s"
        return grpc.StatusCode.RESOURCE_EXHAUSTED, (
            f"{rpc}: the server has run out of file descriptors ({error.strerror}) "
            f"with {open_sessions} session{plural} open. Close sessions that are no longer "
            "needed, or raise the open-file limit of the server's process (ulimit -n, "
            "RLIMIT_NOFILE) or of the system."
        )
    # The traceback without the exception's own text, which may quote megabytes a caller sent.
    where = "".join(traceback.format_tb(error.__traceback__))
    _logger.error("%s failed: %s\n%s", rpc, _cut(f"{type(error).__name__}: {error}"), where)
    return grpc.StatusCode.INTERNAL, _cut(f"{rpc} failed: {type(error).__name__}: {error}")


def _name_too_long(error: OSError) -> bool:
    """Tell whether `error` says a name or path is longer than the file system takes."""
    return error.errno in _TOO_LONG or getattr(error, "winerror", None) in _TOO_LONG_ON_WINDOWS


def _cut(message: str) -> str:
    """Return `message`, cut to MESSAGE_CHARACTERS and saying so if longer."""
    if len(message) <= MESSAGE_CHARACTERS:
        return message
    return f"{message[:MESSAGE_CHARACTERS]}... (cut from {len(message):,} characters)"


def _described(error: OSError) -> str:
    """`error` as str() shows it, with its file names shortened."""
    if error.filename is None:
        return str(error)
    names = [shown(str(name)) for name in (error.filename, error.filename2) if name is not None]
    return f"[Errno {error.errno}] {error.strerror}: {' -> '.join(names)}"


# The context of the RPC each thread is answering (set by `answers_errors`).
_caller = threading.local()
# A deadline further away than this is no deadline (gRPC gives a far future for none).
_NO_DEADLINE_S = 1e6


def caller_time_left() -> float | None:
    """Seconds until the deadline of the RPC this thread is answering, or None without one.

    A resource can stop waiting (a connect, a statement) once its caller has
    stopped waiting for the answer.
    """
    context: grpc.ServicerContext | None = getattr(_caller, "context", None)
    left = None if context is None else context.time_remaining()
    return None if left is None or left > _NO_DEADLINE_S else left


# Trailing metadata on every status the server answers with itself, so that a client
# tells "the service answered UNAVAILABLE" (its resource is unavailable) from "nothing
# answered" (gRPC's own UNAVAILABLE: no server there). The client's connection.py
# reads the same key.
ANSWERED_KEY = "session-service-answered"


def answers_errors(
    handler: Handler[ServicerT, RequestT, ResponseT],
) -> Handler[ServicerT, RequestT, ResponseT]:
    """Decorate an RPC handler so that what it raises becomes the status the client sees."""
    rpc = handler.__name__

    @functools.wraps(handler)
    def wrapper(servicer: ServicerT, request: RequestT, context: grpc.ServicerContext) -> ResponseT:
        _caller.context = context  # for caller_time_left(); the thread's next RPC replaces it
        try:
            return handler(servicer, request, context)
        except Exception as error:  # noqa: BLE001  (every failure gets a status)
            code, details = status_for(rpc, error, servicer.open_sessions())
            context.set_trailing_metadata(((ANSWERED_KEY, "1"),))
            context.abort(code, details)

    return wrapper


class _Undecodable:
    """A request whose bytes did not parse: reading any field refuses the RPC."""

    __slots__ = ("_refusal",)

    def __init__(self, refusal: str) -> None:
        self._refusal = refusal

    def __getattr__(self, name: str) -> Any:
        raise InvalidArgumentError(self._refusal)


def _tolerant(parse: Callable[[bytes], Any], message: str) -> Callable[[bytes], Any]:
    """Wrap a request parser: bytes that do not parse become an _Undecodable, not None."""

    def tolerant(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as error:
            return _Undecodable(
                f"The request is not a valid {message} message ({error}): its bytes do not "
                "parse, for example a string field holding text that is not UTF-8. Send "
                "strings as valid UTF-8 and bytes as the proto declares them."
            )

    return tolerant


class _Registering:
    """A server for a generated add_*_to_server: rewrites each handler's request parser."""

    def __init__(self, server: grpc.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        for handler in handlers:
            methods = getattr(handler, "_method_handlers", None)
            if isinstance(methods, dict):
                _rewrite(methods)
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        _rewrite(handlers)
        self._server.add_registered_method_handlers(service, handlers)  # type: ignore[attr-defined,unused-ignore]


def _rewrite(handlers: dict[str, Any]) -> None:
    """Give each handler of `handlers` a request parser that never fails (in place)."""
    for name, handler in handlers.items():
        parse = handler.request_deserializer
        if parse is None:
            continue  # the handler takes the bytes as they came
        # A generated FromString is bound to its message class, which names the message.
        message = getattr(getattr(parse, "__self__", None), "DESCRIPTOR", None)
        full_name = name if message is None else message.full_name
        handlers[name] = handler._replace(request_deserializer=_tolerant(parse, full_name))


def refusing_undecodable(server: grpc.Server) -> grpc.Server:
    """Return `server` as a generated add_*_to_server sees it, with undecodable requests refused.

    grpcio answers INTERNAL when a request parser raises, before any handler runs;
    a parser that returns a placeholder instead lets the handler (wrapped by
    `answers_errors`) answer INVALID_ARGUMENT at its first field read.
    """
    return cast(grpc.Server, _Registering(server))
