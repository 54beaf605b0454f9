"""`copier update` keeps what the user owns: resource.py is never overwritten.

The template is cloned into a scratch git repository with the working tree's
changes committed (so the commit a render records exists when updating), a
project is rendered from it and committed, the user edits resource.py, and an
update with a changed answer must re-render template-owned files only.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import copier
import pytest

from helpers import ROOT

RESOURCE = Path("server/src/json_logger_server/resource.py")


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


@pytest.fixture
def template_clone(tmp_path: Path) -> Path:
    """A git clone of this repository with its uncommitted changes committed."""
    clone = tmp_path / "template"
    git(tmp_path, "clone", "--quiet", "--no-local", str(ROOT), str(clone))
    tracked = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in tracked:
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "--allow-empty", "-m", "working tree")
    return clone


def test_update_keeps_the_users_resource_and_applies_new_answers(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    copier.run_copy(
        str(template_clone), project, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True
    )
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "rendered")
    edited = (project / RESOURCE).read_text(encoding="utf-8") + "\n# the user's own code\n"
    (project / RESOURCE).write_text(edited, encoding="utf-8")
    git(project, "commit", "--quiet", "-am", "user edit")

    copier.run_update(
        project,
        # A new Initialize name changes how resource.py would render, so only
        # _skip_if_exists keeps Copier from merging that change into the user's file.
        data={"description": "Logs every bench measurement.", "initialize_rpc": "OpenLog"},
        defaults=True,
        overwrite=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )

    assert (project / RESOURCE).read_text(encoding="utf-8") == edited
    servicer = (project / RESOURCE).with_name("servicer.py").read_text(encoding="utf-8")
    assert "def OpenLog(" in servicer and "InitializeFile" not in servicer
    assert "Logs every bench measurement." in (project / "README.md").read_text(encoding="utf-8")
    assert not list(project.rglob("*.rej"))
    assert "<<<<<<<" not in (project / "README.md").read_text(encoding="utf-8")
