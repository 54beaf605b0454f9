"""Command line: serve VisaInstrument on localhost until asked to stop.

Template-owned, rendered from the answers: `copier update` rewrites it. Serving,
stopping, registration and the `sessions` command are session_service_core's;
this names what is VisaInstrument's.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from session_service_core.server.serving import ServedService
from session_service_core.server.serving import main as serve
from session_service_core.server.sessions import SessionRegistry
from visa_instrument_client import SERVICE
from visa_instrument_client.stubs import visa_instrument_pb2 as pb2
from visa_instrument_client.stubs import visa_instrument_pb2_grpc as pb2_grpc

from .resource import VisaInstrumentResource
from .servicer import VisaInstrumentServicer

# The .serviceconfig sits in the server project directory, three levels above this file.
SERVER_DIRECTORY = Path(__file__).resolve().parents[2]


def add_servicer(registry: SessionRegistry[VisaInstrumentResource], server: grpc.Server) -> None:
    """Serve VisaInstrument from `registry` on `server`."""
    pb2_grpc.add_VisaInstrumentServicer_to_server(VisaInstrumentServicer(registry), server)


SERVED = ServedService(
    identity=SERVICE,
    full_name=pb2.DESCRIPTOR.services_by_name["VisaInstrument"].full_name,
    command="python -m visa_instrument_server",
    service_config=SERVER_DIRECTORY / "VisaInstrument.serviceconfig",
    resource_key=VisaInstrumentResource.resource_key,
    add_servicer=add_servicer,
)


def main(argv: list[str] | None = None) -> int:
    """Serve until asked to stop, or run the `sessions` command."""
    return serve(SERVED, argv)
