"""Any answers the validators accept render a project whose files are all well formed.

Hypothesis generates answer sets: display names and descriptions full of quotes,
backslashes, Jinja and XML syntax, batch-file metacharacters, non-ASCII letters and
emoji, up to their length limits; random valid code names up to theirs; random RPC
and field lists of every accepted type. For each, the template is rendered for
real (Copier with its stub-generating task, so protoc must accept the proto), and
then every Python file must compile, every JSON, XML and TOML file must parse, the
free text must come back out of each format unchanged, and ruff (check and format,
as the project's CI runs them) must pass.

The names the template refuses (keywords, names its generated code uses) and the
length limits are read from the template's own macros, so the strategies produce
only answers the validators are meant to accept: a refusal fails the test too.
"""

from __future__ import annotations

import ast
import json
import keyword
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import copier
import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from helpers import EDGE_CASES, ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


def template_module(name: str) -> Any:
    """Return the exported variables of one of the template's macro files."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],  # as Copier has
    )
    return environment.get_template(f"template/_macros/{name}.jinja").module


NAMES = template_module("names")
FIELD_TYPES = template_module("field_types")
LIMITS: dict[str, int] = dict(NAMES.max_length)
RESERVED_FIELDS = set(FIELD_TYPES.reserved_names) | set(keyword.kwlist)
CLIENT_MEMBERS = set(FIELD_TYPES.client_members)
ANNOTATION_NAMES = set(NAMES.annotation_names)
PYTHON_KEYWORDS = set(NAMES.python_keywords) | set(keyword.kwlist)
AMBIGUOUS = set(NAMES.ambiguous)

EDGE_NAMES = {k: v for k, v in EDGE_CASES.items() if k not in ("custom_rpcs", "initialize_fields")}
SCALARS: list[str] = sorted(FIELD_TYPES.python_scalar)
# Parameters of the functions Initialize fields become keyword arguments of.
INITIALIZE_PARAMETERS = CLIENT_MEMBERS | {
    "session_management",
    "pin_map_id",
    "sequence_context",
    "session_info",
}
MESSAGES = ["google.protobuf.Timestamp", "google.protobuf.Duration"]
MAP_KEYS: list[str] = list(FIELD_TYPES.map_keys)

# Text that is special somewhere: Python, Jinja, JSON, XML (and its comments), TOML,
# YAML, Markdown, batch and shell files.
HOSTILE = [
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\n",
    "\\u0041",
    "\\N{BULLET}",
    "{{ x }}",
    "{%",
    "%}",
    "{#",
    "#}",
    "--",
    "-->",
    "<!--",
    "]]>",
    "&amp;",
    "<b>",
    "&",
    "%PATH%",
    "%%",
    "^",
    "|",
    "!",
    "$(id)",
    "`id`",
    ";",
    "#",
    ": ",
    "- ",
    "* ",
    "[x]",
    "Ü",
    "ß",
    "中文",
    "🔒",
    "\u200b",
    "\u202e",
    "\ufeff",
    "é",
    "ﬁ",
    " ",
]

free_text_characters = st.characters(
    exclude_categories=("Cc", "Cs", "Zl", "Zp"),  # the validators refuse these
    exclude_characters="\ufffe\uffff",
)
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(free_text_characters, min_size=1, max_size=8)),
    max_size=40,
).map("".join)
# A display name needs a word that starts with a Latin letter; its first word is one.
LETTER_WORDS = ["Bench", "power", "LOCK", "Überwachung", "Zähler", "ÆØÅ", "x2"]
latin_words = st.tuples(
    st.sampled_from(LETTER_WORDS), st.lists(st.sampled_from([*LETTER_WORDS, "9V", "3D"]))
).map(lambda words: " ".join([words[0], *words[1]]))
display_names = st.tuples(latin_words, hostile_text).map(lambda parts: " ".join(parts)[:80])
descriptions = hostile_text.map(lambda text: text[:300])


def snake_names(limit: int) -> st.SearchStrategy[str]:
    """snake_case names up to `limit` characters (keywords and reserved names left out)."""
    return (
        st.from_regex(r"[a-z][a-z0-9]{0,9}(_[a-z0-9]{1,8}){0,4}", fullmatch=True)
        .map(lambda name: name[:limit].rstrip("_"))
        .filter(lambda name: name not in RESERVED_FIELDS | AMBIGUOUS)
    )


def pascal_names(limit: int) -> st.SearchStrategy[str]:
    """PascalCase names up to `limit` characters, not ending like a generated message."""
    return (
        st.from_regex(r"[A-Z][a-z0-9]{0,7}([A-Z][a-z0-9]{0,7}){0,5}", fullmatch=True)
        .map(lambda name: name[:limit])
        .filter(lambda name: name not in PYTHON_KEYWORDS | ANNOTATION_NAMES | AMBIGUOUS)
        .filter(lambda name: not name.endswith(("Request", "Response", "Resource")))
    )


def snake_of(pascal: str) -> str:
    """The method name the template derives from an RPC name (parse_rpcs.jinja)."""
    return str(NAMES.snake(pascal))


def json_key(field: str) -> str:
    """protoc's proto3 JSON name of a field, as names.json_key compares it."""
    return str(NAMES.json_key(field))


@st.composite
def field_type(draw: st.DrawFn) -> str:
    """A field type in any accepted spelling, with the odd extra space."""
    kind = draw(st.sampled_from(["scalar", "message", "repeated", "map"]))
    if kind == "scalar":
        return draw(st.sampled_from(SCALARS))
    if kind == "message":
        return draw(st.sampled_from(MESSAGES))
    if kind == "repeated":
        return "repeated " + draw(st.sampled_from(SCALARS + MESSAGES))
    key, value = draw(st.sampled_from(MAP_KEYS)), draw(st.sampled_from(SCALARS))
    space = draw(st.sampled_from(["", " "]))
    return f"map<{space}{key},{space or ' '}{value}{space}>"


@st.composite
def fields(draw: st.DrawFn, taken: set[str]) -> list[str]:
    """Field declarations with names whose proto3 JSON names differ from each other's."""
    names = draw(st.lists(snake_names(LIMITS["field"]), max_size=6))
    keys = {json_key(name) for name in taken}
    declarations = []
    for name in names:
        if json_key(name) not in keys:
            keys.add(json_key(name))
            declarations.append(f"{draw(field_type())} {name}")
    return declarations


@st.composite
def initialize_fields(draw: st.DrawFn, taken: set[str]) -> list[str]:
    """Scalar Initialize fields whose names are free in the request and the generated calls."""
    names = draw(st.lists(snake_names(LIMITS["field"]), max_size=3))
    keys = {json_key(name) for name in taken}
    declarations = []
    for name in names:
        if name not in INITIALIZE_PARAMETERS and json_key(name) not in keys:
            keys.add(json_key(name))
            declarations.append(f"{draw(st.sampled_from(SCALARS))} {name}")
    return declarations


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, Any]:
    """Answers the validators accept, some left to their (derived) defaults."""
    answers: dict[str, Any] = {
        "display_name": draw(display_names),
        "description": draw(descriptions),
    }
    preset = draw(st.sampled_from(["blank", "blank", "json_logger", "register_map"]))
    answers["preset"] = preset
    pascal = draw(
        st.lists(
            pascal_names(LIMITS["rpc"]),
            min_size=3,
            max_size=7,
            unique_by=lambda name: name.lower(),
        )
    )
    if draw(st.booleans()):
        answers["package_stem"] = draw(
            snake_names(LIMITS["package_stem"]).filter(lambda name: "__" not in name)
        )
    if draw(st.booleans()):
        parts = draw(st.lists(snake_names(12), min_size=1, max_size=3))
        answers["proto_package"] = ".".join(parts)[: LIMITS["proto_package"]].rstrip("._")
    service_name = pascal[0][: LIMITS["service_name"]]
    answers["service_name"] = service_name
    answers["initialize_rpc"], answers["close_rpc"] = pascal[1], pascal[2]
    # The register_map preset's own Initialize fields and RPC methods are taken too.
    preset_names = {
        "protocol",
        "register_map_path",
        "write_register",
        "read_register",
        "write_gpio_channel",
        "read_gpio_channel",
        "write_gpio_port",
        "read_gpio_port",
    }
    resource_field = draw(
        snake_names(LIMITS["field"]).filter(
            lambda name: (
                name not in CLIENT_MEMBERS
                and json_key(name) != json_key("initialization_behavior")
                and (preset != "register_map" or json_key(name) not in map(json_key, preset_names))
            )
        )
    )
    answers["resource_name_field"] = resource_field
    if preset == "blank":
        taken_methods = CLIENT_MEMBERS | ANNOTATION_NAMES | PYTHON_KEYWORDS
        taken_methods |= {"open", "resource_key", "name", "path", "log_data", resource_field}
        rpcs = []
        for name in pascal[3:]:
            if snake_of(name) in taken_methods or name in (service_name, service_name + "Resource"):
                continue
            request = draw(fields({"session_name"}))
            response = draw(fields(set()))
            rpcs.append({"name": name, "request": request, "response": response})
        answers["custom_rpcs"] = rpcs
        taken = {resource_field, "initialization_behavior"}
        answers["initialize_fields"] = draw(initialize_fields(taken))
    if draw(st.booleans()):
        answers["instrument_type_id"] = draw(pascal_names(LIMITS["instrument_type_id"]))
    if draw(st.booleans()):
        answers["service_version"] = draw(
            st.tuples(*[st.integers(0, 10**6)] * 3).map(lambda v: ".".join(map(str, v)))
        )
    return answers


def render(answers: dict[str, Any], destination: Path) -> dict[str, Any]:
    """Render the template's working tree with `answers`; return the recorded answers."""
    copier.run_copy(
        str(ROOT),
        destination,
        data=answers,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    recorded = yaml.safe_load((destination / ".copier-answers.yml").read_text("utf-8"))
    assert isinstance(recorded, dict)
    return recorded


def keyword_value(tree: ast.AST, name: str) -> object:
    """The constant passed as keyword argument `name` anywhere in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name}= in the module")


def check_project(project: Path, answers: dict[str, Any]) -> None:
    """Every file of the render is well formed, and the free text survives each format."""
    display_name, description = answers["display_name"], answers["description"]
    stem, service = answers["package_stem"], answers["service_name"]
    files = [path for path in project.rglob("*") if path.is_file()]
    for path in files:
        if path.suffix in (".py", ".pyi"):
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        elif path.suffix in (".json", ".serviceconfig"):
            json.loads(path.read_text("utf-8"))
        elif path.suffix in (".pinmap", ".xml"):
            ElementTree.fromstring(path.read_bytes())
        elif path.name == "pyproject.toml":
            tomllib.loads(path.read_text("utf-8"))
        elif path.suffix in (".bat", ".sh"):
            assert path.read_bytes().isascii(), f"{path.name} carries free text"
    # The stubs exist: protoc accepted the proto.
    stubs = project / f"client/src/{stem}_client/stubs"
    for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"):
        assert (stubs / f"{stem}{suffix}").is_file(), suffix
    # The free text comes back out of every format unchanged.
    config = json.loads((project / f"server/{service}.serviceconfig").read_text("utf-8"))
    (entry,) = config["services"]
    assert entry["displayName"] == f"{display_name} Service"
    assert entry["annotations"]["ni/service.description"] == description
    client = tomllib.loads((project / "client/pyproject.toml").read_text("utf-8"))
    assert display_name in client["project"]["description"]
    session = ast.parse((project / f"client/src/{stem}_client/session.py").read_text("utf-8"))
    assert keyword_value(session, "display_name") == f"{display_name} Service"
    # And the code is lint-clean and formatted as ruff writes it, whatever the names
    # (README code blocks included): the project's own CI runs the same ruff.
    for command in (["check"], ["format", "--check", "--diff"]):
        ruff = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ruff.returncode == 0, f"ruff {command[0]}:\n{ruff.stdout}{ruff.stderr}"


@pytest.mark.timeout(600)
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # Each example is a render plus ruff: shrinking a failure would take many minutes
    # of CI, and the failing answers are readable as generated.
    phases=[Phase.explicit, Phase.generate],
)
@given(answers=answer_sets())
# Every name at its length limit, with each preset's fixed RPCs and Initialize fields.
@example(answers={**EDGE_NAMES, "preset": "register_map"})
@example(answers={**EDGE_NAMES, "preset": "json_logger"})
def test_any_accepted_answers_render_well_formed_files(answers: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="answers-") as scratch:
        project = Path(scratch) / "project"
        recorded = render(answers, project)
        for question, answer in answers.items():
            assert recorded[question] == answer, question
        check_project(project, recorded)
