"""The client package as plug-ins get it: a wheel, installed into a fresh environment."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def run(*command: str | Path, cwd: Path = PROJECT) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    uv = shutil.which("uv")
    if uv:
        run(uv, "build", "--quiet", "--wheel", "--out-dir", out, PROJECT / "client")
    else:
        pip = [sys.executable, "-m", "pip"]
        run(*pip, "wheel", "--quiet", "--no-deps", "-w", out, PROJECT / "client")
    (built,) = out.glob("*.whl")
    return built


def test_wheel_carries_the_proto_and_typed_stubs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = "custom_instrument_client"
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
        assert f"{package}/{member}" in names


def test_wheel_installs_and_imports_in_a_fresh_environment(
    wheel: Path,
    tmp_path: Path,
) -> None:
    environment = tmp_path / "plugin-env"
    uv = shutil.which("uv")
    if uv:
        run(uv, "venv", "--quiet", "--python", sys.executable, environment)
    else:
        venv.create(environment, with_pip=True)
    python = environment / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if uv:
        run(uv, "pip", "install", "--quiet", "--python", python, wheel)
    else:
        run(python, "-m", "pip", "install", "--quiet", wheel)
    package, stubs = "custom_instrument_client", "custom_instrument_pb2_grpc"
    constant, client = "CUSTOM_INSTRUMENT_INSTRUMENT_TYPE", "CustomInstrumentClient"
    probe = (
        f"import {package} as c, {package}.stubs.{stubs} as g;"
        f"print(c.{constant}, c.{client}.__name__, g.__name__, c.__file__)"
    )
    output = run(python, "-c", probe, cwd=tmp_path).split()
    expected = ["CustomInstrumentService", client, f"{package}.stubs.{stubs}"]
    assert output[:3] == expected
    assert str(environment) in output[3]  # imported from the fresh environment, not the project
