"""Command line: serve JsonLogger on localhost until asked to stop.

Template-owned, rendered from the answers: `copier update` rewrites it. Serving,
stopping, registration and the `sessions` command are session_service_core's;
this names what is JsonLogger's.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from json_logger_client import SERVICE
from json_logger_client.stubs import json_logger_pb2 as pb2
from json_logger_client.stubs import json_logger_pb2_grpc as pb2_grpc
from session_service_core.server.serving import ServedService
from session_service_core.server.serving import main as serve
from session_service_core.server.sessions import SessionRegistry

from .resource import JsonLoggerResource
from .servicer import JsonLoggerServicer

# The .serviceconfig sits in the server project directory, three levels above this file.
SERVER_DIRECTORY = Path(__file__).resolve().parents[2]


def add_servicer(registry: SessionRegistry[JsonLoggerResource], server: grpc.Server) -> None:
    """Serve JsonLogger from `registry` on `server`."""
    pb2_grpc.add_JsonLoggerServicer_to_server(JsonLoggerServicer(registry), server)


SERVED = ServedService(
    identity=SERVICE,
    full_name=pb2.DESCRIPTOR.services_by_name["JsonLogger"].full_name,
    command="python -m json_logger_server",
    service_config=SERVER_DIRECTORY / "JsonLogger.serviceconfig",
    resource_key=JsonLoggerResource.resource_key,
    add_servicer=add_servicer,
)


def main(argv: list[str] | None = None) -> int:
    """Serve until asked to stop, or run the `sessions` command."""
    return serve(SERVED, argv)
