"""What an operator sees and does: health, reflection, RPC logging, session admin, recovery.

Every test runs real server processes; the admin CLI and the TestStand setup
run as real subprocesses too.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from ni.measurementlink.sessionmanagement.v1.client import (
    PinMapContext,
    SessionManagementClient,
)

from visa_instrument_client import (
    SERVICE,
    VISA_INSTRUMENT_INSTRUMENT_TYPE,
    VisaInstrumentSessionConstructor,
)
from visa_instrument_client.stubs import visa_instrument_pb2 as pb2

import teststand_visa_instrument as teststand
from support import (
    ATTACH_TO_EXISTING,
    PROJECT,
    RESOURCE_PIN,
    SERVER_MODULE,
    ServerProcess,
    close,
    connect,
    initialize,
    registered_sessions,
    status_of,
    write_pin_map,
)

OWN_SERVICE = pb2.DESCRIPTOR.services_by_name["VisaInstrument"].full_name
ADMIN_SERVICE = "session_service_core.admin.v1.SessionAdmin"
HEALTH_SERVICE = "grpc.health.v1.Health"


def sessions_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m <server> sessions ARGS` as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", SERVER_MODULE, "sessions", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def listed(address: str) -> list[dict[str, Any]]:
    result = sessions_cli("list", "--json", "--address", address)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def health_check(channel: grpc.Channel, service: str) -> int:
    """Ask grpc.health.v1.Health/Check (its typing stubs lack the stub's methods)."""
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    answer: health_pb2.HealthCheckResponse = check(
        health_pb2.HealthCheckRequest(service=service), timeout=10
    )
    return answer.status


def health_watch(channel: grpc.Channel, service: str) -> Iterator[int]:
    """Follow grpc.health.v1.Health/Watch: the status now, then each change."""
    watch = channel.unary_stream(
        "/grpc.health.v1.Health/Watch",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    for answer in watch(health_pb2.HealthCheckRequest(service=service)):
        yield answer.status


def test_health_is_serving_for_the_server_and_each_service(start_server: Any) -> None:
    server = start_server()
    channel = grpc.insecure_channel(server.address)
    for service in ("", OWN_SERVICE, ADMIN_SERVICE):
        assert health_check(channel, service) == health_pb2.HealthCheckResponse.SERVING, service
    unknown = status_of(lambda: health_check(channel, "x.Y"))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    channel.close()


@pytest.mark.skipif(
    sys.platform == "win32", reason="SIGTERM is POSIX; Windows stops by console events"
)
def test_health_turns_not_serving_as_the_server_stops(start_server: Any) -> None:
    server = start_server()
    channel = grpc.insecure_channel(server.address)
    updates = health_watch(channel, "")
    assert next(updates) == health_pb2.HealthCheckResponse.SERVING
    server.process.terminate()
    # Sent before the server unregisters, closes its sessions and stops (2 s grace).
    assert next(updates) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert server.stop() == 0
    channel.close()


def test_reflection_lists_and_describes_every_service(start_server: Any) -> None:
    server = start_server()
    channel = grpc.insecure_channel(server.address)
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {OWN_SERVICE, ADMIN_SERVICE, HEALTH_SERVICE} <= services
    described = DescriptorPool(database).FindServiceByName(OWN_SERVICE)
    methods = set(described.methods_by_name)
    assert "Initialize" in methods
    assert "Close" in methods
    channel.close()


def test_verbose_server_logs_every_rpc_with_its_status(
    start_server: Any, new_resource: Any
) -> None:
    server = start_server("-v")
    channel, stub = connect(server.address)
    session = initialize(stub, new_resource()).session_name
    close(stub, session)
    missing = status_of(lambda: close(stub, session))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    channel.close()
    server.stop()
    log = server.log_text()
    opening = f"/{OWN_SERVICE}/Initialize"
    closing = f"/{OWN_SERVICE}/Close"
    assert f"gRPC server call {opening} responded OK in " in log, log
    assert f"gRPC server call {closing} responded NOT_FOUND in " in log, log


def test_admin_lists_sessions_with_their_use(start_server: Any, new_resource: Any) -> None:
    server = start_server()
    channel, stub = connect(server.address)
    first, second = new_resource(), new_resource()
    one = initialize(stub, first).session_name
    two = initialize(stub, second).session_name
    assert initialize(stub, second, ATTACH_TO_EXISTING).session_name == two

    rows = listed(server.address)

    assert [row["session_name"] for row in rows] == [one, two]  # oldest first
    assert [row["attaches"] for row in rows] == [0, 1]
    assert rows[0]["created"] <= rows[1]["created"]
    table = sessions_cli("list", "--address", server.address)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:2] == ["session_name", "resource_key"]
    assert one in table.stdout and two in table.stdout
    for name in (one, two):
        close(stub, name)
    assert sessions_cli("list", "--address", server.address).stdout.strip() == "No open sessions."
    channel.close()


def test_admin_closes_a_session_and_a_resource_as_a_normal_close(
    start_server: Any, new_resource: Any
) -> None:
    server = start_server()
    channel, stub = connect(server.address)
    first, second = new_resource(), new_resource()
    one = initialize(stub, first).session_name
    two = initialize(stub, second).session_name

    by_name = sessions_cli("close", one, "--address", server.address)
    by_resource = sessions_cli("close", "--resource", second, "--address", server.address, "--json")

    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout.strip() == f"Closed {one}."
    assert by_resource.returncode == 0, by_resource.stderr
    assert json.loads(by_resource.stdout) == {"closed": [two]}
    assert listed(server.address) == []
    for name in (one, two):
        closing = functools.partial(close, stub, name)
        assert status_of(closing).code() == grpc.StatusCode.NOT_FOUND
    attach = status_of(lambda: initialize(stub, first, ATTACH_TO_EXISTING))
    assert attach.code() == grpc.StatusCode.NOT_FOUND
    channel.close()


def test_admin_refuses_what_is_not_open_and_bad_usage(start_server: Any) -> None:
    server = start_server()
    unknown = sessions_cli("close", "no-such-session", "--address", server.address)
    no_resource = sessions_cli("close", "--resource", "nothing-here", "--address", server.address)
    usage = sessions_cli("close", "--address", server.address)
    nobody = sessions_cli("list", "--address", "localhost:9")  # the discard port: nothing listens

    for refused in (unknown, no_resource):
        assert refused.returncode == 1
        assert "\nerror: NOT_FOUND: " in "\n" + refused.stderr, refused.stderr
        assert f"python -m {SERVER_MODULE} sessions list" in refused.stderr
    assert usage.returncode == 2
    assert "one of the arguments session_name --resource is required" in usage.stderr
    assert nobody.returncode == 1
    assert "error: UNAVAILABLE: no server answers at localhost:9 (" in nobody.stderr


def test_admin_finds_the_server_through_discovery(
    runtime: ServerProcess, start_server: Any
) -> None:
    server = start_server(discovery=True)
    found = sessions_cli("list", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == listed(server.address) == []

    server.stop()  # unregistered: nothing to find now, and the CLI says what to do
    missing = sessions_cli("list")

    assert missing.returncode == 1
    assert f"error: NI Discovery Service could not locate {SERVICE.describe()}: " in missing.stderr
    assert "or pass --address HOST:PORT." in missing.stderr


@pytest.fixture
def station(runtime: ServerProcess, start_server: Any) -> ServerProcess:
    """A server registered with the runtime's NI Discovery Service, for one test."""
    server: ServerProcess = start_server(discovery=True)
    return server


@pytest.fixture
def pin_map_id(station: ServerProcess, tmp_path: Path, new_resource: Any) -> Iterator[str]:
    yield write_pin_map(tmp_path / "bench.pinmap", [new_resource()])
    teststand.cleanup_sessions()


def test_setup_after_a_killed_sequence_recovers_and_cleans_up(
    runtime: ServerProcess, station: ServerProcess, pin_map_id: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "examples" / "teststand")}
    setup = (
        "import logging, sys, time, teststand_visa_instrument as teststand; "
        "logging.basicConfig(); "
        "print(*teststand.setup_sessions(sys.argv[1]), flush=True); "
        "time.sleep(600) if sys.argv[2] == 'hang' else None"
    )
    crashed = subprocess.Popen(
        [sys.executable, "-c", setup, pin_map_id, "hang"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert crashed.stdout is not None
    left_open = crashed.stdout.readline().split()
    crashed.kill()  # between setup and cleanup, as a crashed TestStand process
    crashed.communicate(timeout=30)
    assert [row["session_name"] for row in listed(station.address)] == left_open
    assert len(registered_sessions(runtime)) == 1

    again = subprocess.run(
        [sys.executable, "-c", setup, pin_map_id, "return"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert again.returncode == 0, again.stderr
    assert "still registered by an earlier run that ended without cleanup" in again.stderr
    assert left_open[0] in again.stderr  # the server session it closed
    fresh = again.stdout.split()
    assert fresh and fresh != left_open
    client = SessionManagementClient()
    context = PinMapContext(pin_map_id=pin_map_id, sites=[0])
    constructor = VisaInstrumentSessionConstructor()
    with (
        client.reserve_session(context, RESOURCE_PIN) as reservation,
        reservation.initialize_session(constructor, VISA_INSTRUMENT_INSTRUMENT_TYPE) as info,
    ):
        assert info.session.session_name == fresh[0]  # the step shares setup's session
    teststand.cleanup_sessions()
    assert listed(station.address) == []
    assert registered_sessions(runtime) == []
