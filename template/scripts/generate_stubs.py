"""Generate the gRPC stubs of every proto under client/src and core/src, or check they are current.

Usage:
    python scripts/generate_stubs.py           # (re)generate the stubs next to each proto
    python scripts/generate_stubs.py --check   # exit 1 if the stubs differ from a fresh generation

The generator versions are pinned (scripts/pinned_tools.py): generated code embeds
them, so only the pinned versions give byte-identical stubs. Any Python 3.10+ runs
this script: without the pinned generators it re-runs itself in their own cached
environment, built on first use. Copier runs it during `copier copy`.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pinned_tools

PROJECT = Path(__file__).resolve().parent.parent
# The service's proto is the client's; the core carries its own (session administration).
SOURCE_ROOTS = (PROJECT / "client" / "src", PROJECT / "core" / "src")
# Set in the re-run under the tool environment, so a broken one cannot loop.
REENTERED = "GENERATE_STUBS_IN_TOOL_ENVIRONMENT"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def plugin(name: str) -> str:
    """Return the protoc plugin argument for a console script installed next to Python."""
    scripts = Path(sys.executable).parent
    path = scripts / (f"{name}.exe" if sys.platform == "win32" else name)
    if not path.exists():
        pin = f"mypy-protobuf=={pinned_tools.PINNED['mypy-protobuf']}"
        sys.exit(f"generate_stubs: {path} is missing; reinstall {pin}")
    return f"--plugin={name}={path}"


def generate(proto: Path, root: Path, out: Path) -> None:
    """Run protoc for one proto, writing the four stub modules under `out`."""
    from grpc_tools import protoc  # only a Python with the pinned generators has it

    include = Path(protoc.__file__).parent / "_proto"
    relative = proto.relative_to(root).as_posix()
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={root}",
        f"--proto_path={include}",
        plugin("protoc-gen-mypy"),
        plugin("protoc-gen-mypy_grpc"),
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        relative,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"generate_stubs: protoc failed for {relative}:\n{result.stderr.strip()}")


def stub_paths(proto: Path, root: Path, out: Path) -> list[Path]:
    """Return where the stubs of `proto`, found below `root`, live below `out`."""
    relative = proto.relative_to(root).with_suffix("")
    return [out / relative.parent / f"{relative.name}{suffix}" for suffix in GENERATED_SUFFIXES]


def main(argv: list[str] | None = None) -> int:
    """Generate or check the stubs; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only check that the stubs are current"
    )
    arguments = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(arguments)
    try:
        python = pinned_tools.python_with_pins()
    except pinned_tools.ToolInstallError as error:
        sys.exit(f"generate_stubs: {error}")
    if python != Path(sys.executable):
        if os.environ.get(REENTERED):
            sys.exit(f"generate_stubs: {python} lacks the pinned generators; delete its folder.")
        command = [str(python), str(Path(__file__).resolve()), *arguments]
        return subprocess.run(command, env={**os.environ, REENTERED: "1"}, check=False).returncode
    protos = [(root, proto) for root in SOURCE_ROOTS for proto in sorted(root.rglob("*.proto"))]
    if not protos:
        sys.exit(f"generate_stubs: no .proto file under {SOURCE_ROOTS[0]}")
    stale = []
    for root, proto in protos:
        if not args.check:
            generate(proto, root, root)
            continue
        with tempfile.TemporaryDirectory() as scratch:
            generate(proto, root, Path(scratch))
            fresh_paths = stub_paths(proto, root, Path(scratch))
            current_paths = stub_paths(proto, root, root)
            for fresh, current in zip(fresh_paths, current_paths, strict=True):
                if not current.exists() or not filecmp.cmp(fresh, current, shallow=False):
                    stale.append(current.relative_to(PROJECT).as_posix())
    if stale:
        print("Stubs out of date (run python scripts/generate_stubs.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
