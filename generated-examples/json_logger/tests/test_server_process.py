"""The server as a process: start-up line, options, stopping, and life without discovery."""

from __future__ import annotations

import os
import pty
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from support import SERVER_MODULE, ServerProcess, close, connect, initialize, status_of

StartServer = Callable[..., ServerProcess]


def wait_for_exit(server: ServerProcess, limit: float) -> tuple[int, float]:
    """Wait up to `limit` seconds for the server to exit; return its code and the time taken."""
    started = time.monotonic()
    code = server.process.wait(timeout=limit)
    return code, time.monotonic() - started


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_server_cleanly(
    start_server: StartServer, new_resource: Callable[[], str], signum: signal.Signals
) -> None:
    server = start_server()
    channel, stub = connect(server.address)
    with channel:
        initialize(stub, new_resource())
    server.process.send_signal(signum)
    code, elapsed = wait_for_exit(server, 5)
    assert code == 0, server.log_text()
    assert elapsed < 5


def test_enter_stops_the_server_when_started_from_a_terminal(start_server: StartServer) -> None:
    controller, terminal = pty.openpty()
    try:
        server = start_server(stdin=terminal)
        os.write(controller, b"\n")
        code, _ = wait_for_exit(server, 5)
        assert code == 0, server.log_text()
    finally:
        os.close(controller)
        os.close(terminal)


def test_closed_stdin_does_not_stop_the_server(start_server: StartServer) -> None:
    server = start_server(stdin=subprocess.DEVNULL)
    time.sleep(1)
    channel, stub = connect(server.address)
    with channel:
        error = status_of(lambda: close(stub, "nothing-open"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert server.process.poll() is None


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
