"""scripts/deploy.py: folders that install offline and run on their own, as on a station."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from measurement_client import MeasurementCaller
from support import (
    PROJECT,
    ServerProcess,
    build_wheel,
    install,
    launch,
    run_checked,
    venv_python,
    write_pin_map,
)

# Slow, and the same for every answer: the template's matrix runs it in a few renders only.
pytestmark = pytest.mark.environment

SERVICE = "CustomInstrument"
DMM = "CustomInstrumentNIDmmMeasurement_Python"
# A first start installs every wheel into a new .venv: minutes, not the usual seconds.
INSTALL_TIMEOUT = 1200


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tree shaped like NI's Plug-Ins folders, written by scripts/deploy.py."""
    destination = tmp_path_factory.mktemp("station") / "Plug-Ins"
    result = subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / "deploy.py"), str(destination)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return destination


def folders(deployed: Path) -> list[Path]:
    return [deployed / "Services" / SERVICE, *sorted((deployed / "Measurements").iterdir())]


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_each_folder_is_self_contained(deployed: Path) -> None:
    assert [folder.name for folder in folders(deployed)][1:] == [
        "nidcpower_measurement",
        "nidmm_measurement",
    ]
    for folder in folders(deployed):
        requirements = (folder / "requirements.txt").read_text(encoding="utf-8")
        assert ".." not in requirements and "-e " not in requirements, folder
        wheels = {wheel.name for wheel in (folder / "wheelhouse").glob("*.whl")}
        assert any(name.startswith("custom_instrument_client-") for name in wheels), folder
        for path in folder.rglob("*"):
            assert not path.is_symlink(), path
        assert not (folder / ".venv").exists() and not (folder / "src").exists()
        # NI's plug-in folder files, and the one Python version the wheelhouse fits.
        assert (folder / "install.bat").is_file() and (folder / ".serviceignore").is_file()
        minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
        assert (folder / ".python-version").read_text(encoding="utf-8").strip() == minor
        # Every entry pinned, with hashes: pip checks each file it installs.
        entries = [line for line in requirements.splitlines() if line and line[0].isalnum()]
        assert entries and all("==" in line and line.endswith("\\") for line in entries)
    assert any((folders(deployed)[0] / "wheelhouse").glob("custom_instrument_server-*.whl"))


def start_command(folder: Path) -> list[str]:
    """How NI Discovery Service would start the folder (start.bat), or its POSIX twin."""
    if sys.platform == "win32":
        return ["cmd.exe", "/d", "/c", str(folder / "start.bat")]
    return ["sh", str(folder / "start.sh")]


@pytest.fixture
def station(
    deployed: Path, runtime: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Path]]:
    """The deployed service and NI-DMM plug-in, each started from its own folder, no stdin.

    This station has no NI software: each folder's .venv is built first, as its start
    script does, and gets the local runtime's wheel, whose .pth line redirects the
    folder's processes to the runtime (NI_LOCAL_RUNTIME is set).
    """
    monkeypatch.setenv("PYTHON", sys.executable)  # the Python that builds their .venv
    running = [deployed / "Services" / SERVICE, deployed / "Measurements" / "nidmm_measurement"]
    runtime_wheel = build_wheel(PROJECT / "runtime", tmp_path / "dist")
    for folder in running:
        run_checked(sys.executable, folder / "venv_setup.py", cwd=folder)
        install(venv_python(folder / ".venv"), "--no-deps", runtime_wheel)
    started: list[ServerProcess] = []
    try:
        started.append(launch(tmp_path, start_command(running[0])))
        started.append(launch(tmp_path, start_command(running[1]), ready="hosting "))
        yield running
    finally:
        for process in reversed(started):
            process.stop()


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_deployed_plugin_measures_through_the_deployed_service(
    station: list[Path], tmp_path: Path, new_resource: Callable[[], str]
) -> None:
    for folder in station:  # each installed offline, from its own wheelhouse
        assert (folder / ".venv" / "installed.sha256").is_file()
        assert "--no-index" in (folder / "venv-install.log").read_text(encoding="utf-8")
    pin_map_id = write_pin_map(tmp_path / "station.pinmap", [new_resource()])
    caller = MeasurementCaller(DMM)
    try:
        outputs = caller.measure(pin_map_id)
    finally:
        caller.close()
    # The session name comes from the deployed service, through the plug-in's client.
    assert outputs["resource_session_name"]
    assert isinstance(outputs["measured_value"], float)
