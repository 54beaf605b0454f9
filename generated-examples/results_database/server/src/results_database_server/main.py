"""Command line: serve ResultsDatabase on localhost until asked to stop.

Template-owned, rendered from the answers: `copier update` rewrites it. Serving,
stopping, registration and the `sessions` command are session_service_core's;
this names what is ResultsDatabase's.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from results_database_client import SERVICE
from results_database_client.stubs import results_database_pb2 as pb2
from results_database_client.stubs import results_database_pb2_grpc as pb2_grpc
from session_service_core.server.serving import ServedService
from session_service_core.server.serving import main as serve
from session_service_core.server.sessions import SessionRegistry

from .resource import ResultsDatabaseResource
from .servicer import ResultsDatabaseServicer

# The .serviceconfig sits in the server project directory, three levels above this file.
SERVER_DIRECTORY = Path(__file__).resolve().parents[2]


def add_servicer(registry: SessionRegistry[ResultsDatabaseResource], server: grpc.Server) -> None:
    """Serve ResultsDatabase from `registry` on `server`."""
    pb2_grpc.add_ResultsDatabaseServicer_to_server(ResultsDatabaseServicer(registry), server)


SERVED = ServedService(
    identity=SERVICE,
    full_name=pb2.DESCRIPTOR.services_by_name["ResultsDatabase"].full_name,
    command="python -m results_database_server",
    service_config=SERVER_DIRECTORY / "ResultsDatabase.serviceconfig",
    resource_key=ResultsDatabaseResource.resource_key,
    add_servicer=add_servicer,
)


def main(argv: list[str] | None = None) -> int:
    """Serve until asked to stop, or run the `sessions` command."""
    return serve(SERVED, argv)
