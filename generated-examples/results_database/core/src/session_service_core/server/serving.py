"""Serve one session-managed service on localhost until asked to stop.

A render's main.py describes its service (a `ServedService`) and calls `main`.
NI Discovery Service starts the server through start.bat with no console, so
stopping never depends on stdin: SIGINT, SIGTERM, Windows' Ctrl+C, Ctrl+Break
and console close, or Enter at a real console (see session_service_core.stopping).
Every clean stop unregisters and closes every session.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from .. import local_runtime
from ..client.connection import ServiceIdentity
from ..stopping import stop_requests
from ..stubs import session_admin_pb2_grpc as admin_pb2_grpc
from .admin import SERVICE_NAME as ADMIN_SERVICE
from .admin import SessionAdminServicer
from .admin import main as sessions_command
from .discovery import AlreadyRunningError, ServiceConfigError, load_service_info, registered
from .pool import RUNNERS, RunnerPool
from .sessions import SessionRegistry
from .standard_services import RpcLogger, add_standard_services
from .status import refusing_undecodable

HOST = "localhost"
# Most RPC threads by default; RUNNERS of them run RPCs, more only while RPCs block.
DEFAULT_WORKERS = 32
# Seconds in-flight RPCs get to finish once a stop is asked for. Unregistering, this
# and closing the sessions stay within the 5 s Windows allows after a console close.
SHUTDOWN_GRACE = 2.0
_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedService:
    """What serving needs to know of one service; a render's main.py fills it in."""

    identity: ServiceIdentity
    """How NI Discovery Service knows the service (the client's SERVICE)."""
    full_name: str
    """The gRPC service's full name, as health checking and reflection list it."""
    command: str
    """How a user starts the server, e.g. ``python -m json_logger_server``."""
    service_config: Path
    """The .serviceconfig to register from unless --service-config names another."""
    resource_key: Callable[[str], str]
    """The resource class's `resource_key`: the admin CLI closes by name or by key."""
    add_servicer: Callable[[SessionRegistry[Any], grpc.Server], None]
    """Adds the service's servicer, serving sessions from the registry, to the server."""


def parse_args(service: ServedService, argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog=service.command,
        description=f"Serve the {service.identity.display_name} on localhost, with gRPC "
        "health checking, server reflection and session administration on the same port.",
        epilog=f"List or close the running server's sessions: {service.command} sessions --help",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port; 0 (default) picks a free one"
    )
    parser.add_argument(
        "--no-discovery", action="store_true", help="do not register with NI Discovery Service"
    )
    parser.add_argument(
        "--service-config",
        type=Path,
        default=service.service_config,
        help="the .serviceconfig to register from (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"most RPC threads (default: %(default)s); {RUNNERS} run RPCs, more only while "
        "RPCs block (see pool.py)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is out of range; use 0 (any free port) to 65535")
    if args.workers < 1:
        parser.error(f"--workers {args.workers} must be at least 1")
    return args


def raise_open_file_limit() -> None:
    """Lift the soft limit on open files to the hard limit (POSIX; Windows has none to lift).

    A resource may hold a descriptor per open session (the JSON logger holds its
    file), and many systems start processes with a soft limit of 1,024, which one
    station's plug-ins can reach; the hard limit is what the system allows.
    """
    if sys.platform == "win32":
        return
    import resource as limits  # the standard library's, not this package's .resource

    soft, hard = limits.getrlimit(limits.RLIMIT_NOFILE)
    if soft == limits.RLIM_INFINITY or (hard != limits.RLIM_INFINITY and soft >= hard):
        return
    try:
        limits.setrlimit(limits.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as error:  # e.g. macOS refuses an infinite soft limit
        _logger.debug("Keeping the open file limit at %s: %s", soft, error)


def thread_pool(workers: int) -> RunnerPool:
    """The pool the server runs RPC handlers on (scripts/bench.py gives its baseline the same)."""
    return RunnerPool(max_workers=workers, runners=min(RUNNERS, workers))


def main(service: ServedService, argv: list[str] | None = None) -> int:
    """Serve until asked to stop, closing every session on the way out; or run `sessions`."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["sessions"]:
        return sessions_command(arguments[1:], service.identity, service.command)
    args = parse_args(service, arguments)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    raise_open_file_limit()
    try:
        service_info = None if args.no_discovery else load_service_info(args.service_config)
    except ServiceConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    registry: SessionRegistry[Any] = SessionRegistry()
    pool = thread_pool(args.workers)
    interceptors: list[grpc.ServerInterceptor] = []
    if RpcLogger.is_enabled():  # -v: log each RPC with its status and duration
        interceptors.append(RpcLogger())
    # so_reuseport off: a second server on a busy port must fail, not share the port.
    # gRPC only calls the pool's submit(); its type stubs ask for a ThreadPoolExecutor.
    options = [("grpc.so_reuseport", 0)]
    server = grpc.server(pool, interceptors=interceptors, options=options)  # type: ignore[arg-type]
    # Requests that do not parse reach the handlers, which answer INVALID_ARGUMENT.
    service.add_servicer(registry, refusing_undecodable(server))
    admin = SessionAdminServicer(registry, service.resource_key, service.command)
    admin_pb2_grpc.add_SessionAdminServicer_to_server(admin, server)
    health = add_standard_services(server, [service.full_name, ADMIN_SERVICE])
    try:
        port = server.add_insecure_port(f"{HOST}:{args.port}")
    except RuntimeError as error:
        print(
            f"error: cannot listen on {HOST}:{args.port} ({error}); is the port in use?",
            file=sys.stderr,
        )
        return 1
    with stop_requests() as stopper:
        server.start()
        # The stop's order: health NOT_SERVING, no new calls, sessions closed, and last
        # the registration (which the stack, exited after the finally, withdraws).
        with ExitStack() as stack:
            try:
                if service_info is not None:
                    try:
                        stack.enter_context(registered(service_info, port))
                    except AlreadyRunningError as error:
                        print(f"error: {error}", file=sys.stderr)
                        return 1
                    except Exception as error:  # noqa: BLE001  (the SDK raises several kinds)
                        print(
                            "error: could not register with NI Discovery Service "
                            f"({type(error).__name__}: {error}). Start NI Discovery Service, "
                            f"or pass --no-discovery to serve without it.{local_runtime.hint()}",
                            file=sys.stderr,
                        )
                        return 1
                print(f"listening on {HOST}:{port}", flush=True)
                stopper.wait()
            finally:
                health.enter_graceful_shutdown()
                server.stop(grace=SHUTDOWN_GRACE).wait()
                pool.shutdown(wait=False)
                still_open = len(registry)
                failures = registry.close_all()
                for name, failure in failures:
                    _logger.error("Closing session %s failed: %s", name, failure)
                closed = still_open - len(failures)
                _logger.info("Stopped (%s); closed %d session(s).", stopper.reason, closed)
    return 0
