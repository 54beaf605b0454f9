"""The renders under test as the benchmark sees them: their packages, wire values and records.

The JSON logger (the default answers) is measured by most rows; the database
preset's render by the database rows, the VISA instrument preset's by the VISA row.

Its packages are installed only in the environment the outer process builds, so
they are imported by name, on first use.
"""

from __future__ import annotations

import functools
import importlib
import json
from dataclasses import dataclass
from typing import Any

SERVER_PACKAGE = "json_logger_server"
CLIENT_PACKAGE = "json_logger_client"
UNSPECIFIED, INITIALIZE_NEW = 0, 1  # SessionInitializationBehavior on the wire
# A record as the benchmark logs it, and as the pre-filled logs hold it.
MEASUREMENT = "leakage"
CONFIGURATIONS = {"voltage": "3.3", "current_limit": "0.01", "aperture": "0.02"}
OUTPUTS = {"measured_current": "0.00998", "status": "pass", "duration_s": "0.0413"}


DATABASE_SERVER_PACKAGE = "results_database_server"
DATABASE_CLIENT_PACKAGE = "results_database_client"
# A result as the benchmark logs it to the database, and as the large table holds it.
SITE, STATUS, STATION = 0, "Passed", "bench-station"
# Every render serves through the core's serving module (its pool and default workers).
SERVING = "session_service_core.server.serving"
PIN_NAMES = ("DUT_VDD",)


@dataclass(frozen=True)
class Modules:
    """grpc and the render's packages, imported by name: they exist only in the bench venv."""

    grpc: Any
    pb2: Any
    pb2_grpc: Any
    client: Any
    server_main: Any
    behavior: Any  # the NI SDK's SessionInitializationBehavior


@functools.cache
def modules() -> Modules:
    """Import grpc, the generated stubs and packages (once)."""
    return Modules(
        grpc=importlib.import_module("grpc"),
        pb2=importlib.import_module(f"{CLIENT_PACKAGE}.stubs.json_logger_pb2"),
        pb2_grpc=importlib.import_module(f"{CLIENT_PACKAGE}.stubs.json_logger_pb2_grpc"),
        client=importlib.import_module(CLIENT_PACKAGE),
        server_main=importlib.import_module(SERVING),
        behavior=importlib.import_module(
            "ni.measurementlink.sessionmanagement.v1.client"
        ).SessionInitializationBehavior,
    )


def record_line() -> bytes:
    """Return one NDJSON record as the generated server writes it."""
    record = {
        "timestamp": "2025-01-01 00:00:00",
        "measurement_name": MEASUREMENT,
        "measurement_configurations": CONFIGURATIONS,
        "measurement_outputs": OUTPUTS,
    }
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass(frozen=True)
class DatabaseModules:
    """grpc and the database render's stubs and server entry, imported by name (bench venv only)."""

    grpc: Any
    pb2: Any
    pb2_grpc: Any
    server_main: Any
    resource: Any  # the render's resource module (the floor server opens SQLite with it)


@functools.cache
def database_modules() -> DatabaseModules:
    """Import grpc and the database render's stubs, server main and resource (once)."""
    stubs = f"{DATABASE_CLIENT_PACKAGE}.stubs.results_database"
    return DatabaseModules(
        grpc=importlib.import_module("grpc"),
        pb2=importlib.import_module(f"{stubs}_pb2"),
        pb2_grpc=importlib.import_module(f"{stubs}_pb2_grpc"),
        server_main=importlib.import_module(SERVING),
        resource=importlib.import_module(f"{DATABASE_SERVER_PACKAGE}.resource"),
    )


VISA_SERVER_PACKAGE = "visa_instrument_server"
VISA_CLIENT_PACKAGE = "visa_instrument_client"
# The VISA row's exchange: the simulated bench DMM of the render's examples/bench_dmm.yaml
# (the outer process sets PYVISA_LIBRARY to it for every process of the run).
VISA_RESOURCE, VISA_QUERY = "GPIB0::22::INSTR", "*IDN?"


@dataclass(frozen=True)
class VisaModules:
    """grpc and the VISA render's stubs and server entry, imported by name (bench venv only)."""

    grpc: Any
    pb2: Any
    pb2_grpc: Any
    server_main: Any


@functools.cache
def visa_modules() -> VisaModules:
    """Import grpc and the VISA render's stubs and server main (once)."""
    stubs = f"{VISA_CLIENT_PACKAGE}.stubs.visa_instrument"
    return VisaModules(
        grpc=importlib.import_module("grpc"),
        pb2=importlib.import_module(f"{stubs}_pb2"),
        pb2_grpc=importlib.import_module(f"{stubs}_pb2_grpc"),
        server_main=importlib.import_module(SERVING),
    )
