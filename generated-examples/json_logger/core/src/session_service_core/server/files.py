r"""File names and files as a Windows test station sees them, on every platform.

A resource that opens files named by its clients (a pin map's
instrument names, a TestStand step's argument) uses these, so that a name that
works in CI on Linux also works on the station:

- `path_problem` says why Windows would refuse a path: the characters
  ``<>"|?*`` and control characters, device names (CON, PRN, AUX, NUL, COM1-9,
  LPT1-9, with any suffix), device paths (``\\.\pipe\x``, ``\\.\COM1``,
  ``\\?\GLOBALROOT\...``, ``\\?\Volume{...}``), a ``:`` after the drive (an
  alternate data stream), a name ending in a space or a dot (Windows drops them),
  a name longer than 255 characters (NTFS's limit per name);
- `plain_path` spells ``\\?\C:\...`` and ``\\?\UNC\server\...`` as
  ``C:\...`` and ``\\server\...``, so both spellings of a file are one key;
- `open_append` opens a file for reading and appending; on Windows with read,
  write and delete sharing, so other programs can read, rename or delete it
  while a session holds it, through the wide (Unicode) CreateFileW of pywin32, as
  NI's own discovery client opens files: `_winapi.CreateFile` called the ANSI
  CreateFileA before CPython 3.11.8 / 3.12.2, which cannot name ``C:\Prüfdaten``
  outside the system code page;
- `is_sharing_violation` tells "another program holds the file" from a
  permission problem (the servicer answers FAILED_PRECONDITION for it).
"""

from __future__ import annotations

import functools
import ntpath
import os
import re
import sys

RESERVED_CHARACTERS = '<>"|?*'
DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"}
)
ERROR_SHARING_VIOLATION = 32  # winerror.h
ERROR_LOCK_VIOLATION = 33
MAX_NAME_LENGTH = 255  # UTF-16 code units per path component (NTFS, FAT32's long names)
# path_problem remembers its answers for this many names of up to this many characters
# (a few MiB at most, whatever names a script sends).
REMEMBERED_NAMES = 512
REMEMBERED_LENGTH = 512
_SEPARATORS = re.compile(r"[\\/]")
# One scan for the characters Windows refuses: a set built per path cost more than
# the rest of opening a session.
_REFUSED = re.compile("[" + re.escape(RESERVED_CHARACTERS) + "\x00-\x1f]")
_LONG_PREFIX = "\\\\?\\"
_DEVICE_PREFIXES = ("\\\\.\\", "\\\\?\\GLOBALROOT", "\\??\\")


def plain_path(path: str) -> str:
    r"""`path` without a ``\\?\`` prefix: ``\\?\C:\x`` is ``C:\x``, ``\\?\UNC\s\x`` is ``\\s\x``."""
    unified = path.replace("/", "\\")
    if not unified.startswith(_LONG_PREFIX):
        return path
    rest = unified[len(_LONG_PREFIX) :]
    if rest[:4].upper() == "UNC\\":
        return "\\\\" + rest[4:]
    if len(rest) >= 2 and rest[1] == ":" and rest[0].isalpha():
        return rest
    return path  # a volume GUID or other namespace: left as given


def _device_path(path: str) -> bool:
    """Whether `path` names a device namespace (a pipe, a port, a volume), not a file."""
    unified = path.replace("/", "\\").upper()
    return unified.startswith(_DEVICE_PREFIXES) or (
        unified.startswith(_LONG_PREFIX) and plain_path(path) == path
    )


def path_problem(path: str) -> str | None:
    """Say which Windows rule `path` breaks (as a phrase after "it"), or None if none.

    The drive (``C:``, a UNC share) is taken as Windows takes it, on every
    platform, so the answer does not depend on where the server runs.
    """
    # A station opens the same few files all day, and the answer depends on the name
    # alone: remembered, it costs a look-up instead of a scan per Initialize.
    if len(path) <= REMEMBERED_LENGTH:
        return _remembered_problem(path)
    return _problem(path)


def _problem(path: str) -> str | None:
    """path_problem's answer, worked out."""
    if _device_path(path):
        return (
            "names a device or a volume (\\\\.\\..., \\\\?\\GLOBALROOT\\..., \\\\?\\Volume...), "
            "not a file; use a path such as C:\\logs\\run.ndjson"
        )
    drive, rest = ntpath.splitdrive(plain_path(path))
    if ":" in rest or (len(drive) == 2 and not drive[0].isalpha()):
        return (
            "has a ':' after the drive, which Windows reads as an alternate data stream "
            "of another file"
        )
    bad = sorted(set(_REFUSED.findall(rest)))
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return (
            f"contains {shown}; Windows refuses the characters {RESERVED_CHARACTERS} and "
            "control characters in file names"
        )
    for name in _SEPARATORS.split(rest):
        if name in ("", ".", ".."):
            continue
        device = name.split(".")[0].rstrip(" ").upper()
        if device in DEVICE_NAMES:
            return (
                f"has the name {name!r}, which Windows reserves for the device {device} "
                "(CON, PRN, AUX, NUL, COM1-COM9 and LPT1-LPT9 are devices, whatever the suffix)"
            )
        if name[-1] in " .":
            return f"has the name {name!r}, which ends in a space or a dot that Windows drops"
        # A character is one or two UTF-16 units: only a long name needs counting.
        length = len(name.encode("utf-16-le")) // 2 if 2 * len(name) > MAX_NAME_LENGTH else 0
        if length > MAX_NAME_LENGTH:
            return (
                f"has a name of {length} characters ({name[:20]!r}...); Windows allows "
                f"{MAX_NAME_LENGTH} per name"
            )
    return None


_remembered_problem = functools.lru_cache(maxsize=REMEMBERED_NAMES)(_problem)


def is_sharing_violation(error: OSError) -> bool:
    """Tell whether `error` is Windows refusing a file another program holds open."""
    return getattr(error, "winerror", None) in (ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION)


def open_append(path: str) -> int:
    """Open (creating) `path` for reading and appending; return a descriptor for os.read/write.

    Each os.write on it is one write at the end of the file. The path is opened
    as given: the operating system follows links and keeps the name's case.
    """
    if sys.platform == "win32":
        return _open_append_shared(path)
    return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)


if sys.platform == "win32":
    import msvcrt

    import pywintypes  # type: ignore[import-untyped, unused-ignore]  # pywin32
    import win32file  # type: ignore[import-untyped, unused-ignore]

    _GENERIC_READ = 0x80000000
    _FILE_APPEND_DATA = 0x0004  # without FILE_WRITE_DATA: every write goes to the end
    _FILE_SHARE_ALL = 0x1 | 0x2 | 0x4  # read, write, delete
    _OPEN_ALWAYS = 4
    _FILE_ATTRIBUTE_NORMAL = 0x80

    def _open_append_shared(path: str) -> int:
        """CreateFile with full sharing, handed to the C runtime as an append descriptor."""
        try:
            handle = win32file.CreateFile(
                path,
                _GENERIC_READ | _FILE_APPEND_DATA,
                _FILE_SHARE_ALL,
                None,
                _OPEN_ALWAYS,
                _FILE_ATTRIBUTE_NORMAL,
                None,
            )
        except pywintypes.error as error:  # an OSError naming the file, with its Windows code
            raise OSError(0, error.strerror, path, error.winerror) from None
        raw = handle.Detach()
        try:
            return msvcrt.open_osfhandle(raw, os.O_APPEND)
        except BaseException:
            win32file.CloseHandle(raw)
            raise
