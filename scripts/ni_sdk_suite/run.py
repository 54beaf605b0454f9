"""Run NI's own SDK tests against a render's local runtime (by hand; not in CI).

Usage:
    python3 scripts/ni_sdk_suite/run.py --ni-repo PATH [--render DIR] [-- PYTEST ARGS]

PATH is a clone of ni/measurement-plugin-python (or its bare git directory). The
script takes NI's `packages/service` at the tag of the SDK release the render's
lock names (`git archive`, so NI's files are exactly the release's), builds an
environment from the render's lock with the render's client, server and runtime
installed (plus psutil, which one of NI's tests imports), starts the render's
local runtime, and runs NI's `tests/acceptance` and
`tests/integration/session_management` with one plugin of ours
(local_runtime_plugin.py) providing only the `discovery_service_process`
fixture. NI's clients reach the runtime through its own redirect. The exit code
is pytest's. The environment is kept under --work (default build/ni-sdk-suite)
and rebuilt when the render's lock changes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIRECTORY = Path(__file__).resolve().parent
SDK = "ni-measurement-plugin-sdk-service"
SUITES = ("tests/acceptance", "tests/integration/session_management")
EXTRA = ("psutil==7.2.2",)  # NI's tests/acceptance/test_security.py imports it


def sdk_version(render: Path) -> str:
    """Return the SDK version the render's lock pins: NI's tag for that release."""
    lock = (render / "requirements-dev.lock").read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(SDK)}==(\S+)", lock, re.MULTILINE)
    if found is None:
        sys.exit(f"ni_sdk_suite: {render}/requirements-dev.lock pins no {SDK}")
    return found.group(1)


def extract_service_package(ni_repo: Path, tag: str, destination: Path) -> Path:
    """Write NI's packages/service at `tag` into `destination`; return its folder."""
    archive = subprocess.run(
        ["git", "-C", str(ni_repo), "archive", "--format=tar", tag, "packages/service"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        sys.exit(
            f"ni_sdk_suite: cannot read tag {tag} from {ni_repo}: "
            f"{archive.stderr.decode(errors='replace').strip()}"
        )
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination / "packages" / "service"


def environment(render: Path, work: Path) -> Path:
    """Return the python of an environment holding the render's lock and packages."""
    inputs = [render / "requirements-dev.lock"] + [
        render / folder / "pyproject.toml" for folder in ("client", "server", "runtime")
    ]
    digest = hashlib.sha256(
        b"".join(path.read_bytes() for path in inputs) + str(render).encode()
    ).hexdigest()
    folder = work / "venv"
    python = folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    stamp = folder / "ni-sdk-suite.sha256"
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    venv.create(folder, with_pip=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--require-hashes", "-r", str(render / "requirements-dev.lock")])
    packages = ("client", "server", "runtime")
    editable = [arg for name in packages for arg in ("-e", str(render / name))]
    run([*pip, "--no-deps", *editable])
    run([*pip, *EXTRA])
    stamp.write_text(digest)
    return python


def run(command: list[str]) -> None:
    """Run a setup command; stop with its exit code if it fails."""
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main() -> int:
    """Run NI's suite against the render's runtime; return pytest's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ni-repo", type=Path, required=True, help="clone of NI's repository")
    parser.add_argument("--render", type=Path, default=ROOT / "generated-examples" / "json_logger")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "ni-sdk-suite")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    render, work = args.render.resolve(), args.work.resolve()
    tag = sdk_version(render)
    service = extract_service_package(args.ni_repo.resolve(), tag, work / f"ni-{tag}")
    python = environment(render, work)
    print(f"NI's packages/service at {tag}; runtime from {render}", flush=True)
    runtime = subprocess.Popen(
        [str(python), "-m", "local_ni_runtime"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert runtime.stdout is not None
        first = runtime.stdout.readline()  # "listening on localhost:PORT", once it serves
        if not first.startswith("listening on "):
            print(f"ni_sdk_suite: the runtime did not start: {first!r}", file=sys.stderr)
            return 1
        address = first.removeprefix("listening on ").strip()
        env = {
            **os.environ,
            "NI_LOCAL_RUNTIME": address,
            "PYTHONPATH": str(PLUGIN_DIRECTORY),
            "no_proxy": "localhost,127.0.0.1,::1",
        }
        command = [
            str(python),
            "-m",
            "pytest",
            "-p",
            "local_runtime_plugin",
            "-p",
            "no:cacheprovider",
            *SUITES,
            *args.pytest_args,
        ]
        print("+", " ".join(command), flush=True)
        return subprocess.run(command, cwd=service, env=env, check=False).returncode
    finally:
        runtime.terminate()
        runtime.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
