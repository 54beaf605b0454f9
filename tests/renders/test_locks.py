"""The locks are complete and current: the template repository's and each render's.

A render's lock is the shared one, or its preset's own when the preset adds server
dependencies (template/_presets/README.md): each of those is checked in a render of
its preset.

Both are made by `uv pip compile --universal --generate-hashes` (needs the package
index); uv keeps the versions already locked, so a lock is reported stale only
when a requirement changed and the lock was not made again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from helpers import ROOT, render

UV = str(Path(sys.executable).parent / "uv")


def run(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=project, capture_output=True, text=True, timeout=300, check=False
    )


def test_template_repository_lock_is_what_its_documented_command_makes(tmp_path: Path) -> None:
    fresh = tmp_path / "requirements.lock"
    shutil.copyfile(ROOT / "requirements.lock", fresh)  # uv prefers the versions locked
    header = (ROOT / "requirements.in").read_text("utf-8")
    command = header[header.index("uv pip compile") :].split("\n#\n")[0]
    arguments = [part for part in command.replace("\\", " ").replace("#", " ").split() if part]
    assert arguments[:3] == ["uv", "pip", "compile"], command
    arguments[arguments.index("requirements.lock")] = str(fresh)
    result = run(
        ROOT, UV, *arguments[1:], "--quiet", "--custom-compile-command", " ".join(arguments)
    )
    assert result.returncode == 0, result.stderr
    locked = (ROOT / "requirements.lock").read_text("utf-8")
    assert fresh.read_text("utf-8").splitlines()[2:] == locked.splitlines()[2:]
    # Complete: the build tool grpcio-tools needs is locked too, every pin hashed.
    assert "\nsetuptools==" in locked
    pins = [line for line in locked.splitlines() if "==" in line and not line.startswith("#")]
    assert pins and all(line.rstrip().endswith("\\") for line in pins), "a pin without hashes"


def test_render_lock_is_current_and_catches_a_new_requirement(copie: Copie) -> None:
    project = render(copie)
    current = run(project, sys.executable, "scripts/lock.py", "--check")
    assert current.returncode == 0, current.stdout + current.stderr

    tools = project / "requirements-dev.txt"
    tools.write_text(tools.read_text("utf-8") + "six==1.17.0\n", encoding="utf-8")
    stale = run(project, sys.executable, "scripts/lock.py", "--check")
    assert stale.returncode == 1
    assert "requirements-dev.lock is out of date: run python scripts/lock.py" in stale.stdout

    made = run(project, sys.executable, "scripts/lock.py")
    assert made.returncode == 0, made.stderr
    assert "\nsix==1.17.0 \\\n    --hash=sha256:" in (project / "requirements-dev.lock").read_text()


OWN_LOCKS = sorted(path.parent.name for path in (ROOT / "template" / "_presets").glob("*/*.lock"))


@pytest.mark.parametrize("preset", OWN_LOCKS)
def test_a_preset_lock_is_current_and_covers_its_server_dependencies(
    copie: Copie, preset: str
) -> None:
    project = render(copie, {"preset": preset})
    current = run(project, sys.executable, "scripts/lock.py", "--check")
    assert current.returncode == 0, current.stdout + current.stderr
