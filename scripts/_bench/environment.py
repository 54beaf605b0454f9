"""The outer process: render the template, build the benchmark's environment, measure in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _bootstrap
from _bench import ENTRY

# The faster encoder the floor rows measure (wheels for Windows, Linux and macOS); not
# a render's dependency.
ORJSON = "orjson==3.13.0"


def render_and_measure(project: Path | None, forwarded: list[str]) -> int:
    """Render the template (or take `project`), build the environment, measure in it.

    The database and VISA instrument presets are rendered too (their rows have no
    --project of their own), and installed in the same environment; every process
    of the run gets the VISA render's simulated bench DMM as its PYVISA_LIBRARY.
    `forwarded` are the options for the measuring process; returns its exit code.
    """
    _bootstrap.require_supported_python()
    python, tools = _bootstrap.ensure_venv()
    env = _bootstrap.tool_environment(tools)
    with tempfile.TemporaryDirectory(prefix="session-template-bench-") as scratch:
        work = Path(scratch)
        copier = tools / ("copier.exe" if sys.platform == "win32" else "copier")
        command = [str(copier), "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--quiet"]
        if project is None:
            project = work / "project"
            print("bench: rendering the template (default answers)...", file=sys.stderr)
            _run([*command, str(_bootstrap.ROOT), str(project)], env)
        else:
            project = project.resolve()
        database = work / "database"
        print("bench: rendering the database preset (its default answers)...", file=sys.stderr)
        _run([*command, "--data", "preset=database", str(_bootstrap.ROOT), str(database)], env)
        visa = work / "visa"
        print("bench: rendering the VISA instrument preset...", file=sys.stderr)
        _run([*command, "--data", "preset=visa_instrument", str(_bootstrap.ROOT), str(visa)], env)
        print("bench: building the benchmark environment...", file=sys.stderr, flush=True)
        bench_python = _build_environment(work, project, (database, visa), python, tools, env)
        command = [str(bench_python), str(ENTRY), "--measure", str(project)]
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1"
        env["PYVISA_LIBRARY"] = f"{visa / 'examples' / 'bench_dmm.yaml'}@sim"
        return subprocess.run([*command, *forwarded], env=env, check=False).returncode


def _build_environment(
    work: Path,
    project: Path,
    presets: tuple[Path, ...],
    python: Path,
    tools: Path,
    env: dict[str, str],
) -> Path:
    """Create a venv in `work` with every render's packages and the versions they pin.

    The JSON logger's pins are its requirements-dev.txt; each preset render's are
    its own lock (the preset's: psycopg, pyvisa), without its hashes: the local
    packages installed alongside have none, and pip refuses a mix.
    """
    venv_dir = work / "venv"
    bench_python = venv_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    packages = ["-c", str(project / "requirements-dev.txt")]  # constraints: the render's pins
    for render in presets:
        pins = work / f"{render.name}-pins.txt"
        pins.write_text(
            _without_hashes((render / "requirements-dev.lock").read_text(encoding="utf-8")),
            encoding="utf-8",
        )
        packages += ["-c", str(pins)]
    # One core: every render carries it byte-identical.
    packages += ["-e", str(project / "core")]
    packages += ["-e", str(project / "client"), "-e", str(project / "server")]
    for render in presets:
        packages += ["-e", str(render / "client"), "-e", str(render / "server")]
    packages.append(ORJSON)
    uv = shutil.which("uv", path=str(tools))
    if uv:
        _run([uv, "venv", "--quiet", "--python", str(python), str(venv_dir)], env)
        _run([uv, "pip", "install", "--quiet", "--python", str(bench_python), *packages], env)
    else:
        _run([str(python), "-m", "venv", str(venv_dir)], env)
        pip = [str(bench_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run([*pip, *packages], env)
    return bench_python


def _without_hashes(lock: str) -> str:
    """A hashed lock's pins as a plain constraints file: `name==version ; marker` lines."""
    pins = []
    for line in lock.splitlines():
        requirement = line.removesuffix("\\").strip()
        if requirement and not requirement.startswith(("#", "--")):
            pins.append(requirement)
    return "\n".join(pins) + "\n"


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run `command`; stop the benchmark if it fails."""
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed with exit code {result.returncode}")
