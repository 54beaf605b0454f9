"""Copier task: make a fresh render a git repository with one commit.

`copier update` works only in a git repository whose work is committed, so a
render that lands outside any git work tree gets `git init` and a first commit
of everything rendered. Inside an existing work tree nothing happens: that
repository's owner decides what to commit. Without git, or without a git
identity to author the commit, the task skips with one line saying what to run.
It never fails the copy.

copier.yml runs it on `copier copy` only, in the new project, with Copier's
Python: `python commit_first_render.py "COMMIT MESSAGE"`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BY_HAND = 'git init && git add -A && git commit -m "Render from the template"'


def git(executable: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one git command in `project`, capturing what it prints."""
    return subprocess.run(
        [executable, *args],
        cwd=project,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )


def work_tree_state(executable: str, project: Path) -> str:
    """Return "inside", "outside", or git's complaint when it cannot tell."""
    result = git(executable, project, "rev-parse", "--is-inside-work-tree")
    if result.returncode == 0:
        return "inside" if result.stdout.strip() == "true" else "outside"
    if "not a git repository" in result.stderr:
        return "outside"
    return result.stderr.strip().splitlines()[0] if result.stderr.strip() else "unknown"


def configured(executable: str, project: Path, variable: str, key: str) -> bool:
    """Tell whether git gets a value from the environment `variable` or its config `key`."""
    if os.environ.get(variable):
        return True
    return bool(git(executable, project, "config", "--get", key).stdout.strip())


def has_identity(executable: str, project: Path) -> bool:
    """Tell whether git can name the commit's author and committer without guessing."""
    for role in ("AUTHOR", "COMMITTER"):
        if not configured(executable, project, f"GIT_{role}_NAME", "user.name"):
            return False
        if not (
            os.environ.get("EMAIL")
            or configured(executable, project, f"GIT_{role}_EMAIL", "user.email")
        ):
            return False
    return True


def main(argv: list[str]) -> int:
    """Initialize and commit the render in the current directory when it is not in git."""
    message = argv[0] if argv else "Render from the session-managed service template"
    project = Path.cwd()
    executable = shutil.which("git")
    if executable is None:
        print(
            f"git is not on PATH, so the render is not a repository; to use copier update "
            f"later, install git and run here: {BY_HAND}"
        )
        return 0
    state = work_tree_state(executable, project)
    if state == "inside":
        return 0
    if state != "outside":
        print(
            f"git cannot tell whether {project} is in a repository ({state}); "
            f"nothing was committed. To use copier update later, run here: {BY_HAND}"
        )
        return 0
    if not has_identity(executable, project):
        print(
            "git has no identity (user.name and user.email), so the render was not "
            'committed; run git config --global user.name "Your Name" and '
            'git config --global user.email "you@example.com", then here: ' + BY_HAND
        )
        return 0
    for step in (("init", "--quiet"), ("add", "--all"), ("commit", "--quiet", "-m", message)):
        result = git(executable, project, *step)
        if result.returncode != 0:
            said = " ".join(result.stderr.split())[:300]
            print(
                f"git {step[0]} failed ({said}); to use copier update later, run here: " + BY_HAND
            )
            return 0
    print(f"Committed the render to a new git repository in {project}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
