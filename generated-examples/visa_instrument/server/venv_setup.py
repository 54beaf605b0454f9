"""Build this folder's .venv from requirements.txt, once per change of what it installs.

Template-owned; start.bat and start.sh run it with the Python they found (on
Windows: %PYTHON% if set, else the `py -3` launcher, else `python`), then start
the service with .venv's Python. NI Discovery Service starts services with no
console, so everything pip says goes to venv-install.log next to .venv, and a
failure says where that log is.

- Needs Python 3.10 or newer; an older one is refused with a message.
- .venv/installed.sha256 holds a hash of what was installed (requirements.txt,
  the pyproject.toml of each local project it names, the wheelhouse's files and
  the Python version): when it matches, nothing is done; when it does not, or
  is missing (a half-built .venv), .venv is built again from scratch.
- Two launches at once never install at the same time: the second waits for
  the first (a lock on .venv.lock) and then finds .venv ready.
- A `wheelhouse` folder next to this file (scripts/deploy.py writes one) makes
  the install offline: `pip install --no-index --find-links wheelhouse`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MINIMUM_PYTHON = (3, 10)
HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
REQUIREMENTS = HERE / "requirements.txt"
WHEELHOUSE = HERE / "wheelhouse"
LOG = HERE / "venv-install.log"
LOCK = HERE / ".venv.lock"
MARKER_NAME = "installed.sha256"
LOCK_TIMEOUT = 30 * 60  # seconds: a first install on a slow station can take minutes


def version_problem(version: tuple[int, ...]) -> str | None:
    """Say why this Python version cannot run the service, or None if it can."""
    if tuple(version[:2]) >= MINIMUM_PYTHON:
        return None
    found = ".".join(str(part) for part in version[:3])
    wanted = ".".join(str(part) for part in MINIMUM_PYTHON)
    return (
        f"Python {found} is too old: the service needs Python {wanted} or newer. Install one "
        "(for all users), or set PYTHON to the full path of its python.exe (python3 on POSIX)."
    )


def venv_python(venv: Path) -> Path:
    """The interpreter inside `venv`."""
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def local_projects(requirements: Path) -> list[Path]:
    """The local project folders requirements.txt installs (`-e PATH`, `./PATH`, `../PATH`)."""
    projects = []
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line.startswith(("-e ", "--editable ")):
            line = line.split(None, 1)[1].strip()
        if line.startswith((".", "/")) or (len(line) > 1 and line[1] == ":"):
            projects.append((requirements.parent / line).resolve())
    return projects


def install_digest(folder: Path, version: str) -> str:
    """Hash what an install depends on: requirements, local projects, wheelhouse, Python."""
    digest = hashlib.sha256(f"python {version}\n".encode())
    requirements = folder / REQUIREMENTS.name
    digest.update(requirements.read_bytes())
    for project in local_projects(requirements):
        pyproject = project / "pyproject.toml"
        digest.update(f"\n{project.name}\n".encode())
        if pyproject.is_file():
            digest.update(pyproject.read_bytes())
    wheelhouse = folder / WHEELHOUSE.name
    if wheelhouse.is_dir():
        for wheel in sorted(wheelhouse.iterdir()):
            digest.update(f"\n{wheel.name} {wheel.stat().st_size}".encode())
    return digest.hexdigest()


def is_current(venv: Path, digest: str) -> bool:
    """Whether `venv` is complete and holds what `digest` describes."""
    marker = venv / MARKER_NAME
    try:
        return venv_python(venv).is_file() and marker.read_text(encoding="utf-8") == digest
    except OSError:
        return False


@contextmanager
def exclusive(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (other processes wait; released on exit or death)."""
    with open(lock_path, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while not _try_lock(handle.fileno()):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"another start of this service has held {lock_path} for {timeout:.0f} s"
                )
            time.sleep(0.2)
        try:
            yield
        finally:
            _unlock(handle.fileno())


if sys.platform == "win32":
    import msvcrt

    def _try_lock(descriptor: int) -> bool:
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


def build(folder: Path, digest: str, log: Path) -> int:
    """Build .venv from scratch and install requirements.txt; return pip's exit code."""
    venv = folder / VENV.name
    with open(log, "a", encoding="utf-8") as output:
        output.write(f"\n=== building {venv} with Python {sys.version.split()[0]}\n")
        output.flush()
        if venv.exists():
            shutil.rmtree(venv)
        run = [sys.executable, "-m", "venv", str(venv)]
        code = subprocess.call(run, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
        if code != 0:
            return code
        index = ["--no-index", "--find-links", WHEELHOUSE.name]
        install = [str(venv_python(venv)), "-m", "pip", "install", "--no-input"]
        install += ["--disable-pip-version-check", "--no-color", "--progress-bar", "off"]
        install += [*(index if (folder / WHEELHOUSE.name).is_dir() else [])]
        install += ["-r", REQUIREMENTS.name]
        output.write(f"=== {' '.join(install)}\n")
        output.flush()
        code = subprocess.call(install, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
        if code != 0:
            return code
        marker = venv / MARKER_NAME
        marker.with_suffix(".tmp").write_text(digest, encoding="utf-8")
        os.replace(marker.with_suffix(".tmp"), marker)
        output.write("=== installed\n")
    return 0


def main() -> int:
    """Make .venv current; return 0, or 1 after saying what failed and where the log is."""
    problem = version_problem(sys.version_info[:3])
    if problem:
        print(f"error: {problem} (this is {sys.executable})", file=sys.stderr)
        return 1
    digest = install_digest(HERE, sys.version.split()[0])
    if is_current(VENV, digest):
        return 0
    try:
        with exclusive(LOCK, LOCK_TIMEOUT):
            if is_current(VENV, digest):  # another start built it meanwhile
                return 0
            code = build(HERE, digest, LOG)
    except (OSError, TimeoutError) as error:
        print(f"error: could not build {VENV}: {error}. The log is {LOG}.", file=sys.stderr)
        return 1
    if code != 0:
        print(
            f"error: installing into {VENV} failed (exit code {code}); pip's output is in {LOG}.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
