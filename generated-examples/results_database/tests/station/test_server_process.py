"""The server as a process: start-up line, options, stopping, and life without discovery."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from ni.measurementlink.discovery.v1.client import DiscoveryClient

from results_database_client import SERVICE
from session_service_core.server.serving import SHUTDOWN_GRACE

from support import (
    SERVER_MODULE,
    STOP_MARGIN,
    ServerProcess,
    close,
    connect,
    initialize,
    launch_server,
    request_stop,
    status_of,
)

StartServer = Callable[..., ServerProcess]
NOT_A_CONSOLE = "stdin is not a console"
NO_PTY = "pseudo-terminals (pty) exist only on POSIX; Windows consoles are checked by test_stopping"


def assert_serves_until_stopped(server: ServerProcess, resource: str) -> None:
    """The server answers, is still running, and a stop request ends it cleanly in time."""
    channel, stub = connect(server.address)
    with channel:
        initialize(stub, resource)
        error = status_of(lambda: close(stub, "nothing-open"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert server.process.poll() is None, server.log_text()
    request_stop(server.process)
    assert server.process.wait(timeout=SHUTDOWN_GRACE + STOP_MARGIN) == 0, server.log_text()
    assert "closed 1 session(s)" in server.log_text()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM and SIGINT are POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_server_cleanly(
    start_server: StartServer, new_resource: Callable[[], str], signum: signal.Signals
) -> None:
    server = start_server("-v")
    channel, stub = connect(server.address)
    with channel:
        initialize(stub, new_resource())
    server.process.send_signal(signum)
    assert server.process.wait(timeout=SHUTDOWN_GRACE + STOP_MARGIN) == 0, server.log_text()
    assert f"received {signum.name}" in server.log_text()
    assert "closed 1 session(s)" in server.log_text()


def test_stdin_on_devnull_keeps_serving_until_stopped(
    start_server: StartServer, new_resource: Callable[[], str]
) -> None:
    # As NI Discovery Service starts it: stdin on NUL (/dev/null), which Windows'
    # isatty calls a terminal. The decision is logged before `listening on`.
    server = start_server("-v", stdin=subprocess.DEVNULL)
    assert NOT_A_CONSOLE in server.log_text()
    assert_serves_until_stopped(server, new_resource())


def test_stdin_on_a_closed_pipe_keeps_serving_until_stopped(
    start_server: StartServer, new_resource: Callable[[], str]
) -> None:
    read_end, write_end = os.pipe()
    os.close(write_end)  # reading stdin gives end of file at once
    try:
        server = start_server("-v", stdin=read_end)
    finally:
        os.close(read_end)
    assert NOT_A_CONSOLE in server.log_text()
    assert_serves_until_stopped(server, new_resource())


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal: (controller, terminal) descriptors."""
    if sys.platform == "win32":
        pytest.skip(NO_PTY)
    import pty

    controller, terminal = pty.openpty()
    yield controller, terminal
    os.close(controller)
    os.close(terminal)


def test_enter_stops_the_server_when_started_from_a_terminal(
    start_server: StartServer, terminal: tuple[int, int]
) -> None:
    controller, stdin = terminal
    server = start_server("-v", stdin=stdin)
    os.write(controller, b"\n")
    assert server.process.wait(timeout=SHUTDOWN_GRACE + STOP_MARGIN) == 0, server.log_text()
    assert "Enter pressed" in server.log_text()


def test_end_of_input_at_a_terminal_does_not_stop_the_server(
    start_server: StartServer, terminal: tuple[int, int], new_resource: Callable[[], str]
) -> None:
    controller, stdin = terminal
    server = start_server("-v", stdin=stdin)
    os.write(controller, b"\x04")  # Ctrl+D: end of input at a POSIX terminal
    server.wait_for_log("End of input on stdin ignored")
    assert_serves_until_stopped(server, new_resource())


def test_stop_unregisters_from_discovery(runtime: ServerProcess, tmp_path: Path) -> None:
    server = launch_server(tmp_path, "-v", discovery=True)
    try:
        client = DiscoveryClient()
        interface, service_class = SERVICE.provided_interface, SERVICE.service_class
        location = client.resolve_service(interface, service_class)
        assert location.insecure_address == server.address
        request_stop(server.process)
        assert server.process.wait(timeout=SHUTDOWN_GRACE + STOP_MARGIN) == 0, server.log_text()
        log = server.log_text()
        # The order of a stop: no new calls and sessions closed, then the registration.
        assert log.index("closed 0 session(s)") < log.index("Unregistered"), log
        error = status_of(lambda: client.resolve_service(interface, service_class))
        assert error.code() == grpc.StatusCode.NOT_FOUND
    finally:
        server.stop()


def test_fixed_port(start_server: StartServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_server("--port", str(port))
    assert server.address == f"localhost:{port}"


def test_port_in_use_is_reported(start_server: StartServer, tmp_path: Path) -> None:
    first = start_server()
    port = first.address.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", SERVER_MODULE, "--no-discovery", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert f"cannot listen on localhost:{port}" in result.stderr


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_out_of_range_port_is_refused(port: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", SERVER_MODULE, "--no-discovery", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "0 (any free port) to 65535" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="NI Discovery Service may be installed here")
def test_without_discovery_service_the_server_says_how_to_run(tmp_path: Path) -> None:
    # No NI Discovery Service exists on this platform, so registration must fail loudly.
    environment = {k: v for k, v in os.environ.items() if k != "NI_LOCAL_RUNTIME"}
    result = subprocess.run(
        [sys.executable, "-m", SERVER_MODULE, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env=environment,
    )
    assert result.returncode == 1
    assert "could not register with NI Discovery Service" in result.stderr
    assert "--no-discovery" in result.stderr


def test_broken_service_config_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "broken.serviceconfig"
    config.write_text('{"services": [{"displayName": "x"}]}', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", SERVER_MODULE, "--service-config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "not a valid .serviceconfig" in result.stderr
    assert "serviceClass" in result.stderr


def test_server_imports_no_measurement_sdk_and_no_numpy() -> None:
    # The server declares NI's split packages only; this environment also has NI's
    # measurement SDK and numpy (the plug-ins need them), so an import would show.
    code = (
        f"import sys, {SERVER_MODULE}.main; "
        "print(sorted({'numpy', 'ni_measurement_plugin_sdk_service'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
