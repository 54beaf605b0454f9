"""A new user's first `copier copy`: Copier alone, offline, git, identity, licence.

The copies run the real Copier CLI from an environment holding only Copier, with
this repository's tools off PATH and a cache directory of their own, so the stub
task has to build its own tool environment (tests/copier_alone.py).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import copier_alone
import update_scenario
from helpers import ROOT
from project_checks import WAIT_TIMEOUT, RunningCheck, reported, tail, unexpected_skips

UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"  # the discard port: nothing listens


def load_pinned_tools() -> ModuleType:
    """Import the render's template-owned scripts/pinned_tools.py from the template."""
    path = ROOT / "template" / "scripts" / "pinned_tools.py"
    spec = importlib.util.spec_from_file_location("pinned_tools_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pinned_tools = load_pinned_tools()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git clone of this repository with its uncommitted changes committed."""
    return update_scenario.clone_template(tmp_path_factory.mktemp("clone"))


@pytest.fixture(scope="module")
def copier_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copier, installed alone in an environment of its own."""
    return copier_alone.copier_only_environment(tmp_path_factory.mktemp("env") / "copier-only")


@pytest.mark.timeout(WAIT_TIMEOUT)
@pytest.mark.project(check="bench_logger_copied_with_copier_alone")
def test_copier_alone_copies_a_renamed_logger_that_passes_its_checks(
    project_checks: dict[str, RunningCheck],
) -> None:
    check = project_checks["bench_logger_copied_with_copier_alone"]
    code, output = check.finish()
    assert code == 0, f"the Bench Logger copy or its check.py failed:\n{tail(output)}"
    assert not unexpected_skips("bench_logger_copied_with_copier_alone", output)
    assert copier_alone.TOOLS_LINE.format(installer="pip") in output
    project = check.project
    # The render is a repository with one commit holding everything it rendered.
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(log) == 1 and log[0].startswith("Render Bench Logger from"), log
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "client/src/bench_logger_client/stubs/bench_logger_pb2.py" in tracked
    assert "LICENSE" in tracked and ".copier-answers.yml" in tracked
    # Its own identity, registered with the local runtime by its own suite.
    config = (project / "server/BenchLogger.serviceconfig").read_text("utf-8")
    assert '"serviceClass": "bench_logger.BenchLoggerService"' in config
    assert '"providedInterfaces": ["bench_logger.BenchLogger"]' in config
    assert reported(output, "test_server_is_found_through_discovery", "PASSED")
    assert reported(
        output, "test_serviceconfig_annotations_register_as_nis_sdk_writes_them", "PASSED"
    )


@pytest.mark.parametrize("with_uv", [False, True], ids=["pip", "uv"])
def test_unreachable_package_index_is_named_with_the_command_to_run(
    template: Path, copier_exe: Path, tmp_path: Path, with_uv: bool
) -> None:
    env = copier_alone.environment_for_copier(
        tmp_path / "cache",
        with_uv=with_uv,
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL=UNREACHABLE_INDEX,
        PIP_FIND_LINKS="",
        PIP_RETRIES="0",
        UV_NO_CONFIG="1",
        UV_INDEX_URL=UNREACHABLE_INDEX,
        UV_HTTP_RETRIES="0",
    )
    kept = tmp_path / "kept"
    kept.mkdir()  # existed before the copy: Copier keeps it
    removed = tmp_path / "removed"

    for dest in (kept, removed):
        result = copier_alone.copy(copier_exe, template, dest, env)
        assert result.returncode != 0
        said = result.stdout + result.stderr
        assert copier_alone.TOOLS_LINE.format(installer="uv" if with_uv else "pip") in said
        assert "the package index could not be reached" in said, said
        assert "Once the network is back, run in the project directory:" in said, said
        assert "scripts/generate_stubs.py" in said and "scripts/format_sources.py" in said
        assert "run the same `copier copy` again" in said

    assert not removed.exists()
    assert (kept / "client/src/json_logger_client/stubs/json_logger.proto").is_file()
    assert not (kept / "client/src/json_logger_client/stubs/json_logger_pb2.py").exists()
    # A half-built tool environment is not reused: the next attempt builds it anew.
    environment = next((tmp_path / "cache" / pinned_tools.APPLICATION).glob("code-tools-*"))
    assert not (environment / pinned_tools.INSTALLED_MARKER).exists()


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        pytest.param(
            "win32",
            {"LOCALAPPDATA": "C:/Users/ada/AppData/Local"},
            "C:/Users/ada/AppData/Local/ni-session-service-template/Cache",
            id="windows",
        ),
        pytest.param(
            "win32", {}, "/home/ada/AppData/Local/ni-session-service-template/Cache", id="win-bare"
        ),
        pytest.param(
            "darwin", {}, "/home/ada/Library/Caches/ni-session-service-template", id="macos"
        ),
        pytest.param("linux", {}, "/home/ada/.cache/ni-session-service-template", id="linux"),
        pytest.param(
            "linux",
            {"XDG_CACHE_HOME": "/var/cache/ada"},
            "/var/cache/ada/ni-session-service-template",
            id="linux-xdg",
        ),
        pytest.param(
            "linux",
            {"XDG_CACHE_HOME": "relative"},
            "/home/ada/.cache/ni-session-service-template",
            id="linux-relative-xdg-ignored",
        ),
        pytest.param(
            "win32",
            {"NI_SESSION_TEMPLATE_CACHE": "D:/tools"},
            "D:/tools",
            id="override",
        ),
    ],
)
def test_tool_cache_follows_each_platforms_convention(
    platform: str, environ: dict[str, str], expected: str
) -> None:
    assert pinned_tools.cache_root(platform, environ, Path("/home/ada")) == Path(expected)


def test_tool_environment_names_pins_and_python() -> None:
    name = pinned_tools.environment_name(
        {"mypy-protobuf": "5.1.0", "grpcio-tools": "1.80.1"}, (3, 12)
    )
    assert name == "code-tools-py312-grpcio-tools-1.80.1-mypy-protobuf-5.1.0"


def harness_copy(dest: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Copy the working tree's template with this repository's Copier (it has the tools)."""
    copier = copier_alone.bin_dir(Path(sys.prefix)) / "copier"
    return copier_alone.copy(copier, ROOT, dest, env)


def git_out(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


def test_copy_inside_an_existing_repository_initializes_and_commits_nothing(
    tmp_path: Path,
) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    git_out(outer, "init", "--quiet")
    (outer / "README.md").write_text("the user's repository\n", encoding="utf-8")
    git_out(outer, "add", "README.md")
    git_out(outer, "commit", "--quiet", "-m", "the user's first commit")
    head = git_out(outer, "rev-parse", "HEAD")

    result = harness_copy(outer / "services" / "logger", dict(os.environ))

    assert result.returncode == 0, result.stdout + result.stderr
    assert not (outer / "services" / "logger" / ".git").exists()
    assert git_out(outer, "rev-parse", "HEAD") == head
    assert "?? services/" in git_out(outer, "status", "--porcelain")
    assert "Committed the render" not in result.stdout


def test_copy_without_a_git_identity_says_how_to_commit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_")) and key != "EMAIL"
    }
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    dest = tmp_path / "logger"

    result = harness_copy(dest, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "git has no identity (user.name and user.email)" in result.stdout
    assert 'git init && git add -A && git commit -m "Render from the template"' in result.stdout
    assert not (dest / ".git").exists()
    assert (dest / "LICENSE").read_text("utf-8").startswith("MIT License\n\nCopyright (c) ")


def test_copy_outside_git_commits_the_render_as_its_author(tmp_path: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada Tester", "GIT_AUTHOR_EMAIL": "ada@localhost"}
    env.setdefault("GIT_COMMITTER_NAME", "Ada Tester")
    env.setdefault("GIT_COMMITTER_EMAIL", "ada@localhost")
    dest = tmp_path / "logger"

    result = harness_copy(dest, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Committed the render to a new git repository in {dest}." in result.stdout
    assert git_out(dest, "log", "--format=%an <%ae>") == "Ada Tester <ada@localhost>\n"
    assert git_out(dest, "status", "--porcelain", "--ignored") == ""


def test_formatter_pin_is_the_one_the_checks_use() -> None:
    """The copy formats with the ruff that check.py later checks with, or the two disagree."""
    pins = dict(
        line.split("==")
        for line in (ROOT / "template" / "requirements-dev.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pinned_tools.PINNED["ruff"] == pins["ruff"], (
        "scripts/pinned_tools.py pins ruff "
        f"{pinned_tools.PINNED['ruff']} but requirements-dev.txt pins {pins['ruff']}"
    )
