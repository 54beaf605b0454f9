"""The NDJSON file logger: record format, file checks, durability and concurrent writers."""

from __future__ import annotations

import functools
import inspect
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from json_logger_client import JsonLoggerClient
from json_logger_client.stubs import json_logger_pb2 as pb2
from json_logger_client.stubs import json_logger_pb2_grpc as pb2_grpc
from json_logger_server import resource as resource_module

from support import ATTACH_TO_EXISTING, ServerProcess, close, connect, initialize, status_of

Stub = pb2_grpc.JsonLoggerStub
StartServer = Callable[..., ServerProcess]

# Like the blank preset's skeleton tests, the tests of what the template's resource.py
# does since it opens logs through ndjson.LogFile step aside for a resource.py kept
# from before (copier update never rewrites it), saying how to take the new one.
opens_log_files = pytest.mark.skipif(
    "ndjson.LogFile(" not in inspect.getsource(resource_module),
    reason="resource.py does not open its logs through ndjson.LogFile (kept from an earlier "
    "template): take a new render's open, close and log_measurement_data to have logs "
    "followed through rotation, a bounded check and link rules",
)


def log(
    stub: Stub,
    session_name: str,
    name: str = "step",
    configurations: dict[str, str] | None = None,
    outputs: dict[str, str] | None = None,
    when: datetime | None = None,
) -> None:
    """Log one record through the raw stub."""
    request = pb2.LogMeasurementDataRequest(
        session_name=session_name,
        measurement_name=name,
        measurement_configurations=configurations or {},
        measurement_outputs=outputs or {},
    )
    if when is not None:
        timestamp = Timestamp()
        timestamp.FromDatetime(when)
        request.timestamp.CopyFrom(timestamp)
    stub.LogMeasurementData(request)


def records(path: Path) -> list[dict[str, Any]]:
    """Parse every line of an NDJSON file; fail on any line that is not a JSON object.

    Lines end at "\\n" only: str.splitlines would also split at U+2028 and other
    characters that a JSON string may hold unescaped.
    """
    text = path.read_text(encoding="utf-8")
    parsed = [json.loads(line) for line in text.split("\n") if line]
    assert all(isinstance(record, dict) for record in parsed)
    return parsed


def test_record_format(stub: Stub, tmp_path: Path) -> None:
    # Byte for byte what NI's JSON logger writes: json.dumps(record, ensure_ascii=False).
    path = tmp_path / "format.ndjson"
    session_name = initialize(stub, str(path)).session_name
    when = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)
    log(stub, session_name, "DC Sweep", {"naïve": "ü"}, {"current": "0.1"}, when)
    log(stub, session_name, "two", {"a": "1", "b": "2"}, {}, when)
    close(stub, session_name)
    lines = path.read_bytes().split(b"\n")
    assert len(lines) == 3 and lines[2] == b""
    assert lines[0].decode("utf-8") == (
        '{"timestamp": "2026-03-04 05:06:07", "measurement_name": "DC Sweep", '
        '"measurement_configurations": {"naïve": "ü"}, "measurement_outputs": {"current": "0.1"}}'
    )
    assert records(path)[1] == {
        "timestamp": "2026-03-04 05:06:07",
        "measurement_name": "two",
        "measurement_configurations": {"a": "1", "b": "2"},
        "measurement_outputs": {},
    }


@pytest.mark.parametrize(
    ("seconds", "nanos", "text"),
    [
        (0, 999_999_999, "1970-01-01 00:00:00"),
        (-1, 500_000_000, "1969-12-31 23:59:59"),
        (253_402_300_799, 999_999_999, "9999-12-31 23:59:59"),
    ],
)
def test_timestamp_is_written_as_its_whole_second(
    stub: Stub, tmp_path: Path, seconds: int, nanos: int, text: str
) -> None:
    path = tmp_path / "stamps.ndjson"
    session_name = initialize(stub, str(path)).session_name
    request = pb2.LogMeasurementDataRequest(session_name=session_name, measurement_name="t")
    request.timestamp.seconds, request.timestamp.nanos = seconds, nanos
    stub.LogMeasurementData(request)
    close(stub, session_name)
    assert records(path)[0]["timestamp"] == text


def test_any_text_is_escaped_into_one_json_line(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "hostile.ndjson"
    hostile = [
        '"quoted"',
        "back\\slash",
        "new\nline",
        "tab\tcr\r",
        "nul\x00",
        "\u2028\u2029",
        "é😀",
        "",
    ]
    session_name = initialize(stub, str(path)).session_name
    for text in hostile:
        log(stub, session_name, text, {text: text, "k": text}, {text: "v"})
    close(stub, session_name)
    lines = path.read_bytes().split(b"\n")
    assert len(lines) == len(hostile) + 1 and lines[-1] == b""
    expected = [
        {
            "measurement_name": text,
            "measurement_configurations": {text: text, "k": text},
            "measurement_outputs": {text: "v"},
        }
        for text in hostile
    ]
    assert [{k: v for k, v in r.items() if k != "timestamp"} for r in records(path)] == expected


def test_unset_timestamp_means_now(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "now.log"
    session_name = initialize(stub, str(path)).session_name
    before = datetime.now(timezone.utc).replace(microsecond=0)
    log(stub, session_name)
    after = datetime.now(timezone.utc)
    close(stub, session_name)
    stamp = datetime.strptime(records(path)[0]["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert before <= stamp.replace(tzinfo=timezone.utc) <= after


@pytest.mark.parametrize("name", ["data.json", "data.csv", "data", "data.ndjson.bak"])
def test_unsupported_suffix_is_invalid(stub: Stub, tmp_path: Path, name: str) -> None:
    error = status_of(functools.partial(initialize, stub, str(tmp_path / name)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ".ndjson, .log, .txt" in (error.details() or "")
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("suffix", [".ndjson", ".log", ".txt", ".NDJSON"])
def test_supported_suffixes(stub: Stub, tmp_path: Path, suffix: str) -> None:
    close(stub, initialize(stub, str(tmp_path / f"data{suffix}")).session_name)
    assert (tmp_path / f"data{suffix}").exists()


@pytest.mark.parametrize(
    "content",
    ["not json at all\n", '{"a": 1}\n{"b": \n', "[1, 2, 3]\n", b"\xff\xfe\n".decode("latin-1")],
    ids=["text", "broken-second-line", "array", "not-utf8"],
)
def test_existing_file_that_is_not_ndjson_is_refused_and_kept(
    stub: Stub, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "other.txt"
    path.write_bytes(content.encode("latin-1"))
    error = status_of(lambda: initialize(stub, str(path)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not NDJSON: " in (error.details() or "")
    assert path.read_bytes() == content.encode("latin-1")


def test_existing_ndjson_is_appended_to(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "existing.ndjson"
    path.write_text('{"kept": 1}\n\n{"kept": 2}', encoding="utf-8")  # no final newline
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "appended")
    close(stub, session_name)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ['{"kept": 1}', "", '{"kept": 2}']
    assert json.loads(lines[3])["measurement_name"] == "appended"


def _valid_lines(count: int, name: str = "kept") -> bytes:
    """`count` NDJSON records, one per line."""
    return b"".join(
        json.dumps({"measurement_name": name, "index": i}).encode("utf-8") + b"\n"
        for i in range(count)
    )


@opens_log_files
@pytest.mark.parametrize(
    ("number", "which"), [(1, "its first line"), (5000, "its last complete line")]
)
def test_broken_first_or_last_line_is_refused_naming_it(
    stub: Stub, tmp_path: Path, number: int, which: str
) -> None:
    path = tmp_path / "broken.ndjson"
    lines = _valid_lines(5000).splitlines(keepends=True)
    lines[number - 1] = b'{"measurement_name": "torn", "index": \n'
    content = b"".join(lines)
    path.write_bytes(content)
    error = status_of(lambda: initialize(stub, str(path)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"is not NDJSON: {which} is not valid JSON" in (error.details() or "")
    assert path.read_bytes() == content


@opens_log_files
def test_middle_lines_are_not_read(stub: Stub, tmp_path: Path) -> None:
    # Opening costs the same whatever the log's size: only its ends are read. A
    # broken line in the middle (which this server never writes) is kept as it is.
    path = tmp_path / "broken-middle.ndjson"
    lines = _valid_lines(5000).splitlines(keepends=True)
    lines[2499] = b"not json\n"
    path.write_bytes(b"".join(lines))
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "appended")
    close(stub, session_name)
    assert path.read_bytes().splitlines()[2499] == b"not json"
    assert json.loads(path.read_bytes().splitlines()[-1])["measurement_name"] == "appended"


def _append_in_another_process(path: Path, data: bytes) -> None:
    """Append `data` to `path` from a separate Python process, as another writer would."""
    code = "import sys; open(sys.argv[1], 'ab').write(sys.stdin.buffer.read())"
    subprocess.run([sys.executable, "-c", code, str(path)], input=data, check=True)


def _corrupt_line_in_place(path: Path, number: int) -> None:
    """Overwrite the first byte of line `number` (1-based) in place: same inode, same size."""
    offset = sum(len(line) for line in path.read_bytes().splitlines(keepends=True)[: number - 1])
    before = path.stat()
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(b"X")
    # A writer a second later than this server's last write, whatever the file
    # system's timestamp granularity.
    later = before.st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))


def _rewrite(path: Path, number: int, grow: int) -> None:
    """Rewrite the file in place (truncate and write, same inode), breaking line `number`."""
    lines = path.read_bytes().splitlines(keepends=True)
    lines[number - 1] = b"this line was overwritten\n"
    with path.open("r+b") as handle:
        handle.truncate(0)
        handle.write(b"".join(lines) + _valid_lines(grow, "appended"))


def _replace(path: Path, number: int) -> None:
    """Write a new file with line `number` broken and rename it over `path` (a new inode)."""
    lines = path.read_bytes().splitlines(keepends=True)
    lines[number - 1] = b"[1, 2, 3]\n"
    fresh = path.with_name("fresh.tmp")
    fresh.write_bytes(b"".join(lines))
    os.replace(fresh, path)


def _edit_and_grow(path: Path, number: int) -> None:
    """Break line `number` in place, then append valid records (same inode, larger file)."""
    _corrupt_line_in_place(path, number)
    _append_in_another_process(path, _valid_lines(10, "appended"))


@pytest.mark.parametrize(
    "corrupt",
    [
        _corrupt_line_in_place,
        functools.partial(_rewrite, grow=0),
        functools.partial(_rewrite, grow=50),
        _replace,
        _edit_and_grow,
    ],
    ids=[
        "same-size-in-place",
        "rewritten-shorter",
        "rewritten-longer",
        "replaced",
        "edited-and-grown",
    ],
)
def test_log_corrupted_after_close_is_refused_on_next_open(
    stub: Stub, tmp_path: Path, corrupt: Callable[[Path, int], None]
) -> None:
    path = tmp_path / "corrupted.ndjson"
    path.write_bytes(_valid_lines(100))
    for _ in range(2):  # a server that remembers what it checked may check only what changed
        session_name = initialize(stub, str(path)).session_name
        log(stub, session_name, "ours")
        close(stub, session_name)
    assert len(records(path)) == 102
    corrupt(path, 1)
    error = status_of(lambda: initialize(stub, str(path)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not NDJSON: " in (error.details() or "")


def test_log_grown_by_another_process_opens_and_its_lines_are_checked(
    stub: Stub, tmp_path: Path
) -> None:
    path = tmp_path / "grown.ndjson"
    path.write_bytes(_valid_lines(200))
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "ours")
    close(stub, session_name)
    _append_in_another_process(path, _valid_lines(30, "theirs"))
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "ours again")
    close(stub, session_name)
    names = [record["measurement_name"] for record in records(path)]
    assert names == ["kept"] * 200 + ["ours"] + ["theirs"] * 30 + ["ours again"]
    # A bad line another process appends is found on the next open.
    _append_in_another_process(path, b'{"theirs": 1}\n"not an object"\n')
    error = status_of(lambda: initialize(stub, str(path)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not a JSON object" in (error.details() or "")


def test_another_writer_during_a_session_is_checked_on_the_next_open(
    stub: Stub, tmp_path: Path
) -> None:
    path = tmp_path / "shared-with-others.ndjson"
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "ours")
    _append_in_another_process(path, b"not json\n")
    close(stub, session_name)
    error = status_of(lambda: initialize(stub, str(path)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not valid JSON" in (error.details() or "")


@pytest.mark.parametrize("seconds", [-62_135_596_801, 253_402_300_800, -(2**62)])
def test_timestamp_outside_years_1_to_9999_is_invalid(
    stub: Stub, tmp_path: Path, seconds: int
) -> None:
    path = tmp_path / "out-of-range.ndjson"
    session_name = initialize(stub, str(path)).session_name
    request = pb2.LogMeasurementDataRequest(session_name=session_name, measurement_name="bad")
    request.timestamp.seconds = seconds
    error = status_of(lambda: stub.LogMeasurementData(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"timestamp.seconds {seconds} is outside years 1 to 9999" in (error.details() or "")
    # The server keeps serving, and the session too.
    log(stub, session_name, "good", when=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
    close(stub, session_name)
    assert [(r["measurement_name"], r["timestamp"]) for r in records(path)] == [
        ("good", "9999-12-31 23:59:59")
    ]


def test_missing_directory_is_invalid(stub: Stub, tmp_path: Path) -> None:
    error = status_of(lambda: initialize(stub, str(tmp_path / "absent" / "log.ndjson")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not exist" in (error.details() or "")


def test_directory_named_like_a_log_is_invalid(stub: Stub, tmp_path: Path) -> None:
    (tmp_path / "folder.log").mkdir()
    error = status_of(lambda: initialize(stub, str(tmp_path / "folder.log")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is a directory" in (error.details() or "")


def test_two_spellings_of_one_file_share_a_session(stub: Stub, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    plain = initialize(stub, str(tmp_path / "shared.ndjson"))
    detour = initialize(stub, str(tmp_path / "sub" / ".." / "shared.ndjson"), ATTACH_TO_EXISTING)
    assert detour.session_name == plain.session_name
    close(stub, plain.session_name)


def test_file_is_created_with_the_name_as_given(stub: Stub, tmp_path: Path) -> None:
    logs = tmp_path / "Logs"
    (logs / "Sub").mkdir(parents=True)
    # The same directory spelled another way: other case on Windows (where the
    # key is case-folded), through a link elsewhere; and a detour through Sub.
    if sys.platform == "win32":
        spelled = tmp_path / "LOGS"
    else:
        spelled = tmp_path / "link"
        spelled.symlink_to(logs, target_is_directory=True)
    requested = os.path.join(str(spelled), "Sub", "..", "Run1_DUT-A.ndjson")
    session_name = initialize(stub, requested).session_name
    log(stub, session_name, "exact")
    assert sorted(os.listdir(logs)) == ["Run1_DUT-A.ndjson", "Sub"]
    again = initialize(stub, str(logs / "Run1_DUT-A.ndjson"), ATTACH_TO_EXISTING)
    assert again.session_name == session_name
    close(stub, session_name)
    assert [r["measurement_name"] for r in records(logs / "Run1_DUT-A.ndjson")] == ["exact"]


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("bad<name.ndjson", "Windows refuses the characters"),
        ("pipe|name.ndjson", "Windows refuses the characters"),
        ("what?.ndjson", "Windows refuses the characters"),
        ("star*.log", "Windows refuses the characters"),
        ('quote".txt', "Windows refuses the characters"),
        ("tab\t.ndjson", "control characters"),
        ("CON.ndjson", "reserves for the device CON"),
        ("nul.txt", "reserves for the device NUL"),
        ("Com1.log", "reserves for the device COM1"),
        ("LPT9 .ndjson", "reserves for the device LPT9"),
        ("x.txt:stream.ndjson", "alternate data stream"),
        ("trailing./x.ndjson", "ends in a space or a dot"),
    ],
)
def test_names_windows_refuses_are_invalid_everywhere(
    stub: Stub, tmp_path: Path, name: str, rule: str
) -> None:
    error = status_of(functools.partial(initialize, stub, str(tmp_path / name)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rule in (error.details() or "")
    assert os.listdir(tmp_path) == []
    # The server keeps serving.
    close(stub, initialize(stub, str(tmp_path / "fine.ndjson")).session_name)


def names_in(path: Path) -> list[str]:
    """The measurement names of the records in `path`, in order."""
    return [record["measurement_name"] for record in records(path)]


@opens_log_files
def test_a_rotated_log_is_followed_to_the_new_file_at_its_path(stub: Stub, tmp_path: Path) -> None:
    # Windows: the server opens logs with delete sharing, so another program may
    # rename or delete one that a session holds.
    path = tmp_path / "held.ndjson"
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "before")
    os.replace(path, tmp_path / "held.1.ndjson")  # rotated: renamed, nothing at the path
    log(stub, session_name, "after rename")
    path.rename(tmp_path / "held.2.ndjson")
    path.write_bytes(b'{"started": "by logrotate"}\n')  # rotated, a new file put in place
    log(stub, session_name, "after replace")
    close(stub, session_name)
    assert names_in(tmp_path / "held.1.ndjson") == ["before"]
    assert names_in(tmp_path / "held.2.ndjson") == ["after rename"]
    first, second = records(path)
    assert first == {"started": "by logrotate"}
    assert second["measurement_name"] == "after replace"


@opens_log_files
def test_a_deleted_log_is_created_again_and_attach_finds_its_session(
    stub: Stub, tmp_path: Path
) -> None:
    path = tmp_path / "deleted.ndjson"
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "lost with the file")
    path.unlink()
    again = initialize(stub, str(path), ATTACH_TO_EXISTING)
    assert again.session_name == session_name and not again.new_session
    log(stub, session_name, "kept")
    close(stub, session_name)
    assert names_in(path) == ["kept"]


@opens_log_files
def test_a_log_that_cannot_be_reopened_fails_the_call_and_the_session_stays(
    stub: Stub, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / "station.ndjson"
    session_name = initialize(stub, str(path)).session_name
    log(stub, session_name, "first")
    shutil.rmtree(logs)
    error = status_of(lambda: log(stub, session_name, "refused"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "does not exist" in (error.details() or "")
    logs.mkdir()
    path.write_bytes(b"a file that is not NDJSON\n")
    error = status_of(lambda: log(stub, session_name, "refused"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not NDJSON" in (error.details() or "")
    path.unlink()
    log(stub, session_name, "retried")  # the same session, once the path is usable again
    close(stub, session_name)
    assert names_in(path) == ["retried"]


def _symlink_or_skip(link: Path, target: str) -> None:
    if sys.platform == "win32":
        pytest.skip("creating symbolic links needs a privilege Windows runners may not grant")
    link.symlink_to(target)


@opens_log_files
def test_the_suffix_rule_applies_to_the_file_a_link_reaches(stub: Stub, tmp_path: Path) -> None:
    target = tmp_path / "settings.conf"
    target.write_bytes(b'{"setting": 1}\n')
    _symlink_or_skip(tmp_path / "x.ndjson", str(target))
    _symlink_or_skip(tmp_path / "dangling.ndjson", str(tmp_path / "absent.conf"))
    for link in ("x.ndjson", "dangling.ndjson"):
        error = status_of(functools.partial(initialize, stub, str(tmp_path / link)))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert ".conf" in (error.details() or "") and ".ndjson, .log, .txt" in (
            error.details() or ""
        )
    assert target.read_bytes() == b'{"setting": 1}\n'
    assert not (tmp_path / "absent.conf").exists()


@opens_log_files
def test_the_server_never_appends_to_its_own_standard_error(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()  # its stderr is a regular file with the suffix .log
    stderr_file = next(tmp_path.glob("process-*.log"))
    links = {"direct.ndjson": str(stderr_file)}
    if sys.platform == "linux":
        links["proc.ndjson"] = "/proc/self/fd/2"  # resolved in the server's process
    for name, target in links.items():
        _symlink_or_skip(tmp_path / name, target)
    channel, stub = connect(server.address)
    with channel:
        for name in links:
            error = status_of(functools.partial(initialize, stub, str(tmp_path / name)))
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "standard output or error" in (error.details() or "")
        close(stub, initialize(stub, str(tmp_path / "fine.ndjson")).session_name)


def test_log_held_by_another_program_is_failed_precondition(stub: Stub, tmp_path: Path) -> None:
    if sys.platform != "win32":
        pytest.skip("sharing violations exist only on Windows; POSIX opens never conflict")
    path = tmp_path / "locked.ndjson"
    path.write_text("", encoding="utf-8")
    holder = _hold_without_sharing(str(path))
    try:
        error = status_of(lambda: initialize(stub, str(path)))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        details = error.details() or ""
        assert "another program" in details and "locked.ndjson" in details
    finally:
        _release(holder)
    close(stub, initialize(stub, str(path)).session_name)


def _hold_without_sharing(path: str) -> int:
    """Open `path` as a program that shares it with nobody (Windows only)."""
    if sys.platform == "win32":
        import _winapi

        generic_read, no_sharing, open_existing = 0x80000000, 0, 3
        return _winapi.CreateFile(path, generic_read, no_sharing, 0, open_existing, 0, 0)
    raise NotImplementedError("no sharing modes on POSIX")


def _release(handle: int) -> None:
    if sys.platform == "win32":
        import _winapi

        _winapi.CloseHandle(handle)


def _permission_wrapper() -> list[str]:
    """Return how to run the server so that file permissions apply to it."""
    if sys.platform == "win32":
        pytest.skip("POSIX permission bits do not restrict writes on Windows")
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv(1), so permissions cannot be enforced")
    # Root bypasses permission bits through these two capabilities; drop them.
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def test_no_write_permission_is_permission_denied(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(wrapper=_permission_wrapper())
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        channel, stub = connect(server.address)
        with channel:
            error = status_of(lambda: initialize(stub, str(locked / "log.ndjson")))
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "log.ndjson" in (error.details() or "")
            # The server keeps serving after refusing.
            close(stub, initialize(stub, str(tmp_path / "fine.ndjson")).session_name)
    finally:
        locked.chmod(0o755)


# Runs its arguments as a command with at most 64 open files (soft and hard limit),
# so that the server's own raise of the soft limit cannot lift it.
_WITH_64_FILES = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def test_out_of_file_descriptors_is_resource_exhausted(
    start_server: StartServer, tmp_path: Path
) -> None:
    if sys.platform == "win32":
        pytest.skip("RLIMIT_NOFILE is POSIX; the Windows C runtime's limit is 8,192")
    server = start_server(wrapper=[sys.executable, "-c", _WITH_64_FILES])
    channel, stub = connect(server.address)
    with channel:
        opened: list[str] = []
        for number in range(64):
            try:
                opened.append(initialize(stub, str(tmp_path / f"{number}.ndjson")).session_name)
            except grpc.RpcError as error:
                assert isinstance(error, grpc.Call)
                refused = error
                break
        else:
            pytest.fail("64 sessions opened with a limit of 64 open files")
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        details = refused.details() or ""
        assert f"with {len(opened)} sessions open" in details
        assert "Close sessions" in details and "open-file limit" in details
        assert len(opened) >= 10  # the limit, not something else, stopped it
        # Closing sessions frees descriptors: the server serves again.
        for session_name in opened[:3]:
            close(stub, session_name)
        again = initialize(stub, str(tmp_path / "after.ndjson")).session_name
        log(stub, again, "after")
        for session_name in [*opened[3:], again]:
            close(stub, session_name)
    assert [r["measurement_name"] for r in records(tmp_path / "after.ndjson")] == ["after"]


# Runs its arguments as a command whose soft limit is 64 open files and hard limit 256,
# as many systems start processes with a soft limit far below the hard one.
_WITH_SOFT_64_HARD_256 = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 256)); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def test_server_lifts_its_soft_open_file_limit_to_the_hard_one(
    start_server: StartServer, tmp_path: Path
) -> None:
    if sys.platform == "win32":
        pytest.skip("RLIMIT_NOFILE is POSIX; the Windows C runtime's limit is 8,192")
    server = start_server(wrapper=[sys.executable, "-c", _WITH_SOFT_64_HARD_256])
    channel, stub = connect(server.address)
    with channel:
        # Each session holds its log open: 100 of them need more than the soft 64.
        opened = [initialize(stub, str(tmp_path / f"{n}.ndjson")).session_name for n in range(100)]
        for session_name in opened:
            close(stub, session_name)
    assert len(set(opened)) == 100


def test_concurrent_writers_never_interleave(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "shared.ndjson"
    session_name = initialize(stub, str(path)).session_name
    payload = "x" * 2000  # long lines make torn writes visible

    def writer(number: int) -> None:
        for index in range(200):
            log(stub, session_name, f"writer-{number}", {"index": str(index)}, {"pad": payload})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close(stub, session_name)
    written = records(path)
    assert len(written) == 3200
    for number in range(16):
        indexes = [
            int(r["measurement_configurations"]["index"])
            for r in written
            if r["measurement_name"] == f"writer-{number}"
        ]
        assert indexes == list(range(200))


def test_logging_racing_close_never_crashes_the_server(stub: Stub, tmp_path: Path) -> None:
    outcomes: list[str] = []
    for round_number in range(20):
        path = tmp_path / f"race-{round_number}.ndjson"
        session_name = initialize(stub, str(path)).session_name
        start = threading.Barrier(5)

        def writer(start: threading.Barrier, session_name: str) -> None:
            start.wait()
            for _ in range(20):
                try:
                    log(stub, session_name)
                    outcomes.append("OK")
                except grpc.RpcError as error:
                    assert isinstance(error, grpc.Call)
                    outcomes.append(error.code().name)

        threads = [threading.Thread(target=writer, args=(start, session_name)) for _ in range(4)]
        for thread in threads:
            thread.start()
        start.wait()
        close(stub, session_name)
        for thread in threads:
            thread.join()
        assert len(records(path)) == outcomes[-80:].count("OK")
    assert set(outcomes) <= {"OK", "NOT_FOUND"}
    assert "NOT_FOUND" in outcomes
    close(stub, initialize(stub, str(tmp_path / "after.ndjson")).session_name)


def test_acknowledged_records_survive_sigkill(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    path = tmp_path / "durable.ndjson"
    channel, stub = connect(server.address)
    acknowledged: list[int] = []
    lock = threading.Lock()
    enough = threading.Event()

    def writer(number: int) -> None:
        for index in range(100_000):
            try:
                log(stub, session_name, f"w{number}", {"index": str(index)})
            except grpc.RpcError:
                return
            with lock:
                acknowledged.append(number * 1_000_000 + index)
                if len(acknowledged) >= 2000:
                    enough.set()

    with channel:
        session_name = initialize(stub, str(path)).session_name
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        assert enough.wait(60)
        server.process.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        for thread in threads:
            thread.join()
    assert server.process.wait(10) != 0
    logged = {
        int(r["measurement_name"][1:]) * 1_000_000 + int(r["measurement_configurations"]["index"])
        for r in records(path)
    }
    assert set(acknowledged) <= logged


def test_client_log_data_writes_a_stamped_record(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "client.ndjson"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    with JsonLoggerClient(str(path), address=server.address) as session:
        session.log_data("Measure", {"range": "10"}, {"reading": "4.99"})
    after = datetime.now(timezone.utc)
    (record,) = records(path)
    stamp = datetime.strptime(record.pop("timestamp"), "%Y-%m-%d %H:%M:%S")
    assert before <= stamp.replace(tzinfo=timezone.utc) <= after
    assert record == {
        "measurement_name": "Measure",
        "measurement_configurations": {"range": "10"},
        "measurement_outputs": {"reading": "4.99"},
    }
