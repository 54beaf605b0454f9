"""The resource behind each session: one NDJSON log file.

This file is yours: `copier update` does not overwrite it once it exists.
JsonLoggerResourceBase (resource_base.py, rewritten by `copier update`)
declares the methods the server calls: `resource_key` and `open` on
InitializeFile, one per custom RPC while holding the session (so calls on
one session never overlap), and `close` once, when the session closes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from json.encoder import encode_basestring
from json.scanner import make_scanner
from pathlib import Path
from typing import Any, Protocol, cast

from .errors import InvalidArgumentError
from .files import open_append, path_problem
from .resource_base import JsonLoggerResourceBase

ACCEPTED_SUFFIXES = (".ndjson", ".log", ".txt")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class JsonLoggerResource(JsonLoggerResourceBase):
    """An NDJSON log file open for appending, shared by every client of its session."""

    def __init__(self, path: Path, descriptor: int, size: int) -> None:
        super().__init__(str(path))
        self.path = path
        self._descriptor = descriptor
        # The file's size if nobody but this session has written to it since the check.
        self._size = size

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
        return os.path.normcase(os.path.realpath(path))

    @classmethod
    def open(cls, resource_key: str, resource_name: str) -> JsonLoggerResource:
        """Open (or create) the log file; an existing non-empty file must already be NDJSON.

        Opens the path as the client gave it (the operating system follows
        links), never a name derived from the key. Each record is one append:
        unbuffered, it reaches the OS before the RPC returns and so survives the
        server being killed right after. Reads (the NDJSON check) use the same
        descriptor, so the file checked is the file written.
        """
        requested = resource_name
        given = Path(requested)
        if not given.parent.is_dir():
            raise InvalidArgumentError(
                f"Cannot open {requested!r}: the directory {str(given.parent)!r} does not exist. "
                "Create it first or choose a file in an existing directory."
            )
        if given.is_dir():
            raise InvalidArgumentError(f"Cannot open {requested!r}: it is a directory, not a file.")
        descriptor = open_append(requested)
        path = Path(resource_key)
        try:
            size, needs_newline = _check_log(path, descriptor, requested)
            resource = cls(path, descriptor, size)
            if needs_newline:
                resource._append(b"\n")
        except BaseException:
            os.close(descriptor)
            raise
        return resource

    def close(self) -> None:
        """Close the file; records are already in it.

        If the file is as this session left it (only this session appended, in
        whole lines, since it was checked), remember its identity: opening it
        again then skips the NDJSON check.
        """
        try:
            info = os.fstat(self._descriptor)
            if info.st_size == self._size:
                _CHECKED_LOGS.remember_unchanged(str(self.path), _identity(info))
        finally:
            os.close(self._descriptor)

    def log_measurement_data(
        self,
        *,
        measurement_name: str,
        timestamp: datetime | None,
        measurement_configurations: Mapping[str, str],
        measurement_outputs: Mapping[str, str],
    ) -> None:
        """Append one record; an unset timestamp means now.

        This runs once per record, so it stays lean: the timestamp text is cached
        per second (_utc_text), and the line is written out directly, each string
        quoted by the json module's C function, as json.dumps(record,
        ensure_ascii=False) would write it but without building a dictionary.
        """
        seconds = int(time.time()) if timestamp is None else int(timestamp.timestamp())
        line = (
            f'{{"timestamp": "{_utc_text(seconds)}", '
            f'"measurement_name": {_quote(measurement_name)}, '
            f'"measurement_configurations": {_json_object(measurement_configurations)}, '
            f'"measurement_outputs": {_json_object(measurement_outputs)}}}\n'
        )
        self._append(line.encode("utf-8"))

    def _append(self, data: bytes) -> None:
        written = os.write(self._descriptor, data)
        if written < len(data):  # rare (a full disk, a signal): write the rest
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(self._descriptor, view) :]
        self._size += len(data)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# protobuf's Timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_FIRST_SECOND, _LAST_SECOND = -62_135_596_800, 253_402_300_799
# A JSON string literal with non-ASCII characters kept, as json.dumps(ensure_ascii=False).
_quote = encode_basestring


def _json_object(strings: Mapping[str, str]) -> str:
    """Write a map of strings as a JSON object, as json.dumps(ensure_ascii=False) would."""
    pairs = ", ".join([f"{_quote(key)}: {_quote(value)}" for key, value in strings.items()])
    return "{" + pairs + "}"


@functools.lru_cache(maxsize=256)
def _utc_text(seconds: int) -> str:
    """Format seconds since the epoch as TIMESTAMP_FORMAT in UTC (cached: records share seconds)."""
    if not _FIRST_SECOND <= seconds <= _LAST_SECOND:
        raise InvalidArgumentError(
            f"timestamp.seconds {seconds} is outside years 1 to 9999 (the Timestamp range); "
            "leave it unset to log the current time."
        )
    return (_EPOCH + timedelta(seconds=seconds)).strftime(TIMESTAMP_FORMAT)


# ---------------------------------------------------------------------------
# The NDJSON check
#
# Every non-blank line of an existing log must be a JSON object. Checking means
# parsing the whole file (about 1.5 us per record), so the server remembers, per
# file, what it has already checked:
#
# - the identity of a file as a session left it on close (device, inode, size,
#   modification time): the same identity on the next open means nobody has
#   written since, and the check is skipped;
# - the length and SHA-256 of the part already found valid, which ends a line:
#   when a file has changed (another writer appended), that part is read and
#   hashed again (much faster than parsing) and, if unchanged, only the bytes
#   after it are parsed. A file rewritten in place, replaced, truncated or
#   edited anywhere in that part hashes differently and is checked in full.
#
# The identity test trusts the modification time: a rewrite that keeps the
# size, the inode and a modification time within the file system's timestamp
# granularity of this server's last write goes unnoticed until the file changes
# again.
# ---------------------------------------------------------------------------

Identity = tuple[int, int, int, int]


def _identity(info: os.stat_result) -> Identity:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


@dataclass(frozen=True)
class _Checked:
    """What the server knows of one log file."""

    prefix: int  # bytes [0, prefix) are NDJSON and end with a newline (or prefix is 0)
    lines: int  # newlines in that part, to number the lines after it
    digest: bytes  # SHA-256 of that part
    unchanged: Identity | None = None  # the whole file is valid while it has this identity


_EMPTY_DIGEST = hashlib.sha256().digest()


class _CheckedLogs:
    """The most recently used files' _Checked records, by path (a bounded LRU, thread-safe)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Checked] = OrderedDict()

    def get(self, key: str) -> _Checked | None:
        """Return what is known of `key`, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: _Checked) -> None:
        """Remember `entry` for `key`, forgetting the least recently used file if full."""
        with self._lock:
            self._put(key, entry)

    def remember_unchanged(self, key: str, identity: Identity) -> None:
        """Remember that the whole of `key` is valid while it has `identity`."""
        with self._lock:
            entry = self._entries.get(key) or _Checked(0, 0, _EMPTY_DIGEST)
            self._put(key, _Checked(entry.prefix, entry.lines, entry.digest, identity))

    def _put(self, key: str, entry: _Checked) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


# About 400 bytes each: 4,096 files cost under 2 MiB.
_CHECKED_LOGS = _CheckedLogs(capacity=4096)
_CHUNK = 1 << 20


class _Digest(Protocol):
    """A hashlib object."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


def _check_log(path: Path, descriptor: int, requested: str) -> tuple[int, bool]:
    """Refuse an open file that is not NDJSON; return its size and whether it needs a newline."""
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise InvalidArgumentError(f"Cannot open {requested!r}: it is not a regular file.")
    size, key = info.st_size, str(path)
    known = _CHECKED_LOGS.get(key)
    if size == 0 or (known is not None and known.unchanged == _identity(info)):
        return size, False
    start, lines = 0, 0
    digest: _Digest = hashlib.sha256()
    if known is not None and 0 < known.prefix <= size:
        before = _hash_prefix(descriptor, known.prefix)
        if before is not None and before.digest() == known.digest:
            start, lines, digest = known.prefix, known.lines, before
    prefix, lines = _check_lines(requested, descriptor, start, size, lines, digest)
    _CHECKED_LOGS.put(key, _Checked(prefix, lines, digest.digest()))
    return size, prefix != size


def _hash_prefix(descriptor: int, length: int) -> _Digest | None:
    """Return a SHA-256 of the file's first `length` bytes (None if it is shorter now)."""
    digest = hashlib.sha256()
    os.lseek(descriptor, 0, os.SEEK_SET)
    left = length
    while left > 0:
        chunk = os.read(descriptor, min(_CHUNK, left))
        if not chunk:
            return None
        digest.update(chunk)
        left -= len(chunk)
    return digest


def _check_lines(
    name: str, descriptor: int, start: int, end: int, lines: int, digest: _Digest
) -> tuple[int, int]:
    """Check the lines of bytes [start, end), which start a line; `lines` newlines precede them.

    Feeds each whole line to `digest`; returns where the last whole line ends and
    the newlines up to there. A last line without a newline is checked too.
    """
    os.lseek(descriptor, start, os.SEEK_SET)
    offset, prefix, pending = start, start, b""
    while offset < end:
        chunk = os.read(descriptor, min(_CHUNK, end - offset))
        if not chunk:
            break  # the file shrank meanwhile
        offset += len(chunk)
        block = pending + chunk
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            pending = block
            continue
        whole, pending = block[:cut], block[cut:]
        _check_block(name, whole, lines + 1)
        digest.update(whole)
        lines += whole.count(b"\n")
        prefix += cut
    if pending.strip():
        problem = _problem(pending)
        if problem:
            raise _not_ndjson(name, lines + 1, problem)
    return prefix, lines


_SCAN = make_scanner(cast("Any", json.JSONDecoder()))
_JSON_SPACE = " \t\r"


def _check_block(name: str, block: bytes, first_line: int) -> None:
    """Refuse whole lines that are not all JSON objects, naming the first bad one."""
    if _all_objects(block):
        return
    for number, raw in enumerate(block.split(b"\n"), start=first_line):
        if raw.strip():
            problem = _problem(raw)
            if problem:
                raise _not_ndjson(name, number, problem)


def _all_objects(block: bytes) -> bool:
    """Fast path: True if every non-blank line is a JSON object; False means look line by line.

    Runs the C scanner of the json module on each line, with none of json.loads'
    per-call overhead. It accepts nothing that _problem refuses; anything unusual
    (other white space, another encoding, an error) is left to _problem.
    """
    try:
        for line in block.decode("utf-8").split("\n"):
            line = line.strip(_JSON_SPACE)
            if line:
                value, end = _SCAN(line, 0)
                if end != len(line) or type(value) is not dict:
                    return False
    except Exception:  # noqa: BLE001  (the careful path says what is wrong)
        return False
    return True


def _problem(line: bytes) -> str | None:
    """Say what is wrong with a non-blank line; None when it is a JSON object."""
    try:
        value = json.loads(line)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        return f"is not valid JSON ({error})"
    except RecursionError:
        return "is not valid JSON (nested too deeply)"
    return None if isinstance(value, dict) else "is not a JSON object"


def _not_ndjson(name: str, number: int, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{name!r} is not NDJSON: line {number} {problem}. "
        "Choose a new file or an existing NDJSON log."
    )
