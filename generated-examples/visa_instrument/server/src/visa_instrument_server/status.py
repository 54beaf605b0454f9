"""The gRPC status each failure answers with, as DESIGN's error table gives it.

Template-owned: `copier update` rewrites this file. A ServiceError keeps its
code; a Windows sharing violation (another program holds the file) is
FAILED_PRECONDITION; any other PermissionError PERMISSION_DENIED; running out of
file descriptors RESOURCE_EXHAUSTED; anything else INTERNAL, naming what failed.
"""

from __future__ import annotations

import errno
import functools
import logging
from collections.abc import Callable
from typing import Protocol, TypeVar

import grpc

from .errors import ServiceError
from .files import is_sharing_violation

_logger = logging.getLogger(__name__)
# The process's (EMFILE) or the system's (ENFILE) table of open files is full.
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE})


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
        _logger.info("%s: %s: %s", rpc, error.code.name, error)
        return error.code, str(error)
    if isinstance(error, PermissionError) and is_sharing_violation(error):
        _logger.info("%s: sharing violation: %s", rpc, error)
        return grpc.StatusCode.FAILED_PRECONDITION, (
            f"{rpc}: another program has {error.filename!r} open and does not share it "
            f"({error.strerror}). Close it there, or choose another resource."
        )
    if isinstance(error, PermissionError):
        _logger.warning("%s: permission denied: %s", rpc, error)
        return grpc.StatusCode.PERMISSION_DENIED, (
            f"{rpc}: the operating system refused access: {error}. "
            "Grant the server's user access or choose another resource."
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
    _logger.error("%s failed", rpc, exc_info=error)
    return grpc.StatusCode.INTERNAL, f"{rpc} failed: {type(error).__name__}: {error}"


def answers_errors(
    handler: Handler[ServicerT, RequestT, ResponseT],
) -> Handler[ServicerT, RequestT, ResponseT]:
    """Decorate an RPC handler so that what it raises becomes the status the client sees."""
    rpc = handler.__name__

    @functools.wraps(handler)
    def wrapper(servicer: ServicerT, request: RequestT, context: grpc.ServicerContext) -> ResponseT:
        try:
            return handler(servicer, request, context)
        except Exception as error:  # noqa: BLE001  (every failure gets a status)
            code, details = status_for(rpc, error, servicer.open_sessions())
            context.abort(code, details)

    return wrapper
