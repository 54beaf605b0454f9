"""Copier as its users install it: alone in an environment, nothing else next to it.

Shared by the first-contact tests (tests/renders/test_first_contact.py) and the project
check scenario that copies the Bench Logger this way (tests/project_checks.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import update_scenario

COPIER_VERSION = "9.19.1"  # the version requirements.lock pins
TOOLS_LINE = (
    "Installing grpcio-tools==1.80.1 mypy-protobuf==5.1.0 ruff==0.17.6 with {installer} into"
)


def bin_dir(environment: Path) -> Path:
    """The directory holding an environment's executables."""
    return environment / ("Scripts" if sys.platform == "win32" else "bin")


def copier_only_environment(environment: Path) -> Path:
    """Create a virtual environment holding only Copier; return its copier executable.

    uv (from this repository's .venv) builds it, from its cache when it can.
    """
    uv = bin_dir(Path(sys.prefix)) / "uv"
    subprocess.run(
        [str(uv), "venv", "--quiet", "--python", sys.executable, str(environment)],
        check=True,
        timeout=300,
    )
    python = bin_dir(environment) / "python"
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python)]
        + [f"copier=={COPIER_VERSION}"],
        check=True,
        timeout=300,
    )
    return bin_dir(environment) / "copier"


def environment_for_copier(cache: Path, *, with_uv: bool, **extra: str) -> dict[str, str]:
    """The environment a Copier user has: no tool environment on PATH, a cache of its own.

    Args:
        cache: The user's cache directory (XDG_CACHE_HOME) for this test.
        with_uv: Whether `uv` is on PATH (it is the tool environment's installer then).
        extra: Variables to set on top, such as an unreachable package index.
    """
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    ours = bin_dir(Path(sys.prefix))
    paths = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != ours]
    paths = [p for p in paths if not (Path(p) / "uv").exists()]
    if with_uv:
        paths.insert(0, str(uv_only_dir(cache.parent)))
    env["PATH"] = os.pathsep.join(paths)
    env["XDG_CACHE_HOME"] = str(cache)
    env.pop("NI_SESSION_TEMPLATE_CACHE", None)
    env.update(extra)
    return env


def uv_only_dir(parent: Path) -> Path:
    """A directory holding only a link to uv, to put uv on PATH without anything else."""
    directory = parent / "uv-only"
    directory.mkdir(exist_ok=True)
    link = directory / "uv"
    if not link.exists():
        link.symlink_to(bin_dir(Path(sys.prefix)) / "uv")
    return directory


def copy(
    copier: Path, template: Path, dest: Path, env: dict[str, str], *data: str
) -> subprocess.CompletedProcess[str]:
    """Run `copier copy --trust --defaults` of the template's HEAD as a user would."""
    command = [str(copier), "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
    for answer in data:
        command += ["--data", answer]
    return subprocess.run(
        [*command, str(template), str(dest)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def prepare_bench_logger(project: Path) -> None:
    """Copy the Bench Logger with Copier alone, from a git clone, into `project`.

    Stops with the reason when the copy or what it should have made is wrong.
    """
    workdir = project.parent
    template = update_scenario.clone_template(workdir)
    copier = copier_only_environment(workdir / "copier-only")
    env = environment_for_copier(workdir / "cache", with_uv=False)
    result = copy(copier, template, project, env, "display_name=Bench Logger")
    print(result.stdout + result.stderr, flush=True)
    if result.returncode != 0:
        raise AssertionError(f"copier copy failed with exit code {result.returncode}")
    stubs = project / "client/src/bench_logger_client/stubs"
    missing = [
        s
        for s in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
        if not (stubs / f"bench_logger{s}").is_file()
    ]
    if missing:
        raise AssertionError(f"the copy made no stubs {missing} in {stubs}")
