"""start.bat / start.sh as a station runs them: line endings, .venv building, locking, logs."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from support import PROJECT

# Slow, and the same for every answer: the template's matrix runs it in a few renders only.
pytestmark = pytest.mark.environment

SERVER = PROJECT / "server"
SETUP_COPIES = [SERVER / "venv_setup.py", *sorted(PROJECT.glob("examples/*/venv_setup.py"))]
BUILDING = "=== building "
NOTHING = "# nothing to install: the test needs no package index\n"


def load_setup() -> ModuleType:
    """Import server/venv_setup.py (a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("venv_setup", SERVER / "venv_setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_batch_files_have_crlf_line_endings() -> None:
    batch_files = [p for p in PROJECT.rglob("*.bat") if ".venv" not in p.parts]
    assert batch_files
    for path in batch_files:
        data = path.read_bytes()
        assert b"\r\n" in data, path
        assert b"\n" not in data.replace(b"\r\n", b""), f"{path} has a line ending in LF alone"
        assert b"\r" not in data.replace(b"\r\n", b""), f"{path} has a line ending in CR alone"
    attributes = (PROJECT / ".gitattributes").read_text(encoding="utf-8").splitlines()
    assert "*.bat text eol=crlf" in attributes


def test_every_folder_has_the_same_venv_setup() -> None:
    assert len(SETUP_COPIES) >= 3
    assert len({path.read_bytes() for path in SETUP_COPIES}) == 1


def test_old_python_is_refused_with_a_message() -> None:
    setup = load_setup()
    problem = setup.version_problem((3, 9, 18))
    assert problem is not None
    assert "3.9.18" in problem and "3.10" in problem and "PYTHON" in problem
    assert setup.version_problem(sys.version_info[:3]) is None


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A service folder: venv_setup.py, start.sh, start.bat, and requirements.txt."""
    service = tmp_path / "Service Folder"
    service.mkdir()
    for name in ("venv_setup.py", "start.sh", "start.bat"):
        shutil.copy2(SERVER / name, service / name)
    (service / "requirements.txt").write_text(NOTHING, encoding="utf-8")
    # Stands in for the server: shows which Python runs it, with what.
    (service / "serve.py").write_text(
        "import sys\nprint('prefix', sys.prefix)\nprint('arguments', sys.argv[1:])\n",
        encoding="utf-8",
    )
    return service


def set_up(folder: Path) -> subprocess.CompletedProcess[str]:
    """Run the folder's venv_setup.py as start.bat / start.sh do."""
    return subprocess.run(
        [sys.executable, str(folder / "venv_setup.py")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def assert_ran_in_the_venv(result: subprocess.CompletedProcess[str], folder: Path) -> None:
    """The stand-in server ran with the folder's .venv Python and the arguments given."""
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert Path(lines["prefix"]).resolve() == (folder / ".venv").resolve()
    assert lines["arguments"] == "['--no-discovery']"


def builds(folder: Path) -> int:
    """How many times .venv was built, from the install log."""
    return (folder / "venv-install.log").read_text(encoding="utf-8").count(BUILDING)


def test_first_start_builds_and_later_starts_reuse(folder: Path) -> None:
    assert set_up(folder).returncode == 0
    assert (folder / ".venv" / "installed.sha256").is_file()
    assert "--no-input" in (folder / "venv-install.log").read_text(encoding="utf-8")
    assert set_up(folder).returncode == 0
    assert builds(folder) == 1


def test_changed_requirements_rebuild(folder: Path) -> None:
    assert set_up(folder).returncode == 0
    keep = folder / ".venv" / "from-the-first-build"
    keep.write_text("", encoding="utf-8")
    (folder / "requirements.txt").write_text(NOTHING + "# changed\n", encoding="utf-8")
    assert set_up(folder).returncode == 0
    assert builds(folder) == 2
    assert not keep.exists()


def test_half_built_venv_is_rebuilt(folder: Path) -> None:
    # What an interrupted first start leaves: .venv without the marker.
    (folder / ".venv").mkdir()
    leftover = folder / ".venv" / "half"
    leftover.write_text("", encoding="utf-8")
    assert set_up(folder).returncode == 0
    assert not leftover.exists()
    assert (folder / ".venv" / "installed.sha256").is_file()


def test_failed_install_names_the_log_and_leaves_no_marker(folder: Path) -> None:
    (folder / "requirements.txt").write_text("-e ./no-such-project\n", encoding="utf-8")
    result = set_up(folder)
    assert result.returncode == 1
    assert str(folder / "venv-install.log") in result.stderr
    assert "no-such-project" in (folder / "venv-install.log").read_text(encoding="utf-8")
    assert not (folder / ".venv" / "installed.sha256").exists()


def test_two_starts_at_once_build_once(folder: Path) -> None:
    command = [sys.executable, str(folder / "venv_setup.py")]
    starts = [
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for start in starts:
        _, errors = start.communicate(timeout=600)
        assert start.returncode == 0, errors
    assert builds(folder) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="start.sh is the POSIX script")
def test_start_sh_builds_then_runs_with_the_venv_python(folder: Path) -> None:
    environment = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["sh", str(folder / "start.sh"), "--no-discovery"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=environment,
    )
    assert_ran_in_the_venv(result, folder)


@pytest.mark.skipif(sys.platform != "win32", reason="start.bat runs under cmd.exe on Windows")
def test_start_bat_builds_then_runs_with_the_venv_python(folder: Path) -> None:
    environment = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["cmd.exe", "/d", "/c", str(folder / "start.bat"), "--no-discovery"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=environment,
    )
    assert_ran_in_the_venv(result, folder)
