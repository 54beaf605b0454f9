"""The results database: URLs and sessions, rows, queries, refusals, concurrency, durability.

PostgreSQL runs against a real server: the one DATABASE_PRESET_POSTGRESQL_URL names
(a database the tests' user may create databases from), else one these tests start
with the PostgreSQL binaries on PATH (initdb, pg_ctl). Without either, the
PostgreSQL tests skip saying so.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import platform
import queue
import selectors
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2

from results_database_client import ResultsDatabaseClient
from results_database_client.stubs import results_database_pb2 as pb2
from results_database_client.stubs import results_database_pb2_grpc as pb2_grpc
from results_database_server import resource as resource_module
from results_database_server.resource import (
    CONNECT_TIMEOUT_SECONDS,
    STATEMENT_TIMEOUT_MS,
    DatabaseUrl,
    connection_parameters,
    is_network_location,
    linux_file_system,
    on_network,
)

from support import ATTACH_TO_EXISTING, ServerProcess, close, connect, initialize, status_of

Stub = pb2_grpc.ResultsDatabaseStub
NewDatabase = Callable[[], str]
POSTGRESQL_URL_VARIABLE = "DATABASE_PRESET_POSTGRESQL_URL"


def stamp(moment: datetime) -> Timestamp:
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def log(stub: Stub, session_name: str, name: str = "step", **fields: Any) -> int:
    """Log one result through the raw stub; return its row id."""
    if isinstance(fields.get("timestamp"), datetime):
        fields["timestamp"] = stamp(fields["timestamp"])
    request = pb2.LogResultRequest(session_name=session_name, measurement_name=name, **fields)
    return stub.LogResult(request).result_id


def query(stub: Stub, session_name: str, **fields: Any) -> list[dict[str, Any]]:
    """Return the rows QueryResults answers, parsed."""
    if isinstance(fields.get("since"), datetime):
        fields["since"] = stamp(fields["since"])
    request = pb2.QueryResultsRequest(session_name=session_name, **fields)
    return [json.loads(row) for row in stub.QueryResults(request).rows]


# ---------------------------------------------------------------------------
# PostgreSQL: a real server
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgresql_binaries() -> tuple[str, str] | None:
    """Return initdb and pg_ctl from PATH, PGBIN or a Debian-style versioned folder, or None.

    GitHub's Windows runners name theirs in PGBIN, its Ubuntu runners keep them in
    /usr/lib/postgresql/VERSION/bin.
    """
    pg_ctl = shutil.which("pg_ctl") or shutil.which("pg_ctl", path=os.environ.get("PGBIN", ""))
    if pg_ctl is None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        pg_ctl = str(versions[-1]) if versions else None
    if pg_ctl is None:
        return None
    initdb = shutil.which("initdb", path=str(Path(pg_ctl).parent))
    return (initdb, pg_ctl) if initdb else None


@pytest.fixture(scope="session")
def postgresql() -> Iterator[str]:
    """The URL of a database to create test databases from, on a running server."""
    given = os.environ.get(POSTGRESQL_URL_VARIABLE)
    if given:
        yield given
        return
    binaries = postgresql_binaries()
    if binaries is None:
        pytest.skip(f"no PostgreSQL: set {POSTGRESQL_URL_VARIABLE} or put pg_ctl on PATH")
    initdb, pg_ctl = binaries
    # PostgreSQL refuses to run as root: as root, run it as nobody.
    as_user: list[str] = []
    data = Path(tempfile.mkdtemp(prefix="results-postgresql-"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        as_user = ["runuser", "-u", "nobody", "--"]
        shutil.chown(data, "nobody")
    port = free_port()
    run: dict[str, Any] = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    database = str(data / "db")
    create = [initdb, "-D", database, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off"
    start = [pg_ctl, "-D", database, "-l", str(data / "log"), "-o", options, "-w", "start"]
    try:
        subprocess.run([*as_user, *create], **run)
        subprocess.run([*as_user, *start], **run)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {error.stdout}{error.stderr}")
    yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    subprocess.run([*as_user, pg_ctl, "-D", database, "-m", "immediate", "stop"], **run)
    shutil.rmtree(data, ignore_errors=True)


_database_numbers = itertools.count()


def admin(postgresql: str) -> psycopg.Connection[Any]:
    """A connection of the tests' own to the server's administration database."""
    parameters = DatabaseUrl.parse(postgresql).parameters
    assert parameters is not None
    return psycopg.connect(psycopg.conninfo.make_conninfo(**parameters), autocommit=True)


def terminate_connections(connection: psycopg.Connection[Any], url: str) -> int:
    """End every connection to the database of `url`, as an administrator can; count them."""
    ended = connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        (url.rsplit("/", 1)[1],),
    ).fetchall()
    return sum(1 for (done,) in ended if done)


@pytest.fixture
def new_postgresql(postgresql: str) -> NewDatabase:
    """Return a factory of URLs of new, empty PostgreSQL databases."""

    def create() -> str:
        name = f"results_{os.getpid()}_{next(_database_numbers)}"
        with admin(postgresql) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return postgresql.rsplit("/", 1)[0] + "/" + name

    return create


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, new_resource: NewDatabase) -> NewDatabase:
    """Each backend in turn: a factory of URLs of new databases."""
    if request.param == "sqlite":
        return new_resource
    factory: NewDatabase = request.getfixturevalue("new_postgresql")
    return factory


# ---------------------------------------------------------------------------
# URLs and sessions
# ---------------------------------------------------------------------------


def test_spellings_of_one_database_have_one_key(tmp_path: Path) -> None:
    folder = tmp_path.as_posix()
    assert (
        DatabaseUrl.parse(f"sqlite:///{folder}/a.db").key
        == DatabaseUrl.parse(f" SQLite:///{folder}/sub/../a.db ").key
    )
    assert (
        DatabaseUrl.parse("postgresql://tester@DBHost/results").key
        == DatabaseUrl.parse("postgres://tester@dbhost:5432/results").key
        == "postgresql://tester@dbhost:5432/results"
    )
    assert DatabaseUrl.parse("postgresql://h/r?sslmode=require&connect_timeout=3").key == (
        "postgresql://h:5432/r?connect_timeout=3&sslmode=require"
    )
    assert (
        DatabaseUrl.parse("postgresql://h:5433/r").key != DatabaseUrl.parse("postgresql://h/r").key
    )


def test_two_spellings_share_one_session(stub: Stub, tmp_path: Path) -> None:
    opened = initialize(stub, f"sqlite:///{(tmp_path / 'one.db').as_posix()}")
    other = f"SQLITE:///{(tmp_path / 'sub' / '..' / 'one.db').as_posix()}"
    assert initialize(stub, other, ATTACH_TO_EXISTING).session_name == opened.session_name
    close(stub, opened.session_name)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("results.db", "accepted sqlite:///PATH or postgresql://"),
        ("mysql://h/db", "accepted sqlite:///PATH or postgresql://"),
        ("sqlite://", "names no file"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///a.db?mode=ro", "takes no"),
        ("sqlite:///C:/a<b.db", "Windows"),
        ("postgresql:///results", "with a host and a database name"),
        ("postgresql://dbhost", "with a host and a database name"),
        ("postgresql://dbhost:99999/results", "port"),
        ("postgresql://dbhost/results?password=x", "libpq"),
        ("postgresql://dbhost/results?host=other", "in the URL itself"),
    ],
)
def test_urls_not_accepted_are_refused_saying_what_is(stub: Stub, url: str, says: str) -> None:
    error = status_of(lambda: initialize(stub, url))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert says in (error.details() or "")


def test_a_password_in_the_url_is_refused_and_never_shown(stub: Stub) -> None:
    error = status_of(lambda: initialize(stub, "postgresql://tester:s3cret@dbhost/results"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = error.details() or ""
    assert "s3cret" not in details
    assert "PGPASSFILE" in details and "PGPASSWORD" in details and "service" in details
    other = status_of(lambda: initialize(stub, "mysql://tester:s3cret@dbhost/results"))
    assert "s3cret" not in (other.details() or "")


def test_postgresql_that_cannot_be_reached_is_unavailable_with_the_cause(stub: Stub) -> None:
    error = status_of(lambda: initialize(stub, f"postgresql://t@127.0.0.1:{free_port()}/r"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "127.0.0.1" in (error.details() or "")


# ---------------------------------------------------------------------------
# Rows and queries
# ---------------------------------------------------------------------------


def test_a_result_is_stored_with_every_field(stub: Stub, new_database: NewDatabase) -> None:
    session_name = initialize(stub, new_database()).session_name
    when = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=timezone.utc)
    first = log(
        stub,
        session_name,
        "DC sweep",
        timestamp=when,
        site=2,
        pin_names=["VDD", "VSS"],
        status="Passed",
        configurations={"voltage": "5.0", "naïve": "ü"},
        outputs={"current": "0.1"},
        station="Line 1 / Station 3",
    )
    second = log(stub, session_name, "DC sweep")
    (newest, oldest) = query(stub, session_name)
    close(stub, session_name)
    assert second > first
    assert oldest == {
        "id": first,
        "session": session_name,  # the name clients and the sessions command show
        "measurement_name": "DC sweep",
        "site": 2,
        "pin_names": ["VDD", "VSS"],
        "timestamp": "2026-03-04T05:06:07.890123Z",
        "status": "Passed",
        "configurations": {"voltage": 5.0, "naïve": "ü"},  # JSON values, else strings
        "outputs": {"current": 0.1},
        "station": "Line 1 / Station 3",
    }
    assert newest["session"] == session_name
    assert newest["station"] == platform.node()  # empty: the server's computer
    moment = datetime.strptime(newest["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(moment.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(
        minutes=5
    )  # unset: now


def test_query_filters_by_name_and_time_and_limits_newest_first(
    stub: Stub, new_database: NewDatabase
) -> None:
    session_name = initialize(stub, new_database()).session_name
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for minute in range(150):
        name = "even" if minute % 2 == 0 else "odd"
        log(stub, session_name, name, timestamp=start + timedelta(minutes=minute))
    everything = query(stub, session_name)
    assert len(everything) == 100  # limit 0 means 100
    assert everything[0]["timestamp"] == "2026-01-01T02:29:00.000000Z"  # newest first
    assert len(query(stub, session_name, limit=10_000)) == 150
    assert len(query(stub, session_name, limit=7)) == 7
    odd = query(stub, session_name, measurement_name="odd", limit=1000)
    assert len(odd) == 75 and {row["measurement_name"] for row in odd} == {"odd"}
    recent = query(stub, session_name, since=start + timedelta(minutes=140))
    assert [row["timestamp"][11:16] for row in recent][-1] == "02:20" and len(recent) == 10
    assert query(stub, session_name, measurement_name="none") == []
    error = status_of(lambda: query(stub, session_name, limit=10_001))
    close(stub, session_name)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit 10001" in (error.details() or "") and "1 to 10,000" in (error.details() or "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"measurement_name": ""}, "measurement_name"),
        ({"measurement_name": "a\x00b"}, "measurement_name"),
        ({"status": "\x00"}, "status"),
        ({"pin_names": ["ok", "no\x00"]}, "pin_names"),
        ({"configurations": {"k\x00": "v"}}, "configurations"),
        ({"outputs": {"k": "\x00"}}, "outputs"),
        ({"station": "\x00"}, "station"),
    ],
)
def test_bad_fields_are_refused_naming_the_field_and_the_session_keeps_serving(
    stub: Stub, new_resource: NewDatabase, fields: dict[str, Any], field: str
) -> None:
    session_name = initialize(stub, new_resource()).session_name
    request = {"name": fields.pop("measurement_name", "step"), **fields}
    error = status_of(lambda: log(stub, session_name, **request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(field)
    log(stub, session_name, "after")
    assert [row["measurement_name"] for row in query(stub, session_name)] == ["after"]
    close(stub, session_name)


def test_client_results_returns_the_rows_as_dictionaries(
    server: ServerProcess, new_resource: NewDatabase
) -> None:
    with ResultsDatabaseClient(new_resource(), address=server.address) as session:
        row_id = session.log("Measure", status="Passed", outputs={"v": 4.99})
        (row,) = session.results()
    assert (row["id"], row["measurement_name"], row["status"], row["outputs"]) == (
        row_id,
        "Measure",
        "Passed",
        {"v": 4.99},
    )


# ---------------------------------------------------------------------------
# What the database refuses
# ---------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.as_posix()}"


def test_a_directory_that_does_not_exist_is_refused(stub: Stub, tmp_path: Path) -> None:
    error = status_of(lambda: initialize(stub, sqlite_url(tmp_path / "missing" / "a.db")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not exist" in (error.details() or "")
    assert not (tmp_path / "missing").exists()


def test_a_file_that_is_not_a_database_is_refused_and_kept(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, " * 100, encoding="utf-8")
    error = status_of(lambda: initialize(stub, sqlite_url(path)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a database" in (error.details() or "")
    assert path.read_text(encoding="utf-8") == "not a database, " * 100


def test_a_schema_from_the_future_is_refused_naming_its_version(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    session_name = initialize(stub, sqlite_url(path)).session_name
    close(stub, session_name)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = 7")
    connection.close()
    error = status_of(lambda: initialize(stub, sqlite_url(path)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "schema version 7" in (error.details() or "")
    assert "up to 1" in (error.details() or "")


def test_a_results_table_of_another_program_is_refused(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE results (anything TEXT)")
    connection.close()
    error = status_of(lambda: initialize(stub, sqlite_url(path)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no schema_version" in (error.details() or "")


def test_a_read_only_database_is_permission_denied(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "read-only.db"
    close(stub, initialize(stub, sqlite_url(path)).session_name)
    for leftover in tmp_path.glob("read-only.db-*"):
        leftover.unlink()
    path.chmod(0o444)
    if os.access(path, os.W_OK):
        pytest.skip(
            "this user writes to read-only files (root): run the tests as another user; "
            "test_a_database_sqlite_treats_as_read_only_refuses_writes runs as any user"
        )
    error = status_of(lambda: initialize(stub, sqlite_url(path)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "readonly" in (error.details() or "")


def test_a_database_sqlite_treats_as_read_only_refuses_writes(
    stub: Stub, tmp_path: Path, new_resource: NewDatabase
) -> None:
    # A file format write version above 2 (header byte 18) makes SQLite itself treat
    # the file as read-only, for root too: reads work, every write is refused.
    path = tmp_path / "newer-writer.db"
    close(stub, initialize(stub, sqlite_url(path)).session_name)
    with path.open("r+b") as file:
        file.seek(18)
        file.write(bytes([3]))
    session_name = initialize(stub, sqlite_url(path)).session_name
    error = status_of(lambda: log(stub, session_name, "refused"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "readonly" in (error.details() or "")
    assert query(stub, session_name) == []
    close(stub, session_name)
    other = initialize(stub, new_resource()).session_name  # the service keeps serving
    log(stub, other, "after")
    assert [row["measurement_name"] for row in query(stub, other)] == ["after"]
    close(stub, other)


def test_a_database_locked_by_another_writer_is_aborted_and_then_serves(
    stub: Stub, tmp_path: Path
) -> None:
    path = tmp_path / "locked.db"
    session_name = initialize(stub, sqlite_url(path)).session_name
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        error = status_of(lambda: log(stub, session_name, "while locked"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert error.code() == grpc.StatusCode.ABORTED
    assert "locked" in (error.details() or "") and "retry" in (error.details() or "")
    log(stub, session_name, "after")
    assert [row["measurement_name"] for row in query(stub, session_name)] == ["after"]
    close(stub, session_name)


# ---------------------------------------------------------------------------
# Concurrency and durability, on each backend
# ---------------------------------------------------------------------------


def test_sixteen_writers_on_one_session_store_exactly_every_row(
    stub: Stub, new_database: NewDatabase
) -> None:
    session_name = initialize(stub, new_database()).session_name
    ids: list[int] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        for index in range(200):
            row_id = log(stub, session_name, f"w{number}", outputs={"index": str(index)})
            with lock:
                ids.append(row_id)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = query(stub, session_name, limit=10_000)
    close(stub, session_name)
    assert len(ids) == len(set(ids)) == 3200
    assert sorted(row["id"] for row in rows) == sorted(ids)
    written = {(row["measurement_name"], row["outputs"]["index"]) for row in rows}
    assert written == {(f"w{n}", i) for n in range(16) for i in range(200)}


def test_acknowledged_rows_survive_sigkill(
    start_server: Callable[..., ServerProcess], new_database: NewDatabase
) -> None:
    url = new_database()
    server = start_server()
    channel, stub = connect(server.address)
    acknowledged: set[int] = set()
    lock = threading.Lock()
    enough = threading.Event()

    def writer(number: int) -> None:
        for index in range(1_000_000):
            try:
                row_id = log(stub, session_name, f"w{number}", outputs={"index": str(index)})
            except grpc.RpcError:
                return
            with lock:
                acknowledged.add(row_id)
                if len(acknowledged) >= 1000:
                    enough.set()

    with channel:
        session_name = initialize(stub, url).session_name
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        assert enough.wait(120)
        server.process.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        for thread in threads:
            thread.join()
    assert server.process.wait(10) != 0
    after = start_server()
    channel, stub = connect(after.address)
    with channel:
        reopened = initialize(stub, url).session_name
        stored = {row["id"] for row in query(stub, reopened, limit=10_000)}
        close(stub, reopened)
    assert acknowledged <= stored


def test_a_dropped_postgresql_connection_is_opened_again_once(
    stub: Stub, postgresql: str, new_postgresql: NewDatabase
) -> None:
    url = new_postgresql()
    session_name = initialize(stub, url).session_name
    log(stub, session_name, "before")
    with admin(postgresql) as connection:
        assert terminate_connections(connection, url) == 1
    log(stub, session_name, "after")
    names = [row["measurement_name"] for row in query(stub, session_name)]
    close(stub, session_name)
    assert names == ["after", "before"]


def test_postgresql_refusing_twice_is_unavailable_and_the_session_stays(
    stub: Stub, postgresql: str, new_postgresql: NewDatabase
) -> None:
    url = new_postgresql()
    session_name = initialize(stub, url).session_name
    dbname = url.rsplit("/", 1)[1]
    with admin(postgresql) as connection:
        # Connections to it are refused from now on, and the open one is ended.
        connection.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        assert terminate_connections(connection, url) == 1
    error = status_of(lambda: log(stub, session_name, "refused"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "could not be opened again" in (error.details() or "")
    with admin(postgresql) as connection:
        connection.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    log(stub, session_name, "back")
    assert [row["measurement_name"] for row in query(stub, session_name)] == ["back"]
    close(stub, session_name)


# ---------------------------------------------------------------------------
# Secrets never echo
# ---------------------------------------------------------------------------

SECRET = "s3cret"


def test_secrets_in_a_url_are_refused_masked_and_never_logged_or_listed(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("-v")  # INFO: every refusal is logged
    urls = [
        f"postgresql://tester:{SECRET}@dbhost/results",
        f"postgresql://tester:p@{SECRET}@dbhost/results",
        f"postgresql://dbhost/results?password={SECRET}",
        f"postgresql://dbhost/results?PASSWORD={SECRET}",
        f"postgresql://dbhost/results?sslmode=require&sslpassword={SECRET}",
        f"postgresql:/tester:{SECRET}@dbhost/results",
        f"postgres:tester:{SECRET}@dbhost/results",
        f"mysql://tester:{SECRET}@dbhost/results",
    ]
    channel, stub = connect(server.address)
    with channel:
        for url in urls:
            error = status_of(functools.partial(initialize, stub, url))
            details = error.details() or ""
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (url, details)
            assert SECRET not in details and "***" in details, (url, details)
            if url.startswith("postgresql://"):  # says where the password goes instead
                assert "PGPASSFILE" in details and "PGPASSWORD" in details, details
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "results_database_server",
            "sessions",
            "list",
            "--address",
            server.address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    server.wait_for_log("OpenDatabase: INVALID_ARGUMENT: 'mysql://tester:***@")
    assert SECRET not in server.log_text() + listed.stdout + listed.stderr


# ---------------------------------------------------------------------------
# An unreachable PostgreSQL server: deadlines, and the workers stay free
# ---------------------------------------------------------------------------


class BlackHole:
    """A TCP listener on localhost that accepts connections and never answers.

    It stands in for a database host that takes connections and then says nothing;
    it counts the connections it accepted and those their client hung up.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._changed = threading.Condition()
        self.accepted = 0
        self.hung_up = 0
        self._open = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self._open:
            for key, _ in self._selector.select(timeout=0.2):  # 0.2: notices close()
                if key.fileobj is self._listener:
                    connection, _ = self._listener.accept()
                    self._selector.register(connection, selectors.EVENT_READ)
                    with self._changed:
                        self.accepted += 1
                        self._changed.notify_all()
                    continue
                peer = key.fileobj
                assert isinstance(peer, socket.socket)
                try:
                    data = peer.recv(65536)  # what the client sends is ignored
                except OSError:
                    data = b""
                if not data:
                    self._selector.unregister(peer)
                    peer.close()
                    with self._changed:
                        self.hung_up += 1
                        self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Wait until `condition` holds (fail after 120 s, naming `what`)."""
        with self._changed:
            assert self._changed.wait_for(condition, 120), f"never: {what}"

    def close(self) -> None:
        """Stop listening and close every connection: their clients see the host hang up."""
        if not self._open:
            return
        self._open = False
        self._thread.join()
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    """A host that accepts connections and never answers, closed when the test ends."""
    hole = BlackHole()
    yield hole
    hole.close()


def health_check(channel: grpc.Channel) -> int:
    """Ask grpc.health.v1.Health/Check for the server (a safety deadline, not a measure)."""
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    answer: health_pb2.HealthCheckResponse = check(health_pb2.HealthCheckRequest(), timeout=60)
    return answer.status


def test_an_unreachable_postgresql_host_never_takes_the_workers_other_sessions_need(
    start_server: Callable[..., ServerProcess], black_hole: BlackHole, new_resource: NewDatabase
) -> None:
    # Four RPC threads at most: six attempts that all waited would take every one.
    server = start_server("--workers", "4")
    channel, stub = connect(server.address)
    answers: queue.Queue[grpc.Call | None] = queue.Queue()

    def attempt(number: int) -> None:
        url = f"postgresql://tester@127.0.0.1:{black_hole.port}/results{number}?connect_timeout=600"
        try:
            initialize(stub, url)
            answers.put(None)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            answers.put(error)

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(6)]
    with channel:
        for thread in threads:
            thread.start()
        refused = [answers.get(timeout=120) for _ in range(4)]
        for error in refused:
            assert error is not None and error.code() == grpc.StatusCode.UNAVAILABLE
            assert "2 attempts to 127.0.0.1:" in (error.details() or "")
        black_hole.wait_for(lambda: black_hole.accepted == 2, "two attempts connected")
        # While two attempts wait on the silent host, everything else is served.
        assert health_check(channel) == health_pb2.HealthCheckResponse.SERVING
        session_name = initialize(stub, new_resource()).session_name
        log(stub, session_name, "served meanwhile")
        assert [row["measurement_name"] for row in query(stub, session_name)] == [
            "served meanwhile"
        ]
        close(stub, session_name)
        assert answers.empty()  # the two attempts still wait
        black_hole.close()  # the host hangs up: they end
        for thread in threads:
            thread.join()
    waited = [answers.get_nowait() for _ in range(2)]
    assert all(
        error is not None and error.code() == grpc.StatusCode.UNAVAILABLE for error in waited
    )


def test_the_callers_deadline_ends_the_connection_attempt(
    stub: Stub, black_hole: BlackHole
) -> None:
    url = f"postgresql://tester@127.0.0.1:{black_hole.port}/results?connect_timeout=600"
    request = pb2.OpenDatabaseRequest(database_url=url)
    error = status_of(lambda: stub.OpenDatabase(request, timeout=3))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The server gave up too (connect_timeout 600 s would hold the attempt open).
    black_hole.wait_for(lambda: black_hole.hung_up == black_hole.accepted == 1, "hung up")


def test_a_connection_attempt_without_a_deadline_ends_at_the_default_connect_timeout(
    start_server: Callable[..., ServerProcess], black_hole: BlackHole
) -> None:
    server = start_server()
    channel, stub = connect(server.address)
    with channel:
        error = status_of(
            lambda: initialize(stub, f"postgresql://tester@127.0.0.1:{black_hole.port}/results")
        )
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert f"no answer within {CONNECT_TIMEOUT_SECONDS} s" in (error.details() or "")


def test_connections_get_a_connect_and_a_statement_timeout_unless_the_url_sets_them() -> None:
    plain = DatabaseUrl.parse("postgresql://h/r").parameters
    assert plain is not None
    assert connection_parameters(plain) == {
        **plain,
        "connect_timeout": str(CONNECT_TIMEOUT_SECONDS),
        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
    }
    own = DatabaseUrl.parse(
        "postgresql://h/r?connect_timeout=3&options=-c%20statement_timeout%3D5s"
    ).parameters
    assert own is not None
    assert connection_parameters(own) == own
    searched = DatabaseUrl.parse("postgresql://h/r?options=-c%20search_path%3Dlab").parameters
    assert searched is not None
    assert connection_parameters(searched)["options"] == (
        f"-c search_path=lab -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    )


def connect_to(url: str) -> psycopg.Connection[Any]:
    """A connection of the tests' own to the database of `url`."""
    parameters = DatabaseUrl.parse(url).parameters
    assert parameters is not None
    return psycopg.connect(psycopg.conninfo.make_conninfo(**parameters), autocommit=True)


def test_a_statement_over_statement_timeout_is_aborted_and_the_session_serves_on(
    stub: Stub, new_postgresql: NewDatabase
) -> None:
    url = new_postgresql() + "?options=-c%20statement_timeout%3D1000"  # 1 s
    session_name = initialize(stub, url).session_name
    with connect_to(url) as other, other.transaction():
        other.execute("LOCK TABLE results IN ACCESS EXCLUSIVE MODE")  # until the error
        error = status_of(lambda: log(stub, session_name, "blocked"))
    assert error.code() == grpc.StatusCode.ABORTED
    assert "statement_timeout" in (error.details() or "")
    log(stub, session_name, "after")
    assert [row["measurement_name"] for row in query(stub, session_name)] == ["after"]
    close(stub, session_name)


def test_a_statement_still_running_at_the_callers_deadline_is_cancelled(
    stub: Stub, new_postgresql: NewDatabase
) -> None:
    url = new_postgresql() + "?options=-c%20statement_timeout%3D0"  # no bound on the server
    session_name = initialize(stub, url).session_name
    with connect_to(url) as other, other.transaction():
        other.execute("LOCK TABLE results IN SHARE MODE")  # INSERT waits for it, SELECT not
        request = pb2.LogResultRequest(session_name=session_name, measurement_name="blocked")
        error = status_of(lambda: stub.LogResult(request, timeout=3))
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # The lock is still held: the session answers again only because the server
        # cancelled the INSERT at the caller's deadline (60 s: a guard, not a measure).
        rows = stub.QueryResults(pb2.QueryResultsRequest(session_name=session_name), timeout=60)
        assert list(rows.rows) == []
    log(stub, session_name, "after")
    assert [row["measurement_name"] for row in query(stub, session_name)] == ["after"]
    close(stub, session_name)


# ---------------------------------------------------------------------------
# The status that says what to do
# ---------------------------------------------------------------------------


def test_postgresql_refusals_answer_with_the_status_that_says_what_to_do(
    stub: Stub, postgresql: str, new_postgresql: NewDatabase
) -> None:
    parameters = DatabaseUrl.parse(postgresql).parameters
    assert parameters is not None
    host = f"{parameters['host']}:{parameters['port']}"
    server = f"postgresql://{parameters.get('user', 'postgres')}@{host}"
    cases = [
        (
            f"postgresql://nobody_here@{host}/postgres",
            grpc.StatusCode.PERMISSION_DENIED,
            "nobody_here",
        ),
        (f"{server}/postgres?sslmode=bogus", grpc.StatusCode.INVALID_ARGUMENT, "sslmode"),
        (f"{server}/postgres?no_such_option=1", grpc.StatusCode.INVALID_ARGUMENT, "no_such_option"),
        (
            f"{server}/postgres?options=-c%20no_such_setting%3D1",
            grpc.StatusCode.INVALID_ARGUMENT,
            "no_such_setting",
        ),
        (f"{server}/no_such_database", grpc.StatusCode.FAILED_PRECONDITION, "no_such_database"),
        (
            new_postgresql() + "?options=-c%20search_path%3Dno_such_schema",
            grpc.StatusCode.FAILED_PRECONDITION,
            "search_path",
        ),
    ]
    for url, code, says in cases:
        error = status_of(functools.partial(initialize, stub, url))
        assert (error.code(), says in (error.details() or "")) == (code, True), (
            url,
            error.details(),
        )


@pytest.mark.parametrize(
    ("name", "words"),
    [
        # Over 255 characters: refused by the Windows rule, everywhere, before any open.
        ("n" * 300, "Windows allows 255 per name"),
        # 200 characters a Windows station accepts, but 400 bytes in UTF-8: over the
        # 255 bytes of a Linux or macOS name, so the operating system refuses it.
        pytest.param(
            "\u00e9" * 200,
            "longer than the file system allows",
            marks=pytest.mark.skipif(
                sys.platform == "win32", reason="NTFS counts a name's characters, not bytes"
            ),
        ),
    ],
    ids=["windows-rule", "file-system"],
)
def test_a_name_longer_than_the_file_system_allows_is_invalid_argument(
    stub: Stub, tmp_path: Path, name: str, words: str
) -> None:
    error = status_of(lambda: initialize(stub, sqlite_url(tmp_path / (name + ".db"))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in (error.details() or "")


def test_a_long_path_is_quoted_shortened(stub: Stub, tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d" * 250] * 12) / "a.db"  # 3,000 characters, no such folder
    error = status_of(lambda: initialize(stub, sqlite_url(deep)))
    details = error.details() or ""
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # "does not exist"; on Windows without long paths, longer than the file system allows.
    assert "characters)" in details and len(details) < 1000


def test_a_database_that_lost_its_results_table_is_data_loss(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "dropped.db"
    close(stub, initialize(stub, sqlite_url(path)).session_name)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE results")
    connection.close()
    error = status_of(lambda: initialize(stub, sqlite_url(path)))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert "no results table" in (error.details() or "")


def test_a_database_with_damaged_pages_is_data_loss_and_kept(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    close(stub, initialize(stub, sqlite_url(path)).session_name)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # every page after the first, overwritten
    path.write_bytes(bytes(data))
    error = status_of(lambda: initialize(stub, sqlite_url(path)))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert "malformed" in (error.details() or "") and "backup" in (error.details() or "")
    assert path.read_bytes() == bytes(data)


# SQLite's CANTOPEN at the descriptor limit, run where the limit can be lowered
# without the test process feeling it: the server's own opening code, in a child.
_AT_THE_LIMIT = """
import os, resource, sys
from session_service_core.server.errors import ResourceExhaustedError
from results_database_server.resource import SQLiteDatabase

resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
try:
    SQLiteDatabase.open(sys.argv[1], "the database")
except ResourceExhaustedError as error:
    print("RESOURCE_EXHAUSTED", error)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX's; Windows has none")
def test_sqlite_unable_to_open_at_the_descriptor_limit_is_resource_exhausted(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _AT_THE_LIMIT, str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.startswith("RESOURCE_EXHAUSTED"), done.stdout + done.stderr
    assert "file descriptors" in done.stdout


# ---------------------------------------------------------------------------
# SQLite's WAL only where the OS says the file is on this computer
# ---------------------------------------------------------------------------

MOUNTINFO = "\n".join(
    [
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
        "30 22 0:40 / /mnt/results rw,relatime shared:5 - nfs4 filer:/results rw,vers=4.2",
        "31 30 8:2 / /mnt/results/local rw,relatime - xfs /dev/sdb1 rw",
        "32 22 0:41 / /srv/smb rw - cifs //nas/share rw",
        "33 22 0:42 / /srv/smb3 rw - smb3 //nas/share rw",
        "34 22 0:43 / /home/op/remote rw - fuse.sshfs op@host:/data rw",
        "35 22 0:44 / /var/lib/docker/overlay rw - overlay overlay rw",
        "36 22 0:45 / /mnt/with\\040space rw - nfs filer:/x rw",
        "37 22 0:46 / /mnt/c rw - 9p drvfs rw",
        "38 22 0:47 / /tmp rw - tmpfs tmpfs rw",
    ]
)


@pytest.mark.parametrize(
    ("path", "network"),
    [
        ("/data/results.db", False),
        ("/mnt/results/line1.db", True),
        ("/mnt/results/local/line1.db", False),  # a local mount inside the NFS one
        ("/mnt/resultsX/line1.db", False),  # not under /mnt/results
        ("/srv/smb/line1.db", True),
        ("/srv/smb3/line1.db", True),
        ("/home/op/remote/line1.db", True),
        ("/var/lib/docker/overlay/line1.db", False),
        ("/mnt/with space/line1.db", True),
        ("/mnt/c/Results/line1.db", True),
        ("/tmp/line1.db", False),
    ],
)
def test_linux_locations_are_classified_by_their_file_system_type(path: str, network: bool) -> None:
    assert is_network_location(path, windows=False, mountinfo=MOUNTINFO) is network


DRIVE_TYPES = {
    0: False,  # DRIVE_UNKNOWN
    1: False,  # DRIVE_NO_ROOT_DIR
    2: False,  # DRIVE_REMOVABLE
    3: False,  # DRIVE_FIXED
    4: True,  # DRIVE_REMOTE: a mapped network drive
    5: False,  # DRIVE_CDROM
    6: False,  # DRIVE_RAMDISK
}


@pytest.mark.parametrize(("answer", "network"), DRIVE_TYPES.items())
def test_windows_drives_are_classified_by_get_drive_type(answer: int, network: bool) -> None:
    roots: list[str] = []

    def drive_type(root: str) -> int:
        roots.append(root)
        return answer

    for path in ("Z:\\Results\\line1.db", "\\\\?\\Z:\\Results\\line1.db"):
        assert is_network_location(path, windows=True, drive_type=drive_type) is network
    assert roots == ["Z:\\", "Z:\\"]


@pytest.mark.parametrize(
    "path",
    ["\\\\nas\\share\\line1.db", "//nas/share/line1.db", "\\\\?\\UNC\\nas\\share\\line1.db"],
)
def test_windows_unc_paths_are_network_locations_without_asking_the_drive(path: str) -> None:
    def drive_type(root: str) -> int:
        raise AssertionError(f"asked for {root!r}")

    assert is_network_location(path, windows=True, drive_type=drive_type)


def test_a_database_on_this_computer_uses_wal(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    assert not on_network(str(path))  # the tests' temporary folder is local
    session_name = initialize(stub, sqlite_url(path)).session_name
    log(stub, session_name, "row")
    with sqlite3.connect(path) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    close(stub, session_name)
    assert mode == "wal"


def test_a_database_on_a_network_file_system_gets_a_rollback_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No network mount here: the OS's answer is given, the opening is the server's own.
    monkeypatch.setattr(resource_module, "on_network", lambda path: True)
    path = tmp_path / "shared.db"
    database = resource_module.SQLiteDatabase.open(str(path), "the database")
    database.close()
    with sqlite3.connect(path) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    assert mode == "delete"


@pytest.mark.skipif(not Path("/proc/self/mountinfo").exists(), reason="no /proc/self/mountinfo")
def test_this_computers_mountinfo_names_the_file_system_of_the_temporary_folder(
    tmp_path: Path,
) -> None:
    mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
    assert linux_file_system(os.path.realpath(tmp_path), mountinfo) != ""


# ---------------------------------------------------------------------------
# Values kept as data
# ---------------------------------------------------------------------------

VALUES: dict[str, Any] = {
    "voltage": 5.0,
    "count": 3,
    "on": True,
    "pins": ["SmuPin", "DmmPin"],
    "limits": {"low": -1.5, "high": None},
    "name": "DC sweep",
    "naïve": "ü",
}


def _keeps_what_json_cannot_hold() -> bool:
    """Whether resource.py stores texts JSON cannot hold as strings (a 0.4 resource.py does)."""
    value = getattr(resource_module, "_value", None)
    try:
        return value is not None and value("[1e400]") == "[1e400]" and value("[" * 100_000) != []
    except RecursionError:
        return False


@pytest.mark.skipif(
    not _keeps_what_json_cannot_hold(),
    reason="resource.py predates storing texts JSON cannot hold as strings: take _value "
    "from a new render's resource.py",
)
def test_texts_json_cannot_hold_are_stored_as_strings(
    server: ServerProcess, new_database: NewDatabase
) -> None:
    texts = {
        "h": "[1e400]",  # beyond a double inside a list
        "k": "[" * 100_000,  # nested beyond the parser's recursion limit
    }
    with ResultsDatabaseClient(new_database(), address=server.address) as session:
        session.log_result(measurement_name="texts", outputs=texts)
        (stored,) = session.results()
    assert stored["outputs"] == texts


def test_values_are_stored_as_json_values_and_returned_as_stored(
    server: ServerProcess, new_database: NewDatabase
) -> None:
    url = new_database()
    with ResultsDatabaseClient(url, address=server.address) as session:
        session.log("typed", configurations=VALUES, outputs={"in_compliance": [False, True]})
        # Texts as a caller of LogResult sends them: JSON where they parse, else strings.
        session.log_result(
            measurement_name="texts",
            outputs={
                "a": "1.0",
                "b": "[true]",
                "c": "['SmuPin']",
                "d": "NaN",
                "e": "1e400",
                "f": "",
                "g": '"quoted"',
                "i": " 2 ",  # white space around a value, as json.loads reads it
                "j": "pass",
            },
        )
        texts, typed = session.results()
    assert typed["configurations"] == VALUES
    assert typed["outputs"] == {"in_compliance": [False, True]}
    assert texts["outputs"] == {
        "a": 1.0,
        "b": [True],
        "c": "['SmuPin']",
        "d": "NaN",
        "e": "1e400",
        "f": "",
        "g": "quoted",
        "i": 2,
        "j": "pass",
    }
    if url.startswith("postgresql"):  # jsonb operators work on the values
        with connect_to(url) as connection:
            found = connection.execute(
                "SELECT outputs->'in_compliance'->>1, (configurations->>'voltage')::float "
                "FROM results WHERE measurement_name = 'typed'"
            ).fetchone()
        assert found == ("true", 5.0)
    else:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as database:
            found = database.execute(
                "SELECT json_extract(outputs, '$.in_compliance[1]'), "
                "json_extract(configurations, '$.voltage') FROM results "
                "WHERE measurement_name = 'typed'"
            ).fetchone()
        database.close()
        assert found == (1, 5.0)


def test_rows_written_before_stay_as_they_are(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    session_name = initialize(stub, sqlite_url(path)).session_name
    with sqlite3.connect(path) as connection:  # a row as earlier servers wrote it
        connection.execute(
            "INSERT INTO results (session, measurement_name, site, pin_names, timestamp, "
            "status, configurations, outputs, station) VALUES ('old', 'older', 0, '[]', "
            "'2026-01-01 00:00:00.000000', 'Passed', '{\"v\": \"1.0\"}', "
            "'{\"in_compliance\": \"[False]\"}', 'x')"
        )
    connection.close()
    (row,) = query(stub, session_name)
    close(stub, session_name)
    assert (row["configurations"], row["outputs"]) == ({"v": "1.0"}, {"in_compliance": "[False]"})
