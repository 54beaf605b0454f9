"""start.bat / start.sh as a station runs them: line endings, .venv building, locking, logs."""

from __future__ import annotations

import importlib.util
import json
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


def test_a_deployed_folder_takes_only_its_python_version() -> None:
    setup = load_setup()
    problem = setup.version_problem((3, 13, 1), (3, 12))
    assert problem is not None
    assert "3.13.1" in problem and "py -3.12" in problem and "PYTHON" in problem
    assert setup.version_problem((3, 12, 9), (3, 12)) is None


def test_windows_in_use_errors_are_recognised() -> None:
    """What moving a directory raises on Windows while a process runs from it."""
    setup = load_setup()
    for winerror in (5, 32):  # ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION
        error = PermissionError(13, "Access is denied")
        error.winerror = winerror  # type: ignore[attr-defined,unused-ignore]  # as on Windows
        assert setup.is_in_use(error)
    assert not setup.is_in_use(FileNotFoundError(2, "No such file or directory"))


def test_base_python_path_is_written_only_when_cmd_can_read_it_back() -> None:
    setup = load_setup()
    plain = r"C:\Program Files (x86)\Python312\python.exe"
    assert setup.batch_readable(plain) == plain
    german = r"C:\Users\Jürgen\AppData\Local\Programs\Python\Python312\python.exe"
    assert setup.batch_readable(german) is None
    short = r"C:\Users\JRGEN~1\AppData\Local\Programs\Python\Python312\python.exe"
    assert setup.batch_readable(german, lambda path: short) == short

    def no_short_names(path: str) -> str:
        raise OSError(f"no short name for {path}")  # 8.3 names turned off on the volume

    assert setup.batch_readable(german, no_short_names) is None


STAND_IN = """import os, sys
print('prefix', sys.prefix)
print('arguments', sys.argv[1:])
if sys.platform == 'win32':
    import ctypes
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, os.getppid())
    name = ctypes.create_unicode_buffer(32768)
    size = ctypes.c_ulong(len(name))
    kernel32.QueryFullProcessImageNameW(handle, 0, name, ctypes.byref(size))
    kernel32.CloseHandle(handle)
    print('parent', name.value)
"""


def service_folder(parent: Path) -> Path:
    """A service folder: its scripts and requirements.txt, under a path a station may have.

    Spaces, parentheses, `&` and non-ASCII characters: what start.bat and install.bat
    must survive (`...\\Program Files (x86)\\...`, `OneDrive - Contoso (EU)`).
    """
    service = parent / "Prüfdaten (x86) & Linie 3" / "Service Folder"
    service.mkdir(parents=True)
    for name in ("venv_setup.py", "start.sh", "start.bat", "install.bat"):
        shutil.copy2(SERVER / name, service / name)
    (service / "requirements.txt").write_text(NOTHING, encoding="utf-8")
    # Stands in for the server: shows which Python runs it, with what, and (Windows)
    # which program started it.
    (service / "serve.py").write_text(STAND_IN, encoding="utf-8")
    return service


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A service folder no start has run in yet."""
    return service_folder(tmp_path)


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


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its modification time and size."""
    return {
        str(path.relative_to(folder)): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service folder after its first start: what every later start finds.

    Built once for the tests that only start it again or read it (a build is seconds
    of venv and pip); tests that change the folder build their own.
    """
    service = service_folder(tmp_path_factory.mktemp("built"))
    result = set_up(service)
    assert result.returncode == 0, result.stderr
    return service


def test_a_current_venv_is_used_without_writing_anything(built: Path) -> None:
    """What lets another user (NI Discovery Service's) start a .venv an administrator built."""
    before = snapshot(built)
    assert set_up(built).returncode == 0
    assert snapshot(built) == before


def test_first_start_builds_and_later_starts_reuse(built: Path) -> None:
    assert (built / ".venv" / "installed.sha256").is_file()
    assert "--no-input" in (built / "venv-install.log").read_text(encoding="utf-8")
    assert set_up(built).returncode == 0
    assert builds(built) == 1


def test_a_patch_update_of_python_keeps_the_venv(built: Path) -> None:
    setup = load_setup()
    major, minor = sys.version_info[:2]
    for patch in (0, 4, 99):  # 3.12.4 -> 3.12.5: same ABI, same site-packages
        assert setup.is_current(built / ".venv", setup.install_digest(built, (major, minor, patch)))
    assert not setup.is_current(built / ".venv", setup.install_digest(built, (major, minor + 1)))


def test_the_venv_names_the_python_it_was_made_from(built: Path) -> None:
    setup = load_setup()
    base = setup.base_python(built / ".venv")
    assert base is not None and base.is_file()
    written = built / ".venv" / "base-python.txt"
    if str(base).isascii():
        assert written.read_text(encoding="ascii") == str(base)
    else:
        assert not written.exists()


def test_another_python_version_is_refused_before_anything_is_built(folder: Path) -> None:
    other = f"3.{sys.version_info[1] + 1}"
    (folder / ".python-version").write_text(f"{other}\n", encoding="utf-8")
    result = set_up(folder)
    assert result.returncode == 1
    assert f"built for Python {other}" in result.stderr and f"py -{other}" in result.stderr
    assert not (folder / ".venv").exists()
    (folder / ".python-version").write_text("latest\n", encoding="utf-8")
    result = set_up(folder)
    assert result.returncode == 1 and "should be like 3.12" in result.stderr


def test_changed_requirements_rebuild(folder: Path) -> None:
    assert set_up(folder).returncode == 0
    keep = folder / ".venv" / "from-the-first-build"
    keep.write_text("", encoding="utf-8")
    (folder / "requirements.txt").write_text(NOTHING + "# changed\n", encoding="utf-8")
    assert set_up(folder).returncode == 0
    assert builds(folder) == 2
    assert not keep.exists()
    retired = list(folder.glob(".venv.old-*"))
    if sys.platform == "win32":
        assert retired == []  # Windows moved it, so nothing ran from it: deleted at once
        return
    # POSIX moves it even while a process runs from it, which keeps its open files:
    # it stays until the next rebuild.
    assert [path.name for path in retired[0].iterdir() if path.name.startswith("from")]
    (folder / "requirements.txt").write_text(NOTHING + "# changed again\n", encoding="utf-8")
    assert set_up(folder).returncode == 0
    assert not retired[0].exists()


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


# Old start.bat lines, each breaking on a station: `%~dp0` unquoted inside a block
# (a folder under "Program Files (x86)"), `errorlevel 1` (true for 1 and above only:
# 0xC000013A, a Ctrl+C or a closed window, is negative) and `cd /d` (no UNC paths).
OLD_START_BAT = """@echo off
cd /d "%~dp0"
py -3 venv_setup.py
if errorlevel 1 (
    echo start.bat: see %~dp0venv-install.log 1>&2
    exit /b 1
)
"""
EXPANDED_PATHS = ("%~dp0", "%CD%", "%PYTHON%", "%BASE%", "%PYTHON:")


def batch_problems(text: str) -> list[str]:
    """What in a batch file breaks on some folder path or exit code a station gives."""
    problems = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        code = line.strip()
        if code.lower().startswith("rem ") or code.startswith("::"):
            continue
        if "errorlevel 1" in code.lower():
            problems.append(f"line {number}: `errorlevel 1` lets negative exit codes pass")
        if code.lower().startswith("cd /d"):
            problems.append(f"line {number}: cd cannot enter a UNC path; pushd can")
        for expansion in EXPANDED_PATHS:
            start = code.upper().find(expansion.upper())
            while start >= 0:
                if in_block:
                    problems.append(f"line {number}: {expansion} expanded inside a ( ) block")
                if code[:start].count('"') % 2 == 0:
                    problems.append(f"line {number}: {expansion} unquoted")
                start = code.upper().find(expansion.upper(), start + 1)
        if code.endswith("("):
            in_block = True
        elif code.startswith(")"):
            in_block = False
    return problems


def test_batch_files_survive_any_folder_path_and_exit_code() -> None:
    assert len(batch_problems(OLD_START_BAT)) == 4
    batch_files = sorted(p for p in PROJECT.rglob("*.bat") if ".venv" not in p.parts)
    assert len(batch_files) >= 6
    for path in batch_files:
        assert batch_problems(path.read_text(encoding="ascii")) == [], path


def test_every_folder_declares_its_install_script_and_what_not_to_publish() -> None:
    folders = [SERVER, *sorted(PROJECT.glob("examples/*_measurement"))]
    for folder in folders:
        (config,) = folder.glob("*.serviceconfig")
        (service,) = json.loads(config.read_text(encoding="utf-8"))["services"]
        assert (service["path"], service["installPath"]) == ("start.bat", "install.bat")
        assert (folder / "install.bat").is_file()
        ignored = (folder / ".serviceignore").read_text(encoding="utf-8").splitlines()
        assert {".venv", "__pycache__", "venv-install.log"} <= set(ignored), folder
    assert len({(folder / "install.bat").read_bytes() for folder in folders}) == 1


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
    # The real interpreter, started by cmd.exe: not .venv's redirector, whose death at
    # a console close would end the server before its handler ran.
    parent = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert Path(parent["parent"]).name.lower() == "cmd.exe", parent["parent"]


def run_start_bat(folder: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run start.bat as NI Discovery Service does: cmd.exe, no stdin."""
    return subprocess.run(
        ["cmd.exe", "/d", "/c", str(folder / "start.bat"), "--no-discovery"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=environment,
    )


@pytest.mark.skipif(
    sys.platform != "win32", reason="the py launcher and cmd.exe run only on Windows"
)
def test_start_bat_finds_the_folders_python_version_with_the_py_launcher(folder: Path) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    probe = subprocess.run(["py", f"-{version}", "-c", ""], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"the py launcher finds no Python {version} here")
    (folder / ".python-version").write_text(f"{version}\n", encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key.upper() != "PYTHON"}
    assert_ran_in_the_venv(run_start_bat(folder, environment), folder)


@pytest.mark.skipif(
    sys.platform != "win32", reason="cmd.exe and its exit codes exist only on Windows"
)
def test_start_bat_takes_a_quoted_python_and_stops_on_a_negative_exit_code(folder: Path) -> None:
    environment = {**os.environ, "PYTHON": f'"{sys.executable}"'}
    assert_ran_in_the_venv(run_start_bat(folder, environment), folder)
    shutil.rmtree(folder / ".venv")
    # An install ended by Ctrl+C or a closed window exits with 0xC000013A (negative).
    (folder / "venv_setup.py").write_text("import sys\nsys.exit(0xC000013A)\n", encoding="utf-8")
    result = run_start_bat(folder, environment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "prefix" not in result.stdout and ".venv is not installed" in result.stderr


@pytest.mark.skipif(
    sys.platform != "win32",
    reason="a directory in use refuses a move only on Windows (POSIX moves it)",
)
def test_a_rebuild_leaves_a_venv_a_running_instance_uses(folder: Path) -> None:
    assert set_up(folder).returncode == 0
    python = folder / ".venv" / "Scripts" / "python.exe"
    running = subprocess.Popen(
        [str(python), "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=folder / ".venv",
    )
    try:
        assert running.stdout is not None and running.stdout.readline() == "ready\n"
        (folder / "requirements.txt").write_text(NOTHING + "# changed\n", encoding="utf-8")
        result = set_up(folder)
        assert result.returncode == 1 and "running instance" in result.stderr
        assert (folder / ".venv" / "installed.sha256").is_file()
    finally:
        assert running.stdin is not None
        running.stdin.close()
        running.wait(timeout=60)
