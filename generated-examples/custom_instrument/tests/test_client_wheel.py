"""The client package as plug-ins get it: a wheel, installed into a fresh environment."""

from __future__ import annotations

import shutil
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from support import PROJECT, build_wheel, install, run_checked, venv_python

PACKAGE = "custom_instrument_client"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(PROJECT / "client", tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new environment with the wheel and its dependencies (no local runtime): its Python."""
    environment = tmp_path_factory.mktemp("plugin-env") / ".venv"
    uv = shutil.which("uv")
    if uv:
        run_checked(uv, "venv", "--quiet", "--python", sys.executable, environment)
    else:
        venv.create(environment, with_pip=True)
    python = venv_python(environment)
    install(python, wheel)
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
