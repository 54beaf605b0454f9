"""File names as a Windows test station sees them, and its sharing violations."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from session_service_core.server import files
from session_service_core.server.files import (
    REMEMBERED_LENGTH,
    REMEMBERED_NAMES,
    is_sharing_violation,
    open_append,
    path_problem,
    plain_path,
)


@pytest.mark.parametrize(
    "path",
    [
        r"C:\logs\Run1_DUT-A.ndjson",
        "C:/logs/run.log",
        r"\\station\share\logs\run.txt",
        "/var/log/run.ndjson",
        "relative/run.ndjson",
        "../up/./run.ndjson",
        "icon.ndjson",
        "CONSOLE.ndjson",
        "COM10.ndjson",
        "LPT0.ndjson",
        "nulls/run.ndjson",
        "caf\u00e9 r\u00e9sum\u00e9.ndjson",
        ".hidden.ndjson",
        r"C:\Prüfdaten\Linie 3\run.ndjson",
        r"\\?\C:\logs\run.ndjson",
        r"\\?\UNC\station\share\run.ndjson",
        "n" * 248 + ".ndjson",  # 255 characters: the longest name Windows takes
    ],
)
def test_names_windows_accepts(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("x.txt:s.ndjson", "alternate data stream"),
        (r"C:\logs\x.txt:s.ndjson", "alternate data stream"),
        ("C:x:y.ndjson", "alternate data stream"),
        ("1:/x.ndjson", "alternate data stream"),
        ("a<b.ndjson", "refuses the characters"),
        ("a>b.ndjson", "refuses the characters"),
        ('a"b.ndjson', "refuses the characters"),
        ("a|b.ndjson", "refuses the characters"),
        ("a?b.ndjson", "refuses the characters"),
        ("a*b.ndjson", "refuses the characters"),
        ("a\x01b.ndjson", "control characters"),
        ("CON", "device CON"),
        ("con.ndjson", "device CON"),
        ("dir/Prn.txt", "device PRN"),
        ("AUX/run.ndjson", "device AUX"),
        ("nul.tar.ndjson", "device NUL"),
        ("COM1.log", "device COM1"),
        ("lpt9.log", "device LPT9"),
        ("COM\u00b9.log", "device COM\u00b9"),
        ("NUL .txt", "device NUL"),
        ("CONOUT$.log", "device CONOUT$"),
        ("logs./run.ndjson", "ends in a space or a dot"),
        ("logs /run.ndjson", "ends in a space or a dot"),
        (r"\\.\pipe\x", "names a device"),
        (r"\\.\COM1", "names a device"),
        ("//./pipe/x", "names a device"),
        (r"\\?\GLOBALROOT\Device\Null", "names a device"),
        (r"\\?\Volume{4c1b02c1-d990-11dc-99ae-806e6f6e6963}\run.ndjson", "names a device"),
        ("n" * 249 + ".ndjson", "a name of 256 characters"),
        (r"C:\logs" + "\\" + "x" * 300 + r"\run.ndjson", "a name of 300 characters"),
        # UTF-16 counts: 128 characters outside the BMP are 256 code units.
        ("\U0001f600" * 128 + ".ndjson", "a name of 263 characters"),
    ],
)
def test_names_windows_refuses(path: str, rule: str) -> None:
    problem = path_problem(path)
    assert problem is not None and rule in problem


def test_answers_are_remembered_for_a_bounded_number_of_short_names() -> None:
    remembered = files._remembered_problem.cache_info  # noqa: SLF001  (what the test is about)
    for i in range(2 * REMEMBERED_NAMES):  # a script sending a new name each time
        assert path_problem(f"C:\\logs\\run{i}.ndjson") is None
    assert path_problem("COM1.log") is not None
    assert remembered().currsize == REMEMBERED_NAMES
    # A longer name is answered the same way and never kept.
    long_folder = "C:\\" + "\\".join(["logs"] * (REMEMBERED_LENGTH // 5 + 1))
    hits = remembered().hits
    assert path_problem(long_folder + "\\run.ndjson") is None
    assert "device NUL" in (path_problem(long_folder + "\\nul.ndjson") or "")
    assert "device NUL" in (path_problem(long_folder + "\\nul.ndjson") or "")
    assert remembered().hits == hits and remembered().currsize == REMEMBERED_NAMES


def windows_error(winerror: int) -> PermissionError:
    """A PermissionError as Windows raises it (EACCES with the Windows error code)."""
    error = PermissionError(errno.EACCES, "The process cannot access the file", "run.ndjson")
    error.winerror = winerror  # type: ignore[attr-defined, unused-ignore]
    return error


@pytest.mark.parametrize("winerror", [32, 33])  # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
def test_sharing_violations_are_told_apart(winerror: int) -> None:
    assert is_sharing_violation(windows_error(winerror))


def test_other_refusals_are_not_sharing_violations() -> None:
    assert not is_sharing_violation(windows_error(5))  # ERROR_ACCESS_DENIED
    assert not is_sharing_violation(PermissionError(errno.EACCES, "Permission denied"))


def test_open_append_writes_at_the_end_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "Mixed_Case.ndjson"
    path.write_bytes(b"first\n")
    descriptor = open_append(str(path))
    try:
        os.lseek(descriptor, 0, os.SEEK_SET)  # appends still go to the end
        assert os.write(descriptor, b"second\n") == len(b"second\n")
        os.lseek(descriptor, 0, os.SEEK_SET)
        assert os.read(descriptor, 100) == b"first\nsecond\n"
    finally:
        os.close(descriptor)
    assert os.listdir(tmp_path) == ["Mixed_Case.ndjson"]


@pytest.mark.parametrize(
    ("given", "plain"),
    [
        (r"\\?\C:\logs\run.ndjson", r"C:\logs\run.ndjson"),
        (r"\\?\c:\logs\run.ndjson", r"c:\logs\run.ndjson"),
        ("//?/C:/logs/run.ndjson", r"C:\logs\run.ndjson"),
        (r"\\?\UNC\station\share\run.ndjson", r"\\station\share\run.ndjson"),
        (r"C:\logs\run.ndjson", r"C:\logs\run.ndjson"),
        ("relative/run.ndjson", "relative/run.ndjson"),
    ],
)
def test_long_path_spellings_are_the_plain_path(given: str, plain: str) -> None:
    """``\\\\?\\C:\\...`` and ``C:\\...`` name one file, so they get one key."""
    assert plain_path(given) == plain


def test_open_append_opens_non_ascii_paths(tmp_path: Path) -> None:
    """On Windows this needs the wide CreateFileW: the ANSI one cannot name these."""
    folder = tmp_path / "Prüfdaten" / "Linie 3 \u03a9 \u65e5\u672c"
    folder.mkdir(parents=True)
    path = folder / "Lauf \u00e4\u00f6\u00fc \u0416.ndjson"
    descriptor = open_append(str(path))
    try:
        assert os.write(descriptor, b"{}\n") == 3
    finally:
        os.close(descriptor)
    assert path.read_bytes() == b"{}\n"
    assert [entry.name for entry in folder.iterdir()] == [path.name]
