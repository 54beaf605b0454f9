"""The core every service shares: carried byte-identical, versioned once, and what stays per render.

The core's own tests run in the defaults scenario's render (tests/project_checks.py),
not here: they need a render's environment (grpcio, NI's packages, the local runtime).
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest

import sync_examples
from helpers import ROOT

CORE = ROOT / "template" / "core"
# What the template keeps beside the core and does not render (copier.yml's _exclude).
NOT_RENDERED = ("tests", "scripts")
# Lines of generated code a render's own packages may hold outside the stubs, the
# user's resource.py and the core (issue 29: everything else is the core's).
OWN_CODE_BUDGET = 900
EXAMPLES = sync_examples.find_examples()


def core_files(root: Path) -> set[str]:
    """The core's files below `root`, caches and the unrendered folders left out."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.relative_to(root).parts[0] not in NOT_RENDERED
    }


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_carries_the_core_byte_identical(example: str) -> None:
    carried = ROOT / "generated-examples" / example / "core"
    assert core_files(carried) == core_files(CORE)
    differing = [
        name
        for name in sorted(core_files(CORE))
        if not filecmp.cmp(CORE / name, carried / name, shallow=False)
    ]
    assert not differing, f"{example}'s core/ differs from template/core/ in {differing}"


def test_the_core_has_one_version_everywhere() -> None:
    project_table = (CORE / "pyproject.toml").read_text("utf-8")
    version_line = re.search(r'^version = "([^"]+)"$', project_table, re.MULTILINE)
    assert version_line, "template/core/pyproject.toml states no version"
    declared = version_line.group(1)
    macro = (ROOT / "template" / "_macros" / "core.jinja").read_text("utf-8")
    found = re.search(r'set version = "([^"]+)"', macro)
    assert found and found.group(1) == declared
    for example in EXAMPLES:
        project = ROOT / "generated-examples" / example
        client = (project / "client" / "pyproject.toml").read_text("utf-8")
        server = (project / "server" / "pyproject.toml").read_text("utf-8")
        assert f'"session-service-core=={declared}"' in client
        assert f'"session-service-core[server]=={declared}"' in server


def test_the_core_holds_no_jinja() -> None:
    marked = [
        path.relative_to(ROOT).as_posix()
        for path in CORE.rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".pyi", ".proto", ".toml", ".md", ".txt")
        and re.search(r"\{\{|\{%|\{#", path.read_text("utf-8"))
    ]
    assert not marked


def own_code_lines(project: Path) -> dict[str, int]:
    """Lines of each .py file in the render's server/src and client/src that count to its budget."""
    counted = {}
    for package in ("server", "client"):
        for path in (project / package / "src").rglob("*.py"):
            relative = path.relative_to(project).as_posix()
            if "/stubs/" in relative or path.name == "resource.py":
                continue
            counted[relative] = len(path.read_text("utf-8").splitlines())
    return counted


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_render_holds_only_its_own_code(example: str) -> None:
    counted = own_code_lines(ROOT / "generated-examples" / example)
    total = sum(counted.values())
    assert total <= OWN_CODE_BUDGET, f"{example}: {total} lines, by file: {counted}"
