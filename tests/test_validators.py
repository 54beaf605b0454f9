"""Bad answers are refused at render time, with a message saying what is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_copie.plugin import Copie

from helpers import ROOT


def rpc(name: str, request: list[str] | None = None, response: list[str] | None = None) -> Any:
    return [{"name": name, "request": request or [], "response": response or []}]


REFUSALS = [
    pytest.param(
        {"service_name": "json logger"},
        "service_name",
        "use PascalCase, a capital letter followed by letters and digits",
        id="service-name-with-space",
    ),
    pytest.param(
        {"package_stem": "1abc"},
        "package_stem",
        "use lowercase letters, digits and underscores, starting with a letter",
        id="package-stem-starting-with-digit",
    ),
    pytest.param(
        {"custom_rpcs": rpc("logData")},
        "custom_rpcs",
        'RPC name "logData" must be PascalCase',
        id="lowercase-rpc-name",
    ),
    pytest.param(
        {"custom_rpcs": rpc("Log", ["string channel", "double channel"])},
        "custom_rpcs",
        'field "channel" is declared twice',
        id="duplicate-field",
    ),
    pytest.param(
        {"custom_rpcs": rpc("Log", ["string session_name"])},
        "custom_rpcs",
        "every request already carries session_name as field 1",
        id="session-name-redeclared",
    ),
    pytest.param(
        {"custom_rpcs": rpc("Log", ["float64 x"])},
        "custom_rpcs",
        'field "float64 x" is not understood. Each field is "TYPE name": TYPE is a proto scalar',
        id="unknown-field-type",
    ),
    pytest.param(
        {"custom_rpcs": rpc("InitializeFile")},
        "custom_rpcs",
        'RPC name "InitializeFile" is already the Initialize or Close RPC',
        id="rpc-named-like-initialize",
    ),
    pytest.param(
        {"custom_rpcs": rpc("Log", ["string class"])},
        "custom_rpcs",
        'field "class" is a Python or proto keyword',
        id="keyword-field-name",
    ),
    pytest.param(
        {"custom_rpcs": "LogMeasurementData"},
        "custom_rpcs",
        "custom_rpcs must be a YAML list",
        id="rpcs-not-a-list",
    ),
    pytest.param(
        {"resource_name_field": "class"},
        "resource_name_field",
        '"class" is a reserved word here',
        id="reserved-resource-field",
    ),
    pytest.param(
        {"close_rpc": "InitializeFile"},
        "close_rpc",
        "needs a name other than the Initialize RPC's (InitializeFile)",
        id="close-equals-initialize",
    ),
    pytest.param(
        {"service_version": "1.0"},
        "service_version",
        "use MAJOR.MINOR.PATCH",
        id="two-part-version",
    ),
]


@pytest.mark.parametrize(("answers", "question", "phrase"), REFUSALS)
def test_bad_answer_is_refused(
    copie: Copie, answers: dict[str, Any], question: str, phrase: str
) -> None:
    result = copie.copy(extra_answers=answers, template_dir=ROOT)
    assert result.exit_code != 0, f"{answers} rendered into {result.project_dir}"
    message = str(result.exception)
    assert f"question '{question}'" in message, message
    assert phrase in message, message


def test_refused_render_leaves_no_files(copie: Copie) -> None:
    result = copie.copy(extra_answers={"package_stem": "Bad-Stem"}, template_dir=ROOT)
    assert result.exit_code != 0
    outputs = sorted(copie.test_dir.glob("copie*"))
    assert outputs, "pytest-copie made no output directory"
    assert [path for path in outputs[-1].rglob("*")] == []


def test_valid_answers_that_look_odd_are_accepted(copie: Copie) -> None:
    answers = {
        "display_name": "Bench-Power 2 (lab)",
        "custom_rpcs": rpc("Reset2", ["map<int64, bytes> blobs", "repeated bool flags"]),
    }
    result = copie.copy(extra_answers=answers, template_dir=ROOT)
    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    assert (result.project_dir / "server/src/bench_power_2_lab_server").is_dir()
