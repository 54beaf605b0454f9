"""Command line: serve CustomInstrument on localhost until asked to stop.

Template-owned, rendered from the answers: `copier update` rewrites it. Serving,
stopping, registration and the `sessions` command are session_service_core's;
this names what is CustomInstrument's.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from custom_instrument_client import SERVICE
from custom_instrument_client.stubs import custom_instrument_pb2 as pb2
from custom_instrument_client.stubs import custom_instrument_pb2_grpc as pb2_grpc
from session_service_core.server.serving import ServedService
from session_service_core.server.serving import main as serve
from session_service_core.server.sessions import SessionRegistry

from .resource import CustomInstrumentResource
from .servicer import CustomInstrumentServicer

# The .serviceconfig sits in the server project directory, three levels above this file.
SERVER_DIRECTORY = Path(__file__).resolve().parents[2]


def add_servicer(registry: SessionRegistry[CustomInstrumentResource], server: grpc.Server) -> None:
    """Serve CustomInstrument from `registry` on `server`."""
    pb2_grpc.add_CustomInstrumentServicer_to_server(CustomInstrumentServicer(registry), server)


SERVED = ServedService(
    identity=SERVICE,
    full_name=pb2.DESCRIPTOR.services_by_name["CustomInstrument"].full_name,
    command="python -m custom_instrument_server",
    service_config=SERVER_DIRECTORY / "CustomInstrument.serviceconfig",
    resource_key=CustomInstrumentResource.resource_key,
    add_servicer=add_servicer,
)


def main(argv: list[str] | None = None) -> int:
    """Serve until asked to stop, or run the `sessions` command."""
    return serve(SERVED, argv)
