"""The resource behind each session: one NDJSON log file.

This file is yours: `copier update` does not overwrite it once it exists.
The session registry (sessions.py) calls `resource_key` and `open` on
InitializeFile, a method per custom RPC while holding the session
(so calls on one session never overlap), and `close` once when the session
closes.
"""

from __future__ import annotations

import functools
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from json_logger_client.stubs import json_logger_pb2 as pb2

from .errors import InvalidArgumentError

ACCEPTED_SUFFIXES = (".ndjson", ".log", ".txt")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# Append-only, unbuffered: each record is one write(2) that reaches the OS before
# the RPC returns, so it survives the server being killed right after.
_OPEN_FLAGS = (
    os.O_WRONLY
    | os.O_APPEND
    | os.O_CREAT
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class JsonLoggerResource:
    """An NDJSON log file open for appending, shared by every client of its session."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor = descriptor

    @staticmethod
    def resource_key(file_path: str) -> str:
        """Return one key per file, however the path is spelled; refuse unsupported names."""
        path = Path(file_path)
        if path.suffix.lower() not in ACCEPTED_SUFFIXES:
            raise InvalidArgumentError(
                f"{file_path!r} has the suffix {path.suffix or '(none)'!r}; "
                f"accepted suffixes: {', '.join(ACCEPTED_SUFFIXES)}."
            )
        return os.path.normcase(os.path.realpath(path))

    @classmethod
    def open(cls, resource_key: str, request: pb2.InitializeFileRequest) -> JsonLoggerResource:
        """Open (or create) the log file; an existing non-empty file must already be NDJSON."""
        path = Path(resource_key)
        requested = request.file_path
        if not path.parent.is_dir():
            raise InvalidArgumentError(
                f"Cannot open {requested!r}: the directory {str(path.parent)!r} does not exist. "
                "Create it first or choose a file in an existing directory."
            )
        if path.is_dir():
            raise InvalidArgumentError(f"Cannot open {requested!r}: it is a directory, not a file.")
        needs_newline = _check_ndjson(path)
        descriptor = os.open(path, _OPEN_FLAGS, 0o666)
        resource = cls(path, descriptor)
        if needs_newline:
            resource._append(b"\n")
        return resource

    def close(self) -> None:
        """Close the file; records are already in it."""
        os.close(self._descriptor)

    def log_measurement_data(
        self, request: pb2.LogMeasurementDataRequest
    ) -> pb2.LogMeasurementDataResponse:
        """Append one record; an unset timestamp means now.

        This runs once per record, so it stays lean: the timestamp text is cached
        per second and the JSON encoder is built once (see _utc_text, _ENCODE).
        """
        seconds = request.timestamp.seconds if request.HasField("timestamp") else int(time.time())
        record = {
            "timestamp": _utc_text(seconds),
            "measurement_name": request.measurement_name,
            "measurement_configurations": dict(request.measurement_configurations),
            "measurement_outputs": dict(request.measurement_outputs),
        }
        self._append((_ENCODE(record) + "\n").encode("utf-8"))
        return pb2.LogMeasurementDataResponse()

    def _append(self, data: bytes) -> None:
        written = os.write(self._descriptor, data)
        if written < len(data):  # rare (a full disk, a signal): write the rest
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(self._descriptor, view) :]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# protobuf's Timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_FIRST_SECOND, _LAST_SECOND = -62_135_596_800, 253_402_300_799
# One encoder for every record; a record is a fresh tree, so no cycle check is needed.
_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


@functools.lru_cache(maxsize=256)
def _utc_text(seconds: int) -> str:
    """Format seconds since the epoch as TIMESTAMP_FORMAT in UTC (cached: records share seconds)."""
    if not _FIRST_SECOND <= seconds <= _LAST_SECOND:
        raise InvalidArgumentError(
            f"timestamp.seconds {seconds} is outside years 1 to 9999 (the Timestamp range); "
            "leave it unset to log the current time."
        )
    return (_EPOCH + timedelta(seconds=seconds)).strftime(TIMESTAMP_FORMAT)


def _check_ndjson(path: Path) -> bool:
    """Refuse a non-empty file that is not NDJSON; return whether it lacks a final newline.

    Only the first and the last non-blank lines are parsed, so opening a session
    takes as long on a log of 20,000 records as on an empty one. A file that is
    not an NDJSON log fails on one of them; the lines between are the ones this
    server (or another NDJSON writer) appended.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return False
    with handle:
        first_offset, offset = -1, 0  # where the first non-blank line starts
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                first_offset = offset
                problem = _problem(raw)
                if problem:
                    raise _not_ndjson(path, number, problem)
                break
            offset += len(raw)
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return False
        if first_offset >= 0:
            last, last_offset = _last_line(handle, size)
            problem = _problem(last) if last_offset != first_offset else None
            if problem:
                raise _not_ndjson(path, _line_number(handle, last_offset), problem)
        handle.seek(size - 1)
        return handle.read(1) != b"\n"


_TAIL_CHUNK = 64 * 1024


def _last_line(handle: BinaryIO, size: int) -> tuple[bytes, int]:
    """Return the last non-blank line and its offset, reading back from the end."""
    tail, start = b"", size
    while start > 0:
        start = max(0, start - _TAIL_CHUNK)
        handle.seek(start)
        tail = handle.read(_TAIL_CHUNK) + tail
        body = tail.rstrip()
        if b"\n" in body or start == 0:
            cut = body.rfind(b"\n") + 1
            return body[cut:], start + cut
    return b"", 0


def _line_number(handle: BinaryIO, offset: int) -> int:
    """Return the number of the line starting at `offset` (for an error message)."""
    handle.seek(0)
    newlines, left = 0, offset
    while left > 0:
        chunk = handle.read(min(left, _TAIL_CHUNK))
        if not chunk:
            break
        newlines += chunk.count(b"\n")
        left -= len(chunk)
    return newlines + 1


def _problem(line: bytes) -> str | None:
    """Say what is wrong with a non-blank line; None when it is a JSON object."""
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"is not valid JSON ({error})"
    return None if isinstance(value, dict) else "is not a JSON object"


def _not_ndjson(path: Path, number: int, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{str(path)!r} is not NDJSON: line {number} {problem}. "
        "Choose a new file or an existing NDJSON log."
    )
