"""Batch files keep CRLF line endings: in the template, the examples and every render.

cmd.exe mis-parses batch files with LF-only endings (labels, goto). Git checks
them out with CRLF (`*.bat text eol=crlf` in .gitattributes), and Copier copies a
non-Jinja file's bytes unchanged, so a render has CRLF too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from helpers import ROOT, render

ATTRIBUTE = "*.bat text eol=crlf"


def batch_files(top: Path) -> list[Path]:
    return sorted(path for path in top.rglob("*.bat") if ".venv" not in path.parts)


def assert_crlf(path: Path) -> None:
    data = path.read_bytes()
    assert b"\r\n" in data, f"{path} has no CRLF line ending"
    rest = data.replace(b"\r\n", b"")
    assert b"\n" not in rest, f"{path} has a line ending in LF alone"
    assert b"\r" not in rest, f"{path} has a line ending in CR alone"


def test_template_and_examples_batch_files_have_crlf() -> None:
    files = batch_files(ROOT / "template") + batch_files(ROOT / "generated-examples")
    assert len(files) >= 24  # six per example, six in the template
    for path in files:
        assert_crlf(path)


@pytest.mark.parametrize("attributes", [".gitattributes", "template/.gitattributes"])
def test_git_checks_batch_files_out_with_crlf(attributes: str) -> None:
    assert ATTRIBUTE in (ROOT / attributes).read_text(encoding="utf-8").splitlines()


def test_a_render_has_crlf_batch_files(copie: Copie) -> None:
    project = render(copie)
    files = batch_files(project)
    assert {path.relative_to(project).as_posix() for path in files} == {
        f"{folder}/{name}"
        for folder in ("server", "examples/nidcpower_measurement", "examples/nidmm_measurement")
        for name in ("start.bat", "install.bat")
    }
    for path in files:
        assert_crlf(path)
