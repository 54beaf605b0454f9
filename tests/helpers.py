"""Answers and helpers shared by the template's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_copie.plugin import Copie

ROOT = Path(__file__).resolve().parent.parent

# Answers for a non-default project: the blank preset with renamed session RPCs and
# custom RPCs covering every kind of field the template accepts.
BENCH_POWER_LOCK: dict[str, Any] = {
    "preset": "blank",
    "display_name": "Bench Power Lock",
    "initialize_rpc": "AcquireLock",
    "close_rpc": "ReleaseLock",
    "initialize_fields": ["string holder"],
    "custom_rpcs": [
        {
            "name": "Heartbeat",
            "request": [],
            "response": ["google.protobuf.Timestamp server_time"],
        },
        {
            "name": "SetLimits",
            "request": [
                "double voltage",
                "repeated int32 channels",
                "map<string, double> per_pin",
                "bool enabled",
                "bytes blob",
                "google.protobuf.Duration hold",
            ],
            "response": ["string summary", "repeated string warnings"],
        },
    ],
}

# Answers at the edges of what the validators accept: free text at its length limit
# that is special in Python, Jinja, JSON, XML, TOML, Markdown and batch files, with
# non-ASCII letters, wide characters and an emoji; every code name at its length
# limit; a dotted proto package; and RPC and field names that shadow modules and
# builtins the generated code also uses.
_DISPLAY = "Überwachung \"Zähler\" \\ {{ lock }} {% raw %} -- 50% ^&|<> 'q' 中文 🔒 "
_DESCRIPTION = (
    "Shares \"one\" 'lock' \\ per bay: {{ not_jinja }} {% if %} --> <!-- ]]> &amp; %PATH% "
    "^& | > < `id` $(id) 🔒 Überwachung Zähler ńśćź 中文 \"\"\" ''' " + "and so on " * 30
)
EDGE_CASES: dict[str, Any] = {
    "preset": "blank",
    "display_name": _DISPLAY.ljust(80, "x"),
    "description": _DESCRIPTION[:300],
    "package_stem": "bench_power_lock_12",  # 19
    "proto_package": "acme.power.supply.interlock.station.v1",
    "service_name": "BenchPowerInterlockX12",  # 22
    "initialize_rpc": "AcquireBenchPowerSupplyInterlock",  # 32
    "close_rpc": "ReleaseBenchPowerSupplyInterlock",
    "resource_name_field": "bench_power_supply_interlock_res",  # 32
    "initialize_fields": ["double settle_time_of_the_bench_power_x", "bool dry_run"],
    "instrument_type_id": "BenchPowerSupplyInterlockInstrumentType1",  # 40
    "service_class": "acme.power.v1.BenchPowerSupplyInterlockCoordinatorService.Extra.Long.N",
    "provided_interface": "acme.power.v1.BenchPowerSupplyInterlockCoordinatorInterface.Extra.L",
    "service_version": "123.456.789",
    "custom_rpcs": [
        {
            "name": "HeartbeatOfTheBenchPowerSupplyXy",
            "request": [],
            "response": ["google.protobuf.Timestamp server_time_of_the_bench_power_x"],
        },
        {
            "name": "SetLimitsOfTheBenchPowerSupplyXy",
            "request": [
                "double voltage_limit_of_the_bench_power",
                "repeated int32 channels_of_the_bench_power_supp",
                "map< string ,double > per_pin_limits_of_the_bench_powe",
                "bool enabled",
                "google.protobuf.Duration hold_time_of_the_bench_power_sup",
                "repeated google.protobuf.Timestamp stamps",
                "map<int64, bytes> blobs_by_index_of_the_bench_powe",
                "repeated google.protobuf.Duration durations_of_the_bench_power_sup",
            ],
            "response": [
                "string summary_of_the_bench_power_suppl",
                "repeated string warnings",
                "google.protobuf.Duration elapsed",
            ],
        },
        {
            "name": "Grpc",
            "request": [
                "string sys",
                "int32 typing",
                "bool google",
                "bytes builtins",
                "double grpc",
                "google.protobuf.Timestamp datetime",
                "repeated google.protobuf.Timestamp moment",
                "repeated google.protobuf.Duration duration",
                "string value",
                "string stub",
            ],
            "response": ["string str", "int32 int", "bytes bytes"],
        },
        {"name": "Invoke", "request": ["uint64 x"], "response": ["sint64 y"]},
    ],
}
assert len(EDGE_CASES["display_name"]) == 80 and len(EDGE_CASES["description"]) == 300


def render(copie: Copie, answers: dict[str, Any] | None = None) -> Path:
    """Render the template with `answers` (defaults for the rest); return the project.

    Fails the test, showing Copier's exception, when the render does not succeed.
    """
    result = copie.copy(extra_answers=dict(answers or {}), template_dir=ROOT)
    if result.exit_code != 0 or result.project_dir is None:
        pytest.fail(f"rendering {answers or 'the defaults'} failed: {result.exception!r}")
    return result.project_dir
