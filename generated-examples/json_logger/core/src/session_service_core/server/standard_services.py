"""What every server offers operators: health checking, reflection, and a log line per RPC.

A supervisor probes `grpc.health.v1.Health` (SERVING while the
server is up, NOT_SERVING once it starts stopping, for each service and for the
server as a whole, ""), and `grpcurl -plaintext localhost:PORT list` or `describe`
finds every service through reflection, without the proto files. With `-v` the
server logs each RPC as NI's SDK does (ni_grpc_extensions' server logger), but
with the status the client received: NI's logger reports UNKNOWN for every call
a handler ends with `context.abort`, which is how this server answers errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection


def add_standard_services(server: grpc.Server, services: Sequence[str]) -> health.HealthServicer:
    """Serve health checking and reflection for `services` (full names) on `server`.

    Returns the health servicer: call its `enter_graceful_shutdown()` when stopping.
    """
    checker = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    for name in ("", *services, health.SERVICE_NAME):
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*services, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return checker


_rpc_logger = logging.getLogger("ni_grpc_extensions.loggers")  # where NI's SDK logs RPCs


class RpcLogger(grpc.ServerInterceptor):
    """Log one line per RPC: method, the status the client got, and the time taken."""

    @staticmethod
    def is_enabled() -> bool:
        """Whether the log level lets the lines through (the server's -v)."""
        return _rpc_logger.isEnabledFor(logging.INFO)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wrap the method's handler so that it logs when it ends."""
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # streaming calls (health Watch, reflection) are not logged
        method: str = handler_call_details.method
        behaviour = handler.unary_unary

        def logged(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            failed = True
            try:
                response = behaviour(request, context)
                failed = False
                return response
            finally:
                # ServicerContext.code() (grpcio 1.38+) is missing from grpc's typing stubs.
                status = context.code()  # type: ignore[attr-defined]
                code = status or (grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK)
                _rpc_logger.info(
                    "gRPC server call %s responded %s in %.4f ms",
                    method,
                    getattr(code, "name", code),
                    (time.perf_counter() - started) * 1000.0,
                )

        return grpc.unary_unary_rpc_method_handler(
            logged,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
