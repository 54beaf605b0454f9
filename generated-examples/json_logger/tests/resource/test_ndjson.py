"""The NDJSON check of existing log files (ndjson.check), on real files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from json_logger_server.ndjson import MAX_LINE, check
from session_service_core.server.errors import InvalidArgumentError
from session_service_core.server.files import open_append


def check_file(path: Path) -> bool:
    """Check `path`, opened as the server opens a log."""
    descriptor = open_append(str(path))
    try:
        return check(descriptor, str(path))
    finally:
        os.close(descriptor)


def refusal(path: Path) -> str:
    """Return the message with which the check refuses `path`."""
    with pytest.raises(InvalidArgumentError) as caught:
        check_file(path)
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
        (b"not json at all\n", "its first line is not valid JSON (Expecting value"),
        (b'{"a": 1}\n{"b": \n', "its last complete line is not valid JSON"),
        (b"\n \n[1, 2, 3]\n\n", "its first line is not a JSON object"),
        (b'{"a": 1}\n\n"text"', "its last line (which has no newline) is not a JSON object"),
        (b'{"a": 1}\n\xff\xfe\n', "its last complete line is not valid JSON"),
        (b"[" * 100_000 + b"\n", "its first line is not valid JSON (nested too deeply)"),
        (b'{"a": 1}\n{"torn": ', "its last line (which has no newline) is not valid JSON"),
    ],
    ids=["text", "broken-last-line", "array", "unterminated", "not-utf8", "deep", "torn"],
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


def test_only_the_ends_of_a_large_file_are_read(tmp_path: Path) -> None:
    # 4 GiB, nearly all of it a hole of NUL bytes and a line that is not JSON:
    # the check passes because it reads the first and the last lines only.
    # NTFS makes no hole unless asked: a smaller file there.
    size = 64 << 20 if sys.platform == "win32" else 4 << 30
    path = tmp_path / "huge.ndjson"
    with path.open("wb") as handle:
        handle.write(_records(3))
        handle.seek(size // 2)
        handle.write(b"\nnot json\n")
        handle.seek(size)
        handle.write(b"\n" + _records(3))
    assert check_file(path) is False


@pytest.mark.parametrize("where", ["first", "last", "torn"])
def test_lines_longer_than_one_read_are_read_whole(tmp_path: Path, where: str) -> None:
    long_line = json.dumps({"pad": "x" * (3 << 20)}).encode()
    path = tmp_path / "long.ndjson"
    content = {
        "first": long_line + b"\n" + _records(10),
        "last": _records(10) + long_line + b"\n" + b"\n" * 1000,
        "torn": _records(10) + long_line,
    }[where]
    path.write_bytes(content)
    assert check_file(path) is (where == "torn")
    path.write_bytes(content.replace(b'"pad"', b"'pad'"))
    assert "is not valid JSON" in refusal(path)


@pytest.mark.parametrize("where", ["first", "last", "only"])
def test_a_line_longer_than_any_record_is_refused_unread(tmp_path: Path, where: str) -> None:
    huge = b"x" * (MAX_LINE + 1)
    path = tmp_path / "giant.ndjson"
    path.write_bytes(
        {
            "first": huge + b"\n" + _records(2),
            "last": _records(2) + huge,
            "only": huge + b"\n",  # read from its start when looking for the last line
        }[where]
    )
    assert f"is longer than {MAX_LINE >> 20} MiB" in refusal(path)


def test_the_whole_file_is_checked_wherever_the_descriptor_is(tmp_path: Path) -> None:
    path = tmp_path / "log.ndjson"
    path.write_bytes(b"not json\n" + _records(3))
    descriptor = open_append(str(path))
    try:
        os.lseek(descriptor, 0, os.SEEK_END)
        with pytest.raises(InvalidArgumentError, match="its first line is not valid JSON"):
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


def test_lines_appended_after_a_check_are_checked_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "growing.ndjson"
    path.write_bytes(_records(1000))
    assert check_file(path) is False
    with path.open("ab") as handle:
        handle.write(_records(10) + b'{"unterminated": 1}')
    assert check_file(path) is True
    with path.open("ab") as handle:
        handle.write(b'\n{"a": 1}\n[1]\n')
    assert "its last complete line is not a JSON object" in refusal(path)
