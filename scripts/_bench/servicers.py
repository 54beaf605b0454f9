"""The baseline, reference and floor servers, run as `scripts/bench.py --serve KIND`.

Each serves its render's generated proto on the generated server's thread pool,
so it differs from the generated server only in what its handlers do: the
baseline and reference on the JSON logger's, the database baseline and floor on
the database render's, the VISA baseline and floor on the VISA instrument render's.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from _bench.project import INITIALIZE_NEW, Modules, database_modules, modules, visa_modules
from _bench.servers import (
    KIND_BASELINE,
    KIND_FLOOR,
    KIND_FLOOR_ORJSON,
    LISTENING,
    SERVE_DATABASE_BASELINE,
    SERVE_DATABASE_FLOOR,
    SERVE_VISA_BASELINE,
    SERVE_VISA_FLOOR,
)


def serve(kind: str) -> int:
    """Serve a baseline, floor or reference-style servicer until stdin closes or SIGTERM.

    On the generated server's thread pool, built by its own `thread_pool()` with
    its default size (renders from before it had one get the plain pool they used).
    """
    if kind in (SERVE_DATABASE_BASELINE, SERVE_DATABASE_FLOOR):
        d = database_modules()
        server = _server(d.grpc, d.server_main)
        baseline = _database_baseline_servicer()
        servicer = baseline if kind == SERVE_DATABASE_BASELINE else _database_floor(baseline)
        d.pb2_grpc.add_ResultsDatabaseServicer_to_server(servicer, server)
    elif kind in (SERVE_VISA_BASELINE, SERVE_VISA_FLOOR):
        v = visa_modules()
        server = _server(v.grpc, v.server_main)
        baseline = _visa_baseline_servicer()
        servicer = baseline if kind == SERVE_VISA_BASELINE else _visa_floor(baseline)
        v.pb2_grpc.add_VisaInstrumentServicer_to_server(servicer, server)
    else:
        m = modules()
        servicers: dict[str, Callable[[Modules], Any]] = {
            KIND_BASELINE: _baseline_servicer,
            KIND_FLOOR: _json_logger_floor,
            KIND_FLOOR_ORJSON: functools.partial(_json_logger_floor, encoder="orjson"),
        }
        servicer = servicers.get(kind, _reference_servicer)(m)
        server = _server(m.grpc, m.server_main)
        m.pb2_grpc.add_JsonLoggerServicer_to_server(servicer, server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    print(f"{LISTENING}localhost:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()
    server.stop(grace=1).wait()
    return 0


def _server(grpc: Any, server_main: Any) -> Any:
    """A gRPC server on the pool the generated server builds by default."""
    pool = server_main.thread_pool(server_main.DEFAULT_WORKERS)  # the generated server's pool
    return grpc.server(pool, options=[("grpc.so_reuseport", 0)])


def _database_baseline_servicer() -> Any:
    """The database render's handlers, doing nothing but return an empty response.

    Made from the service's descriptor: one handler per RPC, returning its response type.
    """
    d = database_modules()
    service = d.pb2.DESCRIPTOR.services_by_name["ResultsDatabase"]
    handlers = {
        method.name: _empty_handler(getattr(d.pb2, method.output_type.name))
        for method in service.methods
    }
    return type("DatabaseBaseline", (d.pb2_grpc.ResultsDatabaseServicer,), handlers)()


def _database_floor(baseline: Any) -> Any:
    """The database baseline plus what no LogResult can leave out: its row, committed.

    OpenDatabase has the generated resource create the SQLite file's schema and
    indexes, then connects as it does (WAL, synchronous=NORMAL, autocommit).
    LogResult turns the request into the row's values (each configuration and
    output stored as the JSON value its text holds, as the contract says since
    issue 25, converted by the resource's own `_value`) and inserts them under the
    connection's lock, committed when execute returns. No session table, checks
    or error mapping: a server that commits each row in its own process cannot do
    less, so this server's ratio bounds the ratio any such server reaches.
    """
    d = database_modules()
    resource, pb2 = d.resource, d.pb2
    opened: dict[str, tuple[sqlite3.Connection, threading.Lock]] = {}
    opening = threading.Lock()
    to_json = json.JSONEncoder(ensure_ascii=False).encode
    value = resource._value  # noqa: SLF001  (the contract's conversion, as the resource does it)
    insert = f"INSERT INTO results ({resource.INSERTED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

    def open_database(self: Any, request: Any, context: Any) -> Any:
        url = resource.DatabaseUrl.parse(request.database_url)
        with opening:
            if url.key in opened:
                return pb2.OpenDatabaseResponse(session_name=url.key, new_session=False)
            resource.SQLiteDatabase.open(url.path, url.key).close()  # the schema, WAL mode
            connection = sqlite3.connect(url.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA synchronous=NORMAL")
            opened[url.key] = (connection, threading.Lock())
        return pb2.OpenDatabaseResponse(session_name=url.key, new_session=True)

    def log_result(self: Any, request: Any, context: Any) -> Any:
        connection, lock = opened[request.session_name]
        values = (
            request.session_name,
            request.measurement_name,
            request.site,
            to_json(list(request.pin_names)),
            request.timestamp.ToDatetime().isoformat(sep=" ", timespec="microseconds"),
            request.status,
            to_json({key: value(text) for key, text in request.configurations.items()}),
            to_json({key: value(text) for key, text in request.outputs.items()}),
            request.station,
        )
        with lock:
            row_id = connection.execute(insert, values).lastrowid
        return pb2.LogResultResponse(result_id=row_id)

    handlers = {"OpenDatabase": open_database, "LogResult": log_result}
    return type("DatabaseFloor", (type(baseline),), handlers)()


def _visa_baseline_servicer() -> Any:
    """The VISA render's handlers, doing nothing but return an empty response."""
    v = visa_modules()
    service = v.pb2.DESCRIPTOR.services_by_name["VisaInstrument"]
    handlers = {
        method.name: _empty_handler(getattr(v.pb2, method.output_type.name))
        for method in service.methods
    }
    return type("VisaBaseline", (v.pb2_grpc.VisaInstrumentServicer,), handlers)()


def _visa_floor(baseline: Any) -> Any:
    """The VISA baseline plus what no Query can leave out: pyvisa-sim answering it.

    Initialize opens the resource on pyvisa's default backend (the run's
    PYVISA_LIBRARY: the render's simulated bench DMM) with the terminations the
    generated server sets; Query writes the command and reads the answer under the
    instrument's lock. No session table, checks or error mapping.
    """
    pyvisa = importlib.import_module("pyvisa")  # the bench venv has it (the VISA render's)
    pb2 = visa_modules().pb2
    manager = pyvisa.ResourceManager()
    opened: dict[str, tuple[Any, threading.Lock]] = {}
    opening = threading.Lock()

    def initialize(self: Any, request: Any, context: Any) -> Any:
        name = request.resource_name
        with opening:
            if name in opened:
                return pb2.InitializeResponse(session_name=name, new_session=False)
            instrument = manager.open_resource(name, read_termination="\n", write_termination="\n")
            opened[name] = (instrument, threading.Lock())
        return pb2.InitializeResponse(session_name=name, new_session=True)

    def query(self: Any, request: Any, context: Any) -> Any:
        instrument, lock = opened[request.session_name]
        with lock:
            answer = instrument.query(request.command)
        return pb2.QueryResponse(response=answer)

    handlers = {"Initialize": initialize, "Query": query}
    return type("VisaFloor", (type(baseline),), handlers)()


def _empty_handler(response: Callable[[], Any]) -> Callable[[Any, Any, Any], Any]:
    """A handler method that returns a new, empty `response`."""

    def handler(self: Any, request: Any, context: Any) -> Any:
        return response()

    return handler


def _baseline_servicer(m: Modules) -> Any:
    """Handlers that do nothing but return an empty response."""
    pb2 = m.pb2
    base: Any = m.pb2_grpc.JsonLoggerServicer

    class Baseline(base):  # type: ignore[misc]  # the generated base class is Any here
        def InitializeFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            return pb2.InitializeFileResponse()

        def LogMeasurementData(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            return pb2.LogMeasurementDataResponse()

        def CloseFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            return pb2.CloseFileResponse()

    return Baseline()


def _json_logger_floor(m: Modules, encoder: str = "json") -> Any:
    """The baseline plus what no server keeping the contract can leave out.

    InitializeFile opens the file for appending (a session per path; attaching
    returns it) and CloseFile closes it. LogMeasurementData checks that the path
    still names the open file (one os.stat: the contract says a record goes to
    the file the path names now), builds the record as the generated resource
    does (NI's timestamp format, the two maps, one JSON line) and writes it with
    one os.write under the file's lock. No session registry, checks or error
    mapping. `encoder` "orjson" builds the line with orjson instead of json.
    """
    pb2 = m.pb2
    opened: dict[str, tuple[int, threading.Lock]] = {}
    opening = threading.Lock()
    to_line = _line_encoder(encoder)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
    base: Any = type(_baseline_servicer(m))

    class Floor(base):  # type: ignore[misc]  # the generated base class is Any here
        def InitializeFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            path = os.path.realpath(request.file_path)
            with opening:
                if path in opened:
                    return pb2.InitializeFileResponse(session_name=path, new_session=False)
                opened[path] = (os.open(path, flags, 0o666), threading.Lock())
            return pb2.InitializeFileResponse(session_name=path, new_session=True)

        def LogMeasurementData(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            descriptor, lock = opened[request.session_name]
            os.stat(request.session_name)  # does the path still name this file?
            record = {
                "timestamp": request.timestamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"),
                "measurement_name": request.measurement_name,
                "measurement_configurations": dict(request.measurement_configurations),
                "measurement_outputs": dict(request.measurement_outputs),
            }
            line = to_line(record)
            with lock:
                os.write(descriptor, line)
            return pb2.LogMeasurementDataResponse()

        def CloseFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            with opening:
                descriptor, _ = opened.pop(request.session_name)
            os.close(descriptor)
            return pb2.CloseFileResponse()

    return Floor()


def _line_encoder(encoder: str) -> Callable[[dict[str, Any]], bytes]:
    """A function from a record to its line in UTF-8, through json or orjson."""
    if encoder == "orjson":
        import orjson  # type: ignore[import-not-found,unused-ignore]  # the bench environment's

        option = orjson.OPT_APPEND_NEWLINE

        return lambda record: orjson.dumps(record, option=option)
    to_json = json.JSONEncoder(ensure_ascii=False).encode
    return lambda record: (to_json(record) + "\n").encode("utf-8")


def _reference_servicer(m: Modules) -> Any:
    """NI's reference design as published: every InitializeFile re-reads and parses the log.

    Written from that description only. Sessions live in dictionaries; opening,
    attaching and the behaviour table work as in the generated server, so the
    only difference measured is the full read on every Initialize.
    """
    pb2, grpc = m.pb2, m.grpc
    base: Any = m.pb2_grpc.JsonLoggerServicer

    class Reference(base):  # type: ignore[misc]  # the generated base class is Any here
        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._by_name: dict[str, tuple[str, IO[str], threading.Lock]] = {}
            self._by_path: dict[str, str] = {}

        def InitializeFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            path = os.path.realpath(request.file_path)
            if os.path.exists(path):  # the whole log, parsed, on every call
                with open(path, encoding="utf-8") as handle:
                    _records = [json.loads(line) for line in handle if line.strip()]
            with self._lock:
                name = self._by_path.get(path)
                if name is not None:
                    if request.initialization_behavior == INITIALIZE_NEW:
                        context.abort(grpc.StatusCode.ALREADY_EXISTS, "session already open")
                    return pb2.InitializeFileResponse(session_name=name, new_session=False)
                name = f"session-{len(self._by_name)}-{time.monotonic_ns()}"
                handle = open(path, "a", encoding="utf-8")  # noqa: SIM115  (kept open)
                self._by_name[name] = (path, handle, threading.Lock())
                self._by_path[path] = name
            return pb2.InitializeFileResponse(session_name=name, new_session=True)

        def LogMeasurementData(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            with self._lock:
                _path, handle, lock = self._by_name[request.session_name]
            record = {
                "timestamp": request.timestamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"),
                "measurement_name": request.measurement_name,
                "measurement_configurations": dict(request.measurement_configurations),
                "measurement_outputs": dict(request.measurement_outputs),
            }
            with lock:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
            return pb2.LogMeasurementDataResponse()

        def CloseFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            with self._lock:
                entry = self._by_name.pop(request.session_name, None)
                if entry is not None:
                    del self._by_path[entry[0]]
            if entry is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no such session")
            else:
                entry[1].close()
            return pb2.CloseFileResponse()

    return Reference()
