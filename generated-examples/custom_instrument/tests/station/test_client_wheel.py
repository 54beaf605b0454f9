"""The client package as plug-ins get it: a wheel, installed into a fresh environment."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support import PROJECT, build_wheel, install, run_checked, uv, venv_python

# Slow, and the same for every answer: the template's matrix runs it in a few renders only.
pytestmark = pytest.mark.environment

PACKAGE = "custom_instrument_client"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(PROJECT / "client", tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def core_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core the client requires: ../core until it comes from a package index."""
    return build_wheel(PROJECT / "core", tmp_path_factory.mktemp("core-dist"))


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, core_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new environment with the wheel and its dependencies (no local runtime): its Python."""
    environment = tmp_path_factory.mktemp("plugin-env") / ".venv"
    run_checked(uv(), "venv", "--quiet", "--python", sys.executable, environment)
    python = venv_python(environment)
    install(python, core_wheel, wheel)
    return python


def test_wheel_carries_the_proto_and_typed_stubs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in [
        "py.typed",
        "stubs/custom_instrument.proto",
        "stubs/custom_instrument_pb2.py",
        "stubs/custom_instrument_pb2.pyi",
        "stubs/custom_instrument_pb2_grpc.py",
        "stubs/custom_instrument_pb2_grpc.pyi",
        "session.py",
        "session_constructor.py",
    ]:
        assert f"{PACKAGE}/{member}" in names


def test_wheel_installs_and_imports_in_a_fresh_environment(
    fresh_python: Path, tmp_path: Path
) -> None:
    stubs = "custom_instrument_pb2_grpc"
    constant, client = "CUSTOM_INSTRUMENT_INSTRUMENT_TYPE", "CustomInstrumentClient"
    probe = (
        f"import {PACKAGE} as c, {PACKAGE}.stubs.{stubs} as g;"
        f"print(c.{constant}, c.{client}.__name__, g.__name__, c.__file__)"
    )
    output = run_checked(fresh_python, "-c", probe, cwd=tmp_path).split()
    expected = ["CustomInstrumentService", client, f"{PACKAGE}.stubs.{stubs}"]
    assert output[:3] == expected
    # Imported from the fresh environment, not the project.
    assert str(fresh_python.parent.parent) in output[3]


def test_importing_the_client_redirects_nothing_even_with_the_variable_set(
    fresh_python: Path, tmp_path: Path
) -> None:
    # What a station's plug-in does with NI_LOCAL_RUNTIME left set: NI's function stays.
    probe = f"""
import importlib.util
import {PACKAGE}
from session_service_core import local_runtime
from ni.measurementlink.discovery.v1.client import _client, _support
print(importlib.util.find_spec("local_ni_runtime") is None)
print(_client._get_discovery_service_address is _support._get_discovery_service_address)
print(local_runtime.hint())
"""
    result = subprocess.run(
        [fresh_python, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "NI_LOCAL_RUNTIME": "localhost:1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    no_runtime, original, hint = result.stdout.splitlines()
    assert (no_runtime, original) == ("True", "True")
    assert result.stderr == ""  # not the line a redirected process prints
    assert "nothing in this process redirects NI's SDK" in hint
