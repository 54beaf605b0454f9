"""Rendering succeeds, lays out the expected files and is deterministic."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from pytest_copie.plugin import Copie

from helpers import BENCH_POWER_LOCK, ROOT, render
from sync_examples import normalise_answers_file, normalise_readme, snapshot

STUB_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")

# Loads a generated *_pb2.py by path (not through its package, whose __init__
# needs the NI SDK) and prints its services and messages as JSON, each field as
# "number:declaration" in the same notation the custom_rpcs answer uses.
DESCRIBE_STUB = r"""
import importlib.util, json, sys
from google.protobuf.descriptor import FieldDescriptor as F

spec = importlib.util.spec_from_file_location("stub_under_test_pb2", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
names = {v: k[5:].lower() for k, v in vars(F).items() if k.startswith("TYPE_")}

def base(field):
    if field.type in (F.TYPE_MESSAGE, F.TYPE_ENUM):
        return (field.message_type or field.enum_type).full_name
    return names[field.type]

def declaration(field):
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
        return f"map<{base(key)}, {base(value)}> {field.name}"
    repeated = "repeated " if field.label == F.LABEL_REPEATED else ""
    return f"{repeated}{base(field)} {field.name}"

def fields(message):
    return [f"{f.number}:{declaration(f)}" for f in message.fields]

file = module.DESCRIPTOR
print(json.dumps({
    "package": file.package,
    "services": {
        service.name: {
            method.name: {"request": fields(method.input_type),
                          "response": fields(method.output_type)}
            for method in service.methods
        }
        for service in file.services_by_name.values()
    },
}))
"""


def describe_stub(pb2: Path) -> dict[str, Any]:
    """Return the services of a generated stub module, loaded in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", DESCRIBE_STUB, str(pb2)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{pb2.name} does not load:\n{result.stderr}"
    described: dict[str, Any] = json.loads(result.stdout)
    return described


# Copier renders a file's content through Jinja only when its name ends in the
# template suffix; _presets/ and _macros/ hold includes, which keep it whatever
# they contain. Anything that marks Jinja in a file's text.
JINJA_MARKS = re.compile(r"\{\{|\{%|\{#")


def test_template_files_ending_in_jinja_hold_jinja() -> None:
    # A plain file rendered through Jinja reads as if it varied per render, and the
    # checked-in examples are its only sign that it does not: name it as it is.
    template = ROOT / "template"
    needless = sorted(
        path.relative_to(ROOT).as_posix()
        for path in template.rglob("*.jinja")
        if path.relative_to(template).parts[0] not in ("_presets", "_macros")
        and not JINJA_MARKS.search(path.read_text("utf-8"))
    )
    assert not needless, (
        "these template files hold no Jinja ({{ }}, {% %} or {# #}) but end in .jinja; "
        f"git mv each to its name without .jinja (Copier copies it as is): {needless}"
    )


def relative_files(project: Path) -> set[str]:
    return {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}


def test_defaults_render_the_json_logger(copie: Copie) -> None:
    project = render(copie)
    stubs = project / "client/src/json_logger_client/stubs"
    files = relative_files(project)
    expected = {
        "client/src/json_logger_client/__init__.py",
        "client/src/json_logger_client/stubs/__init__.py",
        "client/src/json_logger_client/stubs/json_logger.proto",
        "server/src/json_logger_server/__init__.py",
        "server/src/json_logger_server/__main__.py",
        "server/src/json_logger_server/resource.py",
        "server/src/json_logger_server/ndjson.py",
        "tests/resource/test_ndjson.py",
        "server/JsonLogger.serviceconfig",
        "scripts/check.py",
        "scripts/generate_stubs.py",
        ".copier-answers.yml",
    }
    expected |= {f"client/src/json_logger_client/stubs/json_logger{s}" for s in STUB_SUFFIXES}
    assert expected <= files, f"missing: {sorted(expected - files)}"
    # No stub module may land outside the package (a top-level json_logger_pb2
    # would shadow or be shadowed by NI's own top-level *_pb2 packages): the
    # service's stubs and the core's admin service's, nothing else.
    assert {path for path in files if path.endswith(STUB_SUFFIXES)} == {
        *(f"client/src/json_logger_client/stubs/json_logger{s}" for s in STUB_SUFFIXES),
        *(f"core/src/session_service_core/stubs/session_admin{s}" for s in STUB_SUFFIXES),
    }

    config = json.loads((project / "server/JsonLogger.serviceconfig").read_text("utf-8"))
    (service,) = config["services"]
    assert service["serviceClass"] == "ni.logger.JSONLogService"
    assert service["providedInterfaces"] == ["ni.logger.v1.json"]

    grpc_module = (stubs / "json_logger_pb2_grpc.py").read_text("utf-8")
    assert re.search(r"^from json_logger_client\.stubs import json_logger_pb2\b", grpc_module, re.M)
    for suffix in STUB_SUFFIXES:
        text = (stubs / f"json_logger{suffix}").read_text("utf-8")
        assert not re.search(r"^\s*import json_logger_pb2\b", text, re.M), suffix
        assert not re.search(r"^\s*from json_logger_pb2\b", text, re.M), suffix


def test_defaults_wire_contract(copie: Copie) -> None:
    project = render(copie)
    described = describe_stub(project / "client/src/json_logger_client/stubs/json_logger_pb2.py")
    assert described["package"] == "json_logger"
    assert list(described["services"]) == ["JsonLogger"]
    methods = described["services"]["JsonLogger"]
    assert set(methods) == {"InitializeFile", "LogMeasurementData", "CloseFile"}
    # Field for field what NI's JSON logger client sends and expects.
    assert methods["InitializeFile"] == {
        "request": [
            "1:string file_path",
            "2:json_logger.SessionInitializationBehavior initialization_behavior",
        ],
        "response": ["1:string session_name", "2:bool new_session"],
    }
    assert methods["LogMeasurementData"]["request"] == [
        "1:string session_name",
        "2:string measurement_name",
        "3:google.protobuf.Timestamp timestamp",
        "4:map<string, string> measurement_configurations",
        "5:map<string, string> measurement_outputs",
    ]
    assert methods["LogMeasurementData"]["response"] == []
    assert methods["CloseFile"] == {"request": ["1:string session_name"], "response": []}


def test_custom_answers_reach_names_and_wire_contract(copie: Copie) -> None:
    project = render(copie, BENCH_POWER_LOCK)
    package = project / "client/src/bench_power_lock_client/stubs"
    assert (project / "server/src/bench_power_lock_server/__init__.py").is_file()
    for suffix in STUB_SUFFIXES:
        assert (package / f"bench_power_lock{suffix}").is_file(), suffix
    config = json.loads((project / "server/BenchPowerLock.serviceconfig").read_text("utf-8"))
    (service,) = config["services"]
    assert service["serviceClass"] == "bench_power_lock.BenchPowerLockService"
    assert service["providedInterfaces"] == ["bench_power_lock.BenchPowerLock"]

    described = describe_stub(package / "bench_power_lock_pb2.py")
    assert described["package"] == "bench_power_lock"
    methods = described["services"]["BenchPowerLock"]
    assert set(methods) == {"AcquireLock", "Heartbeat", "SetLimits", "ReleaseLock"}
    assert methods["AcquireLock"]["request"] == [
        "1:string resource_name",
        "2:bench_power_lock.SessionInitializationBehavior initialization_behavior",
        "3:string holder",
    ]
    assert methods["Heartbeat"] == {
        "request": ["1:string session_name"],
        "response": ["1:google.protobuf.Timestamp server_time"],
    }
    assert methods["SetLimits"] == {
        "request": [
            "1:string session_name",
            "2:double voltage",
            "3:repeated int32 channels",
            "4:map<string, double> per_pin",
            "5:bool enabled",
            "6:bytes blob",
            "7:google.protobuf.Duration hold",
        ],
        "response": ["1:string summary", "2:repeated string warnings"],
    }
    assert methods["ReleaseLock"]["request"] == ["1:string session_name"]


def test_register_map_wire_contract(copie: Copie) -> None:
    project = render(copie, {"preset": "register_map"})
    package = project / "client/src/custom_instrument_client/stubs"
    methods = describe_stub(package / "custom_instrument_pb2.py")["services"]["CustomInstrument"]
    assert methods["Initialize"]["request"] == [
        "1:string resource_name",
        "2:custom_instrument.SessionInitializationBehavior initialization_behavior",
        "3:string protocol",
        "4:string register_map_path",
    ]
    assert {name: (m["request"][1:], m["response"]) for name, m in methods.items()} == {
        "Initialize": (
            [
                "2:custom_instrument.SessionInitializationBehavior initialization_behavior",
                "3:string protocol",
                "4:string register_map_path",
            ],
            ["1:string session_name", "2:bool new_session"],
        ),
        "WriteRegister": (["2:string register_name", "3:uint32 value"], []),
        "ReadRegister": (["2:string register_name"], ["1:uint32 value"]),
        "WriteGpioChannel": (["2:uint32 port", "3:uint32 channel", "4:bool state"], []),
        "ReadGpioChannel": (["2:uint32 port", "3:uint32 channel"], ["1:bool state"]),
        "WriteGpioPort": (["2:uint32 port", "3:uint32 value", "4:uint32 mask"], []),
        "ReadGpioPort": (["2:uint32 port"], ["1:uint32 value"]),
        "Close": ([], []),
    }
    rows = (project / "examples/register_map.csv").read_text("utf-8").splitlines()
    assert rows[0] == "name,default_value"
    for preset in ("json_logger", "blank"):
        other = render(copie, {"preset": preset})
        assert not (other / "examples/register_map.csv").exists(), preset
    # The JSON logger's own modules come with its preset only.
    assert not list(project.rglob("*ndjson.py"))


def test_visa_instrument_wire_contract_and_dependencies(copie: Copie) -> None:
    project = render(copie, {"preset": "visa_instrument"})
    package = project / "client/src/visa_instrument_client/stubs"
    methods = describe_stub(package / "visa_instrument_pb2.py")["services"]["VisaInstrument"]
    assert {name: (m["request"][1:], m["response"]) for name, m in methods.items()} == {
        "Initialize": (
            [
                "2:visa_instrument.SessionInitializationBehavior initialization_behavior",
                "3:string backend",
                "4:uint32 timeout_milliseconds",
                "5:string read_termination",
                "6:string write_termination",
            ],
            ["1:string session_name", "2:bool new_session"],
        ),
        "Write": (["2:string command"], []),
        "Query": (["2:string command"], ["1:string response"]),
        "Read": ([], ["1:string response"]),
        "ReadBinaryValues": (
            ["2:string command", "3:string datatype", "4:bool big_endian"],
            ["1:repeated double values"],
        ),
        "Clear": ([], []),
        "Reset": ([], []),
        "Identify": (
            [],
            [
                "1:string manufacturer",
                "2:string model",
                "3:string serial_number",
                "4:string firmware_version",
            ],
        ),
        "Close": ([], []),
    }
    # pyvisa and its backends are this preset's server dependencies, and in its own lock.
    server = (project / "server/pyproject.toml").read_text("utf-8")
    lock = (project / "requirements-dev.lock").read_text("utf-8")
    for package_name in ("pyvisa", "pyvisa-py", "pyvisa-sim"):
        assert f'"{package_name}>=' in server, package_name
        assert f"\n{package_name}==" in lock, package_name
    assert "resources:" in (project / "examples/bench_dmm.yaml").read_text("utf-8")
    other = render(copie, {"preset": "json_logger"})
    assert "pyvisa" not in (other / "server/pyproject.toml").read_text("utf-8")
    assert "\npyvisa==" not in (other / "requirements-dev.lock").read_text("utf-8")
    assert not (other / "examples/bench_dmm.yaml").exists()


def render_in_subprocess(dest: Path, hash_seed: str) -> Path:
    """Render BENCH_POWER_LOCK with Copier's CLI in a process of its own, hash seed fixed."""
    data_file = dest.parent / f"{dest.name}-answers.yml"
    data_file.write_text(yaml.safe_dump(BENCH_POWER_LOCK), encoding="utf-8")
    copier = Path(sys.executable).parent / "copier"
    result = subprocess.run(
        [str(copier), "copy", "--quiet", "--trust", "--defaults", "--vcs-ref", "HEAD"]
        + ["--data-file", str(data_file), str(ROOT), str(dest)],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dest


def test_same_answers_render_byte_identical_projects(tmp_path: Path) -> None:
    # Two processes with different string hashing: no set or dict order may leak
    # into what is rendered.
    first = snapshot(render_in_subprocess(tmp_path / "first", "1"))
    second = snapshot(render_in_subprocess(tmp_path / "second", "2"))

    def without_commit(files: dict[str, tuple[bytes, bool]]) -> dict[str, tuple[bytes, bool]]:
        # The template version (a dirty template gets a fresh commit per render).
        answers, answers_executable = files[".copier-answers.yml"]
        readme, readme_executable = files["README.md"]
        return {
            **files,
            ".copier-answers.yml": (
                normalise_answers_file(answers.decode()).encode(),
                answers_executable,
            ),
            "README.md": (normalise_readme(readme.decode()).encode(), readme_executable),
        }

    first, second = without_commit(first), without_commit(second)
    assert first.keys() == second.keys()
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == []
    # The comparison covers the generated stubs, not just the rendered sources.
    assert "client/src/bench_power_lock_client/stubs/bench_power_lock_pb2.py" in first


def test_answers_file_is_committed_and_the_update_is_explained(copie: Copie) -> None:
    project = render(copie, BENCH_POWER_LOCK)
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", ".copier-answers.yml"], cwd=project, timeout=60
    )
    assert ignored.returncode == 1, "the project's .gitignore ignores .copier-answers.yml"
    readme = (project / "README.md").read_text("utf-8")
    update = readme[readme.index("## Update from the template") :]
    assert ".copier-answers.yml" in update and "copier update --trust" in update
    assert "server/src/bench_power_lock_server/resource.py" in update
