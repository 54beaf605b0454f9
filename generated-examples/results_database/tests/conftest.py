"""Fixtures: ResultsDatabase server processes on localhost, and stubs connected to them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import local_ni_runtime.redirect
from results_database_client.stubs import results_database_pb2_grpc as pb2_grpc

from support import ServerProcess, connect, launch_runtime, launch_server


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
def stub(server: ServerProcess) -> Iterator[pb2_grpc.ResultsDatabaseStub]:
    """A stub connected to the module's server."""
    channel, connected = connect(server.address)
    yield connected
    channel.close()


@pytest.fixture
def new_resource(tmp_path: Path) -> Callable[[], str]:
    """Return a factory of resource names no session has used: URLs of new SQLite files."""
    numbers = itertools.count()
    return lambda: f"sqlite:///{(tmp_path / f'results-{next(numbers)}.db').as_posix()}"
