"""`copier update` keeps what the user owns and brings what the template changed.

Both tests update a project rendered from a scratch git clone of this repository
(its uncommitted changes committed, so the commit a render records exists). The
first changes answers: only template-owned files are re-rendered. The second is a
new user's project across two template versions (tests/update_scenario.py: render
v1 as the Bench Power Lock service, fill in Heartbeat, add a test, note something
in the README, update to v2): the user's work survives, the v2 change arrives,
and the project's own scripts/check.py passes (started in the background with the
other project checks, tests/project_checks.py). The third does the same for a
project of each other preset 0.3 offered (json_logger, register_map), updated from
0.3.0 by the copier command line: its resource.py is adapted to the resource base.
The fourth does the same for a project of every preset there was on the commit
before session_service_core: the old modules go, core/ comes, and the user's
imports of moved modules point at the core.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import copier
import pytest

from project_checks import WAIT_TIMEOUT, RunningCheck, reported, tail, unexpected_skips
from update_scenario import (
    BEFORE_CORE,
    CORE_SESSIONS,
    CORE_UPDATED,
    CORE_UPDATES,
    HEARTBEAT,
    PRESET_UPDATED,
    PRESET_UPDATES,
    RELEASE_0_3,
    RESOURCE,
    SERVER_PACKAGE,
    USER_NOTE,
    USER_TEST,
    USER_TEST_PATH,
    V2_README_LINE,
    V2_SESSIONS_LINE,
    WRITTEN_METHODS,
    clone_template,
    git,
)

LOGGER_RESOURCE = Path("server/src/json_logger_server/resource.py")


@pytest.fixture
def template_clone(tmp_path: Path) -> Path:
    """A git clone of this repository with its uncommitted changes committed."""
    return clone_template(tmp_path)


def test_update_keeps_the_users_resource_and_applies_new_answers(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    copier.run_copy(
        str(template_clone), project, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True
    )
    assert git(project, "status", "--porcelain") == ""  # the copy task committed the render
    edited = (project / LOGGER_RESOURCE).read_text(encoding="utf-8") + "\n# the user's own code\n"
    (project / LOGGER_RESOURCE).write_text(edited, encoding="utf-8")
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

    assert (project / LOGGER_RESOURCE).read_text(encoding="utf-8") == edited
    servicer = (project / LOGGER_RESOURCE).with_name("servicer.py").read_text(encoding="utf-8")
    assert "def OpenLog(" in servicer and "InitializeFile" not in servicer
    assert "Logs every bench measurement." in (project / "README.md").read_text(encoding="utf-8")
    assert not list(project.rglob("*.rej"))
    assert "<<<<<<<" not in (project / "README.md").read_text(encoding="utf-8")


@pytest.mark.project(check="bench_power_lock_updated")
@pytest.mark.timeout(WAIT_TIMEOUT)
def test_update_to_a_new_template_version_keeps_the_users_work(
    project_checks: dict[str, RunningCheck],
) -> None:
    check = project_checks["bench_power_lock_updated"]
    project = check.project
    # The background process renders v1, plays the user, updates to v2, then checks.
    code, output = check.finish()

    def committed(path: Path) -> str:
        """The file as the user committed it before the update."""
        return git(project, "show", f"HEAD:{path.as_posix()}")

    answers = (project / ".copier-answers.yml").read_text("utf-8")
    assert "_commit: v2" in answers and "_commit: v1" in committed(Path(".copier-answers.yml"))
    # The user's Heartbeat is kept, line for line, behind the 0.4 signature; the
    # skeleton they left is gone (the base answers UNIMPLEMENTED for it).
    resource = (project / RESOURCE).read_text("utf-8")
    assert "class BenchPowerLockResource(BenchPowerLockResourceBase):" in resource
    assert HEARTBEAT.replace("def heartbeat(", "def _heartbeat_request(") in resource
    assert "def heartbeat(self) -> _datetime.datetime:" in resource
    assert "def set_limits" not in resource and "def set_limits" in committed(RESOURCE)
    # The user's other files are untouched; the README keeps the user's note.
    assert (project / USER_TEST_PATH).read_text("utf-8") == USER_TEST
    readme = (project / "README.md").read_text("utf-8")
    assert USER_NOTE in readme
    # The template's change arrived, merged without conflicts.
    assert V2_README_LINE in readme and V2_README_LINE not in committed(Path("README.md"))
    assert (project / CORE_SESSIONS).read_text("utf-8").endswith(V2_SESSIONS_LINE)
    assert not list(project.rglob("*.rej"))
    conflicted = git(project, "grep", "-l", "-e", "^<<<<<<<", "-e", "^>>>>>>>", check=False)
    assert conflicted == "", f"conflict markers in: {conflicted}"

    assert code == 0, f"scripts/check.py failed after the update ({project}):\n{tail(output)}"
    assert not unexpected_skips("bench_power_lock_updated", output)
    assert reported(output, "test_heartbeat.py::test_heartbeat_returns_the_server_time", "PASSED")
    # The template's skeleton test steps aside for the RPC the user filled in.
    assert reported(output, "answers_unimplemented_naming_its_method[Heartbeat]", "SKIPPED")
    assert reported(output, "answers_unimplemented_naming_its_method[SetLimits]", "PASSED")


@pytest.mark.project(check="bench_power_lock_grown")
@pytest.mark.timeout(WAIT_TIMEOUT)
def test_an_api_grown_and_shrunk_by_update_keeps_the_project_green(
    project_checks: dict[str, RunningCheck],
) -> None:
    check = project_checks["bench_power_lock_grown"]
    project = check.project
    code, output = check.finish()

    resource = (project / RESOURCE).read_text("utf-8")
    assert WRITTEN_METHODS in resource  # the user's file, untouched
    servicer = (project / SERVER_PACKAGE / "servicer.py").read_text("utf-8")
    assert "def Ping(" in servicer and "SetLimits" not in servicer
    assert not list(project.rglob("*.rej"))

    assert code == 0, f"scripts/check.py failed after growing the API ({project}):\n{tail(output)}"
    assert not unexpected_skips("bench_power_lock_grown", output)
    # The added RPC answers UNIMPLEMENTED, naming the method to write, until it is written.
    assert reported(output, "answers_unimplemented_naming_its_method[Ping]", "PASSED")
    assert reported(output, "answers_unimplemented_naming_its_method[Heartbeat]", "SKIPPED")


def statements_but_imports(source: str) -> list[str]:
    """The module's top-level statements other than imports, as the parser sees them."""
    kept = [n for n in ast.parse(source).body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    return [ast.dump(n) for n in kept]


def project_files(project: Path) -> set[Path]:
    """The files of a project that git does not ignore (a check's caches aside)."""
    listed = git(project, "ls-files", "--cached", "--others", "--exclude-standard")
    return {Path(name) for name in listed.splitlines() if (project / name).is_file()}


def class_methods(source: str, name: str) -> dict[str, ast.FunctionDef]:
    """The methods of class `name` in `source`, by name."""
    (found,) = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name]
    return {n.name: n for n in found.body if isinstance(n, ast.FunctionDef)}


def body(function: ast.FunctionDef) -> list[str]:
    """A method's statements, as the parser sees them (layout and comments aside)."""
    return [ast.dump(statement) for statement in function.body]


def outside_class(source: str, name: str) -> list[str]:
    """The module's statements other than class `name`, as the parser sees them."""
    kept = [
        n for n in ast.parse(source).body if not (isinstance(n, ast.ClassDef) and n.name == name)
    ]
    return [ast.dump(n) for n in kept if not isinstance(n, (ast.Import, ast.ImportFrom))]


@pytest.mark.parametrize(
    "preset",
    [
        pytest.param(preset, marks=pytest.mark.project(check=scenario.check))
        for preset, scenario in PRESET_UPDATES.items()
    ],
)
@pytest.mark.timeout(WAIT_TIMEOUT)
def test_a_0_3_preset_project_updates_to_the_resource_base(
    preset: str, project_checks: dict[str, RunningCheck], tmp_path: Path
) -> None:
    scenario = PRESET_UPDATES[preset]
    check = project_checks[scenario.check]
    project = check.project
    # The background process renders 0.3.0, plays the user, updates, then checks.
    code, output = check.finish()
    assert PRESET_UPDATED in output, f"the 0.3 project was not updated:\n{tail(output)}"
    # A new user's render of the version updated to, from the same template clone.
    fresh = tmp_path / "fresh"
    template = project.parent / "template"
    copier.run_copy(
        str(template),
        fresh,
        data={"preset": preset},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )

    # Apart from resource.py and the user's test, the project is what a new user gets:
    # every template-owned file changed, added or removed as in a fresh render.
    theirs = {scenario.resource, scenario.user_test_path, Path(".copier-answers.yml")}
    assert project_files(project) - theirs == project_files(fresh) - theirs
    differing = [
        path
        for path in sorted(project_files(fresh) - theirs)
        if (project / path).read_bytes() != (fresh / path).read_bytes()
    ]
    assert differing == [], f"differ from a fresh render: {differing}"

    answers = (project / ".copier-answers.yml").read_text("utf-8")
    before = git(project, "show", "HEAD:.copier-answers.yml")
    assert f"_commit: '{RELEASE_0_3[:7]}'" in before and RELEASE_0_3[:7] not in answers
    assert not list(project.rglob("*.rej"))
    conflicted = git(project, "grep", "-l", "-e", "^<<<<<<<", "-e", "^>>>>>>>", check=False)
    assert conflicted == "", f"conflict markers in: {conflicted}"

    # resource.py subclasses the base, each 0.3 method keeps its body (and the
    # user's comment) under a private name behind a method with the 0.4 signature,
    # and the rest of the user's file is as they left it.
    committed = git(project, "show", f"HEAD:{scenario.resource.as_posix()}")
    source = (project / scenario.resource).read_text("utf-8")
    assert f"class {scenario.resource_class}:" in committed
    header = f"class {scenario.resource_class}({scenario.base_class}):"
    assert header in source, f"resource.py was not adapted to the resource base ({project})"
    assert f"from .resource_base import {scenario.base_class}" in source
    old, new = (
        class_methods(committed, scenario.resource_class),
        class_methods(source, scenario.resource_class),
    )
    for method, keywords in scenario.adapted.items():
        kept = new.get(f"_{method}_request")
        assert kept is not None, f"{method}'s 0.3 body is not kept as _{method}_request"
        assert body(kept) == body(old[method]), f"_{method}_request differs from 0.3 {method}"
        adapter = new[method]
        positional = ["cls", "resource_key", "resource_name"] if method == "open" else ["self"]
        assert [a.arg for a in adapter.args.args] == positional, ast.unparse(adapter.args)
        assert [a.arg for a in adapter.args.kwonlyargs] == list(keywords), ast.unparse(adapter.args)
    untouched = set(old) - set(scenario.adapted)
    assert {name: body(new[name]) for name in untouched} == {
        name: body(old[name]) for name in untouched
    }
    assert outside_class(source, scenario.resource_class) == outside_class(
        committed, scenario.resource_class
    )
    edited = ast.get_source_segment(source, new[f"_{scenario.edited_method}_request"]) or ""
    assert scenario.user_comment in edited + "\n"
    assert (project / scenario.user_test_path).read_text("utf-8") == scenario.user_test

    assert code == 0, f"scripts/check.py failed after the update ({project}):\n{tail(output)}"
    assert not unexpected_skips(scenario.check, output)
    assert reported(output, scenario.user_test_id, "PASSED")


@pytest.mark.parametrize(
    "preset",
    [
        pytest.param(preset, marks=pytest.mark.project(check=update.check))
        for preset, update in CORE_UPDATES.items()
    ],
)
@pytest.mark.timeout(WAIT_TIMEOUT)
def test_a_project_from_before_the_core_updates_to_the_core(
    preset: str, project_checks: dict[str, RunningCheck], tmp_path: Path
) -> None:
    scenario = CORE_UPDATES[preset]
    check = project_checks[scenario.check]
    project = check.project
    # The background process renders BEFORE_CORE, plays the user, updates, then checks.
    code, output = check.finish()
    assert CORE_UPDATED in output, f"the project was not updated:\n{tail(output)}"
    fresh = tmp_path / "fresh"
    copier.run_copy(
        str(project.parent / "template"),
        fresh,
        data={"preset": preset},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )

    # Every template-owned file is a fresh render's: the old modules gone, core/ there.
    theirs = {scenario.resource, scenario.user_test_path, Path(".copier-answers.yml")}
    assert project_files(project) - theirs == project_files(fresh) - theirs
    differing = [
        path
        for path in sorted(project_files(fresh) - theirs)
        if (project / path).read_bytes() != (fresh / path).read_bytes()
    ]
    assert differing == [], f"differ from a fresh render: {differing}"
    old_errors = (scenario.resource.parent / "errors.py").as_posix()
    assert git(project, "ls-tree", "--name-only", "HEAD", old_errors) == old_errors + "\n"

    answers = (project / ".copier-answers.yml").read_text("utf-8")
    before = git(project, "show", "HEAD:.copier-answers.yml")
    assert BEFORE_CORE[:7] in before and BEFORE_CORE[:7] not in answers
    assert not list(project.rglob("*.rej"))
    conflicted = git(project, "grep", "-l", "-e", "^<<<<<<<", "-e", "^>>>>>>>", check=False)
    assert conflicted == "", f"conflict markers in: {conflicted}"

    # resource.py is the user's, comment included, statement for statement what they
    # committed; only its imports changed: the moved modules' are now the core's.
    source = (project / scenario.resource).read_text("utf-8")
    committed = git(project, "show", f"HEAD:{scenario.resource.as_posix()}")
    assert scenario.user_comment in committed and scenario.user_comment in source
    assert statements_but_imports(source) == statements_but_imports(committed)
    if "from .errors import" in committed:  # every preset but blank imported moved modules
        assert "from session_service_core.server.errors import" in source
    assert not re.search(r"^from \.(errors|files|status|limits|sessions) import", source, re.M)
    # The user's test is theirs, its imports of moved modules rewritten.
    assert git(project, "show", f"HEAD:{scenario.user_test_path.as_posix()}") == scenario.user_test
    assert (project / scenario.user_test_path).read_text("utf-8") == scenario.updated_user_test

    assert code == 0, f"scripts/check.py failed after the update ({project}):\n{tail(output)}"
    assert not unexpected_skips(scenario.check, output)
    assert reported(output, scenario.user_test_id, "PASSED")
    assert "test_sessions.py::" in output and "test_resource.py::" in output
