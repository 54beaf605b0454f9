"""NI_LOCAL_RUNTIME: the runtime package redirects the processes of its environment, loudly."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from ni.measurementlink.discovery.v1 import client as discovery_client

from local_ni_runtime import redirect

from support import PROJECT, SERVER_MODULE, ServerProcess

VARIABLE = redirect.ENVIRONMENT_VARIABLE
PIN_MAP_SERVICE = "ni.measurementlink.pinmap.v1.PinMapService"
IMPORT_THEN_APPLY = """
import custom_instrument_client
from local_ni_runtime import redirect
redirect.apply()
"""
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


def run(
    command: list[str], address: str | None, **environment: str
) -> subprocess.CompletedProcess[str]:
    """Run `command` with NI_LOCAL_RUNTIME set to `address` (None: unset)."""
    child = {k: v for k, v in os.environ.items() if k != VARIABLE} | environment
    if address is not None:
        child[VARIABLE] = address
    return subprocess.run(
        command,
        env=child,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_process_started_with_the_variable_resolves_through_the_runtime(
    runtime: ServerProcess,
) -> None:
    # Only NI's SDK: no import of this project's packages, no call to apply().
    code = (
        "from ni.measurementlink.discovery.v1.client import DiscoveryClient\n"
        f"print(DiscoveryClient().resolve_service({PIN_MAP_SERVICE!r}).insecure_port)"
    )
    result = run([sys.executable, "-c", code], runtime.address)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == runtime.address.rpartition(":")[2]


def test_a_process_names_the_runtime_once_on_stderr(dead_address: str) -> None:
    # Importing the client package imports NI's discovery client, which is redirected
    # then; an explicit apply() must not repeat the line.
    result = run([sys.executable, "-c", IMPORT_THEN_APPLY], dead_address)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if VARIABLE in line]
    assert len(lines) == 1, result.stderr
    assert f"{VARIABLE}={dead_address}" in lines[0]
    assert "local runtime" in lines[0]


def test_without_the_variable_nothing_is_redirected_or_loaded() -> None:
    code = (
        "import sys\n"
        "import custom_instrument_client\n"
        "from ni.measurementlink.discovery.v1.client import _client, _support\n"
        "name = '_get_discovery_service_address'\n"
        "print(getattr(_client, name) is getattr(_support, name))\n"
        "print(sorted(name for name in sys.modules if name.startswith('local_ni_runtime')))"
    )
    result = run([sys.executable, "-c", code], None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "[]"]
    assert VARIABLE not in result.stderr


@pytest.fixture
def release_without_the_function(tmp_path: Path) -> Path:
    """NI's discovery client as a 2.0.0 that renamed the function: a folder for PYTHONPATH.

    A copy of the installed package with `_get_discovery_service_address` renamed, and
    its metadata; on PYTHONPATH it is imported, and reported, instead of the installed one.
    """
    package = Path(discovery_client.__file__).parent
    copy = tmp_path / "ni" / "measurementlink" / "discovery" / "v1" / "client"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for module in copy.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        renamed = text.replace("_get_discovery_service_address", "_discovery_service_address")
        module.write_text(renamed, encoding="utf-8")
    metadata = tmp_path / "ni_measurementlink_discovery_v1_client-2.0.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ni.measurementlink.discovery.v1.client\nVersion: 2.0.0\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize(
    ("code", "set_at_start"),
    [
        # The .pth line: redirected as the process imports NI's discovery client.
        ("import ni.measurementlink.discovery.v1.client", True),
        # A process that sets the variable later and calls apply().
        (
            "import os, sys\n"
            "from local_ni_runtime import redirect\n"
            "os.environ[redirect.ENVIRONMENT_VARIABLE] = sys.argv[1]\n"
            "redirect.apply()",
            False,
        ),
    ],
    ids=["at-start", "apply"],
)
def test_a_discovery_client_without_the_function_fails_naming_the_supported_versions(
    code: str, set_at_start: bool, release_without_the_function: Path, dead_address: str
) -> None:
    result = run(
        [sys.executable, "-c", code, dead_address],
        dead_address if set_at_start else None,
        PYTHONPATH=str(release_without_the_function),
    )
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("ImportError: "), result.stderr
    assert f"{VARIABLE} is set to {dead_address!r}" in error
    client = "ni.measurementlink.discovery.v1.client"
    assert f"{client} 2.0.0 has no _get_discovery_service_address" in error
    pinned = re.search(
        rf'"{re.escape(client)}(.+)"',
        (PROJECT / "runtime" / "pyproject.toml").read_text(encoding="utf-8"),
    )
    assert pinned is not None
    for version in pinned.group(1).split(","):  # >=1.0 and <2, as the runtime pins them
        assert version in error


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
