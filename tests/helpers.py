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


def render(copie: Copie, answers: dict[str, Any] | None = None) -> Path:
    """Render the template with `answers` (defaults for the rest); return the project.

    Fails the test, showing Copier's exception, when the render does not succeed.
    """
    result = copie.copy(extra_answers=dict(answers or {}), template_dir=ROOT)
    if result.exit_code != 0 or result.project_dir is None:
        pytest.fail(f"rendering {answers or 'the defaults'} failed: {result.exception!r}")
    return result.project_dir
