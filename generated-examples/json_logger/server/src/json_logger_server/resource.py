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

from session_service_core.server.errors import InvalidArgumentError
from session_service_core.server.files import path_problem, plain_path

from . import ndjson
from .resource_base import JsonLoggerResourceBase

ACCEPTED_SUFFIXES = (".ndjson", ".log", ".txt")
# As NI's JSON logger writes it: UTC, whole seconds.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class JsonLoggerResource(JsonLoggerResourceBase):
    """An NDJSON log file open for appending, shared by every client of its session.

    The session follows its path: records go to the file the path names now,
    even after the log was rotated or deleted (ndjson.LogFile).
    """

    def __init__(self, name: str, log: ndjson.LogFile) -> None:
        super().__init__(name)
        self._log = log

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
        suffix = os.path.splitext(resource_name)[1]
        if suffix.lower() not in ACCEPTED_SUFFIXES:
            raise InvalidArgumentError(
                f"{resource_name!r} has the suffix {suffix or '(none)'!r}; "
                f"accepted suffixes: {', '.join(ACCEPTED_SUFFIXES)}."
            )
        # \\?\C:\... and C:\... are one file: one key (files.plain_path).
        return os.path.normcase(os.path.realpath(plain_path(resource_name)))

    @classmethod
    def open(cls, resource_key: str, resource_name: str) -> JsonLoggerResource:
        """Open (or create) the log file; an existing non-empty file must already be NDJSON.

        Opens the path as the client gave it (the operating system follows
        links), never a name derived from the key; the file it leads to must
        have an accepted suffix too.
        """
        # The key is where the path led a moment ago: the checks start from it.
        log = ndjson.LogFile(resource_name, ACCEPTED_SUFFIXES, reached=resource_key)
        return cls(resource_key, log)

    def close(self) -> None:
        """Close the file; every record is already in it."""
        self._log.close()

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
        # One unbuffered write per record, to the file the path names now: the record
        # is there before the RPC returns, so it survives the server being killed.
        self._log.append(line.encode("utf-8"))
