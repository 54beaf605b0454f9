"""NI_LOCAL_RUNTIME is loud: one stderr line at start, and failures to reach it say so."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from custom_instrument_client import local_runtime

from support import SERVER_MODULE

VARIABLE = local_runtime.ENVIRONMENT_VARIABLE
# What a station's plug-in, helper or script does first: import the client package.
IMPORT = "import custom_instrument_client"
RESOLVE = """
from custom_instrument_client import SERVICE, ServiceConnection, ServiceNotFoundError
try:
    ServiceConnection(SERVICE).channel()
except ServiceNotFoundError as error:
    print(error)
"""


@pytest.fixture
def dead_address() -> str:
    """An address where nothing listens: a port just freed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"localhost:{port}"


def run(command: list[str], address: str | None) -> subprocess.CompletedProcess[str]:
    """Run `command` with NI_LOCAL_RUNTIME set to `address` (None: unset)."""
    environment = {k: v for k, v in os.environ.items() if k != VARIABLE}
    if address is not None:
        environment[VARIABLE] = address
    return subprocess.run(
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_process_names_the_runtime_once_on_stderr(dead_address: str) -> None:
    # The package applies the switch on import; a second apply() must not repeat the line.
    code = f"{IMPORT}\n{IMPORT}.local_runtime\ncustom_instrument_client.local_runtime.apply()"
    result = run([sys.executable, "-c", code], dead_address)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if VARIABLE in line]
    assert len(lines) == 1, result.stderr
    assert f"{VARIABLE}={dead_address}" in lines[0]
    assert "local runtime" in lines[0]


def test_without_the_variable_nothing_is_said() -> None:
    result = run([sys.executable, "-c", IMPORT], None)
    assert result.returncode == 0, result.stderr
    assert VARIABLE not in result.stderr


def assert_says_variable_is_set(text: str, address: str) -> None:
    assert f"{VARIABLE} is set to {address!r}" in text, text
    assert f"unset {VARIABLE}" in text and f"Remove-Item Env:{VARIABLE}" in text


def test_server_that_cannot_reach_the_runtime_says_the_variable_is_set(
    dead_address: str,
) -> None:
    result = run([sys.executable, "-m", SERVER_MODULE, "--port", "0"], dead_address)
    assert result.returncode == 1
    assert "could not register with NI Discovery Service" in result.stderr
    assert_says_variable_is_set(result.stderr, dead_address)


def test_client_that_cannot_reach_the_runtime_says_the_variable_is_set(
    dead_address: str,
) -> None:
    result = run([sys.executable, "-c", RESOLVE], dead_address)
    assert result.returncode == 0, result.stderr
    assert "could not locate" in result.stdout
    assert_says_variable_is_set(result.stdout, dead_address)
