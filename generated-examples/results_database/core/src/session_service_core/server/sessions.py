"""The session registry: NI's initialization-behaviour table, one session per resource.

Resource logic lives in
the render's resource.py. Nothing here knows gRPC or the resource type.

Locking, so that one slow resource never blocks another:
- `_lock` guards only the dictionaries and is never held across resource I/O;
- a per-resource lock makes check-then-create and close atomic for that resource;
- a per-session lock, taken by `Session.run` (the one way an operation reaches a
  resource), serializes operations on one session (resource handles are rarely
  thread-safe) and lets close wait for the operation in flight.

Finding a session by name for a custom RPC takes no registry lock: a dictionary
read is atomic, and the session's own lock then says whether it is still open.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, Protocol, TypeVar

from .errors import AlreadyExistsError, InvalidArgumentError, NotFoundError, shown


class InitializationBehavior(enum.IntEnum):
    """The three values of SessionInitializationBehavior on the wire."""

    UNSPECIFIED = 0
    INITIALIZE_NEW = 1
    ATTACH_TO_EXISTING = 2


_BEHAVIORS = frozenset(InitializationBehavior)  # a set lookup; equal to the ints on the wire


class Resource(Protocol):
    """What the registry needs of a resource: a way to release it."""

    def close(self) -> None:
        """Release the resource; called once, when its session closes."""


ResourceT = TypeVar("ResourceT", bound=Resource)
RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


class Session(Generic[ResourceT]):
    """One open resource and the name clients use to reach it.

    Operations reach the resource only through `run`, which holds the session's
    lock, and `close` takes the same lock: operations on one session never
    overlap, and none runs once close has begun. It also counts what the admin
    service lists: operations run (`calls`, `last_used`, under the session's lock)
    and Initialize calls that attached to it (`attaches`, under the resource's lock).
    """

    __slots__ = (
        "name",
        "resource_key",
        "resource",
        "closed",
        "created",
        "last_used",
        "calls",
        "attaches",
        "_lock",
    )

    def __init__(self, name: str, resource_key: str, resource: ResourceT) -> None:
        self.name = name
        self.resource_key = resource_key
        self.resource = resource
        self.closed = False
        self.created = time.time()
        self.last_used = self.created
        self.calls = 0
        self.attaches = 0
        self._lock = threading.Lock()

    def run(
        self, operation: Callable[[ResourceT, RequestT], ResponseT], request: RequestT
    ) -> ResponseT:
        """Hold the session, return `operation(resource, request)`; NotFoundError if closed."""
        with self._lock:
            if self.closed:
                raise NotFoundError(_closed_message(self.name))
            self.calls += 1
            self.last_used = time.time()
            return operation(self.resource, request)

    def close(self, forget: Callable[[Session[ResourceT]], None]) -> None:
        """Once operations in flight have finished: mark closed, `forget(self)`, close the resource.

        NotFoundError if already closed. No operation runs on it after `forget`.
        """
        with self._lock:
            if self.closed:
                raise NotFoundError(_closed_message(self.name))
            self.closed = True
            forget(self)
            self.resource.close()


class _KeyLock:
    """A key's lock and how many threads hold it or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


class KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, _KeyLock] = {}

    def __len__(self) -> int:
        """The number of keys whose lock is held or waited for now."""
        return len(self._locks)

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Hold the lock of `key` for the with-block."""
        entry = self.acquire(key)
        try:
            yield
        finally:
            self.release(key, entry)

    def acquire(self, key: str) -> _KeyLock:
        """Take the lock of `key`; give the entry returned to `release`.

        `hold` without its generator, which cost about 2 us a time: the registry
        takes a key's lock on every Initialize and every Close.
        """
        with self._guard:
            entry = self._locks.get(key)
            if entry is None:
                entry = self._locks[key] = _KeyLock()
            entry.users += 1
        entry.lock.acquire()
        return entry

    def release(self, key: str, entry: _KeyLock) -> None:
        """Let go of the lock of `key` that `acquire` took."""
        entry.lock.release()
        with self._guard:
            entry.users -= 1
            if not entry.users:
                del self._locks[key]


class SessionRegistry(Generic[ResourceT]):
    """Open sessions, found by session name or by resource key in O(1)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, Session[ResourceT]] = {}
        self._by_resource: dict[str, Session[ResourceT]] = {}
        self._resource_locks = KeyedLocks()

    def __len__(self) -> int:
        return len(self._by_name)

    def initialize(
        self,
        resource_key: str,
        behavior: int,
        open_resource: Callable[[str], ResourceT],
    ) -> tuple[Session[ResourceT], bool]:
        """Apply the behaviour table for `resource_key`; return the session and whether it is new.

        `open_resource` runs only when a new session is created, under this
        resource's lock alone, and gets the name that session will have.
        """
        if behavior not in _BEHAVIORS:
            accepted = ", ".join(f"{b.value} ({b.name})" for b in InitializationBehavior)
            raise InvalidArgumentError(
                f"initialization_behavior {behavior} is not valid; accepted values: {accepted}."
            )
        held = self._resource_locks.acquire(resource_key)
        try:
            with self._lock:
                existing = self._by_resource.get(resource_key)
            if existing is not None:
                if behavior == InitializationBehavior.INITIALIZE_NEW:
                    raise AlreadyExistsError(
                        f"A session for {shown(resource_key)} is already open ({existing.name!r}). "
                        "Attach to it with ATTACH_TO_EXISTING or UNSPECIFIED, or close it first."
                    )
                existing.attaches += 1
                return existing, False
            if behavior == InitializationBehavior.ATTACH_TO_EXISTING:
                raise NotFoundError(
                    f"No session is open for {shown(resource_key)} to attach to. "
                    "Open one with INITIALIZE_NEW or UNSPECIFIED first."
                )
            # 128 random bits, as a UUID has, without building one (a quarter of the
            # cost): a name never recurs, so a stale client's never reaches a new session.
            name = secrets.token_hex(16)
            session = Session(name, resource_key, open_resource(name))
            with self._lock:
                self._by_name[session.name] = session
                self._by_resource[resource_key] = session
            return session, True
        finally:
            self._resource_locks.release(resource_key, held)

    def get(self, session_name: str) -> Session[ResourceT]:
        """Return the open session called `session_name`, or raise NotFoundError."""
        session = self._by_name.get(session_name)  # atomic; no registry lock needed
        if session is None:
            raise NotFoundError(_closed_message(session_name))
        return session

    def call(
        self,
        session_name: str,
        operation: Callable[[ResourceT, RequestT], ResponseT],
        request: RequestT,
    ) -> ResponseT:
        """Return `operation(resource, request)` run on the named session (see `Session.run`)."""
        session = self._by_name.get(session_name)  # as in get(), one Python call less per RPC
        if session is None:
            raise NotFoundError(_closed_message(session_name))
        return session.run(operation, request)

    def sessions(self) -> list[Session[ResourceT]]:
        """Return the open sessions, oldest first (a snapshot: they may close meanwhile)."""
        with self._lock:
            return sorted(self._by_name.values(), key=lambda session: session.created)

    def find_by_resource(self, resource_key: str) -> Session[ResourceT] | None:
        """Return the open session of the resource with this key, if there is one."""
        return self._by_resource.get(resource_key)

    def close(self, session_name: str) -> None:
        """Close the named session for every client; NotFoundError if it is not open."""
        session = self.get(session_name)
        held = self._resource_locks.acquire(session.resource_key)
        try:
            session.close(self._forget)
        finally:
            self._resource_locks.release(session.resource_key, held)

    def _forget(self, session: Session[ResourceT]) -> None:
        """Drop a session being closed from both dictionaries."""
        with self._lock:
            del self._by_name[session.name]
            del self._by_resource[session.resource_key]

    def close_all(self) -> list[tuple[str, BaseException]]:
        """Close every open session; return the failures instead of stopping at the first."""
        failures: list[tuple[str, BaseException]] = []
        with self._lock:
            names = list(self._by_name)
        for name in names:
            try:
                self.close(name)
            except NotFoundError:
                pass  # closed by a client meanwhile
            except Exception as error:  # noqa: BLE001  (reported to the caller)
                failures.append((name, error))
        return failures


def _closed_message(session_name: str) -> str:
    return (
        f"No open session named {shown(session_name)}: it was never opened or has been closed. "
        "Initialize a session first and use the session_name it returns."
    )
