"""Measure what the server's own environment costs: size on disk, start-up time, memory.

Usage:
    python3 scripts/bench_server_env.py [--runs N]

Renders NI's JSON logger (the default answers), then builds two environments with
uv exactly as server/start.sh installs the server (client and server, editable):

- `lean`: what the packages declare now (NI's split packages only);
- `with SDK`: the same plus ni-measurement-plugin-sdk-service, which the packages
  used to declare (it brings numpy, nitypes, hightime and the measurement protos).

For each it prints the installed size, the number of distributions, the median
time from process start to the server's `listening on` line, and the server's
resident memory once listening, with the ratio lean / with SDK. The server code is
the same in both, so the ratios show what the dependency alone costs. Linux only
(memory is read from /proc).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _bootstrap

SDK = "ni-measurement-plugin-sdk-service==3.1.0"


def render(dest: Path) -> None:
    """Render the default answers into `dest` with this repository's Copier."""
    copier = _bootstrap.bin_dir() / "copier"
    subprocess.run(
        [str(copier), "copy", "--quiet", "--trust", "--defaults", "--vcs-ref", "HEAD"]
        + [str(_bootstrap.ROOT), str(dest)],
        env=_bootstrap.tool_environment(_bootstrap.bin_dir()),
        check=True,
        capture_output=True,
    )


def build(project: Path, environment: Path, extra: list[str]) -> Path:
    """Create `environment` holding the core, client and server (and `extra`); return its python."""
    uv = str(_bootstrap.bin_dir() / "uv")
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(environment)], check=True
    )
    python = environment / "bin" / "python"
    packages = ("core", "client", "server")
    own = [arg for package in packages for arg in ("-e", str(project / package))]
    install = [*own, *extra]
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *install], check=True)
    return python


def size_and_count(environment: Path) -> tuple[float, int]:
    """Return the environment's size in MiB and its number of installed distributions."""
    total = sum(
        p.stat().st_size for p in environment.rglob("*") if p.is_file() and not p.is_symlink()
    )
    count = len(list(environment.glob("lib/python*/site-packages/*.dist-info")))
    return total / 2**20, count


def start_once(python: Path, package: str) -> tuple[float, float, bool]:
    """Start the server once; return seconds to `listening on`, RSS in MiB, numpy loaded."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(python), "-m", package, "--port", "0", "--no-discovery"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        elapsed = time.perf_counter() - started
        if not line.startswith("listening on "):
            raise RuntimeError(f"the server did not start: {line!r}")
        status = Path(f"/proc/{process.pid}/status").read_text()
        rss_kib = int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1])
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        return elapsed, rss_kib / 1024, "numpy" in maps
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str]) -> int:
    """Build both environments, measure them, print the table; return the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="server starts per environment")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        sys.exit("bench_server_env: reads memory from /proc, so it runs on Linux only.")
    _bootstrap.ensure_venv()
    with tempfile.TemporaryDirectory(prefix="bench-server-env-") as scratch:
        work = Path(scratch)
        render(work / "project")
        pythons, rows = {}, {}
        for name, extra in (("lean", []), ("with SDK", [SDK])):
            pythons[name] = build(work / "project", work / name.replace(" ", "-"), extra)
        starts: dict[str, list[tuple[float, float, bool]]] = {name: [] for name in pythons}
        for _ in range(args.runs):  # alternate, so load on the machine hits both alike
            for name, python in pythons.items():
                starts[name].append(start_once(python, "json_logger_server"))
        for name in pythons:
            size, count = size_and_count(work / name.replace(" ", "-"))
            rows[name] = (
                size,
                count,
                statistics.median(s[0] for s in starts[name]),
                statistics.median(s[1] for s in starts[name]),
                any(s[2] for s in starts[name]),
            )
    print(
        f"{'environment':<12} {'MiB':>8} {'dists':>6} {'start s':>8} {'RSS MiB':>8}  numpy loaded"
    )
    for name, (size, count, start, rss, numpy) in rows.items():
        print(f"{name:<12} {size:8.1f} {count:6d} {start:8.3f} {rss:8.1f}  {numpy}")
    lean, sdk = rows["lean"], rows["with SDK"]
    print(
        f"{'lean/SDK':<12} {lean[0] / sdk[0]:7.2f}x {lean[1] / sdk[1]:5.2f}x "
        f"{lean[2] / sdk[2]:7.2f}x {lean[3] / sdk[3]:7.2f}x   (median of {args.runs} starts)"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "localhost,127.0.0.1,::1")
    sys.exit(main(sys.argv[1:]))
