"""Play NI's TestStand session-sharing sequence headless, with no NI software.

    python examples/teststand/demo.py [--help]

Starts the local runtime (NI's services emulated, NI-DCPower, NI-DMM and NI-SWITCH
simulated), the VisaInstrument server and both example plug-ins as real
processes; registers the pin map; runs the setup code module; calls each plug-in
through the v2 Measure RPC with the pin map context, as InstrumentStudio and
TestStand do; shows what they left in the resource (demo_resource.py); runs cleanup;
and shows that both plug-ins used one session.
Everything it started is stopped on the way out, also on Ctrl+C or failure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ni.measurementlink.pinmap.v1.client import PinMapClient

from local_ni_runtime import redirect

import demo_resource
import teststand_visa_instrument as teststand
from measurement_client import MeasurementCaller

EXAMPLES = Path(__file__).resolve().parent.parent
PIN_MAP = EXAMPLES / "pinmap" / "VisaInstrument.pinmap"
PLUGINS = {
    "VisaInstrumentNIDCPowerMeasurement_Python": EXAMPLES / "nidcpower_measurement",
    "VisaInstrumentNIDmmMeasurement_Python": EXAMPLES / "nidmm_measurement",
}
NAMESPACE = "http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd"
# What each step sets, as a TestStand step would: an enum by its name, numbers; the rest
# are the plug-in's defaults.
SETTINGS: dict[str, dict[str, Any]] = {
    "VisaInstrumentNIDmmMeasurement_Python": {
        "function": "DC_VOLTS",
        "range": 10.0,
        "resolution_digits": 5.5,
    },
}


# On Windows a clean stop is Ctrl+Break to the child's own process group: terminate()
# there is TerminateProcess, after which the server neither unregisters nor closes.
if sys.platform == "win32":
    NEW_PROCESS_GROUP = subprocess.CREATE_NEW_PROCESS_GROUP
else:
    NEW_PROCESS_GROUP = 0


def stop_cleanly(process: subprocess.Popen[str]) -> None:
    """Ask a child to stop as a user would: Ctrl+Break on Windows, SIGTERM on POSIX."""
    if sys.platform == "win32":
        process.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        process.terminate()


@contextmanager
def started(command: list[str], ready: str, environment: dict[str, str]) -> Iterator[str]:
    """Run `command` until the block ends; yield its first line after the `ready` prefix."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
        creationflags=NEW_PROCESS_GROUP,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith(ready):
            raise RuntimeError(f"{' '.join(command)} did not start (said {line!r})")
        yield line.removeprefix(ready).strip()
    finally:
        stop_cleanly(process)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def demo_pin_map(directory: Path, resource_name: str) -> Path:
    """Copy the example pin map with the VisaInstrument instrument named `resource_name`."""
    ElementTree.register_namespace("", NAMESPACE)
    tree = ElementTree.parse(PIN_MAP)
    old_name = ""
    for element in tree.getroot().iter(f"{{{NAMESPACE}}}Instrument"):
        old_name = element.get("name", "")
        element.set("name", resource_name)
    for element in tree.getroot().iter(f"{{{NAMESPACE}}}Connection"):
        if element.get("instrument") == old_name:
            element.set("instrument", resource_name)
    path = directory / "demo.pinmap"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def run(resource_name: str) -> dict[str, dict[str, Any]]:
    """Run the sequence; return each plug-in's outputs."""
    python = sys.executable
    with ExitStack() as stack:
        address = stack.enter_context(
            started([python, "-m", "local_ni_runtime"], "listening on ", dict(os.environ))
        )
        # The children started below inherit the variable, which the runtime's .pth line
        # acts on when they start; this process is already running, so it applies it now.
        os.environ[redirect.ENVIRONMENT_VARIABLE] = address
        redirect.apply()
        environment = dict(os.environ)
        print(f"local runtime on {address}", flush=True)
        server = stack.enter_context(
            started([python, "-m", "visa_instrument_server"], "listening on ", environment)
        )
        print(f"VisaInstrument server on {server}", flush=True)
        for service_class, directory in PLUGINS.items():
            command = [python, str(directory / "measurement.py")]
            stack.enter_context(started(command, "hosting ", environment))
            print(f"plug-in {service_class} hosted", flush=True)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        pin_map_id = PinMapClient().update_pin_map(demo_pin_map(scratch, resource_name))
        demo_resource.setup_sessions(pin_map_id)
        outputs: dict[str, dict[str, Any]] = {}
        try:
            for service_class in PLUGINS:
                caller = MeasurementCaller(service_class)
                try:
                    settings = SETTINGS.get(service_class, {})
                    outputs[service_class] = caller.measure(pin_map_id, **settings)
                finally:
                    caller.close()
            demo_resource.show(resource_name)
        finally:
            teststand.cleanup_sessions()
        return outputs


def main(argv: list[str] | None = None) -> int:
    """Run the demo and report what each plug-in did; exit 1 unless they shared one session."""
    parser = argparse.ArgumentParser(
        prog="python examples/teststand/demo.py",
        description="Play the TestStand session-sharing sequence headless.",
    )
    resource_name = demo_resource.choose(parser, argv)
    try:
        outputs = run(resource_name)
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    for service_class, values in outputs.items():
        print(f"{service_class}: {json.dumps(values, default=str)}")
    sessions = {values["resource_session_name"] for values in outputs.values()}
    print(f"resource sessions used: {sorted(sessions)}")
    return 0 if len(sessions) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
