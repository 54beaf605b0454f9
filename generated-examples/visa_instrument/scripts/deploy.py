r"""Write self-contained folders for a test station: the service and each plug-in, with wheels.

Usage:
    python scripts/deploy.py DEST                        # for this machine's platform
    python scripts/deploy.py DEST --platform win_amd64 --python-version 3.11

DEST gets the layout of NI's Plug-Ins folders: DEST/Services/VisaInstrument is the
service, to copy into C:\ProgramData\National Instruments\Plug-Ins\Services;
DEST/Measurements/<plug-in> is each plug-in, to copy into
C:\ProgramData\National Instruments\Plug-Ins\Measurements.

Each folder holds its start scripts, venv_setup.py, a requirements.txt that names
wheels, and a `wheelhouse` with every wheel it needs (this project's client and
server, built here, and their dependencies), so that a folder copied on its own
installs offline on its first start (`pip install --no-index --find-links
wheelhouse`) and refers to no path outside itself. Building the wheels and
downloading the dependencies needs the package index (or pip's own configured
sources) on the machine that runs this script, not on the station.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SERVICE_FOLDER = "VisaInstrument"
PLUGINS = ("nidcpower_measurement", "nidmm_measurement")
# What a folder never takes along: environments, logs, caches, sources installed as wheels.
LEFT_BEHIND = shutil.ignore_patterns(
    ".venv",
    ".venv.lock",
    "venv-install.log",
    "__pycache__",
    "*.py[co]",
    "*.egg-info",
    "src",
    "pyproject.toml",
    "requirements.txt",
)
WINDOWS_ONLY = "pywin32>=303"
SHARED_DATA = "*.csv"
_LOCAL = re.compile(r"^(-e\s+|--editable\s+)?(\.|/|[A-Za-z]:)")


def run(command: list[str], cwd: Path = PROJECT) -> None:
    """Run a command; stop with its output if it fails."""
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"deploy: {command[0]} failed:\n{result.stdout}{result.stderr}")


def build_wheel(project: Path, out: Path) -> Path:
    """Build `project`'s wheel into `out`; return it."""
    before = set(out.glob("*.whl"))
    uv = shutil.which("uv")
    if uv:
        run([uv, "build", "--quiet", "--wheel", "--out-dir", str(out), str(project)])
    else:
        pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        run([*pip, "-w", str(out), str(project)])
    (wheel,) = set(out.glob("*.whl")) - before
    return wheel


def requirement_of(wheel: Path) -> str:
    """The pinned requirement a wheel satisfies, from its file name (name-version-...)."""
    name, version = wheel.name.split("-")[:2]
    return f"{name.replace('_', '-')}=={version}"


def index_requirements(folder: Path) -> list[str]:
    """The lines of a folder's requirements.txt that name packages from an index."""
    lines = []
    for raw in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#") and not _LOCAL.match(line):
            lines.append(line)
    return lines


def write_folder(
    source: Path,
    target: Path,
    requirements: list[str],
    wheels: list[Path],
    download: list[str],
    shared: tuple[Path, ...] = (),
) -> None:
    """Copy `source` (and `shared` files) to `target`, with wheel-only requirements and wheels."""
    shutil.copytree(source, target, ignore=LEFT_BEHIND)
    for path in shared:
        shutil.copy2(path, target / path.name)
    (target / "requirements.txt").write_text(
        "# Written by scripts/deploy.py: installed offline from ./wheelhouse by venv_setup.py.\n"
        + "".join(f"{line}\n" for line in requirements),
        encoding="utf-8",
    )
    wheelhouse = target / "wheelhouse"
    wheelhouse.mkdir()
    for wheel in wheels:
        shutil.copy2(wheel, wheelhouse / wheel.name)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--dest", str(wheelhouse), "--find-links", str(wheelhouse), *download]
    command += ["-r", str(target / "requirements.txt")]
    run(command)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("destination", type=Path, help="where to write Services/ and Measurements/")
    parser.add_argument(
        "--platform",
        help="the station's wheel platform, e.g. win_amd64 (default: this machine's)",
    )
    parser.add_argument(
        "--python-version",
        help="the station's Python, e.g. 3.11 (default: this Python; needed with --platform)",
    )
    args = parser.parse_args(argv)
    if args.platform and not args.python_version:
        parser.error("--platform needs --python-version (the station's Python, e.g. 3.11)")
    if args.python_version and not re.fullmatch(r"3\.\d+", args.python_version):
        parser.error(f"--python-version {args.python_version!r}: use MAJOR.MINOR, e.g. 3.11")
    if args.destination.exists() and any(args.destination.iterdir()):
        parser.error(f"{args.destination} is not empty; choose a new or empty folder")
    return args


def main(argv: list[str]) -> int:
    """Build the wheels and write the folders."""
    args = parse_args(argv)
    download: list[str] = []
    extra: list[str] = []
    if args.platform:
        download += ["--only-binary=:all:", "--platform", args.platform]
        download += ["--python-version", args.python_version, "--implementation", "cp"]
        if args.platform.startswith("win") and sys.platform != "win32":
            # pip evaluates markers such as `sys_platform == "win32"` for this machine,
            # so it would leave out what only Windows needs: the SDK's and stopping.py's.
            extra = [WINDOWS_ONLY]
    elif args.python_version:
        download += ["--only-binary=:all:", "--python-version", args.python_version]
    with tempfile.TemporaryDirectory(prefix="deploy-") as scratch:
        built = Path(scratch)
        client = build_wheel(PROJECT / "client", built)
        server = build_wheel(PROJECT / "server", built)
        service = args.destination / "Services" / SERVICE_FOLDER
        write_folder(
            PROJECT / "server",
            service,
            [requirement_of(client), requirement_of(server), *extra],
            [client, server],
            download,
        )
        # Data files the plug-ins share in examples/ (a register map): each folder gets a copy.
        shared = tuple(sorted((PROJECT / "examples").glob(SHARED_DATA)))
        for plugin in PLUGINS:
            source = PROJECT / "examples" / plugin
            write_folder(
                source,
                args.destination / "Measurements" / plugin,
                [requirement_of(client), *index_requirements(source), *extra],
                [client],
                download,
                shared,
            )
    print(f"Wrote {args.destination / 'Services'} and {args.destination / 'Measurements'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
