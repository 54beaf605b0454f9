"""Install this folder's .venv from requirements.txt, once per change of what it installs.

Template-owned. On Windows install.bat runs it with the Python it finds (%PYTHON%
if set, else the py launcher for the version in .python-version, else `python`);
NI Discovery Service runs install.bat (the .serviceconfig's "installPath"), and
start.bat runs it first only when .venv is not installed. start.sh (POSIX) runs it
on every start. Discovery runs both with no console, so everything pip says goes
to venv-install.log next to .venv, and a failure says where that log is.

- Needs Python 3.10 or newer; a folder scripts/deploy.py wrote also has a
  .python-version (e.g. 3.12: its wheelhouse holds wheels for that version only),
  and any other version is refused with a message naming the one it needs.
- .venv/installed.sha256 holds a hash of what was installed (requirements.txt,
  the pyproject.toml of each local project it names, the wheelhouse's files and
  the Python minor version): when it matches, nothing is done, so a patch update
  (3.12.4 to 3.12.5) keeps .venv, and a .venv an administrator installed is used
  as it is by any user. When it does not match, or is missing (a half-built
  .venv), .venv is built again: the old one is first moved aside, which Windows
  refuses while a running instance uses it, so a rebuild never pulls a .venv
  from under a running service (it stops with a message instead).
- Two launches at once never install at the same time: the second waits for
  the first (a lock on .venv.lock) and then finds .venv ready.
- A `wheelhouse` folder next to this file (scripts/deploy.py writes one) makes
  the install offline and hash-checked: `pip install --no-index --find-links
  wheelhouse --require-hashes`.
- .venv/base-python.txt names the Python .venv was made from, when cmd.exe can
  read its path back (ASCII): start.bat runs that interpreter with the venv's
  environment rather than .venv's redirector, whose job would end the server
  before its console-close handler has unregistered it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MINIMUM_PYTHON = (3, 10)
HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
REQUIREMENTS = HERE / "requirements.txt"
WHEELHOUSE = HERE / "wheelhouse"
VERSION_FILE = HERE / ".python-version"
LOG = HERE / "venv-install.log"
LOCK = HERE / ".venv.lock"
MARKER_NAME = "installed.sha256"
BASE_PYTHON_NAME = "base-python.txt"
RETIRED = ".venv.old-"
LOCK_TIMEOUT = 30 * 60  # seconds: a first install on a slow station can take minutes
# What Windows says when a directory cannot be moved because a process uses a file in it:
# ERROR_ACCESS_DENIED (5) and ERROR_SHARING_VIOLATION (32).
IN_USE_WINERRORS = (5, 32)


class InUseError(Exception):
    """.venv needs a rebuild, but a running instance uses it; the message says what to do."""


def required_version(folder: Path) -> tuple[int, int] | None:
    """The Python minor version `folder` is built for (.python-version, e.g. 3.12), if any."""
    try:
        text = (folder / VERSION_FILE.name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    major, _, minor = text.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise ValueError(f"{folder / VERSION_FILE.name} says {text!r}; it should be like 3.12")
    return int(major), int(minor)


def version_problem(
    version: tuple[int, ...], required: tuple[int, int] | None = None
) -> str | None:
    """Say why this Python version cannot run the service, or None if it can."""
    found = ".".join(str(part) for part in version[:3])
    if required is not None and tuple(version[:2]) != required:
        wanted = ".".join(map(str, required))
        return (
            f"Python {found} cannot install this folder: it is built for Python {wanted} "
            f"(its wheelhouse holds wheels for {wanted} only). Install Python {wanted} (for all "
            f"users; the py launcher finds it with py -{wanted}), or set PYTHON to the full "
            "path of its python.exe (python3 on POSIX)."
        )
    if tuple(version[:2]) >= MINIMUM_PYTHON:
        return None
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


def install_digest(folder: Path, version: tuple[int, ...]) -> str:
    """Hash what an install depends on: requirements, local projects, wheelhouse, Python minor.

    Only the minor version counts: a patch update keeps the same ABI and site-packages.
    """
    digest = hashlib.sha256(f"python {version[0]}.{version[1]}\n".encode())
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
    """Whether `venv` is complete and holds what `digest` describes (reads only)."""
    marker = venv / MARKER_NAME
    try:
        return venv_python(venv).is_file() and marker.read_text(encoding="utf-8") == digest
    except OSError:
        return False


def base_python(venv: Path) -> Path | None:
    """The interpreter `venv` was made from: `home` in pyvenv.cfg, as the redirector reads it."""
    try:
        lines = (venv / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "home":
            name = "python.exe" if sys.platform == "win32" else "python3"
            return Path(value.strip()) / name
    return None


def batch_readable(path: str, short_name: Callable[[str], str] | None = None) -> str | None:
    r"""`path` as cmd.exe's `set /p` reads it back whatever the code page (ASCII), or None.

    A non-ASCII path (C:\Users\Jürgen\...) is tried as its 8.3 short name, which
    Windows may not have (short names can be turned off per volume).
    """
    if path.isascii():
        return path
    if short_name is not None:
        try:
            short = short_name(path)
        except OSError:
            return None
        if short.isascii():
            return short
    return None


def windows_short_name(path: str) -> str:
    """The 8.3 short form of `path` (GetShortPathNameW); raises OSError when there is none."""
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    size = kernel32.GetShortPathNameW(path, None, 0)
    buffer = ctypes.create_unicode_buffer(size)
    if not size or not kernel32.GetShortPathNameW(path, buffer, size):
        raise OSError(f"no short name for {path}")
    return buffer.value


def is_in_use(error: OSError) -> bool:
    """Whether moving a directory failed because a running process uses a file in it."""
    return getattr(error, "winerror", None) in IN_USE_WINERRORS or error.errno == errno.EBUSY


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


def retire(venv: Path) -> None:
    """Move `venv` aside before a rebuild, and delete what earlier rebuilds moved aside.

    Windows refuses to move a directory while a process runs from it: then nothing is
    deleted and InUseError says so. POSIX moves it anyway and a running process keeps
    its open files, so what is moved aside is deleted only at the next rebuild.
    """
    for old in sorted(venv.parent.glob(RETIRED + "*")):
        shutil.rmtree(old, ignore_errors=True)
    if not venv.exists():
        return
    aside = venv.with_name(f"{RETIRED}{os.getpid()}")
    try:
        os.replace(venv, aside)
    except OSError as error:
        if is_in_use(error):
            raise InUseError(
                f"{venv} must be rebuilt, but Windows refuses to move it aside "
                f"({error.strerror}): a running instance of this service uses it, or this "
                "user may not change this folder. Stop the running instance (or run "
                "install.bat as the user who installed it), then start again"
            ) from error
        raise
    if sys.platform == "win32":
        shutil.rmtree(aside, ignore_errors=True)


def build(folder: Path, digest: str, log: Path) -> int:
    """Build .venv from scratch and install requirements.txt; return pip's exit code."""
    venv = folder / VENV.name
    with open(log, "a", encoding="utf-8") as output:
        output.write(f"\n=== building {venv} with Python {sys.version.split()[0]}\n")
        output.flush()
        retire(venv)
        run = [sys.executable, "-m", "venv", str(venv)]
        code = subprocess.call(run, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
        if code != 0:
            return code
        index = ["--no-index", "--find-links", WHEELHOUSE.name, "--require-hashes"]
        install = [str(venv_python(venv)), "-m", "pip", "install", "--no-input"]
        install += ["--disable-pip-version-check", "--no-color", "--progress-bar", "off"]
        install += [*(index if (folder / WHEELHOUSE.name).is_dir() else [])]
        install += ["-r", REQUIREMENTS.name]
        output.write(f"=== {' '.join(install)}\n")
        output.flush()
        code = subprocess.call(install, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
        if code != 0:
            return code
        base = base_python(venv)
        short_name = windows_short_name if sys.platform == "win32" else None
        readable = None
        if base is not None and base.is_file():
            readable = batch_readable(str(base), short_name)
        if readable is not None:
            (venv / BASE_PYTHON_NAME).write_text(readable, encoding="ascii")
        marker = venv / MARKER_NAME
        marker.with_suffix(".tmp").write_text(digest, encoding="utf-8")
        os.replace(marker.with_suffix(".tmp"), marker)
        output.write("=== installed\n")
    return 0


def main() -> int:
    """Make .venv current; return 0, or 1 after saying what failed and where the log is."""
    try:
        problem = version_problem(sys.version_info[:3], required_version(HERE))
    except ValueError as error:
        problem = str(error)
    if problem:
        print(f"error: {problem} (this is {sys.executable})", file=sys.stderr)
        return 1
    digest = install_digest(HERE, sys.version_info[:2])
    if is_current(VENV, digest):
        return 0
    try:
        with exclusive(LOCK, LOCK_TIMEOUT):
            if is_current(VENV, digest):  # another start built it meanwhile
                return 0
            code = build(HERE, digest, LOG)
    except InUseError as error:
        print(f"error: {error}.", file=sys.stderr)
        return 1
    except PermissionError as error:
        print(
            f"error: could not build {VENV}: {error}. This user may not change this folder "
            "(an administrator installed it?): run install.bat as a user who may.",
            file=sys.stderr,
        )
        return 1
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
