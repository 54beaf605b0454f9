"""The resource behind each session: one NDJSON log file.

This file is yours: `copier update` does not overwrite it once it exists.
JsonLoggerResourceBase (resource_base.py, rewritten by `copier update`)
declares the methods the server calls: `resource_key` and `open` on
InitializeFile, one per custom RPC while holding the session (so calls on
one session never overlap), and `close` once, when the session closes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from . import ndjson
from .errors import InvalidArgumentError
from .files import open_append, path_problem, plain_path
from .resource_base import JsonLoggerResourceBase

ACCEPTED_SUFFIXES = (".ndjson", ".log", ".txt")
# As NI's JSON logger writes it: UTC, whole seconds.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class JsonLoggerResource(JsonLoggerResourceBase):
    """An NDJSON log file open for appending, shared by every client of its session."""

    def __init__(self, name: str, descriptor: int) -> None:
        super().__init__(name)
        self._descriptor = descriptor

    @staticmethod
    def resource_key(resource_name: str) -> str:
        """Return one key per file, however the path is spelled; refuse unsupported names.

        The key is for finding the session only: the file is opened with the
        name as given (open), so Windows keeps its case.
        """
        problem = path_problem(resource_name)
        if problem:
            raise InvalidArgumentError(
                f"Cannot use {resource_name!r}: it {problem}. Choose a name a Windows test "
                "station accepts too."
            )
        path = Path(resource_name)
        if path.suffix.lower() not in ACCEPTED_SUFFIXES:
            raise InvalidArgumentError(
                f"{resource_name!r} has the suffix {path.suffix or '(none)'!r}; "
                f"accepted suffixes: {', '.join(ACCEPTED_SUFFIXES)}."
            )
        # \\?\C:\... and C:\... are one file: one key (files.plain_path).
        return os.path.normcase(os.path.realpath(plain_path(resource_name)))

    @classmethod
    def open(cls, resource_key: str, resource_name: str) -> JsonLoggerResource:
        """Open (or create) the log file; an existing non-empty file must already be NDJSON.

        Opens the path as the client gave it (the operating system follows
        links), never a name derived from the key.
        """
        given = Path(resource_name)
        if not given.parent.is_dir():
            raise InvalidArgumentError(
                f"Cannot open {resource_name!r}: the directory {str(given.parent)!r} does not "
                "exist. Create it first or choose a file in an existing directory."
            )
        if given.is_dir():
            raise InvalidArgumentError(
                f"Cannot open {resource_name!r}: it is a directory, not a file."
            )
        descriptor = open_append(resource_name)
        try:
            # The check reads through the same descriptor: the file checked is the file written.
            if ndjson.check(descriptor, resource_name):
                _write(descriptor, b"\n")  # end the last line, so our first record starts its own
        except BaseException:
            os.close(descriptor)
            raise
        return cls(resource_key, descriptor)

    def close(self) -> None:
        """Close the file; every record is already in it."""
        os.close(self._descriptor)

    def log_measurement_data(
        self,
        *,
        measurement_name: str,
        timestamp: datetime | None,
        measurement_configurations: Mapping[str, str],
        measurement_outputs: Mapping[str, str],
    ) -> None:
        """Append one record as one line; an unset timestamp means now."""
        when = datetime.now(timezone.utc) if timestamp is None else timestamp
        record = {
            "timestamp": when.strftime(TIMESTAMP_FORMAT),
            "measurement_name": measurement_name,
            "measurement_configurations": dict(measurement_configurations),
            "measurement_outputs": dict(measurement_outputs),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        # One unbuffered write per record: the record reaches the operating system
        # before the RPC returns, so it survives the server being killed right after.
        _write(self._descriptor, line.encode("utf-8"))


def _write(descriptor: int, data: bytes) -> None:
    """Write all of `data` at the end of the file."""
    while data:
        # os.write may write less than asked (a full disk, a signal): write the rest.
        data = data[os.write(descriptor, data) :]
