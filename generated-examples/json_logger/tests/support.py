"""Helpers for the tests: a real server process, a stub on it, and short RPC calls."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, cast
from xml.etree import ElementTree

import grpc
import pytest
from ni.measurementlink.pinmap.v1.client import PinMapClient

from json_logger_client.stubs import json_logger_pb2 as pb2
from json_logger_client.stubs import json_logger_pb2_grpc as pb2_grpc

SERVER_MODULE = "json_logger_server"
PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE_PIN_MAP = PROJECT / "examples" / "pinmap" / "JsonLogger.pinmap"
RESOURCE_PIN = "JsonLoggerPin"
# The example plug-ins' service classes.
DCPOWER = "JsonLoggerNIDCPowerMeasurement_Python"
DMM = "JsonLoggerNIDmmMeasurement_Python"
NS = {"pm": "http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd"}
Behavior = pb2.SessionInitializationBehavior
UNSPECIFIED = pb2.SESSION_INITIALIZATION_BEHAVIOR_UNSPECIFIED
INITIALIZE_NEW = pb2.SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW
ATTACH_TO_EXISTING = pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING


_server_numbers = itertools.count()
# What a clean stop may take beyond the server's own grace for in-flight RPCs
# (main.SHUTDOWN_GRACE): unregistering, closing sessions, the interpreter's exit.
STOP_MARGIN = 3.0
# On Windows a stop request is Ctrl+Break to the process's own group: SIGTERM there
# is TerminateProcess, which nothing can catch.
if sys.platform == "win32":
    NEW_PROCESS_GROUP = subprocess.CREATE_NEW_PROCESS_GROUP
else:
    NEW_PROCESS_GROUP = 0


def request_stop(process: subprocess.Popen[Any]) -> None:
    """Ask a process to stop cleanly: SIGTERM on POSIX, Ctrl+Break on Windows."""
    if sys.platform == "win32":
        process.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        process.send_signal(signal.SIGTERM)


class ServerProcess:
    """A server started with `python -m json_logger_server`, serving on `address`."""

    def __init__(self, process: subprocess.Popen[str], address: str, log: IO[str]) -> None:
        self.process = process
        self.address = address
        self._log = log

    def log_text(self) -> str:
        """Return what the server has written to stderr so far (also once it has stopped)."""
        if not self._log.closed:
            self._log.flush()
        return Path(self._log.name).read_text(encoding="utf-8")

    def stop(self) -> int:
        """Stop the server if it still runs; return its exit code."""
        if self.process.poll() is None:
            request_stop(self.process)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._log.close()
        return self.process.returncode

    def wait_for_log(self, text: str, limit: float = 30) -> None:
        """Wait until the server's stderr holds `text` (fail after `limit` seconds)."""
        deadline = time.monotonic() + limit
        while text not in self.log_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server never logged {text!r}:\n{self.log_text()}")
            time.sleep(0.05)


def launch_server(
    log_dir: Path,
    *args: str,
    discovery: bool = False,
    stdin: Any = subprocess.DEVNULL,
    wrapper: Sequence[str] = (),
    **popen: Any,
) -> ServerProcess:
    """Start a server on a free port; wait for its `listening on` line.

    Without `discovery` it does not register with NI Discovery Service. `wrapper`
    is a command the server runs under, such as `setpriv ... --`.
    """
    command = [*wrapper, sys.executable, "-m", SERVER_MODULE, "--port", "0"]
    command.extend([] if discovery else ["--no-discovery"])
    command.extend(args)
    return launch(log_dir, command, stdin=stdin, **popen)


def launch_runtime(log_dir: Path) -> ServerProcess:
    """Start the local NI runtime (`python -m local_ni_runtime`) on a free port."""
    return launch(log_dir, [sys.executable, "-m", "local_ni_runtime"])


def launch(
    log_dir: Path,
    command: list[str],
    stdin: Any = subprocess.DEVNULL,
    ready: str = "listening on ",
    **popen: Any,
) -> ServerProcess:
    """Run `command`, which prints `<ready>ADDRESS` once it serves."""
    log_name = f"process-{os.getpid()}-{next(_server_numbers)}.log"
    log = (log_dir / log_name).open("w+", encoding="utf-8")
    popen.setdefault("creationflags", NEW_PROCESS_GROUP)
    process = subprocess.Popen(
        command, stdin=stdin, stdout=subprocess.PIPE, stderr=log, text=True, **popen
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    server = ServerProcess(process, line.removeprefix(ready).strip(), log)
    if not line.startswith(ready):
        server.stop()
        pytest.fail(f"{command} did not start: {line!r}\n{server.log_text()}")
    return server


def run_checked(
    *command: str | Path, cwd: Path = PROJECT, env: dict[str, str] | None = None
) -> str:
    """Run `command`; return its stdout, failing the test with its output if it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def uv() -> str:
    """The uv requirements-dev.lock pins, installed beside this Python (else PATH's).

    Building and installing wheels through uv takes a second where pip takes several.
    """
    beside = Path(sys.executable).with_name("uv.exe" if sys.platform == "win32" else "uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    assert found, "uv is missing: scripts/check.py installs requirements-dev.lock, which has it"
    return found


def build_wheel(project: Path, out: Path) -> Path:
    """Build the wheel of the package in `project` into `out`; return it."""
    run_checked(uv(), "build", "--quiet", "--wheel", "--out-dir", out, project)
    (built,) = out.glob("*.whl")
    return built


def install(python: Path, *arguments: str | Path) -> None:
    """`pip install ARGUMENTS` into the environment of `python`, through uv."""
    run_checked(uv(), "pip", "install", "--quiet", "--python", python, *arguments)


def venv_python(environment: Path) -> Path:
    """The interpreter of the virtual environment `environment`."""
    return environment / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def registered_sessions(runtime: ServerProcess) -> list[str]:
    """The session names registered with the local runtime's Session Management."""
    result = subprocess.run(
        [sys.executable, "-m", "local_ni_runtime", "reservations", "--address", runtime.address],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    names: list[str] = json.loads(result.stdout)["registered_sessions"]
    return names


def connect(address: str) -> tuple[grpc.Channel, pb2_grpc.JsonLoggerStub]:
    """Open a channel to `address` and a stub on it."""
    channel = grpc.insecure_channel(address)
    return channel, pb2_grpc.JsonLoggerStub(channel)


def initialize(
    stub: pb2_grpc.JsonLoggerStub, resource: str, behavior: int = UNSPECIFIED
) -> pb2.InitializeFileResponse:
    """Call InitializeFile for `resource` with `behavior`."""
    wire_behavior = cast("pb2.SessionInitializationBehavior.ValueType", behavior)
    request = pb2.InitializeFileRequest(file_path=resource, initialization_behavior=wire_behavior)
    return stub.InitializeFile(request)


def close(stub: pb2_grpc.JsonLoggerStub, session_name: str) -> None:
    """Call CloseFile for `session_name`."""
    stub.CloseFile(pb2.CloseFileRequest(session_name=session_name))


def status_of(call: Callable[[], object]) -> grpc.Call:
    """Run a call that must fail and return its error."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    assert isinstance(error, grpc.Call)
    return error


def write_pin_map(path: Path, resources: list[str]) -> str:
    """Register a copy of the example pin map, its resource instrument(s) named `resources`."""
    ElementTree.register_namespace("", NS["pm"])
    tree = ElementTree.parse(EXAMPLE_PIN_MAP)
    root = tree.getroot()
    instruments = root.find("pm:Instruments", NS)
    connections = root.find("pm:Connections", NS)
    pins = root.find("pm:Pins", NS)
    assert instruments is not None and connections is not None and pins is not None
    template = instruments.find("pm:Instrument", NS)
    connection = connections.find(f"pm:Connection[@pin='{RESOURCE_PIN}']", NS)
    assert template is not None and connection is not None
    template.set("name", resources[0])
    connection.set("instrument", resources[0])
    for number, resource in enumerate(resources[1:], start=2):
        extra = ElementTree.SubElement(instruments, template.tag, dict(template.attrib))
        extra.set("name", resource)
        ElementTree.SubElement(extra, f"{{{NS['pm']}}}Channel", {"id": "0"})
        ElementTree.SubElement(pins, f"{{{NS['pm']}}}DUTPin", {"name": f"{RESOURCE_PIN}{number}"})
        wired = ElementTree.SubElement(connections, connection.tag, dict(connection.attrib))
        wired.set("pin", f"{RESOURCE_PIN}{number}")
        wired.set("instrument", resource)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return PinMapClient().update_pin_map(path)
