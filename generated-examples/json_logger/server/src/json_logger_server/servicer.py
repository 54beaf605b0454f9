"""The JsonLogger servicer: sessions from the registry, work from the resource.

Template-owned, rendered from the RPC answers: `copier update` rewrites it.
Each RPC is answered with the status the DESIGN's error table gives: the
ServiceError a resource raises keeps its code, a Windows sharing violation
(another program holds the file) FAILED_PRECONDITION, PermissionError
PERMISSION_DENIED, running out of file descriptors RESOURCE_EXHAUSTED, anything
else INTERNAL with what failed.
"""

from __future__ import annotations

import errno
import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import grpc

from json_logger_client.stubs import json_logger_pb2 as pb2
from json_logger_client.stubs import json_logger_pb2_grpc as pb2_grpc

from .errors import InvalidArgumentError, ServiceError
from .files import is_sharing_violation
from .resource import JsonLoggerResource
from .sessions import SessionRegistry

_logger = logging.getLogger(__name__)
# The process's (EMFILE) or the system's (ENFILE) table of open files is full.
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE})

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
Handler = Callable[["JsonLoggerServicer", RequestT, grpc.ServicerContext], ResponseT]


def _answers_errors(handler: Handler[RequestT, ResponseT]) -> Handler[RequestT, ResponseT]:
    """Turn what a handler raises into the gRPC status the client sees."""
    rpc = handler.__name__

    @functools.wraps(handler)
    def wrapper(
        self: JsonLoggerServicer,
        request: RequestT,
        context: grpc.ServicerContext,
    ) -> ResponseT:
        try:
            return handler(self, request, context)
        except ServiceError as error:
            _logger.info("%s: %s: %s", rpc, error.code.name, error)
            context.abort(error.code, str(error))
        except PermissionError as error:
            if is_sharing_violation(error):
                _logger.info("%s: sharing violation: %s", rpc, error)
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"{rpc}: another program has {error.filename!r} open and does not share "
                    f"it ({error.strerror}). Close it there, or choose another resource.",
                )
            _logger.warning("%s: permission denied: %s", rpc, error)
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{rpc}: the operating system refused access: {error}. "
                "Grant the server's user access or choose another resource.",
            )
        except OSError as error:
            if error.errno not in _OUT_OF_DESCRIPTORS:
                _logger.exception("%s failed", rpc)
                context.abort(
                    grpc.StatusCode.INTERNAL, f"{rpc} failed: {type(error).__name__}: {error}"
                )
            sessions = len(self._registry)
            _logger.warning("%s: out of file descriptors, %d sessions open", rpc, sessions)
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{rpc}: the server has run out of file descriptors ({error.strerror}) "
                f"with {sessions} session{'' if sessions == 1 else 's'} open. Close sessions "
                "that are no longer needed, or raise the open-file limit of the server's "
                "process (ulimit -n, RLIMIT_NOFILE) or of the system.",
            )
        except Exception as error:
            _logger.exception("%s failed", rpc)
            context.abort(
                grpc.StatusCode.INTERNAL, f"{rpc} failed: {type(error).__name__}: {error}"
            )

    return wrapper


class JsonLoggerServicer(pb2_grpc.JsonLoggerServicer):
    """Answers the JsonLogger RPCs; one instance serves every client."""

    def __init__(self, registry: SessionRegistry[JsonLoggerResource]) -> None:
        self._registry = registry

    @_answers_errors
    def InitializeFile(
        self,
        request: pb2.InitializeFileRequest,
        context: grpc.ServicerContext,
    ) -> pb2.InitializeFileResponse:
        """Open a session for the named resource, or attach to the open one."""
        if not request.file_path.strip():
            raise InvalidArgumentError(
                "file_path is empty; name the resource to open "
                "(in a pin map, the custom instrument's name)."
            )
        key = JsonLoggerResource.resource_key(request.file_path)
        session, new_session = self._registry.initialize(
            key, request.initialization_behavior, lambda: JsonLoggerResource.open(key, request)
        )
        return pb2.InitializeFileResponse(session_name=session.name, new_session=new_session)

    @_answers_errors
    def LogMeasurementData(
        self,
        request: pb2.LogMeasurementDataRequest,
        context: grpc.ServicerContext,
    ) -> pb2.LogMeasurementDataResponse:
        """Run LogMeasurementData on the session's resource."""
        return self._registry.call(
            request.session_name, JsonLoggerResource.log_measurement_data, request
        )

    @_answers_errors
    def CloseFile(
        self,
        request: pb2.CloseFileRequest,
        context: grpc.ServicerContext,
    ) -> pb2.CloseFileResponse:
        """Close the session for every client attached to it."""
        self._registry.close(request.session_name)
        return pb2.CloseFileResponse()
