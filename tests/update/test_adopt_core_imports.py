"""The update task that points a project's imports of moved modules at session_service_core.

scripts/tasks/adopt_core_imports.py runs as Copier runs it (in the project, with
the spec copier.yml passes) on real files in real git repositories: a project
still on the old layout (its last commit has no core/, the old modules still
there as they are while Copier runs tasks), the checked-in renders of the new
layout, and a new-layout project with a module of its own named like a moved one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from update_scenario import git

TASK = ROOT / "scripts" / "tasks" / "adopt_core_imports.py"
SPEC = {
    "server_package": "json_logger_server",
    "client_package": "json_logger_client",
    "package_stem": "json_logger",
}
SERVER = Path("server/src/json_logger_server")
CLIENT = Path("client/src/json_logger_client")

# What an old-layout project's files said, and what the task makes of them.
BEFORE_AFTER = {
    SERVER / "resource.py": (
        "from . import ndjson\n"
        "from .errors import InvalidArgumentError\n"
        "from .files import (  # the user's comment stays\n"
        "    path_problem,\n"
        "    plain_path,\n"
        ")\n"
        "from .resource_base import JsonLoggerResourceBase\n"
        "from .status import caller_time_left\n",
        "from . import ndjson\n"
        "from session_service_core.server.errors import InvalidArgumentError\n"
        "from session_service_core.server.files import (  # the user's comment stays\n"
        "    path_problem,\n"
        "    plain_path,\n"
        ")\n"
        "from .resource_base import JsonLoggerResourceBase\n"
        "from session_service_core.server.status import caller_time_left\n",
    ),
    SERVER / "helpers" / "retry.py": (
        "from ..limits import Limits\nfrom .. import pool, servicer\n",
        "from session_service_core.server.limits import Limits\n"
        "from .. import servicer\n"
        "from session_service_core.server import pool\n",
    ),
    SERVER / "core" / "calibration.py": (  # a subpackage named core is the user's too
        "from ..files import path_problem\n",
        "from session_service_core.server.files import path_problem\n",
    ),
    CLIENT / "extras.py": (
        "from .connection import connect\nfrom .session_base import SessionBase\n",
        "from session_service_core.client.connection import connect\n"
        "from session_service_core.client.session_base import SessionBase\n",
    ),
    Path("tests/test_lab.py"): (
        "import json_logger_server.sessions\n"
        "from json_logger_client import session_constructor, stopping as stop, local_runtime\n"
        "from json_logger_client.stubs import json_logger_admin_pb2, json_logger_pb2\n"
        "from json_logger_server.admin import main\n"
        "\n"
        "\n"
        "def test_lab(monkeypatch) -> None:\n"
        "    from json_logger_server import errors\n"
        "\n"
        '    monkeypatch.setattr("json_logger_server.status.caller_time_left", None)\n'
        "    assert json_logger_server.sessions.SessionRegistry and errors\n"
        "    assert json_logger_admin_pb2.ListSessionsRequest\n",
        "import session_service_core.server.sessions\n"
        "from json_logger_client import session_constructor\n"
        "from session_service_core import stopping as stop\n"
        "from session_service_core import local_runtime\n"
        "from json_logger_client.stubs import json_logger_pb2\n"
        "from session_service_core.stubs import session_admin_pb2 as json_logger_admin_pb2\n"
        "from session_service_core.server.admin import main\n"
        "\n"
        "\n"
        "def test_lab(monkeypatch) -> None:\n"
        "    from session_service_core.server import errors\n"
        "\n"
        '    monkeypatch.setattr("session_service_core.server.status.caller_time_left", None)\n'
        "    assert session_service_core.server.sessions.SessionRegistry and errors\n"
        "    assert json_logger_admin_pb2.ListSessionsRequest\n",
    ),
    # A statement sharing its line is split on that line.
    SERVER / "typing_only.py": (
        "import typing\n\nif typing.TYPE_CHECKING: from . import errors, main\n",
        "import typing\n\nif typing.TYPE_CHECKING: from . import main; "
        "from session_service_core.server import errors\n",
    ),
    # A split statement's comments stay, on their own lines above it or, sharing a
    # line, at its end.
    SERVER / "commented.py": (
        "from . import (  # what these are for\n    errors,  # refusals\n    main,\n)\n"
        "if main: from . import (errors,  # again\n  main)\n",
        "# what these are for\n# refusals\nfrom . import main\n"
        "from session_service_core.server import errors\n"
        "if main: from . import main; from session_service_core.server import errors  # again\n",
    ),
    # Windows line endings stay Windows line endings.
    Path("scripts/lab_tool.py"): (
        "from json_logger_server.pool import Pool\r\nfrom json_logger_server import (\r\n"
        "    errors, main)\r\n",
        "from session_service_core.server.pool import Pool\r\nfrom json_logger_server import"
        " main\r\nfrom session_service_core.server import errors\r\n",
    ),
}
# Imports that stay: modules that did not move, and files outside the task's reach.
UNTOUCHED = {
    SERVER / "main.py": "from .servicer import JsonLoggerServicer\nfrom . import ndjson\n",
    Path("tests/test_other.py"): "from errors import mine\nfrom .status import theirs\n",
    Path("core/src/session_service_core/x.py"): "from json_logger_server.errors import E\n",
    Path(".venv/lib/site.py"): "from json_logger_server.errors import E\n",
}
# The old layout's modules, still in the project while Copier runs the task.
OLD_MODULES = [SERVER / "errors.py", SERVER / "status.py", CLIENT / "stopping.py"]


def write(project: Path, files: dict[Path, str]) -> None:
    for path, text in files.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_bytes(text.encode("utf-8"))


def commit(project: Path) -> None:
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "-c", "user.name=Lab", "-c", "user.email=lab@example.com", "commit", "-qm", "x")


def run_task(project: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(TASK), json.dumps(SPEC)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def contents(project: Path) -> dict[Path, bytes]:
    return {
        path.relative_to(project): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def test_an_old_layout_project_imports_the_moved_modules_from_the_core(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project, {path: before for path, (before, _) in BEFORE_AFTER.items()})
    write(project, UNTOUCHED)
    write(project, {path: '"""The old template module."""\n' for path in OLD_MODULES})
    commit(project)
    # Copier has rendered the new template (core/ included) when it runs the task.
    write(project, {Path("core/pyproject.toml"): "[project]\n"})

    first = run_task(project)

    for path, (_, after) in BEFORE_AFTER.items():
        assert (project / path).read_bytes().decode("utf-8") == after, path
    for path, text in UNTOUCHED.items():
        assert (project / path).read_text("utf-8") == text, path
    for path in BEFORE_AFTER:
        assert f"adopt_core_imports: {path.as_posix()} imports session_service_core" in first.stdout
    assert first.stderr == ""
    for path in BEFORE_AFTER:
        compile((project / path).read_bytes(), str(path), "exec")

    # Idempotent: a second run finds nothing to change and says nothing.
    done = contents(project)
    again = run_task(project)
    assert contents(project) == done
    assert again.stdout == again.stderr == ""


@pytest.mark.parametrize(
    "example", sorted(p.name for p in (ROOT / "generated-examples").iterdir() if p.is_dir())
)
def test_a_project_on_the_new_layout_is_left_as_it_is(example: str, tmp_path: Path) -> None:
    project = tmp_path / example
    shutil.copytree(ROOT / "generated-examples" / example, project)
    commit(project)
    answers = (project / ".copier-answers.yml").read_text("utf-8").splitlines()
    (stem,) = [line.split(": ", 1)[1] for line in answers if line.startswith("package_stem: ")]
    assert (project / "server/src" / f"{stem}_server").is_dir()
    spec = {
        "server_package": f"{stem}_server",
        "client_package": f"{stem}_client",
        "package_stem": stem,
    }
    result = subprocess.run(
        [sys.executable, str(TASK), json.dumps(spec)],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout == result.stderr == ""
    assert git(project, "status", "--porcelain") == ""


def test_a_module_of_the_users_own_named_like_a_moved_one_keeps_its_imports(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    resource = "from .errors import LabError\nfrom .files import path_problem\n"
    write(
        project,
        {
            Path("core/pyproject.toml"): "[project]\n",
            SERVER / "errors.py": '"""Lab B\'s own errors."""\n',
            SERVER / "resource.py": resource,
        },
    )
    commit(project)  # already on the new layout: its last commit has core/

    result = run_task(project)

    assert (project / SERVER / "resource.py").read_text("utf-8") == (
        "from .errors import LabError\nfrom session_service_core.server.files import path_problem\n"
    )
    assert (
        "imports of json_logger_server.errors are left as they are:"
        " server/src/json_logger_server/errors.py is the project's own" in result.stderr
    )
