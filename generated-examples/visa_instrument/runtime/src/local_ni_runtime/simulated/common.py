"""What every simulated driver shares: sessions by name and NI's driver errors.

NI gRPC Device Server keeps one session repository for all its drivers: a name
initialized by one driver is taken for the others too. A driver error travels as
NI's do (status UNKNOWN with an `ni-error` trailer, see `device_server._answer`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc
from session_pb2 import Session

# IVI's "Invalid value for parameter or property" and NI's invalid session code.
INVALID_VALUE = -1074135024
INVALID_SESSION = -1074130544
INITIALIZE_NEW, ATTACH_TO_EXISTING = 1, 2


class DriverError(Exception):
    """A driver error, returned as NI gRPC Device Server returns one."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class SessionStatus(Exception):
    """A gRPC status other than a driver error (initialize/attach conflicts)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SimulatedSession:
    """One driver session; each simulated driver subclasses it with its instrument's state."""

    resource_name: str


SessionT = TypeVar("SessionT", bound=SimulatedSession)


class SessionRepository:
    """Sessions by name, with NI gRPC Device Server's initialize and attach rules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, SimulatedSession] = {}
        self._generated = itertools.count(1)

    def initialize(
        self, name: str, behavior: int, create: Callable[[], SimulatedSession]
    ) -> tuple[str, bool]:
        """Return the session name and whether a new session was initialized."""
        with self._lock:
            name = name or f"ni:generated:{next(self._generated)}"
            exists = name in self._sessions
            if exists and behavior == INITIALIZE_NEW:
                raise SessionStatus(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"Cannot initialize '{name}' when a session already exists.",
                )
            if not exists and behavior == ATTACH_TO_EXISTING:
                raise SessionStatus(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Cannot attach to '{name}' because a session has not been initialized.",
                )
            if not exists:
                self._sessions[name] = create()
            return name, not exists

    def get(self, vi: Session, kind: type[SessionT]) -> SessionT:
        """Return the session a request names; DriverError if none of this driver is open."""
        with self._lock:
            session = self._sessions.get(vi.name)
        if session is None:
            raise DriverError(INVALID_SESSION, f"The session '{vi.name}' is not open.")
        if not isinstance(session, kind):
            raise DriverError(
                INVALID_SESSION,
                f"The session '{vi.name}' belongs to another driver "
                f"({type(session).__name__}, not {kind.__name__}).",
            )
        return session

    def close(self, vi: Session) -> None:
        """Close the session for every client, as NI's Close does."""
        with self._lock:
            if self._sessions.pop(vi.name, None) is None:
                raise DriverError(INVALID_SESSION, f"The session '{vi.name}' is not open.")

    def names(self) -> list[str]:
        """Return the names of the open sessions."""
        with self._lock:
            return sorted(self._sessions)
