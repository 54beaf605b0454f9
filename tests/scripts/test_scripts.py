"""The repository's own scripts behave as their usage says, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import _bootstrap
import run_tests
from helpers import ROOT


def run_script(script: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run scripts/<script> with this interpreter, stdin closed (as in CI)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_new_service_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n", encoding="utf-8")
    result = run_script("new_service.py", str(tmp_path))
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert "--force" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]


def test_new_service_renders_without_a_terminal(tmp_path: Path) -> None:
    # stdin is not a TTY, so the script must add --defaults or Copier would wait
    # for answers; the stub task must find grpcio-tools next to .venv's copier.
    dest = tmp_path / "bench_lock"
    result = run_script(
        "new_service.py", str(dest), "--data", "preset=blank", "--data", "display_name=Bench Lock"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (dest / "server/src/bench_lock_server/resource.py").is_file()
    assert (dest / "client/src/bench_lock_client/stubs/bench_lock_pb2_grpc.py").is_file()
    answers = (dest / ".copier-answers.yml").read_text(encoding="utf-8")
    assert "preset: blank" in answers
    assert f"_src_path: {ROOT}" in answers


def test_new_service_without_destination_prints_usage() -> None:
    result = run_script("new_service.py")
    assert result.returncode == 2
    assert "new_service.py DEST" in result.stdout


def test_run_tests_treats_no_collected_tests_as_failure() -> None:
    result = run_script(
        "run_tests.py", "-k", "no_test_is_named_like_this", "tests/scripts/test_scripts.py"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "collected no tests" in result.stderr


def test_run_tests_passes_pytest_exit_code_through(tmp_path: Path) -> None:
    result = run_script("run_tests.py", str(tmp_path / "no_such_test.py"))
    assert result.returncode == 4, result.stdout + result.stderr  # pytest: usage error


def test_no_proxy_keeps_existing_entries_and_adds_loopback() -> None:
    assert run_tests.no_proxy("") == "localhost,127.0.0.1,::1"
    assert run_tests.no_proxy("proxy.internal, localhost") == (
        "proxy.internal,localhost,127.0.0.1,::1"
    )


def test_bootstrap_reports_this_venv_as_current() -> None:
    # The suite runs from .venv, which run_tests.py built from requirements.lock.
    assert Path(sys.prefix).resolve() == _bootstrap.VENV.resolve(), (
        "run the suite with `python3 scripts/run_tests.py`"
    )
    assert _bootstrap.is_current(_bootstrap.lock_digest())
    python, tools = _bootstrap.ensure_venv()
    assert python == _bootstrap.venv_python()
    assert tools in {Path(entry) for entry in os.environ["PATH"].split(os.pathsep)}
