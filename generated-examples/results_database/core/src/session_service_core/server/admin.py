"""Session administration: the SessionAdmin service beside the resource's, and its CLI.

The service lives in a proto package of its own (session_service_core.admin.v1),
so the resource's wire contract is unchanged. Closing through it is a normal
close: clients of the session then get NOT_FOUND. A render's command line is

    python -m SERVER_PACKAGE sessions list [--json]
    python -m SERVER_PACKAGE sessions close SESSION_NAME
    python -m SERVER_PACKAGE sessions close --resource RESOURCE

Without --address HOST:PORT the CLI finds the server through NI Discovery Service
(the local runtime when NI_LOCAL_RUNTIME is set). Exit codes: 0 done, 1 the server
refused or could not be reached, 2 a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from ..client.connection import ServiceConnection, ServiceIdentity, ServiceNotFoundError
from ..stubs import session_admin_pb2 as admin_pb2
from ..stubs import session_admin_pb2_grpc as admin_pb2_grpc
from .errors import NotFoundError, ServiceError, shown
from .sessions import Session, SessionRegistry

SERVICE_NAME = admin_pb2.DESCRIPTOR.services_by_name["SessionAdmin"].full_name


def _timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def _summary(session: Session[Any]) -> admin_pb2.SessionSummary:
    return admin_pb2.SessionSummary(
        session_name=session.name,
        resource_key=session.resource_key,
        created=_timestamp(session.created),
        last_used=_timestamp(session.last_used),
        call_count=session.calls,
        attach_count=session.attaches,
    )


class SessionAdminServicer(admin_pb2_grpc.SessionAdminServicer):
    """Lists and closes the registry's sessions."""

    def __init__(
        self,
        registry: SessionRegistry[Any],
        resource_key: Callable[[str], str],
        command: str,
    ) -> None:
        """Serve `registry`; `resource_key` is the resource class's, `command` the server's CLI."""
        self._registry = registry
        self._resource_key = resource_key
        self._list_command = f"{command} sessions list"

    def ListSessions(  # noqa: N802  (gRPC's method names)
        self, request: admin_pb2.ListSessionsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListSessionsResponse:
        """Return every open session, oldest first."""
        sessions = [_summary(session) for session in self._registry.sessions()]
        return admin_pb2.ListSessionsResponse(sessions=sessions)

    def CloseSession(  # noqa: N802
        self, request: admin_pb2.CloseSessionRequest, context: grpc.ServicerContext
    ) -> admin_pb2.CloseSessionResponse:
        """Close one session for every client."""
        try:
            self._registry.close(request.session_name)
        except NotFoundError as error:
            context.abort(error.code, f"{error} List the open sessions with: {self._list_command}")
        except Exception as error:  # noqa: BLE001  (the server keeps serving)
            context.abort(
                grpc.StatusCode.INTERNAL,
                f"closing {shown(request.session_name)} failed: {type(error).__name__}: {error}",
            )
        return admin_pb2.CloseSessionResponse()

    def CloseResourceSessions(  # noqa: N802
        self, request: admin_pb2.CloseResourceSessionsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.CloseResourceSessionsResponse:
        """Close the session of a resource, named by its key or as a client names it."""
        session = self._registry.find_by_resource(request.resource)
        if session is None:
            try:
                key = self._resource_key(request.resource)
            except ServiceError:
                key = None
            session = self._registry.find_by_resource(key) if key is not None else None
        if session is None:
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"No session is open for the resource {shown(request.resource)}. "
                f"List the open sessions and their resource keys with: {self._list_command}",
            )
        with contextlib.suppress(NotFoundError):  # a client may have closed it meanwhile
            self._registry.close(session.name)
        return admin_pb2.CloseResourceSessionsResponse(closed_session_names=[session.name])


def _parse(argv: list[str], command: str, display_name: str) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="the server's address (default: ask NI Discovery Service)",
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser = argparse.ArgumentParser(
        prog=f"{command} sessions",
        description=f"List or close the sessions of a running {display_name} server.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", parents=[common], help="list the open sessions")
    close = commands.add_parser(
        "close", parents=[common], help="close a session, or the session of a resource"
    )
    which = close.add_mutually_exclusive_group(required=True)
    which.add_argument("session_name", nargs="?", help="the session to close")
    which.add_argument("--resource", help="close the session of this resource (key or name)")
    return parser.parse_args(argv)


def _rows(response: admin_pb2.ListSessionsResponse) -> list[dict[str, Any]]:
    def iso(stamp: Timestamp) -> str:
        moment = datetime.fromtimestamp(stamp.ToNanoseconds() / 1e9, tz=timezone.utc)
        return moment.isoformat(timespec="seconds")

    return [
        {
            "session_name": s.session_name,
            "resource_key": s.resource_key,
            "created": iso(s.created),
            "last_used": iso(s.last_used),
            "calls": s.call_count,
            "attaches": s.attach_count,
        }
        for s in response.sessions
    ]


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No open sessions."
    headers = list(rows[0])
    cells = [headers] + [[str(row[h]) for h in headers] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def main(argv: list[str], service: ServiceIdentity, command: str) -> int:
    """Run one `sessions` command against `service`'s server; return the exit code."""
    args = _parse(argv, command, service.display_name)
    connection = ServiceConnection(service, address=args.address)
    try:
        channel = connection.channel()
    except ServiceNotFoundError as error:
        cause = error.__cause__
        said = cause.details() if isinstance(cause, grpc.Call) else str(cause or error)
        print(
            f"error: NI Discovery Service could not locate {service.describe()}: {said}\n"
            f"Start the server ({service.start_hint}), or pass --address HOST:PORT.",
            file=sys.stderr,
        )
        return 1
    stub = admin_pb2_grpc.SessionAdminStub(channel)
    try:
        if args.command == "list":
            rows = _rows(stub.ListSessions(admin_pb2.ListSessionsRequest(), timeout=30))
            print(json.dumps(rows, indent=2) if args.json else _table(rows))
            return 0
        if args.resource is not None:
            request = admin_pb2.CloseResourceSessionsRequest(resource=args.resource)
            closed = list(stub.CloseResourceSessions(request, timeout=30).closed_session_names)
        else:
            name = args.session_name
            stub.CloseSession(admin_pb2.CloseSessionRequest(session_name=name), timeout=30)
            closed = [name]
    except grpc.RpcError as error:
        code = error.code().name if isinstance(error, grpc.Call) else "ERROR"
        details = error.details() if isinstance(error, grpc.Call) else str(error)
        if code == "UNAVAILABLE":
            details = f"no server answers at {connection.address} ({details})"
        print(f"error: {code}: {details}", file=sys.stderr)
        return 1
    print(json.dumps({"closed": closed}) if args.json else f"Closed {', '.join(closed)}.")
    return 0
