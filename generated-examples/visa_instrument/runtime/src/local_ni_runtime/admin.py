"""The runtime's own admin calls: list and clear reservations a dead process left behind.

Served beside NI's services as `local_ni_runtime.Admin`, with JSON bodies, so it
needs no proto of its own.
"""

from __future__ import annotations

import json
import time

import grpc

from .session_management import SessionManagementServicer

SERVICE = "local_ni_runtime.Admin"


def handler(session_management: SessionManagementServicer) -> grpc.GenericRpcHandler:
    """Return the gRPC handler of the admin service."""

    def list_reservations(request: bytes, context: grpc.ServicerContext) -> bytes:
        now = time.time()
        return json.dumps(
            {
                "reservations": [
                    {
                        "session_name": r.session_name,
                        "instrument_type_id": r.instrument_type_id,
                        "held_for_seconds": round(now - r.since, 3),
                        "annotations": r.annotations,
                    }
                    for r in session_management.reservations.snapshot()
                ],
                "registered_sessions": session_management.registered_names(),
                "registered_multiplexer_sessions": (
                    session_management.registered_multiplexer_names()
                ),
            }
        ).encode()

    def clear_reservations(request: bytes, context: grpc.ServicerContext) -> bytes:
        names = json.loads(request or b"null")
        if names is None:
            names = [r.session_name for r in session_management.reservations.snapshot()]
        released = session_management.release(names)
        return json.dumps({"released": released}).encode()

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "ListReservations": grpc.unary_unary_rpc_method_handler(list_reservations),
            "ClearReservations": grpc.unary_unary_rpc_method_handler(clear_reservations),
        },
    )


def call(address: str, method: str, body: object = None) -> dict[str, object]:
    """Call an admin method of the runtime at `address`; return its JSON answer."""
    with grpc.insecure_channel(address) as channel:
        invoke: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            f"/{SERVICE}/{method}"
        )
        answer: dict[str, object] = json.loads(invoke(json.dumps(body).encode(), timeout=10))
        return answer
