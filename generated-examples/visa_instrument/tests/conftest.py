"""Fixtures: VisaInstrument server processes on localhost, and stubs connected to them."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import local_ni_runtime.redirect
from visa_instrument_client.stubs import visa_instrument_pb2_grpc as pb2_grpc

import demo_resource
import teststand_visa_instrument as teststand
from measurement_client import MeasurementCaller
from support import (
    DCPOWER,
    DMM,
    PROJECT,
    ServerProcess,
    connect,
    launch,
    launch_runtime,
    launch_server,
    write_pin_map,
)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers for one test; each is stopped when the test ends."""
    started: list[ServerProcess] = []

    def start(*args: str, **popen: Any) -> ServerProcess:
        server = launch_server(tmp_path, *args, **popen)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server shared by the tests of a module."""
    running = launch_server(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The local NI runtime, and this process and its children pointed at it.

    A child inherits NI_LOCAL_RUNTIME, and the runtime's .pth line redirects it as it
    starts; this process is already running, so it redirects itself.
    """
    running = launch_runtime(tmp_path_factory.mktemp("runtime"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(local_ni_runtime.redirect.ENVIRONMENT_VARIABLE, running.address)
        local_ni_runtime.redirect.apply()
        yield running
    running.stop()


@pytest.fixture(scope="module")
def registered_server(
    runtime: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server registered with the runtime's NI Discovery Service, as on a test station."""
    running = launch_server(tmp_path_factory.mktemp("server"), discovery=True)
    yield running
    running.stop()


@pytest.fixture
def stub(server: ServerProcess) -> Iterator[pb2_grpc.VisaInstrumentStub]:
    """A stub connected to the module's server."""
    channel, connected = connect(server.address)
    yield connected
    channel.close()


@pytest.fixture(scope="module")
def plugins(
    registered_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, MeasurementCaller]]:
    """Both example plug-ins hosted as measurement services, and a caller for each."""
    logs = tmp_path_factory.mktemp("plugins")
    scripts = [
        PROJECT / "examples" / name / "measurement.py"
        for name in ("nidcpower_measurement", "nidmm_measurement")
    ]
    hosted = [launch(logs, [sys.executable, str(script)], ready="hosting ") for script in scripts]
    callers = {DCPOWER: MeasurementCaller(DCPOWER), DMM: MeasurementCaller(DMM)}
    yield callers
    for caller in callers.values():
        caller.close()
    # A clean stop (SIGTERM; Ctrl+Break on Windows) unregisters and exits with 0.
    codes = [process.stop() for process in hosted]
    assert codes == [0, 0]


@pytest.fixture
def pin_map(plugins: Any, tmp_path: Path, new_resource: Any) -> Iterator[tuple[str, str]]:
    """A registered pin map whose resource is new; its sessions set up as the demo sets them up."""
    resource = new_resource()
    pin_map_id = write_pin_map(tmp_path / "plugins.pinmap", [resource])
    demo_resource.setup_sessions(pin_map_id)
    yield pin_map_id, resource
    teststand.cleanup_sessions()


# The bench DMM of examples/bench_dmm.yaml at this many more addresses, one per new
# resource, so that a session one test leaves open never meets another test.
SIMULATED_ADDRESSES = 1000
_addresses = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def simulated_instruments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Make the simulated bench DMM the default backend of every process the tests start.

    A session opened with an empty backend uses pyvisa's default, PYVISA_LIBRARY,
    which the servers inherit: here a copy of examples/bench_dmm.yaml that answers at
    SIMULATED_ADDRESSES more addresses too.
    """
    text = (PROJECT / "examples" / "bench_dmm.yaml").read_text(encoding="utf-8")
    addresses = "".join(
        f"  {simulated_address(number)}: " + "{device: bench dmm}\n"
        for number in range(SIMULATED_ADDRESSES)
    )
    path = tmp_path_factory.mktemp("visa") / "bench_dmms.yaml"
    path.write_text(text + addresses, encoding="utf-8")
    backend = f"{path}@sim"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYVISA_LIBRARY", backend)
        yield backend


def simulated_address(number: int) -> str:
    """The resource string of the simulated DMM number `number`."""
    return f"TCPIP0::dmm{number}.sim::inst0::INSTR"


@pytest.fixture
def new_resource() -> Callable[[], str]:
    """Return a factory of resource strings no session has used: simulated DMMs."""

    def new() -> str:
        number = next(_addresses)
        assert number < SIMULATED_ADDRESSES, "raise SIMULATED_ADDRESSES in tests/conftest.py"
        return simulated_address(number)

    return new
