"""The resource behind each session: one SCPI instrument reached through VISA.

This file is yours: `copier update` does not overwrite it once it exists.
VisaInstrumentResourceBase (resource_base.py, rewritten by `copier update`)
declares the methods the server calls: `resource_key` and `open` on
Initialize, one per custom RPC while holding the session (so calls on
one session never overlap: a command and its answer are one exchange that no other
client's command can come between), and `close` once, when the session closes.

A session keeps the instrument open through pyvisa, on the backend the session
was opened with: NI-VISA or another IVI VISA (which holds an exclusive VISA lock
for the session, so no other program on the station talks to the instrument
meanwhile), pyvisa-py, or pyvisa-sim (which hold no lock other programs see).
The instrument keeps its own state (function, range, trigger) between plug-ins;
the session is only the one way to it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import grpc

from session_service_core.server.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    ServiceError,
    UnavailableError,
    UnimplementedError,
)

from .resource_base import VisaInstrumentResourceBase

if TYPE_CHECKING:
    import pyvisa
    from pyvisa import errors
    from pyvisa.resources import MessageBasedResource

# pyvisa is imported when the first session opens, not with the server: it imports
# numpy wherever numpy is installed, which the server itself never needs.

DEFAULT_TIMEOUT_MS = 2000  # pyvisa's own default
MAX_TIMEOUT_MS = 600_000
# What `read_termination` and `write_termination` accept, and what each means.
TERMINATIONS: dict[str, str | None] = {
    "": "\n",
    "LF": "\n",
    "CR": "\r",
    "CRLF": "\r\n",
    "NONE": None,
    "\n": "\n",
    "\r": "\r",
    "\r\n": "\r\n",
}
# The element types ReadBinaryValues decodes: their names and struct codes.
Datatype = Literal["b", "B", "h", "H", "i", "I", "q", "Q", "f", "d"]
DATATYPES: dict[str, Datatype] = {
    "int8": "b",
    "uint8": "B",
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
}
_BY_CODE: dict[str, Datatype] = {code: code for code in DATATYPES.values()}
DEFAULT_DATATYPE: Datatype = "f"  # what an empty `datatype` selects: IEEE 754 single precision
BACKENDS = "empty (the server's default), @ivi, @py, @sim, FILE.yaml@sim or LIBRARY@ivi"
RESOURCE_CLASSES = ("INSTR", "SOCKET", "RAW", "INTFC", "BACKPLANE", "MEMACC")
EXAMPLES = (
    "GPIB0::22::INSTR, TCPIP0::10.0.0.5::hislip0::INSTR, USB0::0x2A8D::0x1301::MY123::INSTR, "
    "ASRL3::INSTR or TCPIP0::10.0.0.5::5025::SOCKET"
)

T = TypeVar("T")


class DeadlineExceededError(ServiceError):
    """The instrument did not finish a read or write within the session's timeout."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class VisaInstrumentResource(VisaInstrumentResourceBase):
    """One instrument, open through pyvisa, shared by every client of its session."""

    def __init__(
        self,
        key: str,
        manager: pyvisa.ResourceManager,
        instrument: MessageBasedResource,
        where: str,
    ) -> None:
        super().__init__(key)
        self.manager = manager  # the backend's resource manager, shared by its sessions
        self.instrument = instrument  # the pyvisa resource, for what the RPCs do not cover
        self._where = where

    @staticmethod
    def resource_key(resource_name: str) -> str:
        """Return the resource string in VISA's canonical form: one session per instrument.

        `GPIB::22` and `GPIB0::22::INSTR` are one instrument. A name without `::` is
        a VISA alias (NI MAX's), kept as given.
        """
        return _canonical(resource_name)

    @classmethod
    def open(
        cls,
        resource_key: str,
        resource_name: str,
        *,
        backend: str,
        timeout_milliseconds: int,
        read_termination: str,
        write_termination: str,
    ) -> VisaInstrumentResource:
        """Open the instrument on `backend` with an exclusive lock and check it answers *IDN?."""
        from pyvisa import constants, errors
        from pyvisa.resources import MessageBasedResource

        timeout = _timeout(timeout_milliseconds)
        read_end = _termination("read_termination", read_termination)
        write_end = _termination("write_termination", write_termination)
        manager, shown_backend = _resource_manager(backend)
        where = f"{resource_key} (backend {shown_backend})"
        try:
            opened = manager.open_resource(
                resource_key,
                access_mode=constants.AccessModes.exclusive_lock,
                open_timeout=timeout,
            )
        except errors.VisaIOError as error:
            raise _refusal(where, "open", error, opening=True) from None
        except ValueError as error:  # pyvisa-py without the bus's own driver (linux-gpib)
            raise FailedPreconditionError(f"Cannot open {where}: {error}") from None
        except OSError as error:  # pyvisa-py's sockets and serial ports
            raise UnavailableError(
                f"Cannot open {where}: {error}. Check that the instrument is on, connected "
                "and at that address."
            ) from None
        if not isinstance(opened, MessageBasedResource):
            opened.close()
            raise InvalidArgumentError(
                f"{where} is not a message-based resource: this service speaks SCPI to "
                "INSTR and SOCKET resources, such as " + EXAMPLES + "."
            )
        if not opened.session:  # pyvisa-sim hands out session 0 for a resource it lacks
            raise UnavailableError(
                f"Cannot open {where}: no such instrument. Check the resource string and "
                "that the instrument is on, connected and at that address (NI MAX lists "
                "what NI-VISA finds)."
            )
        opened.timeout = timeout
        opened.read_termination = read_end  # None: the END signal alone ends an answer
        opened.write_termination = write_end or ""
        opened.encoding = "latin-1"  # every byte an instrument sends is a character
        resource = cls(resource_key, manager, opened, where)
        try:
            if not resource.identify()[0]:
                raise UnavailableError(f"{where} answered *IDN? with nothing.")
        except DeadlineExceededError:
            opened.close()
            raise UnavailableError(
                f"{where} did not answer *IDN? within {timeout} ms: check that it is on, "
                "connected and at that address, and that the terminations match its own."
            ) from None
        except BaseException:
            opened.close()
            raise
        return resource

    def close(self) -> None:
        """Release the lock and close the instrument; an instrument already gone is closed."""
        from pyvisa import errors

        # An instrument lost with its cable or its library has nothing left to release.
        with contextlib.suppress(errors.Error, OSError):
            self.instrument.close()

    def write(self, *, command: str) -> None:
        """Send one command (the write termination appended)."""
        self._exchange("write to", lambda: self.instrument.write(_command(command)))

    def query(self, *, command: str) -> str:
        """Send one command and return its answer, with no other client in between."""
        return self._exchange("query", lambda: self.instrument.query(_command(command)))

    def read(self) -> str:
        """Return the next answer the instrument has (after a Write of a query)."""
        return self._exchange("read from", self.instrument.read)

    def read_binary_values(self, *, command: str, datatype: str, big_endian: bool) -> list[float]:
        """Return the values of an IEEE 488.2 binary block.

        The block is the answer to `command`, or the next answer when `command` is
        empty. 64-bit integers beyond 2**53 lose precision as doubles.
        """
        code = _datatype(datatype)

        def exchange() -> list[float]:
            if command:
                values = self.instrument.query_binary_values(
                    _command(command), datatype=code, is_big_endian=big_endian
                )
            else:
                values = self.instrument.read_binary_values(datatype=code, is_big_endian=big_endian)
            return [float(value) for value in values]

        try:
            return self._exchange("read a binary block from", exchange)
        except ValueError as error:  # not an IEEE 488.2 block, or a length that does not fit
            raise FailedPreconditionError(
                f"{self._where} did not answer {command or 'the read'!r} with an IEEE 488.2 "
                f"binary block of {datatype or 'float32'} values: {error}"
            ) from None

    def clear(self) -> None:
        """Device clear: empty the instrument's buffers and stop what it is parsing."""
        self._exchange("clear", self.instrument.clear)

    def reset(self) -> None:
        """*RST and *CLS, then wait (*OPC?) until the instrument has finished resetting."""

        def exchange() -> None:
            self.instrument.write("*RST")
            self.instrument.write("*CLS")
            self.instrument.query("*OPC?")

        self._exchange("reset", exchange)

    def identify(self) -> tuple[str, str, str, str]:
        """Ask *IDN?: manufacturer, model, serial number, firmware version.

        An instrument that answers fewer fields leaves the last ones empty.
        """
        answer = self._exchange("identify", lambda: self.instrument.query("*IDN?"))
        fields = [field.strip() for field in answer.split(",", 3)]
        fields += [""] * (4 - len(fields))
        return fields[0], fields[1], fields[2], fields[3]

    def _exchange(self, doing: str, action: Callable[[], T]) -> T:
        """Run one exchange with the instrument; turn VISA's failures into statuses."""
        from pyvisa import errors

        try:
            return action()
        except errors.VisaIOError as error:
            raise _refusal(self._where, doing, error) from None
        except errors.InvalidSession:
            raise UnavailableError(
                f"Cannot {doing} {self._where}: its VISA session is closed (the instrument "
                "or its VISA library went away). Close this session and initialize a new "
                "one once the instrument is back."
            ) from None
        except NotImplementedError:
            raise UnimplementedError(
                f"Cannot {doing} {self._where}: its VISA backend does not implement that "
                "(pyvisa-sim has no device clear; NI-VISA and pyvisa-py do)."
            ) from None
        except UnicodeEncodeError as error:
            raise InvalidArgumentError(
                f"The command holds {error.object[error.start : error.end]!r}, which is not "
                "one byte: commands are ASCII (or Latin-1) text."
            ) from None
        except OSError as error:  # pyvisa-py's sockets and serial ports
            raise UnavailableError(
                f"Cannot {doing} {self._where}: {error}. Check its cable or network; close "
                "this session and initialize a new one once it is back."
            ) from None


# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------


def _canonical(resource_name: str) -> str:
    from pyvisa import rname

    text = resource_name.strip()
    if "::" not in text:
        if not text or not text.replace("_", "").replace("-", "").isalnum():
            raise InvalidArgumentError(
                f"{text!r} is not a VISA resource string or alias: accepted a resource "
                f"string such as {EXAMPLES}, or an alias (letters, digits, _ and -)."
            )
        return text
    head, separator, last = text.rpartition("::")
    if last.upper() in RESOURCE_CLASSES:
        text = head + separator + last.upper()  # VISA's names ignore case
    try:
        parsed = rname.ResourceName.from_string(text)
    except ValueError as error:  # rname.InvalidResourceName is a ValueError
        raise InvalidArgumentError(
            f"{text!r} is not a VISA resource string ({error}): accepted such as {EXAMPLES}."
        ) from None
    # pyvisa's parser takes any text for the numbers; VISA takes numbers (a serial
    # port's board may be a device path with pyvisa-py).
    numbers = ["primary_address", "secondary_address", "port"]
    numbers += [] if parsed.interface_type == "ASRL" else ["board"]
    for field in numbers:
        value = getattr(parsed, field, None)
        if value is not None and not str(value).isdigit():
            raise InvalidArgumentError(
                f"{text!r} is not a VISA resource string: its {field.replace('_', ' ')} "
                f"{value!r} is not a number. Accepted such as {EXAMPLES}."
            )
    return str(parsed)


def _timeout(milliseconds: int) -> int:
    if milliseconds > MAX_TIMEOUT_MS:
        raise InvalidArgumentError(
            f"timeout_milliseconds {milliseconds} is above {MAX_TIMEOUT_MS}: accepted 1 to "
            f"{MAX_TIMEOUT_MS} ms (0 means {DEFAULT_TIMEOUT_MS})."
        )
    return milliseconds or DEFAULT_TIMEOUT_MS


def _termination(field: str, text: str) -> str | None:
    if text in TERMINATIONS:
        return TERMINATIONS[text]
    name = text.strip().upper()
    if name.isalpha() and name in TERMINATIONS:
        return TERMINATIONS[name]
    raise InvalidArgumentError(
        f"{field} {text!r} is not accepted: LF, CR, CRLF (any case, or the characters "
        "themselves) or NONE; empty means LF."
    )


def _command(command: str) -> str:
    if not command.strip():
        raise InvalidArgumentError("command is empty: give the SCPI command to send, e.g. *IDN?.")
    if "\x00" in command:
        raise InvalidArgumentError("command holds a NUL character: commands are text.")
    return command


def _datatype(datatype: str) -> Datatype:
    if not datatype:
        return DEFAULT_DATATYPE
    found = _BY_CODE.get(datatype) or DATATYPES.get(datatype.lower())
    if found:
        return found
    raise InvalidArgumentError(
        f"datatype {datatype!r} is not accepted: {', '.join(DATATYPES)} or their struct "
        f"codes ({''.join(DATATYPES.values())}); empty means float32."
    )


# ---------------------------------------------------------------------------
# Backends and VISA's errors
# ---------------------------------------------------------------------------

# One resource manager per backend for the server's life: NI-VISA keeps one per
# process anyway, and pyvisa-sim's instruments keep their state between sessions.
_managers: dict[str, pyvisa.ResourceManager] = {}
_managers_lock = threading.Lock()


def _resource_manager(backend: str) -> tuple[pyvisa.ResourceManager, str]:
    """Return the resource manager of `backend` and how messages name the backend."""
    import pyvisa

    given = backend.strip()
    specification = given or os.environ.get("PYVISA_LIBRARY", "")
    shown = specification or "default: NI-VISA"
    library, at, wrapper = specification.rpartition("@")
    if not at:
        library, wrapper = specification, "ivi" if specification else ""
    if wrapper not in ("", "ivi", "py", "sim"):
        raise InvalidArgumentError(f"backend {specification!r} is not accepted: {BACKENDS}.")
    if wrapper == "py" and library:
        raise InvalidArgumentError(
            f"backend {specification!r}: pyvisa-py takes no file; write @py."
        )
    if wrapper == "sim" and library and not Path(library).is_file():
        raise InvalidArgumentError(
            f"backend {specification!r}: the simulation file {library!r} does not exist "
            "(as the server sees it). Give the path of a pyvisa-sim YAML file."
        )
    with _managers_lock:
        manager = _managers.get(specification)
        if manager is not None and _is_open(manager):
            return manager, shown
        try:
            manager = pyvisa.ResourceManager(specification)
        except OSError as error:  # LibraryError: the VISA library is not installed
            raise FailedPreconditionError(
                f"Cannot load the VISA library of backend {shown}: {str(error).strip()}. "
                "Install NI-VISA on the server's machine, or open the session with "
                "backend @py (pyvisa-py)."
            ) from None
        except ValueError as error:
            raise FailedPreconditionError(
                f"Cannot load backend {shown}: {error}. Install it in the server's "
                "environment (pyvisa-py for @py, pyvisa-sim for @sim)."
            ) from None
        except Exception as error:  # noqa: BLE001  (pyvisa-sim refusing its YAML file)
            raise InvalidArgumentError(
                f"backend {shown}: pyvisa-sim cannot load {library!r}: {error}"
            ) from None
        _managers[specification] = manager
        return manager, shown


def _is_open(manager: pyvisa.ResourceManager) -> bool:
    from pyvisa import errors

    try:
        return manager.session is not None
    except errors.InvalidSession:
        return False


@functools.cache
def _statuses() -> dict[int, type[ServiceError]]:
    """VISA's status codes and the error each answers with (besides timeouts and locks)."""
    from pyvisa.constants import StatusCode

    unavailable = (
        StatusCode.error_resource_not_found,
        StatusCode.error_resource_busy,
        StatusCode.error_connection_lost,
        StatusCode.error_no_listeners,
        StatusCode.error_io,
        StatusCode.error_system_error,
        StatusCode.error_machine_not_available,
        StatusCode.error_interface_number_not_configured,
        StatusCode.error_not_cic,
        StatusCode.error_not_system_controller,
        StatusCode.error_invalid_object,
        StatusCode.error_session_not_locked,
    )
    invalid = (
        StatusCode.error_invalid_resource_name,
        StatusCode.error_invalid_protocol,
        StatusCode.error_invalid_access_key,
    )
    return {
        **dict.fromkeys(unavailable, UnavailableError),
        **dict.fromkeys(invalid, InvalidArgumentError),
        StatusCode.error_nonsupported_operation: UnimplementedError,
    }


def _refusal(
    where: str, doing: str, error: errors.VisaIOError, opening: bool = False
) -> ServiceError:
    """Return the error that answers `doing` on `where` failing with VISA's `error`."""
    from pyvisa.constants import StatusCode

    said = f"VISA says {error.abbreviation}: {error.description}"
    code = error.error_code
    kind = _statuses().get(code)
    if code == StatusCode.error_timeout and not opening:
        return DeadlineExceededError(
            f"{where} did not finish the {doing} within the session's timeout ({said}). "
            "Check the command is one it answers, raise timeout_milliseconds for slow "
            "operations, or check the terminations."
        )
    if code == StatusCode.error_resource_locked:
        return FailedPreconditionError(
            f"Cannot {doing} {where}: another program holds its VISA lock ({said}). Close "
            "the instrument there (NI MAX, InstrumentStudio, another server), then retry."
        )
    if kind is InvalidArgumentError:
        return InvalidArgumentError(f"Cannot {doing} {where}: {said}. Accepted such as {EXAMPLES}.")
    if kind is UnavailableError or code == StatusCode.error_timeout:
        return UnavailableError(
            f"Cannot {doing} {where}: {said}. Check that the instrument is on, connected and "
            "at that address; once it is back, close this session and initialize a new one."
        )
    return (kind or ServiceError)(f"Cannot {doing} {where}: {said}.")
