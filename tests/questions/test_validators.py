"""Bad answers are refused at render time, with a message saying what is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier
import pytest
from pytest_copie.plugin import Copie

from helpers import ROOT


def rpc(name: str, request: list[str] | None = None, response: list[str] | None = None) -> Any:
    return [{"name": name, "request": request or [], "response": response or []}]


BLANK = {"preset": "blank"}


def refusal(answers: dict[str, Any], question: str, phrase: str, name: str) -> Any:
    return pytest.param(answers, question, phrase, id=name)


REFUSALS = [
    # Free text: one line, bounded.
    refusal({"display_name": "Bench\nLock"}, "display_name", "must be one line", "display-newline"),
    refusal(
        {"display_name": "Bench\u2028Lock"}, "display_name", "must be one line", "display-separator"
    ),
    refusal({"display_name": "B" * 81}, "display_name", "keep it to 80 or fewer", "display-long"),
    refusal(
        {"display_name": "测试 123"},
        "display_name",
        "needs a word that starts with a Latin letter",
        "display-without-latin-letters",
    ),
    refusal({"description": "x" * 301}, "description", "keep it to 300", "description-long"),
    refusal({"description": "a\tb"}, "description", "must be one line", "description-tab"),
    # Code names: shape, keywords, length.
    refusal(
        {"service_name": "json logger"},
        "service_name",
        "use PascalCase, a capital letter followed by letters and digits",
        "service-name-with-space",
    ),
    refusal({"service_name": "None"}, "service_name", "is a Python keyword", "service-keyword"),
    refusal(
        {"service_name": "SessionInitializationBehavior"},
        "service_name",
        "the behaviour enum",
        "service-named-like-the-enum",
    ),
    refusal(
        {"service_name": "A" + "b" * 22},
        "service_name",
        "keep the service name to 22 or fewer",
        "service-name-too-long",
    ),
    refusal(
        {"package_stem": "1abc"},
        "package_stem",
        "use lowercase letters, digits and underscores, starting with a letter",
        "package-stem-starting-with-digit",
    ),
    refusal(
        {"package_stem": "a" * 20},
        "package_stem",
        "keep the package stem to 19 or fewer",
        "package-stem-too-long",
    ),
    refusal({"package_stem": "bad__stem"}, "package_stem", "double or trailing", "stem-dunder"),
    refusal(
        {"proto_package": "Acme.Power"}, "proto_package", "dot-separated lowercase", "proto-caps"
    ),
    refusal({"proto_package": "acme..v1"}, "proto_package", "dot-separated", "proto-empty-part"),
    refusal(
        {"proto_package": "google.power"}, "proto_package", "inside the google package", "google"
    ),
    refusal(
        {"proto_package": "a" * 41}, "proto_package", "keep the proto package to 40", "proto-long"
    ),
    # Session RPCs: keywords, collisions with each other, the service and its messages.
    refusal({"initialize_rpc": "True"}, "initialize_rpc", "is a Python keyword", "init-keyword"),
    refusal({"initialize_rpc": ""}, "initialize_rpc", "use PascalCase", "init-empty"),
    refusal({"initialize_rpc": "I"}, "initialize_rpc", "reads like a digit", "init-ambiguous"),
    refusal(
        {"initialize_rpc": "JsonLogger"},
        "initialize_rpc",
        "cannot have the service's name",
        "init-named-like-service",
    ),
    refusal(
        {"service_name": "OpenRequest", "initialize_rpc": "Open"},
        "initialize_rpc",
        "would make a message named like the service (OpenRequest)",
        "init-message-named-like-service",
    ),
    refusal(
        {"initialize_rpc": "SessionRegistry"},
        "initialize_rpc",
        "a name the generated servicer already uses",
        "init-shadows-registry",
    ),
    refusal(
        {"initialize_rpc": "A" * 33},
        "initialize_rpc",
        "keep the Initialize RPC to 32 or fewer",
        "init-too-long",
    ),
    refusal(
        {"close_rpc": "InitializeFile"},
        "close_rpc",
        "needs a name other than the Initialize RPC's (InitializeFile)",
        "close-equals-initialize",
    ),
    refusal(
        {"close_rpc": "INITIALIZEFILE"},
        "close_rpc",
        "needs a name other than the Initialize RPC's",
        "close-equals-initialize-ignoring-case",
    ),
    # The resource name field: a keyword, a client member, a JSON-name clash.
    refusal(
        {"resource_name_field": "class"},
        "resource_name_field",
        '"class" is a reserved word here',
        "reserved-resource-field",
    ),
    refusal(
        {"resource_name_field": "session_name"},
        "resource_name_field",
        "already a member of the generated client class",
        "resource-field-is-client-member",
    ),
    refusal(
        {"resource_name_field": "initialization__behavior"},
        "resource_name_field",
        "clashes with the request's initialization_behavior field",
        "resource-field-json-clash",
    ),
    refusal(
        {"resource_name_field": "Resource"},
        "resource_name_field",
        "use snake_case",
        "resource-field-not-snake",
    ),
    # Custom RPCs.
    refusal(
        {**BLANK, "custom_rpcs": rpc("logData")},
        "custom_rpcs",
        'RPC name "logData" must be PascalCase',
        "lowercase-rpc-name",
    ),
    refusal(
        {**BLANK, "custom_rpcs": [{"name": None}]},
        "custom_rpcs",
        "Entry 1 has the name None; an RPC name is PascalCase text",
        "rpc-name-null",
    ),
    refusal(
        {**BLANK, "custom_rpcs": [{"name": ""}]},
        "custom_rpcs",
        'RPC name "" must be PascalCase',
        "rpc-name-empty",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Import")},
        "custom_rpcs",
        'makes the Python name "import", a keyword',
        "rpc-method-keyword",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("None")},
        "custom_rpcs",
        'makes the Python name "None", a keyword',
        "rpc-name-keyword",
    ),
    refusal(
        {**BLANK, "close_rpc": "Release", "custom_rpcs": rpc("Close")},
        "custom_rpcs",
        "makes the method close(), which the generated client or resource class already has",
        "rpc-method-is-client-close",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("ResourceName")},
        "custom_rpcs",
        "makes the method resource_name(), which the generated client",
        "rpc-method-is-resource-field",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Str")},
        "custom_rpcs",
        "would hide the name str that the generated classes' type annotations use",
        "rpc-method-shadows-annotation",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("SessionRegistry")},
        "custom_rpcs",
        "a name the generated servicer already uses",
        "rpc-shadows-servicer-name",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Ping") + rpc("PING")},
        "custom_rpcs",
        'RPC name "PING" appears twice',
        "rpc-names-differing-in-case",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Initialize")},
        "custom_rpcs",
        'RPC name "Initialize" is already the Initialize or Close RPC',
        "rpc-named-like-initialize",
    ),
    refusal(
        {**BLANK, "service_name": "PingRequest", "custom_rpcs": rpc("Ping")},
        "custom_rpcs",
        "would make a message named like the service (PingRequest)",
        "rpc-message-named-like-service",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("SessionInitializationBehavior")},
        "custom_rpcs",
        "already the name of the behaviour enum",
        "rpc-named-like-enum",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("A" * 33)},
        "custom_rpcs",
        "keep RPC names to 32 or fewer",
        "rpc-name-too-long",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["string channel", "double channel"])},
        "custom_rpcs",
        'field "channel" is declared twice',
        "duplicate-field",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["string session_name"])},
        "custom_rpcs",
        "every request already carries session_name as field 1",
        "session-name-redeclared",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["int32 a_1", "int32 a1"])},
        "custom_rpcs",
        'fields "a_1" and "a1" have the same proto3 JSON name',
        "fields-with-one-json-name",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["string session__name"])},
        "custom_rpcs",
        'fields "session_name" and "session__name" have the same proto3 JSON name',
        "field-json-clash-with-session-name",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["float64 x"])},
        "custom_rpcs",
        'field "float64 x" is not understood. Each field is "TYPE name": TYPE is a proto scalar',
        "unknown-field-type",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["map<double, string> m"])},
        "custom_rpcs",
        'field "map<double, string> m" is not understood',
        "map-with-double-key",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["string"])},
        "custom_rpcs",
        'field "string" is not understood',
        "field-without-name",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", None, ["string class"])},
        "custom_rpcs",
        'response field "class" is a Python or proto keyword',
        "keyword-field-name",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["bool l"])},
        "custom_rpcs",
        'field "l" reads like a digit',
        "field-ambiguous",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["bytes pb2"])},
        "custom_rpcs",
        'field "pb2" is a Python or proto keyword, or a name the generated code uses',
        "field-shadows-module",
    ),
    refusal(
        {**BLANK, "custom_rpcs": rpc("Log", ["string " + "f" * 33])},
        "custom_rpcs",
        "keep field names to 32 or fewer",
        "field-name-too-long",
    ),
    refusal(
        {**BLANK, "custom_rpcs": [{"name": "Log", "requests": []}]},
        "custom_rpcs",
        'unknown key "requests"',
        "rpc-unknown-key",
    ),
    refusal(
        {"custom_rpcs": "LogMeasurementData"},
        "custom_rpcs",
        "custom_rpcs must be a YAML list",
        "rpcs-not-a-list",
    ),
    refusal(
        {"preset": "json_logger", "custom_rpcs": rpc("Ping")},
        "custom_rpcs",
        "The json_logger preset implements exactly its custom RPCs: LogMeasurementData(",
        "json-logger-with-other-rpcs",
    ),
    refusal(
        {"preset": "register_map", "custom_rpcs": rpc("ReadRegister", ["string register_name"])},
        "custom_rpcs",
        "The register_map preset implements exactly its custom RPCs: WriteRegister(",
        "register-map-with-other-rpcs",
    ),
    refusal(
        {"preset": "visa_instrument", "custom_rpcs": rpc("Query", ["string command"])},
        "custom_rpcs",
        "The visa_instrument preset implements exactly its custom RPCs: Write(",
        "visa-instrument-with-other-rpcs",
    ),
    # Extra Initialize request fields.
    refusal(
        {**BLANK, "initialize_fields": "string protocol"},
        "initialize_fields",
        "must be a YAML list",
        "initialize-fields-not-a-list",
    ),
    refusal(
        {**BLANK, "initialize_fields": ["map<string, string> options"]},
        "initialize_fields",
        'is not understood: write "TYPE name" with TYPE a proto scalar',
        "initialize-field-not-scalar",
    ),
    refusal(
        {**BLANK, "initialize_fields": ["string resource_name"]},
        "initialize_fields",
        "is declared twice (the request already has resource_name and initialization_behavior)",
        "initialize-field-repeats-resource-name",
    ),
    refusal(
        {**BLANK, "initialize_fields": ["int32 port", "uint32 port"]},
        "initialize_fields",
        'Initialize field "port" is declared twice',
        "initialize-field-twice",
    ),
    refusal(
        {**BLANK, "initialize_fields": ["string address"]},
        "initialize_fields",
        "already a parameter of the generated client",
        "initialize-field-client-parameter",
    ),
    refusal(
        {**BLANK, "initialize_fields": ["bool class"]},
        "initialize_fields",
        "is a Python or proto keyword",
        "initialize-field-keyword",
    ),
    refusal(
        {**BLANK, "initialize_fields": ["int32 bus_1", "int32 bus1"]},
        "initialize_fields",
        "have the same proto3 JSON name",
        "initialize-fields-json-clash",
    ),
    refusal(
        {"initialize_fields": ["string protocol"]},
        "initialize_fields",
        "The json_logger preset implements exactly the Initialize fields []",
        "json-logger-with-initialize-fields",
    ),
    refusal(
        {"preset": "register_map", "initialize_fields": ["string protocol"]},
        "initialize_fields",
        "The register_map preset implements exactly the Initialize fields",
        "register-map-without-its-fields",
    ),
    refusal(
        {"preset": "visa_instrument", "initialize_fields": ["string backend"]},
        "initialize_fields",
        "The visa_instrument preset implements exactly the Initialize fields",
        "visa-instrument-without-its-fields",
    ),
    # Discovery and pin map names.
    refusal(
        {"instrument_type_id": "niDMM"},
        "instrument_type_id",
        "one of NI's driver instrument types",
        "ni-driver-type",
    ),
    refusal(
        {"instrument_type_id": "T" * 41},
        "instrument_type_id",
        "keep the instrument type id to 40",
        "type-id-too-long",
    ),
    refusal({"service_class": "single"}, "service_class", "at least two", "one-part-class"),
    refusal(
        {"provided_interface": "a." + "b" * 69},
        "provided_interface",
        "keep the provided interface to 70",
        "interface-too-long",
    ),
    refusal(
        {"service_version": "1.0"}, "service_version", "use MAJOR.MINOR.PATCH", "two-part-version"
    ),
    refusal(
        {"service_version": "01.0.0"}, "service_version", "without leading zeros", "leading-zero"
    ),
    # NI's JSON logger identity belongs to NI's proto, json_logger.JsonLogger, alone.
    refusal(
        {"display_name": "Bench Logger", "service_class": "ni.logger.JSONLogService"},
        "service_class",
        "two services would answer the same discovery look-up",
        "nis-class-for-a-renamed-logger",
    ),
    refusal(
        {"display_name": "Bench Logger", "provided_interface": "ni.logger.v1.json"},
        "provided_interface",
        "Choose a provided interface of your own, e.g. bench_logger.BenchLogger.",
        "nis-interface-for-a-renamed-logger",
    ),
    refusal(
        {"proto_package": "acme.logging", "service_class": "ni.logger.JSONLogService"},
        "service_class",
        "this service's proto is acme.logging.JsonLogger",
        "nis-class-for-nis-service-name-in-another-package",
    ),
    refusal(
        {**BLANK, "instrument_type_id": "JsonLoggerService"},
        "instrument_type_id",
        "is the pin map instrument type id of NI's JSON logger",
        "nis-instrument-type-for-another-proto",
    ),
    # Licence.
    refusal({"copyright_year": "26"}, "copyright_year", "give a year such as 2026", "short-year"),
    refusal({"copyright_holder": " "}, "copyright_holder", "Name who holds", "blank-holder"),
    refusal(
        {"copyright_holder": "Acme\nInc"}, "copyright_holder", "must be one line", "holder-newline"
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
        **BLANK,
        "display_name": "Bench-Power 2 (lab)",
        "proto_package": "syntax.option.v1",  # proto keywords are fine as package parts
        "custom_rpcs": rpc(
            "Reset2",
            ["map<int64, bytes> blobs", "repeated bool flags", "string typing", "double sys"],
            ["string str", "int32 int"],
        ),
    }
    result = copie.copy(extra_answers=answers, template_dir=ROOT)
    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    assert (result.project_dir / "server/src/bench_power_2_lab_server").is_dir()


@pytest.mark.parametrize(
    ("display_name", "package_stem", "service_name"),
    [
        pytest.param("Überwachung Zähler", "ueberwachung", "UeberwachungZaehler", id="umlauts"),
        pytest.param("ÆØÅ Straße Łódź", "aeoa_strasse_lodz", "AeoaStrasseLodz", id="latin"),
        pytest.param("3D Scanner 2000", "scanner_2000", "Scanner2000", id="leading-digits"),
        pytest.param(
            "The Bench Power Supply Interlock of Station Twelve",
            "the_bench_power",
            "TheBenchPowerSupply",
            id="cut-at-the-limits",
        ),
    ],
)
def test_code_names_are_derived_from_any_display_name(
    copie: Copie, display_name: str, package_stem: str, service_name: str
) -> None:
    result = copie.copy(extra_answers={**BLANK, "display_name": display_name}, template_dir=ROOT)
    assert result.exit_code == 0, result.exception
    assert result.answers["package_stem"] == package_stem
    assert result.answers["service_name"] == service_name
    assert result.project_dir is not None
    assert (result.project_dir / f"server/{service_name}.serviceconfig").is_file()


IDENTITY_KEYS = ("service_class", "provided_interface", "instrument_type_id")


@pytest.mark.parametrize(
    ("answers", "identity"),
    [
        pytest.param(
            {},
            ("ni.logger.JSONLogService", "ni.logger.v1.json", "JsonLoggerService"),
            id="nis-proto-keeps-nis-identity",
        ),
        pytest.param(
            {"display_name": "Bench Logger"},
            ("bench_logger.BenchLoggerService", "bench_logger.BenchLogger", "BenchLoggerService"),
            id="renamed-logger",
        ),
        pytest.param(
            {"proto_package": "acme.logging"},
            (
                "acme.logging.JsonLoggerService",
                "acme.logging.JsonLogger",
                "acme_logging_JsonLoggerService",
            ),
            id="nis-service-name-in-another-package",
        ),
        pytest.param(
            {"preset": "blank", "proto_package": "json_logger", "service_name": "JsonLogger"},
            ("ni.logger.JSONLogService", "ni.logger.v1.json", "JsonLoggerService"),
            id="nis-proto-named-in-another-preset",
        ),
    ],
)
def test_discovery_identity_defaults_follow_the_proto(
    tmp_path: Path, answers: dict[str, Any], identity: tuple[str, str, str]
) -> None:
    worker = copier.run_copy(
        str(ROOT),
        tmp_path / "project",
        data=answers,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
        pretend=True,  # the answers are the point: nothing is written
    )
    combined = worker.answers.combined
    assert tuple(combined[key] for key in IDENTITY_KEYS) == identity
