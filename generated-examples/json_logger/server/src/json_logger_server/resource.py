"""The resource behind each session: one NDJSON log file.

This file is yours: `copier update` does not overwrite it once it exists.
The session registry (sessions.py) calls `resource_key` and `open` on
InitializeFile, a method per custom RPC while holding the session (so calls on
one session never overlap), and `close` once when the session closes.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

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
        """Append one record; an unset timestamp means now."""
        if request.HasField("timestamp"):
            moment = request.timestamp.ToDatetime(tzinfo=timezone.utc)
        else:
            moment = datetime.now(timezone.utc)
        record = {
            "timestamp": moment.strftime(TIMESTAMP_FORMAT),
            "measurement_name": request.measurement_name,
            "measurement_configurations": dict(request.measurement_configurations),
            "measurement_outputs": dict(request.measurement_outputs),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self._append(line.encode("utf-8"))
        return pb2.LogMeasurementDataResponse()

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._descriptor, view)
            view = view[written:]


def _check_ndjson(path: Path) -> bool:
    """Refuse a non-empty file that is not NDJSON; return whether it lacks a final newline."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return False
    last = b""
    with handle:
        for number, raw in enumerate(handle, start=1):
            last = raw
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise InvalidArgumentError(
                    f"{str(path)!r} is not NDJSON: line {number} is not valid JSON ({error}). "
                    "Choose a new file or an existing NDJSON log."
                ) from None
            if not isinstance(value, dict):
                raise InvalidArgumentError(
                    f"{str(path)!r} is not NDJSON: line {number} is not a JSON object. "
                    "Choose a new file or an existing NDJSON log."
                )
    return bool(last) and not last.endswith(b"\n")
