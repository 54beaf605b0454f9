"""NDJSON log files: the check of an existing log, and a log that follows its path.

Template-owned (the JSON logger preset's): `copier update` rewrites this file.

- `check` accepts an existing file when its first line and its last complete
  line are JSON objects, reading a bounded number of bytes whatever the file's
  size: a log kept for a year opens as fast as a new one. Lines in between are
  not read (the server wrote them one whole record at a time; re-parsing
  millions of them on every open would cost seconds and prove little).
- `LogFile` is a log open for appending whose records always go to the file
  its path names now: rotated, renamed or deleted under an open session, the
  next record goes to the file at the path (created if gone, checked as on open).
"""

from __future__ import annotations

import json
import os
import stat

from session_service_core.server.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    ServiceError,
)
from session_service_core.server.files import open_append

_READ = 64 * 1024  # bytes of the first read at each end; a typical record is under 1 KiB
# The longest line the check reads: over any record the server writes (gRPC's 4 MiB
# request, every character escaped to six). A longer line is refused, not read.
MAX_LINE = 32 * 1024 * 1024
_DECODER = json.JSONDecoder()  # json.loads without its per-call set-up


def check(descriptor: int, name: str, info: os.stat_result | None = None) -> bool:
    """Refuse the open file unless it starts and ends as NDJSON; say if its last line is unended.

    Returns True if the file's last line has no newline.

    Reads through `descriptor` (open for reading) at most the first line and
    the end of the file: the last complete line and a last line that has no
    newline (a record torn by a crash), which passes if blank or a JSON object.
    Blank lines are skipped; an empty file is NDJSON. Errors name the file as
    `name` and the line that failed. `info` is the descriptor's fstat, if the
    caller has it.
    """
    if info is None:
        info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise InvalidArgumentError(f"Cannot open {name!r}: it is not a regular file.")
    if info.st_size == 0:
        return False  # a new log: nothing to read
    torn, last, first = _end_of(descriptor, info.st_size, name)
    if last is not None:
        if first is None:  # the end's read did not reach the start
            first = _first_line(descriptor, info.st_size, name)
        _check_line(name, "its first line", first)
        _check_line(name, "its last complete line", last)
    _check_line(name, "its last line (which has no newline)", torn)
    return torn != b""


def _first_line(descriptor: int, size: int, name: str) -> bytes:
    """Return the file's first non-blank complete line; the file must have one."""
    pending = bytearray()  # a line begun in an earlier read
    offset = 0
    while offset < size:
        chunk = _read_at(descriptor, offset, min(_READ, size - offset))
        if not chunk:
            break
        offset += len(chunk)
        start = 0
        while (newline := chunk.find(b"\n", start)) >= 0:
            pending += chunk[start:newline]
            if len(pending) > MAX_LINE:
                raise _too_long(name, "its first line")
            if pending.strip():
                return bytes(pending)
            pending.clear()
            start = newline + 1
        pending += chunk[start:]
        if len(pending) > MAX_LINE:
            raise _too_long(name, "its first line")
    return bytes(pending)  # the file shrank since fstat: check what is there


def _end_of(descriptor: int, size: int, name: str) -> tuple[bytes, bytes | None, bytes | None]:
    """Return the bytes after the last newline and the last and first non-blank complete lines.

    Reads backwards, doubling the amount each time, until the last line is whole.
    The last is None if the file has no such line; the first is None unless the
    read began at the file's start (a small file is read once, not twice).
    """
    amount = _READ
    while True:
        start = max(0, size - amount)
        window = _read_at(descriptor, start, size - start)
        whole = window.rfind(b"\n") + 1
        torn = window[whole:]
        if len(torn) > MAX_LINE:
            raise _too_long(name, "its last line")
        lines = window[:whole].split(b"\n")[:-1]
        if start > 0:
            lines = lines[1:]  # the first began before the window
        for line in reversed(lines):
            if line.strip():
                first = next(x for x in lines if x.strip()) if start == 0 else None
                if first is not None and len(first) > MAX_LINE:
                    raise _too_long(name, "its first line")
                return torn, line, first
        if start == 0:
            return torn, None, None
        if amount > 2 * MAX_LINE:
            raise _too_long(name, "its last complete line")
        amount *= 2


def _read_at(descriptor: int, offset: int, count: int) -> bytes:
    """Read up to `count` bytes from `offset` (fewer at the end of the file)."""
    os.lseek(descriptor, offset, os.SEEK_SET)  # os.pread does not exist on Windows
    parts = []
    while count > 0 and (part := os.read(descriptor, count)):
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def _check_line(name: str, which: str, line: bytes) -> None:
    """Refuse `line` unless it is blank or a JSON object."""
    if not line.strip():
        return
    try:
        value = _DECODER.decode(line.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError, JSONDecodeError, too many digits
        problem = f"is not valid JSON ({error})"
    except RecursionError:
        problem = "is not valid JSON (nested too deeply)"
    else:
        if isinstance(value, dict):
            return
        problem = "is not a JSON object"
    raise InvalidArgumentError(
        f"{name!r} is not NDJSON: {which} {problem}. Choose a new file or an existing NDJSON log."
    )


def _too_long(name: str, which: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{name!r} is not NDJSON: {which} is longer than {MAX_LINE >> 20} MiB, more than "
        "any record this server writes. Choose a new file or an existing NDJSON log."
    )


class LogFile:
    """An NDJSON log open for appending, following its path.

    Before each record, one `os.stat` of the path tells whether it still names
    the open file. If it does not (the file was renamed, rotated or deleted),
    the file now at the path is opened, created if gone and checked as on
    open, and the record goes there; if that fails, the call fails and the old
    file stays open for the next try. A rename in the microseconds between the
    stat and the write still lands that record in the renamed file.
    """

    def __init__(self, name: str, suffixes: tuple[str, ...], reached: str | None = None) -> None:
        """Open (or create) the log `name` as given; the file it leads to must end in `suffixes`.

        `reached`, if given, is where `name` leads (`os.path.realpath`, case-folded
        or not), which the caller already knows: it is checked, never opened.
        """
        self.name = name
        self._suffixes = suffixes
        self._descriptor, self._identity = self._open(InvalidArgumentError, reached)

    def append(self, line: bytes) -> None:
        """Write `line` (whole lines) at the end of the file the path names now."""
        try:
            now = os.stat(self.name)
        except FileNotFoundError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != self._identity:
            descriptor, identity = self._open(FailedPreconditionError)
            os.close(self._descriptor)
            self._descriptor, self._identity = descriptor, identity
        _write(self._descriptor, line)

    def close(self) -> None:
        """Close the file; every record is already in it."""
        os.close(self._descriptor)

    def _open(
        self, missing: type[ServiceError], reached: str | None = None
    ) -> tuple[int, tuple[int, int]]:
        """Open the file the path names now and check it; return its descriptor and identity.

        A missing directory raises `missing`: the caller's mistake when a session
        opens, the station's state when a session's directory has gone since.
        """
        if reached is None:
            reached = os.path.realpath(self.name)
        suffix = os.path.splitext(reached)[1]
        if suffix.lower() not in self._suffixes:
            raise InvalidArgumentError(
                f"Cannot open {self.name!r}: it leads to {reached!r}, whose suffix is "
                f"{suffix or '(none)'!r}; the file written must have one of "
                f"{', '.join(self._suffixes)}."
            )
        try:
            descriptor = open_append(self.name)
        except OSError as error:  # the checks cost a stat each: made only when the open fails
            if not os.path.isdir(os.path.dirname(reached)):
                raise missing(
                    f"Cannot open {self.name!r}: the directory {os.path.dirname(reached)!r} "
                    "does not exist. Create it first or choose a file in an existing directory."
                ) from None
            if os.path.isdir(reached):
                raise InvalidArgumentError(
                    f"Cannot open {self.name!r}: it is a directory, not a file."
                ) from None
            raise error
        try:
            info = os.fstat(descriptor)
            identity = (info.st_dev, info.st_ino)
            if identity in _STANDARD_FILES:
                raise InvalidArgumentError(
                    f"Cannot open {self.name!r}: it is the server's own standard output or "
                    "error. Choose a log file."
                )
            # The check reads through the same descriptor: the file checked is the file written.
            if check(descriptor, self.name, info):
                _write(descriptor, b"\n")  # end the last line, so our first record starts its own
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor, identity


def _standard_files() -> frozenset[tuple[int, int]]:
    """Return the (device, inode) of the server's stdout and stderr where they are files."""
    found = set()
    for stream in (1, 2):
        try:
            info = os.fstat(stream)
        except OSError:  # closed: a service started with no console
            continue
        if stat.S_ISREG(info.st_mode):
            found.add((info.st_dev, info.st_ino))
    return frozenset(found)


# Read once, as the server starts (the server never redirects them): two fstat calls
# fewer on every Initialize.
_STANDARD_FILES = _standard_files()


def _write(descriptor: int, data: bytes) -> None:
    """Write all of `data` at the end of the file."""
    while data:
        # os.write may write less than asked (a full disk, a signal): write the rest.
        data = data[os.write(descriptor, data) :]
