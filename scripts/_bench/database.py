"""The database preset's rows: LogResult throughput and QueryResults on a large table.

Against the database render's own generated server and its own empty-handler
baseline (same proto, same thread pool), both started for this step. Each
backend gets the same rows: SQLite (a file per client, or one shared session)
and PostgreSQL on a server started here when initdb and pg_ctl are found; when
they are not, its rows have no figures and a note saying why.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _bench.figures import collect, medians
from _bench.load import DatabaseClient, close_all, timed_ms
from _bench.plan import Plan
from _bench.postgresql import PostgreSQL, running_postgresql
from _bench.project import (
    CONFIGURATIONS,
    INITIALIZE_NEW,
    MEASUREMENT,
    OUTPUTS,
    PIN_NAMES,
    SITE,
    STATION,
    STATUS,
)
from _bench.servers import (
    COMPARED,
    KIND_BASELINE,
    KIND_FLOOR,
    KIND_GENERATED,
    start_target,
    stop_target,
)
from _bench.table import Table
from _bench.throughput import (
    FLOOR_TARGET,
    Load,
    Targets,
    judged_rows,
    noise_row,
    throughput_row,
)

SQLITE, POSTGRESQL = "sqlite", "postgresql"
BACKEND_NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
# key suffix, label, clients, one shared session (each SQLite row has a floor row and
# FLOOR_TARGET; PostgreSQL's have no floor server, so no target)
LOG_ROWS = (
    ("1", "1 client", 1, False),
    ("8", "8 clients, own databases", 8, False),
    ("32", "32 clients, own databases", 32, False),
    ("shared_8", "8 clients, one shared session", 8, True),
    ("shared_32", "32 clients, one shared session", 32, True),
)
NOISE_ROW = "8"  # the row that is also measured A/A, baseline against a second baseline
MOST_CLIENTS = max(clients for _, _, clients, _ in LOG_ROWS)
TABLE_ROWS, QUERIED_ROWS = 100_000, 100  # QueryResults: the newest 100 of 100,000


def measure_database(table: Table, _targets: Targets, work: Path, plan: Plan) -> dict[str, Any]:
    """Add the database rows (SQLite, then PostgreSQL); return the servers' CPU as evidence."""
    evidence: dict[str, Any] = {}
    directory = work / "database"
    directory.mkdir()
    targets: Targets = {}
    try:
        for kind in COMPARED:
            targets[kind] = start_target(kind, directory, database=True)
        evidence[SQLITE] = _sqlite_rows(table, targets, directory, plan)
        _sqlite_noise_row(table, targets, directory, plan)
        _query_row(table, SQLITE, targets, _sqlite_table(targets, directory / "query.sqlite"), plan)
        with running_postgresql() as server:
            if isinstance(server, str):
                _skipped_rows(table, f"skipped: {server}")
                evidence[POSTGRESQL] = f"skipped: {server}"
            else:
                server.create_databases([f"bench_{i}" for i in range(MOST_CLIENTS)])
                postgresql_urls = functools.partial(_postgresql_urls, server)
                evidence[POSTGRESQL] = _log_rows(table, POSTGRESQL, targets, postgresql_urls, plan)
                _query_row(table, POSTGRESQL, targets, _postgresql_table(targets, server), plan)
    finally:
        for target in targets.values():
            stop_target(target)
    return evidence


def _sqlite_urls(directory: Path, clients: int, kind: str) -> list[str]:
    """One SQLite file per client (the baseline never opens its own)."""
    return [f"sqlite:///{(directory / f'{kind}-{i}.sqlite').as_posix()}" for i in range(clients)]


def _postgresql_urls(server: PostgreSQL, clients: int, kind: str) -> list[str]:
    """One database per client, made beforehand (shared by the kinds: the baseline opens none)."""
    return [server.url(f"bench_{i}") for i in range(clients)]


def _log_rows(
    table: Table,
    backend: str,
    targets: Targets,
    urls: Callable[[int, str], list[str]],
    plan: Plan,
) -> dict[str, Any]:
    """LogResult rows on a backend without a floor server (PostgreSQL's)."""
    cpu: dict[str, Any] = {}
    for suffix, label, clients, shared in LOG_ROWS:
        key = f"db_{backend}_{suffix}"
        load = Load(functools.partial(urls, clients), shared, 1, DatabaseClient)
        label = f"LogResult, {BACKEND_NAMES[backend]}, {label}"
        cpu[key] = throughput_row(table, key, label, targets, load, plan)
    return cpu


def _sqlite_noise_row(table: Table, targets: Targets, directory: Path, plan: Plan) -> None:
    """The SQLite row with a target, measured A/A: the baseline against a second baseline."""
    suffix, label, clients, shared = next(row for row in LOG_ROWS if row[0] == NOISE_ROW)
    urls = functools.partial(_sqlite_urls, directory, clients)
    load = Load(urls, shared, 1, DatabaseClient)
    second = start_target(KIND_BASELINE, directory, database=True)
    key, shown = f"db_{SQLITE}_{suffix}_aa", f"LogResult, {BACKEND_NAMES[SQLITE]}, {label}"
    noise_row(table, key, shown, (targets[KIND_BASELINE], second), load, plan)


def _sqlite_rows(table: Table, targets: Targets, directory: Path, plan: Plan) -> dict[str, Any]:
    """The SQLite LogResult rows, each with the floor server as a third subject.

    The floor is the baseline plus one committed INSERT per LogResult (see
    `servicers._database_floor`): its ratio is the most any server that commits
    each row in its own process reaches on this machine. Returns the servers' CPU.
    """
    floor = start_target(KIND_FLOOR, directory, database=True)
    rows = (
        (
            f"db_{SQLITE}_{suffix}",
            f"LogResult, {BACKEND_NAMES[SQLITE]}, {label}",
            f"Floor: LogResult, SQLite, {label}, bare INSERT as generated",
            Load(functools.partial(_sqlite_urls, directory, clients), shared, 1, DatabaseClient),
            FLOOR_TARGET,
        )
        for suffix, label, clients, shared in LOG_ROWS
    )
    return judged_rows(table, {**targets, KIND_FLOOR: floor}, rows, plan)


def _skipped_rows(table: Table, note: str) -> None:
    """PostgreSQL's rows without figures, each with `note` saying why."""
    for suffix, label, _, _ in LOG_ROWS:
        key, shown = f"db_{POSTGRESQL}_{suffix}", f"LogResult, PostgreSQL, {label}"
        table.add(key, shown, "records/s", dict.fromkeys(COMPARED)).note = note
    table.add(f"db_{POSTGRESQL}_query", _query_label(POSTGRESQL), "ms", {}).note = note


def _query_label(backend: str) -> str:
    return (
        f"QueryResults, newest {QUERIED_ROWS} of {TABLE_ROWS:,} rows, {BACKEND_NAMES[backend]}, p50"
    )


def _query_row(table: Table, backend: str, targets: Targets, url: str, plan: Plan) -> None:
    """Time QueryResults for the newest 100 rows of the filled table at `url`.

    The baseline answers with no rows: the gen/base ratio is what the database,
    and turning 100 rows into JSON and sending them, cost over a bare call.
    """
    clients = {kind: DatabaseClient(targets[kind].address) for kind in COMPARED}
    names = {kind: clients[kind].initialize(url, INITIALIZE_NEW) for kind in COMPARED}
    got = clients[KIND_GENERATED].query(names[KIND_GENERATED], QUERIED_ROWS)
    if got != QUERIED_ROWS:
        raise RuntimeError(f"QueryResults on {url} answered {got} rows, not {QUERIED_ROWS}")

    def query(kind: str) -> list[float]:
        call = functools.partial(clients[kind].query, names[kind], QUERIED_ROWS)
        return timed_ms(call, plan.latency_batch)

    samples = collect(list(COMPARED), plan.latency_rounds, query)
    for kind in COMPARED:
        clients[kind].close_session(names[kind])
    close_all(clients.values())
    table.add(f"db_{backend}_query", _query_label(backend), "ms", medians(samples))


def _filled_rows() -> tuple[str, str, int, str, str, str, str, str]:
    """The fields every row of the large table shares: a result as LogResult stores it."""
    return (
        str(uuid.uuid4()),
        MEASUREMENT,
        SITE,
        json.dumps(list(PIN_NAMES)),
        STATUS,
        json.dumps(CONFIGURATIONS),
        json.dumps(OUTPUTS),
        STATION,
    )


def _sqlite_table(targets: Targets, path: Path) -> str:
    """A SQLite file of TABLE_ROWS results, a millisecond apart; return its URL.

    The schema is the resource's own: a session of the generated server creates
    it, then this process adds the rows directly, far faster than through the RPC.
    """
    url = f"sqlite:///{path.as_posix()}"
    _create_schema(targets, url)
    session, name, site, pins, status, configurations, outputs, station = _filled_rows()
    start = datetime(2025, 1, 1)
    rows = (
        (
            session,
            name,
            site,
            pins,
            (start + timedelta(milliseconds=i)).isoformat(sep=" ", timespec="microseconds"),
            status,
            configurations,
            outputs,
            station,
        )
        for i in range(TABLE_ROWS)
    )
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.executemany(
            "INSERT INTO results (session, measurement_name, site, pin_names, timestamp, "
            "status, configurations, outputs, station) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return url


def _postgresql_table(targets: Targets, server: PostgreSQL) -> str:
    """A PostgreSQL database of TABLE_ROWS results, a millisecond apart; return its URL.

    As for SQLite, the generated server creates the schema; the rows come from one
    INSERT ... SELECT over generate_series, and ANALYZE gives the planner the
    statistics autovacuum would have gathered on a table that grew over time.
    """
    server.create_databases(["bench_query"])
    url = server.url("bench_query")
    _create_schema(targets, url)
    session, name, site, pins, status, configurations, outputs, station = _filled_rows()
    with server.connect("bench_query") as connection:
        connection.execute(
            "INSERT INTO results (session, measurement_name, site, pin_names, timestamp, "
            "status, configurations, outputs, station) "
            "SELECT %s, %s, %s, %s::jsonb, "
            "timestamptz '2025-01-01 00:00:00+00' + i * interval '1 millisecond', "
            "%s, %s::jsonb, %s::jsonb, %s FROM generate_series(0, %s) AS i",
            (session, name, site, pins, status, configurations, outputs, station, TABLE_ROWS - 1),
        )
        connection.execute("ANALYZE results")
    return url


def _create_schema(generated: Targets, url: str) -> None:
    """Open and close a session on `url` on the generated server: it creates the schema."""
    client = DatabaseClient(generated[KIND_GENERATED].address)
    client.close_session(client.initialize(url, INITIALIZE_NEW))
    client.close()
