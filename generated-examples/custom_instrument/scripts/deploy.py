r"""Write self-contained folders for a test station: the service and each plug-in, with wheels.

Usage:
    python scripts/deploy.py DEST                        # for this machine and this Python
    python scripts/deploy.py DEST --platform win_amd64 --python-version 3.12

DEST gets the layout of NI's Plug-Ins folders: DEST/Services/CustomInstrument is the
service, to copy into C:\ProgramData\National Instruments\Plug-Ins\Services;
DEST/Measurements/<plug-in> is each plug-in, to copy into
C:\ProgramData\National Instruments\Plug-Ins\Measurements.

Each folder is built for one platform and one Python minor version and holds its
scripts (install.bat, named by "installPath" in its .serviceconfig, and start.bat),
venv_setup.py, a `.python-version` naming that Python, a requirements.txt and a
`wheelhouse` with every wheel it needs, so that a folder copied on its own installs
offline (`pip install --no-index --find-links wheelhouse`) and refers to no path
outside itself.

What the folder installs is resolved for the station, not for this machine: `uv pip
compile` resolves this project's client and server (or the plug-in's requirements)
for the target platform and Python, constrained to requirements-dev.lock, so markers
such as `sys_platform == "win32"` are evaluated for the station and every package is
at the version the project's CI tested; uv answers from its cache when that holds
everything, and asks the index otherwise. requirements.txt pins each with the lock's
hashes (this project's own wheels with theirs), and pip downloads exactly those
files. A package the lock does not hold stops the deploy: run scripts/lock.py.

Needs uv (scripts/check.py installs it into .venv) and the package index (or pip's and
uv's own configured sources) on the machine that runs this script, not on the station.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
LOCK = PROJECT / "requirements-dev.lock"
SERVICE_FOLDER = "CustomInstrument"
PLUGINS = ("nidcpower_measurement", "nidmm_measurement")
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
# Wheel platform tag -> uv's name for the platform it resolves for.
PLATFORMS = {
    "win_amd64": "x86_64-pc-windows-msvc",
    "win_arm64": "aarch64-pc-windows-msvc",
    "win32": "i686-pc-windows-msvc",
}
VERSION_FILE = ".python-version"
# What a folder never takes along: environments, logs, caches, sources installed as wheels.
LEFT_BEHIND = shutil.ignore_patterns(
    ".venv",
    ".venv.lock",
    ".venv.old*",
    "venv-install.log",
    "__pycache__",
    "*.py[co]",
    "*.egg-info",
    "src",
    "pyproject.toml",
    "requirements.txt",
)
SHARED_DATA = "*.csv"
_LOCAL = re.compile(r"^(-e\s+|--editable\s+)?(\.|/|[A-Za-z]:)")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Target:
    """The station: a wheel platform tag (None: this machine's) and a Python minor version."""

    platform: str | None
    python_version: str

    def describe(self) -> str:
        """Say what the folders are for, e.g. `win_amd64, Python 3.12`."""
        return f"{self.platform or 'this platform'}, Python {self.python_version}"


def canonical(name: str) -> str:
    """A distribution name as indexes compare them: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(text: str) -> dict[str, dict[str, list[str]]]:
    """The lock's pins: canonical name -> version -> the hashes of that version's files."""
    pins: dict[str, dict[str, list[str]]] = {}
    for entry in text.replace("\\\n", " ").splitlines():
        found = _PIN.match(entry.strip())
        if found:
            hashes = pins.setdefault(canonical(found[1]), {}).setdefault(found[2], [])
            hashes += [digest for digest in _HASH.findall(entry) if digest not in hashes]
    return pins


def attempt(command: list[str], cwd: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    """Run a command, showing it, and return what it did."""
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def run(command: list[str], cwd: Path = PROJECT) -> str:
    """Run a command and return its output; stop with its output if it fails."""
    result = attempt(command, cwd)
    if result.returncode != 0:
        sys.exit(f"deploy: {Path(command[0]).name} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def find_uv() -> str:
    """The uv executable: on PATH, next to this Python, or in the project's .venv."""
    found = shutil.which("uv")
    if found:
        return found
    name = "uv.exe" if sys.platform == "win32" else "uv"
    venv = PROJECT / ".venv"
    for folder in (Path(sys.executable).parent, venv / "Scripts", venv / "bin"):
        if (folder / name).is_file():
            return str(folder / name)
    sys.exit("deploy: uv is needed; run python scripts/check.py once (it installs uv into .venv).")


def build_wheel(uv: str, project: Path, out: Path) -> Path:
    """Build `project`'s wheel into `out`; return it."""
    before = set(out.glob("*.whl"))
    run([uv, "build", "--quiet", "--wheel", "--out-dir", str(out), str(project)])
    (wheel,) = set(out.glob("*.whl")) - before
    return wheel


def wheel_name(wheel: Path) -> str:
    """The canonical distribution name of a wheel file (name-version-...whl)."""
    return canonical(wheel.name.split("-")[0])


def index_requirements(folder: Path) -> list[str]:
    """The lines of a folder's requirements.txt that name packages from an index."""
    lines = []
    for raw in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#") and not _LOCAL.match(line):
            lines.append(line)
    return lines


def resolve(
    uv: str, wheels: list[Path], requirements: list[str], target: Target, scratch: Path
) -> list[tuple[str, str]]:
    """Resolve `wheels` and `requirements` for `target` within the lock: (name, version) pins.

    Our own wheels are inputs, not outputs: they are not on any index.
    """
    inputs = scratch / "inputs.txt"
    lines = [*map(str, wheels), *requirements]
    inputs.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    command = [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate"]
    command += ["--python-version", target.python_version, "--constraints", str(LOCK)]
    if target.platform:
        command += ["--python-platform", PLATFORMS[target.platform]]
    for wheel in wheels:
        command += ["--no-emit-package", wheel_name(wheel)]
    # The lock pins every version, so uv's cache usually holds all the resolution needs
    # and answers in a fraction of a second, where asking the index takes seconds.
    cached = attempt([*command, "--offline", str(inputs)])
    output = cached.stdout if cached.returncode == 0 else run([*command, str(inputs)])
    pins = []
    for line in output.splitlines():
        found = _PIN.match(line.strip())
        if found:
            pins.append((found[1], found[2]))
    return pins


def pinned_lines(pins: list[tuple[str, str]], lock: dict[str, dict[str, list[str]]]) -> list[str]:
    """requirements.txt entries for `pins`, each with the lock's hashes; stop on one it lacks."""
    lines = []
    for name, version in pins:
        hashes = lock.get(canonical(name), {}).get(version)
        if not hashes:
            held = ", ".join(sorted(lock.get(canonical(name), {}))) or "no version"
            sys.exit(
                f"deploy: {name}=={version} is not in {LOCK.name} (it holds {held}): the lock "
                "does not cover what the folders install; run python scripts/lock.py and commit it."
            )
        lines.append(entry(f"{name}=={version}", hashes))
    return lines


def entry(requirement: str, hashes: list[str]) -> str:
    """One hash-checked requirements.txt entry."""
    return " \\\n    ".join([requirement, *(f"--hash={digest}" for digest in hashes)])


def own_lines(wheels: list[Path]) -> list[str]:
    """requirements.txt entries for this project's wheels, each with its file's hash."""
    lines = []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(entry(f"{canonical(name)}=={version}", [f"sha256:{digest}"]))
    return lines


def download(target: Target, lines: list[str], wheelhouse: Path, scratch: Path) -> None:
    """Download exactly the files `lines` name, for `target`, into `wheelhouse`."""
    requirements = scratch / "download.txt"
    requirements.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--require-hashes", "--only-binary=:all:", "--dest", str(wheelhouse)]
    command += ["--python-version", target.python_version]
    if target.platform:
        command += ["--platform", target.platform, "--implementation", "cp"]
    run([*command, "-r", str(requirements)])


def pin_of(requirement_or_wheel: str) -> tuple[str, str]:
    """(canonical name, version) of a `name==version` entry or a wheel's file name."""
    if requirement_or_wheel.endswith(".whl"):
        name, version = requirement_or_wheel.split("-")[:2]
        return canonical(name), version
    found = _PIN.match(requirement_or_wheel)
    if found is None:
        sys.exit(f"deploy: {requirement_or_wheel.splitlines()[0]!r} pins no version")
    return canonical(found[1]), found[2]


def download_all(target: Target, wanted: list[tuple[Path, list[str]]], scratch: Path) -> None:
    """Fill each (wheelhouse, entries) pair with exactly the files its entries name.

    The service and the plug-ins share most of their packages: one pip run downloads
    and hash-checks each file once, and each folder gets a copy of its own files.
    """
    every = list(dict.fromkeys(line for _, lines in wanted for line in lines))
    versions: dict[str, set[str]] = {}
    for line in every:
        name, version = pin_of(line)
        versions.setdefault(name, set()).add(version)
    if any(len(found) > 1 for found in versions.values()):
        # Folders that pin one package at different versions cannot share a pip run.
        for wheelhouse, lines in wanted:
            download(target, lines, wheelhouse, scratch)
        return
    downloads = scratch / "downloads"
    download(target, every, downloads, scratch)
    files = {pin_of(path.name): path for path in downloads.glob("*.whl")}
    for wheelhouse, lines in wanted:
        for line in lines:
            found = files.get(pin_of(line))
            if found is None:
                sys.exit(f"deploy: pip downloaded no wheel for {line.splitlines()[0]}")
            shutil.copy2(found, wheelhouse / found.name)


def write_folder(
    source: Path,
    target_folder: Path,
    target: Target,
    lines: list[str],
    wheels: list[Path],
    shared: tuple[Path, ...] = (),
) -> None:
    """Copy `source` (and `shared` files) to `target_folder`, with its requirements and wheels."""
    shutil.copytree(source, target_folder, ignore=LEFT_BEHIND)
    for path in shared:
        shutil.copy2(path, target_folder / path.name)
    (target_folder / VERSION_FILE).write_text(f"{target.python_version}\n", encoding="utf-8")
    (target_folder / "requirements.txt").write_text(
        f"# Written by scripts/deploy.py for {target.describe()}: the versions {LOCK.name}\n"
        "# holds (what CI tested), with their hashes; install.bat installs them offline\n"
        "# from ./wheelhouse.\n" + "".join(f"{line}\n" for line in lines),
        encoding="utf-8",
    )
    wheelhouse = target_folder / "wheelhouse"
    wheelhouse.mkdir()
    for wheel in wheels:
        shutil.copy2(wheel, wheelhouse / wheel.name)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("destination", type=Path, help="where to write Services/ and Measurements/")
    parser.add_argument(
        "--platform",
        choices=sorted(PLATFORMS),
        help="the station's wheel platform, e.g. win_amd64 (default: this machine's)",
    )
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    parser.add_argument(
        "--python-version",
        default=here,
        help=f"the Python minor version the station runs, one of {', '.join(PYTHON_VERSIONS)}"
        f" (default: this Python's, {here})",
    )
    args = parser.parse_args(argv)
    if args.python_version not in PYTHON_VERSIONS:
        parser.error(
            f"--python-version {args.python_version!r}: use one of {', '.join(PYTHON_VERSIONS)}"
        )
    if args.destination.exists() and any(args.destination.iterdir()):
        parser.error(f"{args.destination} is not empty; choose a new or empty folder")
    return args


def main(argv: list[str]) -> int:
    """Build the wheels, resolve each folder for the station and write the folders."""
    args = parse_args(argv)
    target = Target(args.platform, args.python_version)
    uv = find_uv()
    lock = read_lock(LOCK.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="deploy-") as scratch_name:
        scratch = Path(scratch_name)
        core = build_wheel(uv, PROJECT / "core", scratch)
        client = build_wheel(uv, PROJECT / "client", scratch)
        server = build_wheel(uv, PROJECT / "server", scratch)
        # Data files the plug-ins share in examples/ (a register map): each folder gets a copy.
        shared = tuple(sorted((PROJECT / "examples").glob(SHARED_DATA)))
        service = args.destination / "Services" / SERVICE_FOLDER
        folders: list[tuple[Path, Path, list[Path], list[str], tuple[Path, ...]]] = [
            (PROJECT / "server", service, [core, client, server], [], ())
        ]
        for plugin in PLUGINS:
            source = PROJECT / "examples" / plugin
            measurement = args.destination / "Measurements" / plugin
            folders.append(
                (source, measurement, [core, client], index_requirements(source), shared)
            )
        wanted = []
        for source, folder, wheels, requirements, data in folders:
            index_lines = pinned_lines(resolve(uv, wheels, requirements, target, scratch), lock)
            write_folder(source, folder, target, [*own_lines(wheels), *index_lines], wheels, data)
            wanted.append((folder / "wheelhouse", index_lines))
        download_all(target, wanted, scratch)
    written = f"{args.destination / 'Services'} and {args.destination / 'Measurements'}"
    print(f"Wrote {written} for {target.describe()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
