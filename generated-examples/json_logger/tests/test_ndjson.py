"""The NDJSON check of existing log files (ndjson.check), on real files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from json_logger_server.errors import InvalidArgumentError
from json_logger_server.files import open_append
from json_logger_server.ndjson import Checker, check


def check_file(path: Path, checker: Checker | None = None) -> bool:
    """Check `path`, opened as the server opens a log, with `checker` (default: the server's)."""
    run = check if checker is None else checker.check
    descriptor = open_append(str(path))
    try:
        return run(descriptor, str(path))
    finally:
        os.close(descriptor)


def refusal(path: Path, checker: Checker | None = None) -> str:
    """Return the message with which the check refuses `path`."""
    with pytest.raises(InvalidArgumentError) as caught:
        check_file(path, checker)
    return str(caught.value)


@pytest.mark.parametrize(
    ("content", "needs_newline"),
    [
        (b"", False),
        (b'{"a": 1}\n', False),
        (b'{"a": 1}\n\n \t\n{"b": {"c": [1, null]}}\n', False),
        (b'{"a": 1}\r\n{"b": 2}\r\n', False),
        ('{"é": "😀\u2028"}\n'.encode(), False),
        (b'{"a": 1}', True),
        (b'{"a": 1}\n  ', True),
    ],
    ids=["empty", "one", "blank-lines", "crlf", "non-ascii", "no-final-newline", "blank-tail"],
)
def test_ndjson_passes_and_says_whether_it_needs_a_newline(
    tmp_path: Path, content: bytes, needs_newline: bool
) -> None:
    path = tmp_path / "log.ndjson"
    path.write_bytes(content)
    assert check_file(path) is needs_newline
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not json at all\n", "line 1 is not valid JSON (Expecting value"),
        (b'{"a": 1}\n{"b": \n', "line 2 is not valid JSON"),
        (b"[1, 2, 3]\n", "line 1 is not a JSON object"),
        (b'{"a": 1}\n\n"text"', "line 3 is not a JSON object"),
        (b'{"a": 1}\n\xff\xfe\n', "line 2 is not valid JSON"),
        (b"[" * 100_000 + b"\n", "line 1 is not valid JSON (nested too deeply)"),
    ],
    ids=["text", "broken-second-line", "array", "last-line-unterminated", "not-utf8", "deep"],
)
def test_other_content_is_refused_naming_the_line(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "other.txt"
    path.write_bytes(content)
    message = refusal(path)
    assert message.startswith(f"{str(path)!r} is not NDJSON: {problem}")
    assert message.endswith(". Choose a new file or an existing NDJSON log.")
    assert path.read_bytes() == content


def _records(count: int) -> bytes:
    return b"".join(b'{"index": %d}\n' % index for index in range(count))


def test_lines_are_numbered_across_reads_of_a_large_file(tmp_path: Path) -> None:
    # Several MiB, with a line longer than one read in the middle: the file is
    # read in parts, and a line split between them is checked whole.
    long_line = json.dumps({"pad": "x" * (3 << 20)}).encode() + b"\n"
    path = tmp_path / "large.ndjson"
    path.write_bytes(_records(30_000) + long_line + _records(30_000))
    assert check_file(path) is False
    with path.open("ab") as handle:
        handle.write(b'{"torn": \n')
    assert "line 60002 is not valid JSON" in refusal(path)


def test_the_whole_file_is_checked_wherever_the_descriptor_is(tmp_path: Path) -> None:
    path = tmp_path / "log.ndjson"
    path.write_bytes(b"not json\n" + _records(3))
    descriptor = open_append(str(path))
    try:
        os.lseek(descriptor, 0, os.SEEK_END)
        with pytest.raises(InvalidArgumentError, match="line 1 is not valid JSON"):
            check(descriptor, str(path))
    finally:
        os.close(descriptor)


def test_a_file_that_is_not_regular_is_refused() -> None:
    descriptor = os.open(os.devnull, os.O_RDWR)
    try:
        with pytest.raises(InvalidArgumentError, match="it is not a regular file"):
            check(descriptor, os.devnull)
    finally:
        os.close(descriptor)


def test_lines_appended_after_a_check_are_checked_and_numbered(tmp_path: Path) -> None:
    checker = Checker(capacity=8)
    path = tmp_path / "growing.ndjson"
    path.write_bytes(_records(1000))
    assert check_file(path, checker) is False
    with path.open("ab") as handle:
        handle.write(_records(10) + b'{"unterminated": 1}')
    assert check_file(path, checker) is True
    with path.open("ab") as handle:
        handle.write(b'\n{"a": 1}\n[1]\n')
    assert "line 1013 is not a JSON object" in refusal(path, checker)


def _edit_in_place(path: Path) -> None:
    """Break line 500 without changing the file's size or inode."""
    content = bytearray(path.read_bytes())
    content[content.index(b'{"index": 499}')] = ord("X")
    with path.open("r+b") as handle:
        handle.write(content)


def _rewrite_shorter(path: Path) -> None:
    """Truncate the file and write it again with line 500 broken (same inode)."""
    lines = path.read_bytes().splitlines(keepends=True)
    with path.open("wb") as handle:
        handle.write(b"".join(lines[:499]) + b"[500]\n" + b"".join(lines[500:900]))


@pytest.mark.parametrize("change", [_edit_in_place, _rewrite_shorter])
def test_a_file_changed_where_it_was_checked_is_checked_again(
    tmp_path: Path, change: Callable[[Path], None]
) -> None:
    checker = Checker(capacity=8)
    path = tmp_path / "changed.ndjson"
    path.write_bytes(_records(1000))
    assert check_file(path, checker) is False
    change(path)
    assert "line 500 is not" in refusal(path, checker)


def test_the_checker_remembers_a_bounded_number_of_files(tmp_path: Path) -> None:
    checker = Checker(capacity=2)
    for number in range(5):
        path = tmp_path / f"{number}.ndjson"
        path.write_bytes(_records(3))
        assert check_file(path, checker) is False
        assert len(checker) == min(number + 1, 2)
