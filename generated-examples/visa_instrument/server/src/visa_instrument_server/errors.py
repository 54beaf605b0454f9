"""Errors a resource raises to answer an RPC with a specific gRPC status.

Template-owned. Raise these from resource.py; the servicer turns them into the
status code with the message as its details. A bare PermissionError becomes
PERMISSION_DENIED, an OSError for too many open files (EMFILE, ENFILE)
RESOURCE_EXHAUSTED, and any other exception INTERNAL.
"""

from __future__ import annotations

from typing import ClassVar

import grpc


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


class UnavailableError(ServiceError):
    """What the resource depends on cannot be reached (a database server): say why."""

    code = grpc.StatusCode.UNAVAILABLE
