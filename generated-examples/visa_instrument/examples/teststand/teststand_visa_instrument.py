"""TestStand code modules that share VisaInstrument sessions across a sequence.

ProcessSetup (or a Setup step) calls `create_sessions(sequence_context)`: it opens
every VisaInstrument resource in the pin map with INITIALIZE_SESSION_THEN_DETACH
and registers the sessions with NI Session Management Service, so the
measurement steps (AUTO) attach to them. ProcessCleanup calls
`destroy_sessions(sequence_context)`: it attaches with ATTACH_TO_SESSION_THEN_CLOSE,
closes and unregisters every registered session, even after a failed setup or step.
The `*_sessions` functions under them take a pin map id, for scripts and tests.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from ni.measurementlink.sessionmanagement.v1.client import (
    PinMapContext,
    SessionInformation,
    SessionInitializationBehavior,
    SessionManagementClient,
)

from visa_instrument_client import (
    VISA_INSTRUMENT_INSTRUMENT_TYPE,
    ServiceConnection,
    VisaInstrumentClient,
    VisaInstrumentSessionConstructor,
)

PIN_MAP_ID_VARIABLE = "NI.MeasurementPlugIns.PinMapId"
_logger = logging.getLogger(__name__)


def create_sessions(
    sequence_context: Any,
    *,
    backend: str = "",
    timeout_milliseconds: int = 0,
    read_termination: str = "",
    write_termination: str = "",
) -> None:
    """TestStand entry point for setup: use the sequence's pin map.

    The keyword arguments fill the Initialize request
    of every session it opens.
    """
    setup_sessions(
        pin_map_id_of(sequence_context),
        backend=backend,
        timeout_milliseconds=timeout_milliseconds,
        read_termination=read_termination,
        write_termination=write_termination,
    )


def destroy_sessions(sequence_context: Any = None) -> None:
    """TestStand entry point for cleanup; the sequence context is not needed."""
    cleanup_sessions()


def pin_map_id_of(sequence_context: Any) -> str:
    """Read the pin map id TestStand keeps in the execution's runtime variables."""
    variables = sequence_context.Execution.RunTimeVariables
    if not variables.Exists(PIN_MAP_ID_VARIABLE, 0):
        raise ValueError(
            f"The execution has no {PIN_MAP_ID_VARIABLE} runtime variable: "
            "load a pin map into the sequence (Semiconductor Module or the pin map step) first."
        )
    pin_map_id: str = variables.GetValString(PIN_MAP_ID_VARIABLE, 0)
    return pin_map_id


def setup_sessions(
    pin_map_id: str,
    *,
    backend: str = "",
    timeout_milliseconds: int = 0,
    read_termination: str = "",
    write_termination: str = "",
    session_management: SessionManagementClient | None = None,
    connection: ServiceConnection | None = None,
) -> list[str]:
    """Open and register a session for every VisaInstrument resource of the pin map.

    Returns the server's session names. Sessions an earlier run left registered
    (it died before its cleanup) are closed and unregistered first, with a warning
    naming them. On failure, closes what it opened and unregisters what it
    registered before raising, so the next run starts clean.

    The keyword arguments (backend, timeout_milliseconds, read_termination,
    write_termination) fill the Initialize request of every session it opens.
    """
    client = session_management or SessionManagementClient()
    _recover_from_an_earlier_run(client, connection)
    opened: list[VisaInstrumentClient] = []
    constructor = VisaInstrumentSessionConstructor(
        SessionInitializationBehavior.INITIALIZE_SESSION_THEN_DETACH,
        backend=backend,
        timeout_milliseconds=timeout_milliseconds,
        read_termination=read_termination,
        write_termination=write_termination,
        connection=connection,
    )

    def open_session(info: SessionInformation) -> VisaInstrumentClient:
        session = constructor(info)
        opened.append(session)
        return session

    context = PinMapContext(pin_map_id=pin_map_id, sites=None)
    with client.reserve_sessions(
        context,
        instrument_type_id=VISA_INSTRUMENT_INSTRUMENT_TYPE,
    ) as reservation:
        registered = False
        try:
            with reservation.initialize_sessions(open_session, VISA_INSTRUMENT_INSTRUMENT_TYPE):
                client.register_sessions(reservation.session_info)
                registered = True
        except BaseException:
            _logger.exception("Setup failed; closing the %d session(s) it opened.", len(opened))
            for session in opened:
                _close_quietly(session)
            if registered:
                client.unregister_sessions(reservation.session_info)
            raise
    return [session.session_name for session in opened]


def cleanup_sessions(
    *,
    session_management: SessionManagementClient | None = None,
    connection: ServiceConnection | None = None,
) -> list[str]:
    """Close and unregister every registered VisaInstrument session; return their names.

    Each session is closed on its own, so one that fails (or that a step already
    closed) does not keep the others open; every one is unregistered regardless.
    The first failure is raised once all are done.
    """
    client = session_management or SessionManagementClient()
    closed, _registered = _close_and_unregister(client, connection)
    return closed


def _close_and_unregister(
    client: SessionManagementClient, connection: ServiceConnection | None
) -> tuple[list[str], list[SessionInformation]]:
    """Do what cleanup_sessions says; return the names closed and the sessions found."""
    constructor = VisaInstrumentSessionConstructor(
        SessionInitializationBehavior.ATTACH_TO_SESSION_THEN_CLOSE, connection=connection
    )
    failures: list[BaseException] = []
    closed: list[str] = []
    with client.reserve_all_registered_sessions(
        instrument_type_id=VISA_INSTRUMENT_INSTRUMENT_TYPE,
    ) as reservation:
        sessions = list(reservation.session_info)
        try:
            for info in sessions:
                try:
                    with constructor(info) as session:
                        closed.append(session.session_name)
                except grpc.RpcError as error:
                    if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.NOT_FOUND:
                        continue  # already closed on the server: nothing left to do
                    failures.append(error)
                except Exception as error:  # noqa: BLE001  (reported after the others)
                    failures.append(error)
        finally:
            client.unregister_sessions(sessions)
    if failures:
        raise failures[0]
    return closed, sessions


def _recover_from_an_earlier_run(
    client: SessionManagementClient, connection: ServiceConnection | None
) -> None:
    """Close and unregister the sessions a run that died before its cleanup left behind.

    A TestStand process killed between setup and cleanup leaves its sessions open
    on the server and registered with Session Management, and setting up again
    would fail with ALREADY_EXISTS. Setup runs once per execution, so a session of
    this instrument type still registered when it starts belongs to a run that is gone.
    """
    closed, leftovers = _close_and_unregister(client, connection)
    if leftovers:
        _logger.warning(
            "Setup found %d %s session(s) still registered by an earlier run that ended "
            "without cleanup (%s), and closed (%s) and unregistered them.",
            len(leftovers),
            VISA_INSTRUMENT_INSTRUMENT_TYPE,
            ", ".join(info.resource_name for info in leftovers),
            ", ".join(closed) or "none open on the server",
        )


def _close_quietly(session: VisaInstrumentClient) -> None:
    try:
        session.close()
    except Exception:  # noqa: BLE001  (already failing; the original error matters)
        _logger.exception("Could not close session %s.", session.session_name)
