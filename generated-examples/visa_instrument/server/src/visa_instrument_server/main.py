"""Command line: serve VisaInstrument on localhost until asked to stop.

Template-owned. NI Discovery Service starts the server through start.bat with no
console, so stopping never depends on stdin: SIGINT, SIGTERM, Windows' Ctrl+C,
Ctrl+Break and console close, or Enter at a real console (see
visa_instrument_client.stopping). Every clean stop unregisters and closes every session.
"""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import ExitStack
from pathlib import Path

import grpc

from visa_instrument_client import local_runtime
from visa_instrument_client.stopping import stop_requests
from visa_instrument_client.stubs import visa_instrument_admin_pb2_grpc as admin_pb2_grpc
from visa_instrument_client.stubs import visa_instrument_pb2 as pb2
from visa_instrument_client.stubs import visa_instrument_pb2_grpc as pb2_grpc

from .admin import SERVICE_NAME as ADMIN_SERVICE
from .admin import SessionAdminServicer
from .admin import main as sessions_command
from .discovery import AlreadyRunningError, ServiceConfigError, load_service_info, registered
from .pool import RUNNERS, RunnerPool
from .resource import VisaInstrumentResource
from .servicer import VisaInstrumentServicer
from .sessions import SessionRegistry
from .standard_services import RpcLogger, add_standard_services
from .status import refusing_undecodable

HOST = "localhost"
SESSIONS_HELP = "python -m visa_instrument_server sessions --help"
# The .serviceconfig sits in the server project directory, three levels above this file.
SERVER_DIRECTORY = Path(__file__).resolve().parents[2]
DEFAULT_SERVICE_CONFIG = SERVER_DIRECTORY / "VisaInstrument.serviceconfig"
# Seconds in-flight RPCs get to finish once a stop is asked for. Unregistering, this
# and closing the sessions stay within the 5 s Windows allows after a console close.
SHUTDOWN_GRACE = 2.0
_logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m visa_instrument_server",
        description="Serve the VisaInstrument service on localhost, with gRPC health "
        "checking, server reflection and session administration on the same port.",
        epilog=f"List or close the running server's sessions: {SESSIONS_HELP}",
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
        default=DEFAULT_SERVICE_CONFIG,
        help="the .serviceconfig to register from (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=32,
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


def main(argv: list[str] | None = None) -> int:
    """Serve until asked to stop, closing every session on the way out; or run `sessions`."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["sessions"]:
        return sessions_command(arguments[1:])
    args = parse_args(arguments)
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

    registry: SessionRegistry[VisaInstrumentResource] = SessionRegistry()
    pool = thread_pool(args.workers)
    interceptors: list[grpc.ServerInterceptor] = []
    if RpcLogger.is_enabled():  # -v: log each RPC with its status and duration
        interceptors.append(RpcLogger())
    # so_reuseport off: a second server on a busy port must fail, not share the port.
    # gRPC only calls the pool's submit(); its type stubs ask for a ThreadPoolExecutor.
    options = [("grpc.so_reuseport", 0)]
    server = grpc.server(pool, interceptors=interceptors, options=options)  # type: ignore[arg-type]
    servicer = VisaInstrumentServicer(registry)
    # Requests that do not parse reach the handlers, which answer INVALID_ARGUMENT.
    pb2_grpc.add_VisaInstrumentServicer_to_server(servicer, refusing_undecodable(server))
    admin_pb2_grpc.add_SessionAdminServicer_to_server(SessionAdminServicer(registry), server)
    own_service = pb2.DESCRIPTOR.services_by_name["VisaInstrument"].full_name
    health = add_standard_services(server, [own_service, ADMIN_SERVICE])
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
