"""The outer process: render the template, build the benchmark's environment, measure in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _bootstrap
from _bench import ENTRY


def render_and_measure(project: Path | None, forwarded: list[str]) -> int:
    """Render the template (or take `project`), build the environment, measure in it.

    `forwarded` are the options for the measuring process; returns its exit code.
    """
    _bootstrap.require_supported_python()
    python, tools = _bootstrap.ensure_venv()
    env = _bootstrap.tool_environment(tools)
    with tempfile.TemporaryDirectory(prefix="session-template-bench-") as scratch:
        work = Path(scratch)
        if project is None:
            project = work / "project"
            copier = tools / ("copier.exe" if sys.platform == "win32" else "copier")
            command = [str(copier), "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
            print("bench: rendering the template (default answers)...", file=sys.stderr)
            _run([*command, "--quiet", str(_bootstrap.ROOT), str(project)], env)
        else:
            project = project.resolve()
        print("bench: building the benchmark environment...", file=sys.stderr, flush=True)
        bench_python = _build_environment(work / "venv", project, python, tools, env)
        command = [str(bench_python), str(ENTRY), "--measure", str(project)]
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1"
        return subprocess.run([*command, *forwarded], env=env, check=False).returncode


def _build_environment(
    venv_dir: Path, project: Path, python: Path, tools: Path, env: dict[str, str]
) -> Path:
    """Create a venv with the render's packages and the versions its requirements pin."""
    bench_python = venv_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    packages = [
        "-c",
        str(project / "requirements-dev.txt"),  # constraints: the render's pins
        "-e",
        str(project / "client"),
        "-e",
        str(project / "server"),
    ]
    uv = shutil.which("uv", path=str(tools))
    if uv:
        _run([uv, "venv", "--quiet", "--python", str(python), str(venv_dir)], env)
        _run([uv, "pip", "install", "--quiet", "--python", str(bench_python), *packages], env)
    else:
        _run([str(python), "-m", "venv", str(venv_dir)], env)
        pip = [str(bench_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run([*pip, *packages], env)
    return bench_python


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run `command`; stop the benchmark if it fails."""
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed with exit code {result.returncode}")
