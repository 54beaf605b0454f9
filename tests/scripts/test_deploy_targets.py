"""A render's scripts/deploy.py writes folders a Windows station installs offline (issue 24).

Built here on Linux for win_amd64 at every supported Python (3.10-3.14), each
folder must resolve for Windows with `--no-index` against its own wheelhouse, at
exactly the versions the render's requirements-dev.lock holds (what its CI tested),
with the Windows-only dependencies (pywin32, traceloggingdynamic; tzdata for the
database preset's psycopg) a build machine's own markers would leave out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import copier
import pytest

# Not helpers.ROOT: conftest runs this module as a script, where tests/ is not on the path.
ROOT = Path(__file__).resolve().parents[2]

UV = str(Path(sys.executable).parent / "uv")
VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
WINDOWS = "x86_64-pc-windows-msvc"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
# Each deploy builds two wheels and downloads three wheelhouses from the package index.
DEPLOY_TIMEOUT = 900


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(project: Path) -> set[tuple[str, str]]:
    """(name, version) of every pin in the render's lock."""
    text = (project / "requirements-dev.lock").read_text(encoding="utf-8")
    return {(canonical(name), version) for name, version in PIN.findall(text)}


def own_names(project: Path) -> set[str]:
    """The render's own distributions (built by deploy.py, not in the lock)."""
    names = set()
    for package in ("core", "client", "server"):
        text = (project / package / "pyproject.toml").read_text(encoding="utf-8")
        found = re.search(r'^name\s*=\s*"([^"]+)"', text, re.MULTILINE)
        assert found, package
        names.add(canonical(found[1]))
    return names


RUNS = [("json_logger", version) for version in VERSIONS] + [("database", "3.12")]
PRESETS = {"json_logger": {}, "database": {"preset": "database"}}
# This run starts with an empty uv cache, as on a new machine: deploy.py's resolution
# from the cache fails and it asks the index.
UNCACHED = ("database", "3.12")
OFFLINE_COMPILE = re.compile(r"^\+ \S*uv pip compile .*--offline", re.MULTILINE)
ONLINE_COMPILE = re.compile(r"^\+ \S*uv pip compile (?!.*--offline)", re.MULTILINE)


def deploy(
    project: Path, destination: Path, version: str, uv_cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "scripts/deploy.py", str(destination)]
    command += ["--platform", "win_amd64", "--python-version", version]
    env = {**os.environ, "UV_CACHE_DIR": str(uv_cache)} if uv_cache else None
    return subprocess.run(
        command,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=DEPLOY_TIMEOUT,
        check=False,
        env=env,
    )


def resolve_offline(folder: Path, version: str) -> set[tuple[str, str]]:
    """What the folder's requirements.txt resolves to for Windows from its wheelhouse alone."""
    command = [UV, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--no-index"]
    command += ["--find-links", "wheelhouse", "--python-platform", WINDOWS]
    command += ["--python-version", version, "requirements.txt"]
    result = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{folder} for Python {version}:\n{result.stderr}"
    return {(canonical(name), pinned) for name, pinned in PIN.findall(result.stdout)}


def wheel_fits(name: str, version: str) -> bool:
    """Whether a wheel file installs on 64-bit Windows CPython `version`."""
    python, abi, platform = name[: -len(".whl")].split("-")[-3:]
    cp = "cp" + version.replace(".", "")
    return platform in ("win_amd64", "any") and (
        abi == "none" or abi == cp or (abi == "abi3" and python <= cp) or python.startswith("py")
    )


@pytest.mark.timeout(DEPLOY_TIMEOUT + 300)
def test_folders_for_windows_install_offline_at_the_locked_versions(
    deploy_targets: Callable[[], tuple[dict[str, Path], Path]],
) -> None:
    # Rendered and deployed in the background since the session started (conftest):
    # the deploys mostly wait on the package index, so they overlap the other tests.
    projects, deployed = deploy_targets()
    for preset, version in RUNS:
        destination = deployed / f"{preset}-{version}"
        output = (deployed / f"{preset}-{version}.log").read_text(encoding="utf-8")
        # One resolution a folder; from uv's cache first, from the index when that fails.
        assert len(OFFLINE_COMPILE.findall(output)) == 3, output
        if (preset, version) == UNCACHED:
            assert len(ONLINE_COMPILE.findall(output)) == 3, output
        lock = locked(projects[preset])
        folders = [*(destination / "Services").iterdir(), *(destination / "Measurements").iterdir()]
        assert len(folders) == 3
        for folder in folders:
            assert (folder / ".python-version").read_text(encoding="utf-8").strip() == version
            resolved = resolve_offline(folder, version)
            names = {name for name, _ in resolved}
            # Windows-only dependencies of NI's packages and of stopping.py are there.
            assert {"pywin32", "traceloggingdynamic"} <= names, folder
            if preset == "database" and folder.parent.name == "Services":
                assert "tzdata" in names and "psycopg" in names, folder
            own = {
                (name, pinned) for name, pinned in resolved if name in own_names(projects[preset])
            }
            assert resolved - own <= lock, (
                f"{folder}: not the locked versions: {resolved - own - lock}"
            )
            wheels = [path.name for path in (folder / "wheelhouse").glob("*.whl")]
            assert len(wheels) == len(resolved), folder  # exactly what it installs
            assert all(wheel_fits(name, version) for name in wheels), (folder, wheels)
            # Every entry is pinned with hashes: pip checks each file it installs.
            requirements = (folder / "requirements.txt").read_text(encoding="utf-8")
            entries = [e for e in re.split(r"\n(?=\S)", requirements) if not e.startswith("#")]
            assert len(entries) == len(resolved), folder
            assert all("==" in e and "--hash=sha256:" in e for e in entries), folder


def render_and_deploy(workdir: Path) -> int:
    """Render each preset into `workdir` and deploy every run there; report failures.

    Run as `python tests/scripts/test_deploy_targets.py WORKDIR` in the background: exits 1,
    after printing each failed deploy's output, if any failed.
    """
    for preset, answers in PRESETS.items():
        copier.run_copy(
            str(ROOT),
            workdir / preset,
            data=answers,
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )

    def deploy_one(run: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        preset, version = run
        destination = workdir / "deployed" / f"{preset}-{version}"
        uv_cache = workdir / "empty-uv-cache" if run == UNCACHED else None
        result = deploy(workdir / preset, destination, version, uv_cache)
        destination.parent.mkdir(parents=True, exist_ok=True)
        log = destination.parent / f"{destination.name}.log"
        log.write_text(result.stdout + result.stderr, "utf-8")
        return result

    with ThreadPoolExecutor(max_workers=len(RUNS)) as pool:  # mostly waiting on the index
        results = dict(zip(RUNS, pool.map(deploy_one, RUNS), strict=True))
    failed = {run: result for run, result in results.items() if result.returncode != 0}
    for (preset, version), result in failed.items():
        print(f"deploy of {preset} for Python {version} failed:\n{result.stdout}{result.stderr}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(render_and_deploy(Path(sys.argv[1])))
