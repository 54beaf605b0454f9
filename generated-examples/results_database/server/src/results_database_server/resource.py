"""The resource behind each session: one results database, SQLite or PostgreSQL.

This file is yours: `copier update` does not overwrite it once it exists.
ResultsDatabaseResourceBase (resource_base.py, rewritten by `copier update`)
declares the methods the server calls: `resource_key` and `open` on
OpenDatabase, one per custom RPC while holding the session (so calls on
one session never overlap, and its one connection is never used by two at once),
and `close` once, when the session closes.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .errors import (
    AbortedError,
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
    ResourceExhaustedError,
    ServiceError,
    UnavailableError,
)
from .files import path_problem
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
            database = SQLiteDatabase.open(url.path or "", url.key)
        else:
            database = PostgreSQLDatabase(url.parameters, url.key)
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
            configurations=_json(configurations),
            outputs=_json(outputs),
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
_json = json.JSONEncoder(ensure_ascii=False).encode


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
            f"{_without_password(text)!r} is not a database URL this service opens: "
            f"accepted {ACCEPTED_URLS}."
        )


def _without_password(text: str) -> str:
    """`text` with anything between "user:" and "@" of its authority replaced by ***."""
    scheme, separator, rest = text.partition("://")
    authority, slash, tail = rest.partition("/")
    user, at, host = authority.rpartition("@")
    if separator and at and ":" in user:
        return f"{scheme}://{user.split(':', 1)[0]}:***@{host}{slash}{tail}"
    return text


def _sqlite_url(rest: str) -> DatabaseUrl:
    # What follows "sqlite:///" is the path: sqlite:///C:/Results/a.db on Windows,
    # sqlite:////var/results/a.db (absolute) or sqlite:///a.db (relative) on POSIX.
    if not rest.startswith("/") or rest == "/":
        raise InvalidArgumentError(
            f"'sqlite://{rest}' names no file: write sqlite:///PATH, such as "
            "sqlite:///C:/Results/line1.db or sqlite:////var/results/line1.db."
        )
    path = rest[1:]
    if "?" in path or "#" in path or path == ":memory:":
        raise InvalidArgumentError(
            f"'sqlite://{rest}' is not accepted: a SQLite URL names a file and takes no "
            "options (and an in-memory database could not be shared)."
        )
    problem = path_problem(path)
    if problem:
        raise InvalidArgumentError(
            f"Cannot use the SQLite file {path!r}: it {problem}. Choose a name a Windows test "
            "station accepts too."
        )
    resolved = os.path.normcase(os.path.realpath(path))
    return DatabaseUrl(key=f"sqlite:///{Path(resolved).as_posix()}", path=path)


def _postgresql_url(rest: str) -> DatabaseUrl:
    parts = urlsplit(f"postgresql://{rest}")
    shown = _without_password(f"postgresql://{rest}")
    if parts.password is not None:
        raise InvalidArgumentError(
            f"{shown!r} holds a password, which would show wherever the URL does (the pin "
            "map, logs). Remove it and give it to libpq instead: the password file "
            "(PGPASSFILE), PGPASSWORD in the server's environment, or a service file "
            "(?service=NAME)."
        )
    try:
        port = parts.port or POSTGRESQL_PORT
    except ValueError:
        raise InvalidArgumentError(
            f"{shown!r} has a port that is not a number from 1 to 65535."
        ) from None
    host = (parts.hostname or "").lower()
    dbname = unquote(parts.path.removeprefix("/"))
    if not host or not dbname or "/" in dbname or parts.fragment:
        raise InvalidArgumentError(
            f"{shown!r} is not accepted: write postgresql://[user@]host[:port]/dbname"
            "[?options], with a host and a database name."
        )
    try:
        options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        options = [] if not parts.query else [("", "")]
    named = {name for name, _ in options}
    if "" in named or named & {"password", "host", "hostaddr", "port", "dbname", "user"}:
        raise InvalidArgumentError(
            f"{shown!r} has options this service does not take there: give the host, port, "
            "user and database in the URL itself, the password through libpq (PGPASSFILE, "
            "PGPASSWORD, a service file), and other libpq options as name=value pairs."
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


# SQLite's primary result codes, and the text of their messages (Python 3.10's
# sqlite3 errors carry no code).
_SQLITE_CODES = {
    3: ("access permission denied", PermissionDeniedError),
    5: ("database is locked", AbortedError),
    6: ("database table is locked", AbortedError),
    8: ("readonly database", PermissionDeniedError),
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
}


def _sqlite_refusal(where: str, doing: str, error: sqlite3.Error) -> ServiceError:
    """Return the error that answers `doing` on `where` failing with `error`."""
    code = getattr(error, "sqlite_errorcode", None)
    text = str(error)
    kind: type[ServiceError] = ServiceError
    for primary, (phrase, refusal) in _SQLITE_CODES.items():
        if (code is not None and code & 0xFF == primary) or (code is None and phrase in text):
            kind = refusal
    advice = _SQLITE_ADVICE.get(kind, "")
    return kind(f"Cannot {doing} {where}: SQLite says {text!r}. {advice}".rstrip())


class SQLiteDatabase:
    """A SQLite file: WAL journal, one connection, each statement committed on its own."""

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self._connection = connection
        self._where = where

    @classmethod
    def open(cls, path: str, where: str) -> SQLiteDatabase:
        """Open (or create) the file at `path` as given, and prepare its schema."""
        given = Path(path)
        if not given.parent.is_dir():
            raise InvalidArgumentError(
                f"Cannot open {where}: the directory {str(given.parent)!r} does not exist. "
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
    "57014": AbortedError,  # statement timeout
    "57P": UnavailableError,  # the server is shutting down or terminated the connection
}


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
    cause = str(error).strip() or type(error).__name__
    return kind(f"Cannot {doing} {where}: PostgreSQL says {cause!r}.")


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
        self._parameters = dict(parameters)
        self._where = where
        self._connection: psycopg.Connection[Any] | None = None
        self._run("open", self._prepare)

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg  # only PostgreSQL sessions need it

        try:
            conninfo = psycopg.conninfo.make_conninfo(**self._parameters)
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.ProgrammingError as error:  # an option libpq does not know
            raise InvalidArgumentError(
                f"Cannot connect to {self._where}: {error}. Accepted options are libpq's "
                "connection parameters."
            ) from None
        except psycopg.Error as error:
            raise UnavailableError(
                f"Cannot connect to {self._where}: {str(error).strip()}"
            ) from None

    def _run(self, doing: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `work` on the connection, opening it again once if it dropped."""
        import psycopg

        reconnected = self._connection is None or self._connection.closed
        if reconnected:
            self._connection = self._connect()
        assert self._connection is not None
        try:
            return work(self._connection)
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
            return work(self._connection)
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
