"""The check that an existing log file is NDJSON: every non-blank line a JSON object.

Template-owned (the JSON logger preset's): `copier update` rewrites this file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from typing import NamedTuple

from .errors import InvalidArgumentError

_CHUNK = 1 << 20  # bytes read at a time: large files are never read whole
# json.loads without its per-call set-up, which would take a third of the time.
_DECODER = json.JSONDecoder()


class _Valid(NamedTuple):
    """The start of a file found valid: `length` bytes of whole lines."""

    length: int
    lines: int
    sha256: bytes


class Checker:
    """The NDJSON check, remembering what it found valid in the last `capacity` files.

    Parsing takes a few microseconds a line, and a log is opened again and
    again as it grows. So the checker remembers, per file, the SHA-256 of the
    part it found valid; the next check of that file hashes that part again
    (many times faster than parsing) and, if it is unchanged, parses only the
    lines after it. A file edited, truncated or replaced since hashes
    differently and is checked in full.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._valid: dict[tuple[int, int], _Valid] = {}  # by (device, inode)

    def __len__(self) -> int:
        """Return how many files the checker remembers."""
        return len(self._valid)

    def check(self, descriptor: int, name: str) -> bool:
        """Refuse the open file unless it is NDJSON; return True if its last line has no newline.

        Reads the file through `descriptor`, which must be open for reading.
        Blank lines are allowed, and an empty file is NDJSON. Errors name the
        file as `name` and the first bad line by its number.
        """
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidArgumentError(f"Cannot open {name!r}: it is not a regular file.")
        file = (info.st_dev, info.st_ino)
        with self._lock:
            known = self._valid.get(file)
        length, number, digest = 0, 0, hashlib.sha256()
        if known is not None and known.length <= info.st_size:
            before = hashlib.sha256()
            for chunk in _chunks(descriptor, 0, known.length):
                before.update(chunk)
            if before.digest() == known.sha256:
                length, number, digest = known.length, known.lines, before
        rest = b""
        for chunk in _chunks(descriptor, length, info.st_size):
            block = rest + chunk
            end = block.rfind(b"\n") + 1  # whole lines end here; the rest goes on in the next chunk
            whole, rest = block[:end], block[end:]
            for line in whole.split(b"\n")[:-1]:
                number += 1
                _check_line(name, number, line)
            digest.update(whole)
            length += end
        _check_line(name, number + 1, rest)
        self._remember(file, _Valid(length, number, digest.digest()))
        return rest != b""

    def _remember(self, file: tuple[int, int], valid: _Valid) -> None:
        with self._lock:
            self._valid.pop(file, None)  # re-inserted last: the least recently checked go first
            self._valid[file] = valid
            if len(self._valid) > self._capacity:
                del self._valid[next(iter(self._valid))]


# The server's checker. About 330 bytes a file: 4,096 files cost under 1.5 MiB.
check = Checker(capacity=4096).check


def _chunks(descriptor: int, start: int, end: int) -> Iterator[bytes]:
    """Yield the file's bytes from `start` to `end` (or to its end if sooner), a chunk at a time."""
    os.lseek(descriptor, start, os.SEEK_SET)
    while start < end and (chunk := os.read(descriptor, min(_CHUNK, end - start))):
        yield chunk
        start += len(chunk)


def _check_line(name: str, number: int, line: bytes) -> None:
    """Refuse line `number` unless it is blank or a JSON object."""
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
        f"{name!r} is not NDJSON: line {number} {problem}. "
        "Choose a new file or an existing NDJSON log."
    )
