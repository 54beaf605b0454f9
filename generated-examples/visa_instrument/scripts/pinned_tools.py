r"""The pinned code tools (stub generators, formatter), in an environment of their own.

`copier copy` runs scripts/generate_stubs.py and scripts/format_sources.py with
Copier's own Python, which holds Copier and nothing else. The generators embed
their versions in the stubs and each ruff release formats a little differently,
so only the pinned versions give the same bytes everywhere. When the running
Python does not have them, they are installed once per version set (and Python
version) into the user's cache directory and reused by every later copy and
script run:

    Windows  %LOCALAPPDATA%\ni-session-service-template\Cache\<environment>
    macOS    ~/Library/Caches/ni-session-service-template/<environment>
    Linux    $XDG_CACHE_HOME (or ~/.cache)/ni-session-service-template/<environment>

`uv` builds the environment when it is on PATH, else the standard library's venv
and pip. Set NI_SESSION_TEMPLATE_CACHE to use another directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import IO

# The same versions as requirements-dev.txt, so the development environment has them too.
PINNED = {"grpcio-tools": "1.80.1", "mypy-protobuf": "5.1.0", "ruff": "0.17.6"}
APPLICATION = "ni-session-service-template"
CACHE_VARIABLE = "NI_SESSION_TEMPLATE_CACHE"
INSTALLED_MARKER = "installed-pins.txt"
# Words in an installer's output that mean the package index was not reached.
UNREACHABLE = re.compile(
    r"connection|connect to|timed? ?out|name resolution|resolve host|network|unreachable"
    r"|proxy|ssl|certificate|retries|from versions: none|failed to fetch|no matching distribution",
    re.IGNORECASE,
)


class ToolInstallError(Exception):
    """The pinned tools could not be installed; the message says why and what to do."""


def requirements(pins: Mapping[str, str] = PINNED) -> list[str]:
    """Return the pins as requirement specifiers, e.g. ``grpcio-tools==1.80.1``."""
    return [f"{name}=={version}" for name, version in pins.items()]


def missing_pins(pins: Mapping[str, str] = PINNED) -> list[str]:
    """Return what the running Python lacks of `pins`, as ``name found (needs version)``."""
    wrong = []
    for name, version in pins.items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            found = "not installed"
        if found != version:
            wrong.append(f"{name} {found} (needs {version})")
    return wrong


def cache_root(platform: str, environ: Mapping[str, str], home: Path) -> Path:
    """Return the directory for the tool environments, by the platform's convention.

    Args:
        platform: ``sys.platform`` of the machine the path is for.
        environ: Its environment variables.
        home: The user's home directory.
    """
    if environ.get(CACHE_VARIABLE):
        return Path(environ[CACHE_VARIABLE])
    if platform == "win32":
        local = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / APPLICATION / "Cache"
    if platform == "darwin":
        return home / "Library" / "Caches" / APPLICATION
    xdg = environ.get("XDG_CACHE_HOME", "")
    # The XDG specification says a relative value is invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else home / ".cache"
    return base / APPLICATION


def environment_name(pins: Mapping[str, str], version: tuple[int, int]) -> str:
    """Return the folder name of the environment for `pins` on Python `version`."""
    parts = [f"{name}-{pinned}" for name, pinned in sorted(pins.items())]
    return f"code-tools-py{version[0]}{version[1]}-" + "-".join(parts)


def environment_python(environment: Path, platform: str = sys.platform) -> Path:
    """Return the interpreter inside a virtual environment."""
    if platform == "win32":
        return environment / "Scripts" / "python.exe"
    return environment / "bin" / "python"


def default_environment(pins: Mapping[str, str] = PINNED) -> Path:
    """Return where this machine keeps the tool environment for `pins` and this Python."""
    root = cache_root(sys.platform, os.environ, Path.home())
    return root / environment_name(pins, (sys.version_info[0], sys.version_info[1]))


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an inter-process lock on `lock_path` so two copies never build at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        _lock(handle)
        try:
            yield
        finally:
            _unlock(handle)


def _lock(handle: IO[bytes]) -> None:
    """Block until this process holds the lock on the open file `handle`."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after ten seconds; keep waiting
                continue
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _unlock(handle: IO[bytes]) -> None:
    """Release the lock taken by `_lock`."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def is_complete(environment: Path, pins: Mapping[str, str]) -> bool:
    """Tell whether `environment` finished installing exactly `pins`."""
    marker = environment / INSTALLED_MARKER
    return (
        environment_python(environment).exists()
        and marker.is_file()
        and marker.read_text(encoding="utf-8").split() == requirements(pins)
    )


def _run_installer(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run one installer command, capturing its output for the error message."""
    return subprocess.run(
        command, capture_output=True, text=True, encoding="utf-8", errors="replace", check=False
    )


def _build(environment: Path, pins: Mapping[str, str]) -> None:
    """Create `environment` from scratch and install `pins` into it."""
    if environment.exists():
        shutil.rmtree(environment)  # a half-built environment is never reused
    python = environment_python(environment)
    uv = shutil.which("uv")
    if uv:
        steps = [
            [uv, "venv", "--quiet", "--python", sys.executable, str(environment)],
            [uv, "pip", "install", "--quiet", "--python", str(python), *requirements(pins)],
        ]
    else:
        try:
            venv.EnvBuilder(with_pip=True).create(environment)
        except (OSError, subprocess.CalledProcessError) as error:
            raise ToolInstallError(
                f"could not create a virtual environment in {environment} with {sys.executable} "
                f"({error}); on Debian and Ubuntu install the python3-venv package."
            ) from None
        steps = [
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + ["--no-input", *requirements(pins)]
        ]
    for step in steps:
        result = _run_installer(step)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise ToolInstallError(install_failure(environment, output, result.returncode))
    (environment / INSTALLED_MARKER).write_text(" ".join(requirements(pins)) + "\n", "utf-8")


def install_failure(environment: Path, output: str, code: int) -> str:
    """Return the message for a failed install: why, the installer's last words, what next."""
    pins = " ".join(requirements())
    if UNREACHABLE.search(output):
        why = (
            "the package index could not be reached (or it offers no build of them for "
            f"Python {sys.version_info[0]}.{sys.version_info[1]} on {sys.platform})"
        )
    else:
        why = f"the installer failed with exit code {code}"
    last_lines = "\n".join("    " + line for line in output.splitlines()[-6:])
    return (
        f"could not install {pins} into {environment}: {why}.\n"
        f"{last_lines}\n"
        "Once the network is back, run in the project directory:\n"
        f'    "{sys.executable}" scripts/generate_stubs.py\n'
        f'    "{sys.executable}" scripts/format_sources.py\n'
        "or, when `copier copy` removed the new project, run the same `copier copy` again."
    )


def python_with_pins(pins: Mapping[str, str] = PINNED, *, log: IO[str] = sys.stderr) -> Path:
    """Return a Python that has `pins`: this one if it does, else the cached environment's.

    Builds the cached environment on first use, saying so in one line on `log`.

    Raises:
        ToolInstallError: The environment could not be built.
    """
    if not missing_pins(pins):
        return Path(sys.executable)
    environment = default_environment(pins)
    with exclusive(environment.parent / f"{environment.name}.lock"):
        if not is_complete(environment, pins):
            installer = "uv" if shutil.which("uv") else "pip"
            print(
                f"Installing {' '.join(requirements(pins))} with {installer} into {environment} "
                "(once; later copies reuse it).",
                file=log,
                flush=True,
            )
            _build(environment, pins)
    return environment_python(environment)
