"""The resource behind each session: one results database, SQLite or PostgreSQL.

This file is yours: `copier update` does not overwrite it once it exists.
ResultsDatabaseResourceBase (resource_base.py, rewritten by `copier update`)
declares the methods the server calls: `resource_key` and `open` on
OpenDatabase, one per custom RPC while holding the session (so calls on
one session never overlap, and its one connection is never used by two at once),
and `close` once, when the session closes.
"""

from __future__ import annotations

import errno
import gc
import itertools
import json
import logging
import math
import os
import platform
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from session_service_core.server.errors import (
    SHOWN_CHARACTERS,
    AbortedError,
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
    ResourceExhaustedError,
    ServiceError,
    UnavailableError,
    shown,
)
from session_service_core.server.files import path_problem
from session_service_core.server.status import caller_time_left

from .resource_base import ResultsDatabaseResourceBase

if TYPE_CHECKING:
    import psycopg

# The schema this code writes and reads; a database with a newer one is refused.
SCHEMA_VERSION = 1
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
# How long a SQLite write waits for another connection's lock before answering ABORTED.
BUSY_TIMEOUT_SECONDS = 5.0
POSTGRESQL_PORT = 5432
ACCEPTED_URLS = "sqlite:///PATH or postgresql://[user@]host[:port]/dbname[?options]"
# The station column when LogResult leaves it empty: the server runs on the station.
STATION = platform.node()
# PostgreSQL: how long a connection attempt may wait for the server (libpq's
# connect_timeout, unless the URL gives one; a caller's shorter deadline wins), how
# long a statement may run (statement_timeout, unless the URL's options set one),
# and how many attempts to one host:port may wait at once (more answer UNAVAILABLE
# at once, so that an unreachable host never holds the threads other sessions need).
CONNECT_TIMEOUT_SECONDS = 10
STATEMENT_TIMEOUT_MS = 30_000
CONNECTING_PER_HOST = 2
# After an attempt to a host timed out, attempts to it within this many seconds
# answer UNAVAILABLE at once with that cause instead of waiting again.
UNREACHABLE_SECONDS = 5.0
_logger = logging.getLogger(__name__)

T = TypeVar("T")


class ResultsDatabaseResource(ResultsDatabaseResourceBase):
    """One connection to a results database, shared by every client of its session."""

    def __init__(self, key: str, database: Database) -> None:
        super().__init__(key)
        self._database = database

    @staticmethod
    def resource_key(resource_name: str) -> str:
        """Return one key per database, however its URL is spelled; refuse other URLs."""
        return DatabaseUrl.parse(resource_name).key

    @classmethod
    def open(cls, resource_key: str, resource_name: str) -> ResultsDatabaseResource:
        """Connect to the database, creating the schema if it is missing.

        A SQLite file is opened with the path as the client gave it (the key is
        for finding the session only).
        """
        url = DatabaseUrl.parse(resource_name)
        database: Database
        if url.parameters is None:
            database = SQLiteDatabase.open(url.path or "", _brief(url.key))
        else:
            database = PostgreSQLDatabase(url.parameters, _brief(url.key))
        return cls(resource_key, database)

    def close(self) -> None:
        """Close the connection; every acknowledged row is already committed."""
        self._database.close()

    def log_result(
        self,
        *,
        measurement_name: str,
        timestamp: datetime | None,
        site: int,
        pin_names: Sequence[str],
        status: str,
        configurations: Mapping[str, str],
        outputs: Mapping[str, str],
        station: str,
    ) -> int:
        """Insert one row, committed before this returns; return its id."""
        if not measurement_name:
            raise InvalidArgumentError(
                "measurement_name is empty: give the name of the measurement (any text "
                "without NUL characters)."
            )
        configurations, outputs = dict(configurations), dict(outputs)
        # One look for NUL in every text of the row; which field, only when there is one.
        texts = (measurement_name, status, station, *pin_names, *configurations, *outputs)
        if "\x00" in "".join((*texts, *configurations.values(), *outputs.values())):
            raise _nul_refusal(
                measurement_name=[measurement_name],
                status=[status],
                station=[station],
                pin_names=pin_names,
                configurations=[*configurations, *configurations.values()],
                outputs=[*outputs, *outputs.values()],
            )
        row = NewRow(
            session=self.session_name,  # the rows of one session share it
            measurement_name=measurement_name,
            site=site,
            pin_names=_json(list(pin_names)),
            timestamp=timestamp or datetime.now(timezone.utc),
            status=status,
            configurations=_json({name: _value(text) for name, text in configurations.items()}),
            outputs=_json({name: _value(text) for name, text in outputs.items()}),
            station=station or STATION,
        )
        return self._database.insert(row)

    def query_results(
        self, *, measurement_name: str, since: datetime | None, limit: int
    ) -> list[str]:
        """Return up to `limit` rows (0 means 100), newest first, each as a JSON object."""
        if limit > MAX_LIMIT:
            raise InvalidArgumentError(
                f"limit {limit} is above {MAX_LIMIT:,}: accepted 1 to {MAX_LIMIT:,} rows "
                f"(0 means {DEFAULT_LIMIT})."
            )
        if "\x00" in measurement_name:
            raise _nul_refusal(measurement_name=[measurement_name])
        rows = self._database.query(measurement_name, since, limit or DEFAULT_LIMIT)
        return [_json(row) for row in rows]


# One encoder for every row (json.dumps with options builds a new one per call).
_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is beyond a double")
    return value


# One decoder for every value: json.loads with options builds a decoder per call,
# and values are parsed on every row.
_decoder = json.JSONDecoder(parse_float=_finite, parse_constant=_not_json)
_JSON_STARTS = frozenset('-0123456789"[{tfn \t\n\r')  # what a JSON text may start with
_JSON_SPACE = " \t\n\r"


def _value(text: str) -> Any:
    """Return the JSON value `text` parses as (5.0, true, [1, 2], "a"), else `text` itself.

    Python's json reads NaN and Infinity, and 1e400 as infinity, which JSON (and
    PostgreSQL's jsonb) cannot hold: such texts stay strings, as do texts nested
    deeper than the parser's recursion limit.
    """
    if not text or text[0] not in _JSON_STARTS:
        return text  # most words and names: no parse, no exception
    try:
        if text[0] in _JSON_SPACE or text[-1] in _JSON_SPACE:
            return _decoder.decode(text)  # json.loads's way, which skips the white space
        value, end = _decoder.raw_decode(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return text
    return value if end == len(text) else text


def _nul_refusal(**fields: Sequence[str]) -> InvalidArgumentError:
    """Refuse the first of `fields` with a text holding NUL, which PostgreSQL cannot store.

    SQLite could store it; both backends refuse it alike.
    """
    field = next(name for name, texts in fields.items() if any("\x00" in text for text in texts))
    return InvalidArgumentError(f"{field} holds a NUL character: text without NUL is accepted.")


# ---------------------------------------------------------------------------
# Database URLs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL: a SQLite path, or PostgreSQL connection parameters."""

    key: str  # the normalized URL, without credentials (it appears in messages)
    path: str | None = None  # SQLite: the path as given
    parameters: Mapping[str, str] | None = None  # PostgreSQL: libpq's keywords

    @staticmethod
    def parse(text: str) -> DatabaseUrl:
        """Parse `text`; raise InvalidArgumentError saying what is accepted."""
        text = text.strip()
        scheme, separator, rest = text.partition("://")
        scheme = scheme.lower()
        if separator and scheme == "sqlite":
            return _sqlite_url(rest)
        if separator and scheme in ("postgresql", "postgres"):
            return _postgresql_url(rest)
        raise InvalidArgumentError(
            f"{_shown_url(text)} is not a database URL this service opens: "
            f"accepted {ACCEPTED_URLS}."
        )


# libpq's options that carry a secret (a password, a key's passphrase, an OAuth
# client secret): refused in a URL, and their values never shown. Matched on the
# name in any case, as a caller may spell them.
_SECRET_OPTION = re.compile(r"password|secret|passphrase", re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"(?P<name>[?&][^=&#]*(?:password|secret|passphrase)[^=&#]*=)[^&#]*", re.IGNORECASE
)
WHERE_PASSWORDS_GO = (
    "give it to libpq on the server's side instead: the password file (PGPASSFILE, "
    "~/.pgpass, %APPDATA%\\postgresql\\pgpass.conf), a service file (?service=NAME, "
    "PGSERVICEFILE), or PGPASSWORD in the server's environment"
)


def _masked(text: str) -> str:
    """`text` with the password of its user part and the values of secret options as ***.

    Works on text that is not a valid URL too (postgresql:/user:pw@host,
    postgres:user:pw@host): from the first ':' after "://" (or, without "://", the
    first ':' at all) to the last '@' before any query, everything is masked.
    """
    text = _SECRET_VALUE.sub(r"\g<name>***", text)
    end = text.find("?")
    at = text.rfind("@", 0, end if end >= 0 else len(text))
    if at < 0:
        return text
    authority = text.find("://")
    colon = text.find(":", authority + 3 if 0 <= authority < at else 0, at)
    if colon < 0:
        return text
    return f"{text[: colon + 1]}***{text[at:]}"


def _brief(key: str) -> str:
    """`key` as messages name the database: cut to a few hundred characters, saying so."""
    if len(key) <= SHOWN_CHARACTERS:
        return key
    return f"{key[:SHOWN_CHARACTERS]}... ({len(key):,} characters)"


def _shown_url(text: str) -> str:
    """`text` as a message quotes it: secrets masked, at most a few hundred characters."""
    return shown(_masked(text))


def _sqlite_url(rest: str) -> DatabaseUrl:
    # What follows "sqlite:///" is the path: sqlite:///C:/Results/a.db on Windows,
    # sqlite:////var/results/a.db (absolute) or sqlite:///a.db (relative) on POSIX.
    if not rest.startswith("/") or rest == "/":
        raise InvalidArgumentError(
            f"{shown('sqlite://' + rest)} names no file: write sqlite:///PATH, such as "
            "sqlite:///C:/Results/line1.db or sqlite:////var/results/line1.db."
        )
    path = rest[1:]
    if "?" in path or "#" in path or path == ":memory:":
        raise InvalidArgumentError(
            f"{shown('sqlite://' + rest)} is not accepted: a SQLite URL names a file and takes no "
            "options (and an in-memory database could not be shared)."
        )
    problem = path_problem(path)
    if problem:
        raise InvalidArgumentError(
            f"Cannot use the SQLite file {shown(path)}: it {problem}. Choose a name a Windows "
            "test station accepts too."
        )
    resolved = os.path.normcase(os.path.realpath(path))
    return DatabaseUrl(key=f"sqlite:///{Path(resolved).as_posix()}", path=path)


def _postgresql_url(rest: str) -> DatabaseUrl:
    url = f"postgresql://{rest}"
    parts = urlsplit(url)
    quoted = _shown_url(url)
    secrets = sorted(
        {
            name
            for name, _ in parse_qsl(parts.query, keep_blank_values=True)
            if _SECRET_OPTION.search(name)
        }
    )
    if parts.password is not None or secrets:
        which = (
            "a password"
            if parts.password is not None
            else f"the secret option {', '.join(secrets)}"
        )
        raise InvalidArgumentError(
            f"{quoted} holds {which}, which would show wherever the URL does (the pin map, "
            f"logs, the sessions list). Remove it and {WHERE_PASSWORDS_GO}."
        )
    try:
        port = parts.port or POSTGRESQL_PORT
    except ValueError:
        raise InvalidArgumentError(
            f"{quoted} has a port that is not a number from 1 to 65535."
        ) from None
    host = (parts.hostname or "").lower()
    dbname = unquote(parts.path.removeprefix("/"))
    if not host or not dbname or "/" in dbname or parts.fragment:
        raise InvalidArgumentError(
            f"{quoted} is not accepted: write postgresql://[user@]host[:port]/dbname"
            "[?options], with a host and a database name."
        )
    try:
        options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        options = [] if not parts.query else [("", "")]
    named = {name for name, _ in options}
    if "" in named or named & {"host", "hostaddr", "port", "dbname", "user"}:
        raise InvalidArgumentError(
            f"{quoted} has options this service does not take there: give the host, port, "
            "user and database in the URL itself, and other libpq options as name=value "
            "pairs."
        )
    user = unquote(parts.username or "")
    parameters = {"host": host, "port": str(port), "dbname": dbname, **dict(options)}
    if user:
        parameters["user"] = user
    shown_host = f"[{host}]" if ":" in host else host
    key = f"postgresql://{quote(user) + '@' if user else ''}{shown_host}:{port}/{quote(dbname)}"
    if options:
        key += "?" + urlencode(sorted(options))
    return DatabaseUrl(key=key, parameters=parameters)


# ---------------------------------------------------------------------------
# The databases
# ---------------------------------------------------------------------------


class NewRow(NamedTuple):
    """A row for `results`; pin names, configurations and outputs as JSON text."""

    session: str
    measurement_name: str
    site: int
    pin_names: str
    timestamp: datetime
    status: str
    configurations: str
    outputs: str
    station: str


class Database(Protocol):
    """What the resource needs of a database."""

    def insert(self, row: NewRow) -> int:
        """Insert and commit `row`; return its id."""
        ...

    def query(self, measurement_name: str, since: datetime | None, limit: int) -> list[Any]:
        """Return up to `limit` rows as dictionaries, newest first."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


COLUMNS = (
    "id, session, measurement_name, site, pin_names, timestamp, status, "
    "configurations, outputs, station"
)
INSERTED = (
    "session, measurement_name, site, pin_names, timestamp, status, configurations, "
    "outputs, station"
)


def _row(values: Sequence[Any], timestamp: datetime, decode: Callable[[Any], Any]) -> Any:
    """Return a `results` row as the dictionary QueryResults answers with."""
    return {
        "id": values[0],
        "session": values[1],
        "measurement_name": values[2],
        "site": values[3],
        "pin_names": decode(values[4]),
        "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "status": values[6],
        "configurations": decode(values[7]),
        "outputs": decode(values[8]),
        "station": values[9],
    }


def _newer_schema(where: str, version: int) -> FailedPreconditionError:
    return FailedPreconditionError(
        f"{where} has schema version {version}; this server knows versions up to "
        f"{SCHEMA_VERSION}. Update the server, or choose another database."
    )


def _foreign_schema(where: str) -> FailedPreconditionError:
    return FailedPreconditionError(
        f"{where} has a results table but no schema_version table: another program made "
        "it. Choose another database."
    )


def _lost_results(where: str) -> DataLossError:
    return DataLossError(
        f"{where} has this service's schema_version table but no results table: it was "
        "dropped or the file is damaged. Restore the database from a backup, or choose "
        "another one."
    )


# SQLite's primary result codes, and the text of their messages (Python 3.10's
# sqlite3 errors carry no code).
_SQLITE_CODES = {
    3: ("access permission denied", PermissionDeniedError),
    5: ("database is locked", AbortedError),
    6: ("database table is locked", AbortedError),
    8: ("readonly database", PermissionDeniedError),
    11: ("malformed", DataLossError),
    13: ("disk is full", ResourceExhaustedError),
    14: ("unable to open database file", PermissionDeniedError),
    19: ("constraint failed", FailedPreconditionError),
    23: ("authorization denied", PermissionDeniedError),
    26: ("file is not a database", InvalidArgumentError),
}
_SQLITE_ADVICE: dict[type[ServiceError], str] = {
    PermissionDeniedError: "Grant the server's user write access to the file and its folder.",
    AbortedError: f"Another connection held it for over {BUSY_TIMEOUT_SECONDS:g} s: retry.",
    ResourceExhaustedError: "Free space on its disk.",
    InvalidArgumentError: "Choose a new file or an existing SQLite database.",
    FailedPreconditionError: "The row was not written.",
    DataLossError: "The file is damaged: restore it from a backup, or choose another file.",
}


def _sqlite_refusal(where: str, doing: str, error: sqlite3.Error) -> ServiceError:
    """Return the error that answers `doing` on `where` failing with `error`."""
    code = getattr(error, "sqlite_errorcode", None)
    text = str(error)
    kind: type[ServiceError] = ServiceError
    for primary, (phrase, refusal) in _SQLITE_CODES.items():
        if (code is not None and code & 0xFF == primary) or (code is None and phrase in text):
            kind = refusal
    cantopen = code & 0xFF == 14 if code is not None else "unable to open" in text
    if cantopen:  # at the process's descriptor limit SQLite says no more than CANTOPEN
        try:
            os.close(os.open(os.devnull, os.O_RDONLY))
        except OSError as probe:
            if probe.errno in (errno.EMFILE, errno.ENFILE):
                return ResourceExhaustedError(
                    f"Cannot {doing} {where}: SQLite says {text!r}, and the server has run "
                    f"out of file descriptors ({probe.strerror}). Close sessions no longer "
                    "needed, or raise the open-file limit of the server's process."
                )
    advice = _SQLITE_ADVICE.get(kind, "")
    return kind(f"Cannot {doing} {where}: SQLite says {text!r}. {advice}".rstrip())


# File system types (Linux's names in /proc/self/mountinfo) that live on another
# computer: SQLite's WAL needs memory shared by every connection, so on these the
# database uses a rollback journal (journal_mode=DELETE).
NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs",
        "lustre", "gpfs", "beegfs", "davfs", "virtiofs", "vboxsf", "vmhgfs", "fuse.sshfs",
        "fuse.glusterfs", "fuse.s3fs", "fuse.rclone", "fuse.davfs", "fuse.cephfs",
        "fuse.gcsfuse", "fuse.vmhgfs-fuse", "fuse.juicefs",
    }
)  # fmt: skip
DRIVE_REMOTE = 4  # GetDriveTypeW's answer for a network drive


def linux_file_system(path: str, mountinfo: str) -> str:
    """Return the type of the file system `path` (absolute, links resolved) is on.

    `mountinfo` is /proc/self/mountinfo: the last mount whose mount point is the
    longest prefix of `path` is the one that holds it.
    """
    best, kind = -1, ""
    for line in mountinfo.splitlines():
        fields, separator, tail = line.partition(" - ")
        parts = fields.split(" ")
        if not separator or len(parts) < 5:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best:
            best, kind = len(point), tail.split(" ")[0]
    return kind


def is_network_location(
    path: str,
    *,
    windows: bool,
    drive_type: Callable[[str], int] | None = None,
    mountinfo: str = "",
) -> bool:
    r"""Tell whether the database at `path` is on another computer, as the OS answers.

    Windows: a UNC path (\\server\share, \\?\UNC\...) or a drive
    GetDriveTypeW calls DRIVE_REMOTE (a mapped network drive). Linux: the type of
    the file system in /proc/self/mountinfo. Elsewhere (no mountinfo) local.
    """
    if windows:
        import ntpath

        full = path
        if full.startswith("\\\\?\\") and not full.upper().startswith("\\\\?\\UNC\\"):
            full = full[4:]  # a drive's long form: \\?\C:\... is C:\...
        if full.upper().startswith(("\\\\?\\UNC\\", "//?/UNC/")):
            return True
        drive, _ = ntpath.splitdrive(full)
        if drive.startswith(("\\\\", "//")) and not drive.startswith(("\\\\?", "\\\\.")):
            return True
        return (
            drive_type is not None and len(drive) == 2 and drive_type(drive + "\\") == DRIVE_REMOTE
        )
    return linux_file_system(path, mountinfo) in NETWORK_FILE_SYSTEMS


def _windows_drive_type(root: str) -> int:
    import ctypes

    return int(ctypes.windll.kernel32.GetDriveTypeW(root))  # type: ignore[attr-defined,unused-ignore]


def on_network(path: str) -> bool:
    """Tell whether the file at `path` (or the folder it would be made in) is on a network."""
    if sys.platform == "win32":
        return is_network_location(
            os.path.abspath(path), windows=True, drive_type=_windows_drive_type
        )
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return is_network_location(os.path.realpath(path), windows=False, mountinfo=mountinfo)


class SQLiteDatabase:
    """A SQLite file: WAL journal, one connection, each statement committed on its own."""

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self._connection = connection
        self._where = where

    @classmethod
    def open(cls, path: str, where: str) -> SQLiteDatabase:
        """Open (or create) the file at `path` as given, and prepare its schema."""
        given = Path(path)
        try:
            os.stat(path)
        except OSError as error:  # a missing file is created below
            # Windows: ERROR_FILENAME_EXCED_RANGE (206), which Python maps to ENOENT.
            if error.errno == errno.ENAMETOOLONG or getattr(error, "winerror", None) == 206:
                raise InvalidArgumentError(
                    f"Cannot open {where}: a name in its path is longer than the file system "
                    f"allows ({error.strerror}). Choose a shorter name."
                ) from None
        if not given.parent.is_dir():
            raise InvalidArgumentError(
                f"Cannot open {where}: the directory {shown(str(given.parent))} does not exist. "
                "Create it first or choose a file in an existing directory."
            )
        if given.is_dir():
            raise InvalidArgumentError(f"Cannot open {where}: it is a directory, not a file.")
        try:
            # isolation_level=None: no implicit transactions, so each INSERT is committed
            # when execute returns; the session's lock keeps the connection to one thread.
            connection = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise _sqlite_refusal(where, "open", error) from None
        try:
            if on_network(path):
                # WAL's shared memory works on one computer only: a rollback journal,
                # and an fsync per commit, as the other computers read the file.
                _logger.info("%s is on a network file system: journal_mode=DELETE", where)
                connection.execute("PRAGMA journal_mode=DELETE")
                connection.execute("PRAGMA synchronous=FULL")
            else:
                # NORMAL in WAL mode: a commit is in the WAL (the OS has it) when execute
                # returns, so it survives the server being killed; FULL adds an fsync per row.
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
            _prepare_sqlite(connection, where)
        except sqlite3.Error as error:
            connection.close()
            raise _sqlite_refusal(where, "open", error) from None
        except BaseException:
            connection.close()
            raise
        return cls(connection, where)

    def insert(self, row: NewRow) -> int:
        """Insert and commit `row`; return its id."""
        stamp = row.timestamp.astimezone(timezone.utc).replace(tzinfo=None)
        values = (
            row.session,
            row.measurement_name,
            row.site,
            row.pin_names,
            stamp.isoformat(sep=" ", timespec="microseconds"),
            row.status,
            row.configurations,
            row.outputs,
            row.station,
        )
        try:
            cursor = self._connection.execute(
                f"INSERT INTO results ({INSERTED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values
            )
        except sqlite3.Error as error:
            raise _sqlite_refusal(self._where, "write to", error) from None
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def query(self, measurement_name: str, since: datetime | None, limit: int) -> list[Any]:
        """Return up to `limit` rows, newest first."""
        conditions, values = ["1 = 1"], list[Any]()
        if measurement_name:
            conditions.append("measurement_name = ?")
            values.append(measurement_name)
        if since is not None:
            stamp = since.astimezone(timezone.utc).replace(tzinfo=None)
            conditions.append("timestamp >= ?")
            values.append(stamp.isoformat(sep=" ", timespec="microseconds"))
        sql = (
            f"SELECT {COLUMNS} FROM results WHERE {' AND '.join(conditions)} "
            "ORDER BY timestamp DESC, id DESC LIMIT ?"
        )
        try:
            found = self._connection.execute(sql, [*values, limit]).fetchall()
        except sqlite3.Error as error:
            raise _sqlite_refusal(self._where, "read", error) from None
        return [_row(row, datetime.fromisoformat(row[5]), json.loads) for row in found]

    def close(self) -> None:
        """Close the connection (the last one to close checkpoints the WAL)."""
        self._connection.close()


_SQLITE_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE results (
        id INTEGER PRIMARY KEY,  -- not AUTOINCREMENT: that writes one more page a row
        session TEXT NOT NULL,
        measurement_name TEXT NOT NULL,
        site INTEGER NOT NULL,
        pin_names TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        status TEXT NOT NULL,
        configurations TEXT NOT NULL,
        outputs TEXT NOT NULL,
        station TEXT NOT NULL
    )""",
    "CREATE INDEX results_newest ON results (timestamp, id)",
    "CREATE INDEX results_by_name ON results (measurement_name, timestamp, id)",
    f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION})",
)


def _prepare_sqlite(connection: sqlite3.Connection, where: str) -> None:
    """Create the schema if missing (one writer at a time); refuse a newer or foreign one."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "schema_version" in tables:
            (version,) = connection.execute("SELECT max(version) FROM schema_version").fetchone()
            if version is not None and version > SCHEMA_VERSION:
                raise _newer_schema(where, version)
            if "results" not in tables:
                raise _lost_results(where)
        elif "results" in tables:
            raise _foreign_schema(where)
        else:
            for statement in _SQLITE_SCHEMA:
                connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


# PostgreSQL SQLSTATE classes (the first two characters) and codes, and the error each
# answers with; anything else is INTERNAL.
_POSTGRESQL_STATES: dict[str, type[ServiceError]] = {
    "08": UnavailableError,  # connection exception
    "22": InvalidArgumentError,  # data exception
    "23": FailedPreconditionError,  # integrity constraint violation
    "25006": PermissionDeniedError,  # read-only transaction (a standby)
    "28": PermissionDeniedError,  # invalid authorization
    "40": AbortedError,  # serialization failure, deadlock
    "42501": PermissionDeniedError,  # insufficient privilege
    "53": ResourceExhaustedError,  # disk full, out of memory, too many connections
    "55P03": AbortedError,  # lock not available
    "3D": FailedPreconditionError,  # invalid catalog name: no such database
    "3F": FailedPreconditionError,  # invalid schema name: no schema to create the tables in
    "42P01": FailedPreconditionError,  # undefined table: the results table was dropped
    "57014": AbortedError,  # statement timeout
    "57P": UnavailableError,  # the server is shutting down or terminated the connection
}
_POSTGRESQL_ADVICE: dict[str, str] = {
    "3D": "Create the database first, or name one that exists.",
    "3F": "Create the schema, or set search_path (?options=-c search_path=NAME) to one "
    "the user may create tables in.",
    "42P01": "The results table is gone: restore it, or choose another database.",
    "57014": f"A statement ran longer than statement_timeout ({STATEMENT_TIMEOUT_MS:,} ms "
    "unless the URL's options set it): retry, or raise it with "
    "?options=-c statement_timeout=MS.",
}
# What libpq (or the server, before a session exists) says when a connection fails,
# and the error each phrase answers with: a failed connection carries no SQLSTATE.
_CHECK_PASSWORD = "Check the user and its password in libpq's password file or service file."
_CONNECTION_PHRASES: tuple[tuple[str, type[ServiceError], str], ...] = (
    ("authentication failed", PermissionDeniedError, _CHECK_PASSWORD),
    (
        "no password supplied",
        PermissionDeniedError,
        f"It asks for a password: {WHERE_PASSWORDS_GO}.",
    ),
    ("password", PermissionDeniedError, _CHECK_PASSWORD),
    ("role", PermissionDeniedError, "Connect as a user the server knows and lets log in."),
    ("pg_hba.conf", PermissionDeniedError, "It refuses this user or host: see its pg_hba.conf."),
    ("permission denied", PermissionDeniedError, "Grant the user CONNECT on the database."),
    ("invalid connection option", InvalidArgumentError, "Accepted: libpq's parameters."),
    ("invalid value", InvalidArgumentError, "Accepted: the values libpq documents."),
    ("invalid sslmode", InvalidArgumentError, "Accepted: disable to verify-full, as libpq says."),
    ("unrecognized configuration parameter", InvalidArgumentError, "Correct ?options=."),
    ("does not exist", FailedPreconditionError, "Create the database, or name one that exists."),
)


def _postgresql_refusal(where: str, doing: str, error: Exception) -> ServiceError:
    """Return the error that answers `doing` on `where` failing with `error`."""
    state = getattr(error, "sqlstate", None) or ""
    kind: type[ServiceError] = ServiceError
    for prefix in (state, state[:3], state[:2]):
        if prefix in _POSTGRESQL_STATES:
            kind = _POSTGRESQL_STATES[prefix]
            break
    else:
        if type(error).__name__ == "OperationalError":
            kind = UnavailableError
    cause = shown(str(error).strip() or type(error).__name__, 500)
    advice = next(
        (_POSTGRESQL_ADVICE[p] for p in (state, state[:3], state[:2]) if p in _POSTGRESQL_ADVICE),
        "",
    )
    return kind(f"Cannot {doing} {where}: PostgreSQL says {cause}. {advice}".rstrip())


def _connection_refusal(where: str, error: Exception) -> ServiceError:
    """Return the error that answers a failed connection to `where`."""
    state = getattr(error, "sqlstate", None)
    if state:
        return _postgresql_refusal(where, "connect to", error)
    text = str(error).strip()
    cause = shown(text, 500)
    for phrase, kind, advice in _CONNECTION_PHRASES:
        if phrase in text.lower():
            return kind(f"Cannot connect to {where}: PostgreSQL says {cause}. {advice}")
    return UnavailableError(f"Cannot connect to {where}: {cause}")


class _Attempts:
    """Connection attempts in flight, and recent timeouts, per host:port (for all sessions)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, int] = {}
        self._timed_out: dict[str, tuple[float, str]] = {}

    @contextmanager
    def attempt(self, host: str, where: str) -> Iterator[None]:
        """Count an attempt to `host` for the with-block; refuse it if too many wait already."""
        with self._lock:
            failed = self._timed_out.get(host)
            if failed is not None and time.monotonic() - failed[0] < UNREACHABLE_SECONDS:
                raise UnavailableError(
                    f"Cannot connect to {where}: an attempt to {host} under "
                    f"{UNREACHABLE_SECONDS:g} s ago got no answer ({failed[1]}). Retry later."
                )
            waiting = self._waiting.get(host, 0)
            if waiting >= CONNECTING_PER_HOST:
                raise UnavailableError(
                    f"Cannot connect to {where}: {waiting} attempts to {host} are already "
                    "waiting for it to answer, and more would hold the threads other sessions "
                    "need. Retry once they end (connect_timeout bounds them)."
                )
            self._waiting[host] = waiting + 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting[host] -= 1
                if not self._waiting[host]:
                    del self._waiting[host]

    def timed_out(self, host: str, cause: str) -> None:
        """Remember that an attempt to `host` got no answer in time."""
        with self._lock:
            self._timed_out[host] = (time.monotonic(), cause)

    def answered(self, host: str) -> None:
        """Forget a timeout of `host`: it answered."""
        with self._lock:
            self._timed_out.pop(host, None)


_attempts = _Attempts()


class _Cancels:
    """One thread that cancels PostgreSQL statements still running at their caller's deadline.

    statement_timeout bounds every statement on the server's side; a caller with a
    shorter gRPC deadline has its statement cancelled then (a cancel request, as
    psycopg's cancel_safe sends it), so its session is free again for the others.
    Only running statements are tracked: at most one per session.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running: dict[int, tuple[float, Any]] = {}  # number -> (deadline, connection)
        self._cancelling: dict[int, threading.Event] = {}
        self._numbers = itertools.count()
        self._started = False

    def run_by_deadline(self, connection: Any, work: Callable[[Any], T]) -> T:
        """Return `work(connection)`, cancelled if the caller's deadline passes first."""
        left = caller_time_left()
        if left is None:
            return work(connection)
        number = next(self._numbers)
        with self._changed:
            self._running[number] = (time.monotonic() + left, connection)
            if not self._started:
                self._started = True
                threading.Thread(
                    target=self._watch, name="statement-deadlines", daemon=True
                ).start()
            self._changed.notify()
        try:
            return work(connection)
        finally:
            with self._changed:
                del self._running[number]
                cancelling = self._cancelling.get(number)
            if cancelling is not None:
                cancelling.wait()  # the session's next statement must not meet this cancel

    def _watch(self) -> None:
        while True:
            with self._changed:
                while True:
                    now = time.monotonic()
                    due = {
                        n: at for n, (at, _) in self._running.items() if n not in self._cancelling
                    }
                    late = [n for n, at in due.items() if at <= now]
                    if late:
                        break
                    self._changed.wait(min(due.values()) - now if due else None)
                number = late[0]
                connection = self._running[number][1]
                done = self._cancelling[number] = threading.Event()
            try:
                connection.cancel_safe(timeout=CONNECT_TIMEOUT_SECONDS)
            except Exception as error:  # noqa: BLE001  (statement_timeout still bounds it)
                _logger.info("Cancelling a statement past its caller's deadline failed: %s", error)
            finally:
                with self._changed:
                    del self._cancelling[number]
                done.set()


_cancels = _Cancels()


def connection_parameters(parameters: Mapping[str, str]) -> dict[str, str]:
    """Return `parameters` with this service's defaults: connect_timeout, statement_timeout."""
    given = dict(parameters)
    given.setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    options = given.get("options", "")
    if "statement_timeout" not in options:
        given["options"] = f"{options} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
    return given


_POSTGRESQL_SCHEMA = (
    "CREATE TABLE schema_version (version integer NOT NULL)",
    """CREATE TABLE results (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session text NOT NULL,
        measurement_name text NOT NULL,
        site integer NOT NULL,
        pin_names jsonb NOT NULL,
        timestamp timestamptz NOT NULL,
        status text NOT NULL,
        configurations jsonb NOT NULL,
        outputs jsonb NOT NULL,
        station text NOT NULL
    )""",
    "CREATE INDEX results_newest ON results (timestamp, id)",
    "CREATE INDEX results_by_name ON results (measurement_name, timestamp, id)",
    f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION})",
)
# Serializes schema creation between servers (pg_advisory_xact_lock's key).
_SCHEMA_LOCK = 0x5E551_0DB


class PostgreSQLDatabase:
    """A PostgreSQL database through psycopg 3: one connection, autocommit.

    A connection found dropped is opened again once per RPC, and the statement run
    again (a statement that failed on a dropped connection was not committed, except
    in the rare case that the connection dropped between the commit and its answer).
    """

    def __init__(self, parameters: Mapping[str, str], where: str) -> None:
        self._parameters = connection_parameters(parameters)
        self._host = f"{parameters['host']}:{parameters['port']}"
        self._where = where
        self._connection: psycopg.Connection[Any] | None = None
        self._run("open", self._prepare)

    def _connect(self) -> psycopg.Connection[Any]:
        """Connect within connect_timeout, or sooner if the caller stops waiting sooner."""
        import psycopg  # only PostgreSQL sessions need it

        parameters = dict(self._parameters)
        left = caller_time_left()
        try:
            timeout = float(parameters["connect_timeout"])
        except ValueError:
            timeout = 0.0  # libpq's own refusal of the value below says what is wrong
        if left is not None and (timeout <= 0 or left < timeout):
            parameters["connect_timeout"] = str(max(1, math.ceil(left)))
        with _attempts.attempt(self._host, self._where):
            try:
                conninfo = psycopg.conninfo.make_conninfo(**parameters)
                connection = psycopg.connect(conninfo, autocommit=True)
            except psycopg.ProgrammingError as error:  # an option or value libpq refuses
                raise InvalidArgumentError(
                    f"Cannot connect to {self._where}: {shown(str(error), 500)}. Accepted "
                    "options are libpq's connection parameters."
                ) from None
            except psycopg.errors.ConnectionTimeout as error:
                cause = str(error).strip()
            except psycopg.Error as error:
                raise _connection_refusal(self._where, error) from None
            else:
                _attempts.answered(self._host)
                return connection
            # psycopg leaves the attempt's socket in a reference cycle (its frames and
            # the error): collect it now, so the silent host's connection is closed
            # (it hangs up) and its descriptor freed, not at some later collection.
            gc.collect()
        _attempts.timed_out(self._host, cause)
        raise UnavailableError(
            f"Cannot connect to {self._where}: no answer within "
            f"{parameters['connect_timeout']} s ({shown(cause, 500)})."
        )

    def _run(self, doing: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `work` on the connection, opening it again once if it dropped."""
        import psycopg

        reconnected = self._connection is None or self._connection.closed
        if reconnected:
            self._connection = self._connect()
        assert self._connection is not None
        try:
            return _cancels.run_by_deadline(self._connection, work)
        except psycopg.Error as error:
            dropped = self._connection.closed or self._connection.broken
            if not dropped or reconnected:
                if dropped:
                    self._connection.close()
                raise _postgresql_refusal(self._where, doing, error) from None
            lost = str(error).strip()
        self._connection.close()
        try:
            self._connection = self._connect()
        except UnavailableError as error:
            raise UnavailableError(
                f"The connection to {self._where} dropped ({lost}) and could not be opened "
                f"again: {error}"
            ) from None
        try:
            return _cancels.run_by_deadline(self._connection, work)
        except psycopg.Error as error:
            raise _postgresql_refusal(self._where, doing, error) from None

    def _prepare(self, connection: psycopg.Connection[Any]) -> None:
        """Create the schema if missing (one server at a time); refuse a newer or foreign one."""
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            found = connection.execute(
                "SELECT to_regclass('schema_version') IS NOT NULL, "
                "to_regclass('results') IS NOT NULL"
            ).fetchone()
            assert found is not None
            has_version, has_results = found
            if has_version:
                (version,) = connection.execute(
                    "SELECT max(version) FROM schema_version"
                ).fetchone() or (None,)
                if version is not None and version > SCHEMA_VERSION:
                    raise _newer_schema(self._where, version)
                if not has_results:
                    raise _lost_results(self._where)
            elif has_results:
                raise _foreign_schema(self._where)
            else:
                for statement in _POSTGRESQL_SCHEMA:
                    connection.execute(statement)

    def insert(self, row: NewRow) -> int:
        """Insert `row` (committed: autocommit); return its id."""
        values = (
            row.session,
            row.measurement_name,
            row.site,
            row.pin_names,
            row.timestamp,
            row.status,
            row.configurations,
            row.outputs,
            row.station,
        )
        sql = (
            f"INSERT INTO results ({INSERTED}) VALUES "
            "(%s, %s, %s, %s::jsonb, %s, %s, %s::jsonb, %s::jsonb, %s) RETURNING id"
        )

        def insert(connection: psycopg.Connection[Any]) -> int:
            found = connection.execute(sql, values).fetchone()
            assert found is not None
            return int(found[0])

        return self._run("write to", insert)

    def query(self, measurement_name: str, since: datetime | None, limit: int) -> list[Any]:
        """Return up to `limit` rows, newest first."""
        conditions, values = ["true"], list[Any]()
        if measurement_name:
            conditions.append("measurement_name = %s")
            values.append(measurement_name)
        if since is not None:
            conditions.append("timestamp >= %s")
            values.append(since)
        sql = (
            f"SELECT {COLUMNS} FROM results WHERE {' AND '.join(conditions)} "
            "ORDER BY timestamp DESC, id DESC LIMIT %s"
        )

        def query(connection: psycopg.Connection[Any]) -> list[Any]:
            found = connection.execute(sql, [*values, limit]).fetchall()
            return [_row(row, row[5].astimezone(timezone.utc), _as_is) for row in found]

        return self._run("read", query)

    def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            self._connection.close()


def _as_is(value: Any) -> Any:
    """Return `value`: psycopg has already decoded jsonb."""
    return value
