"""Errors a resource raises to answer an RPC with a specific gRPC status.

Raise these from resource.py; the servicer turns them into the
status code with the message as its details. A bare PermissionError becomes
PERMISSION_DENIED, an OSError for too many open files (EMFILE, ENFILE)
RESOURCE_EXHAUSTED, and any other exception INTERNAL.

Quote what a caller sent with `shown`: a status message travels in gRPC's
metadata (about 8 KB at most on most clients) and lands in the server's log, so a
17 kB name must come back shortened, not as a metadata error.
"""

from __future__ import annotations

from typing import ClassVar

import grpc

# The most characters of a caller's string a message or log line quotes.
SHOWN_CHARACTERS = 200


def shown(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """Return `text` quoted as repr() does, cut to `limit` characters and saying so if longer."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


class ServiceError(Exception):
    """An error that answers the RPC with `code` and this message."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL


class InvalidArgumentError(ServiceError):
    """The request is wrong: say what was wrong and what is accepted."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(ServiceError):
    """The session (or the session for a resource) does not exist."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(ServiceError):
    """A session for the resource is already open."""

    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDeniedError(ServiceError):
    """The operating system refused access to the resource."""

    code = grpc.StatusCode.PERMISSION_DENIED


class FailedPreconditionError(ServiceError):
    """The resource is not in a state that allows the operation."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class UnimplementedError(ServiceError):
    """The operation has not been written yet."""

    code = grpc.StatusCode.UNIMPLEMENTED


class ResourceExhaustedError(ServiceError):
    """The server has run out of something (descriptors, memory, licenses): say how to free it."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class AbortedError(ServiceError):
    """A concurrent user got in the way (a lock held too long, a deadlock): the caller may retry."""

    code = grpc.StatusCode.ABORTED


class DataLossError(ServiceError):
    """The resource's data is damaged (a corrupt file): say what to restore or replace."""

    code = grpc.StatusCode.DATA_LOSS


class UnavailableError(ServiceError):
    """What the resource depends on cannot be reached (a database server): say why."""

    code = grpc.StatusCode.UNAVAILABLE
