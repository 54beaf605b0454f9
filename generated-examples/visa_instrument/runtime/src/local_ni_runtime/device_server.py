"""NI gRPC Device Server, simulated: one module per driver under `simulated/`.

Sessions follow NI's naming rules (initialize, attach, generated names) in one
repository shared by every driver, as NI's server shares it. Driver errors travel
as NI's do, status UNKNOWN with an `ni-error` trailer; any RPC a driver module
does not define answers UNIMPLEMENTED with its name.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.message import Message

from .simulated import nidaqmx, nidcpower, nidigital, nidmm, nifgen, niscope, niswitch
from .simulated.common import DriverError, SessionRepository, SessionStatus

SERVICE_CLASS = "ni.measurementlink.v1.grpcdeviceserver"
# Each simulated driver module: its NI gRPC Device Server interface and its RPCs.
DRIVERS: tuple[ModuleType, ...] = (
    nidaqmx,
    nidcpower,
    nidigital,
    nidmm,
    nifgen,
    niscope,
    niswitch,
)
INTERFACES = tuple(f"{driver.SERVICE.file.package}.{driver.SERVICE.name}" for driver in DRIVERS)
REAL_DEVICE_SERVER = (
    "To test against NI's real NI gRPC Device Server, start it (with the driver installed) "
    "and set MEASUREMENT_PLUGIN_GRPC_DEVICE_SERVER_ADDRESS=http://localhost:<its port> for "
    "the plug-in, so NI's SDK sends its driver calls there; or run on a station with NI "
    "software and without NI_LOCAL_RUNTIME."
)

__all__ = [
    "INTERFACES",
    "SERVICE_CLASS",
    "DriverError",
    "SessionRepository",
    "handlers",
    "not_simulated",
]


def not_simulated(interface: str) -> str:
    """Say that the runtime does not simulate `interface` and how to test with NI's server."""
    return (
        f"The local runtime does not simulate {interface} (NI gRPC Device Server); it "
        f"simulates {', '.join(INTERFACES)}. {REAL_DEVICE_SERVER}"
    )


def handlers(sessions: SessionRepository | None = None) -> list[grpc.GenericRpcHandler]:
    """Return the gRPC handlers of the simulated drivers, sharing one session repository."""
    repository = sessions or SessionRepository()
    return [_service_handler(driver, driver.Simulation(repository)) for driver in DRIVERS]


def _service_handler(driver: ModuleType, simulation: object) -> grpc.GenericRpcHandler:
    service = driver.SERVICE
    methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        request_type = getattr(driver.MESSAGES, method.input_type.name)
        response_type = getattr(driver.MESSAGES, method.output_type.name)
        implementation = getattr(simulation, method.name, None)
        behavior = _answer(method.full_name, implementation)
        if method.client_streaming or method.server_streaming:
            behavior = _answer(method.full_name, None)
            methods[method.name] = grpc.stream_stream_rpc_method_handler(
                lambda requests, context, b=behavior: [b(None, context)],
                request_deserializer=request_type.FromString,
                response_serializer=response_type.SerializeToString,
            )
            continue
        methods[method.name] = grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=request_type.FromString,
            response_serializer=response_type.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(service.full_name, methods)


def _answer(
    name: str, implementation: Callable[[Any], Message] | None
) -> Callable[[Any, grpc.ServicerContext], Message]:
    def answer(request: Any, context: grpc.ServicerContext) -> Message:
        if implementation is None:
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{name} is not simulated by the local runtime's NI gRPC Device Server. "
                f"{REAL_DEVICE_SERVER}",
            )
        try:
            return implementation(request)
        except DriverError as error:
            context.set_trailing_metadata((("ni-error", str(error.code)),))
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        except SessionStatus as error:
            context.abort(error.code, str(error))

    return answer
