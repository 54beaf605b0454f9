"""The resource behind each session: a custom instrument reached through a register map.

This file is yours: `copier update` does not overwrite it once it exists.
CustomInstrumentResourceBase (resource_base.py, rewritten by `copier update`)
declares the methods the server calls: `resource_key` and `open` on
Initialize, one per custom RPC while holding the session (so calls on
one session never overlap), and `close` once, when the session closes.

A session holds the instrument's state: the bus protocol, the registers named in
the register map and GPIO_PORTS ports of GPIO_CHANNELS lines each. Every client
attached to the session sees the same state, so a value one plug-in writes is
the value the next one reads. The state lives in memory here; to drive real
hardware, open the bus in `open`, forward the writes and reads in the methods
below, and release the bus in `close`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from session_service_core.server.errors import InvalidArgumentError

from .resource_base import CustomInstrumentResourceBase

PROTOCOLS = ("SPI", "I2C", "UART")
DEFAULT_PROTOCOL = "SPI"  # what an empty `protocol` selects
REGISTER_MAX = 0xFF  # registers are 8 bits wide
GPIO_PORTS = 4
GPIO_CHANNELS = 8  # lines per port
PORT_MAX = (1 << GPIO_CHANNELS) - 1
_REGISTER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CustomInstrumentResource(CustomInstrumentResourceBase):
    """One instrument's state, shared by every client of its session."""

    def __init__(self, name: str, protocol: str, registers: dict[str, int]) -> None:
        super().__init__(name)
        self.protocol = protocol
        self._registers = registers
        self._ports = [0] * GPIO_PORTS

    @staticmethod
    def resource_key(resource_name: str) -> str:
        """Return the instrument's name as the pin map gives it: one session per instrument."""
        return resource_name.strip()

    @classmethod
    def open(
        cls, resource_key: str, resource_name: str, *, protocol: str, register_map_path: str
    ) -> CustomInstrumentResource:
        """Check the protocol and load the register map; every register starts at its default."""
        protocol = _protocol(protocol)
        path = register_map_path.strip()
        registers = load_register_map(Path(path)) if path else {}
        return cls(resource_key, protocol, registers)

    def close(self) -> None:
        """Release the instrument; nothing to release while the state is in memory."""

    def write_register(self, *, register_name: str, value: int) -> None:
        """Set a register named in the register map."""
        self._registers[self._register(register_name)] = _in_range("value", value, REGISTER_MAX)

    def read_register(self, *, register_name: str) -> int:
        """Return a register's value: its default until someone writes it."""
        return self._registers[self._register(register_name)]

    def write_gpio_channel(self, *, port: int, channel: int, state: bool) -> None:
        """Drive one GPIO line high (state true) or low."""
        port = _in_range("port", port, GPIO_PORTS - 1)
        line = 1 << _in_range("channel", channel, GPIO_CHANNELS - 1)
        self._ports[port] = self._ports[port] | line if state else self._ports[port] & ~line

    def read_gpio_channel(self, *, port: int, channel: int) -> bool:
        """Return whether one GPIO line is high."""
        port = _in_range("port", port, GPIO_PORTS - 1)
        channel = _in_range("channel", channel, GPIO_CHANNELS - 1)
        return bool(self._ports[port] >> channel & 1)

    def write_gpio_port(self, *, port: int, value: int, mask: int) -> None:
        """Set the lines of a port selected by `mask` to the bits of `value`; keep the others."""
        port = _in_range("port", port, GPIO_PORTS - 1)
        value = _in_range("value", value, PORT_MAX)
        mask = _in_range("mask", mask, PORT_MAX)
        self._ports[port] = self._ports[port] & ~mask | value & mask

    def read_gpio_port(self, *, port: int) -> int:
        """Return the lines of a port as one value, channel 0 in bit 0."""
        return self._ports[_in_range("port", port, GPIO_PORTS - 1)]

    def _register(self, name: str) -> str:
        if name in self._registers:
            return name
        if not self._registers:
            raise InvalidArgumentError(
                f"No register {name!r}: the session was opened without a register map. "
                "Close it and open it again with register_map_path set."
            )
        names = sorted(self._registers)
        shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        raise InvalidArgumentError(f"No register {name!r} in the register map; accepted: {shown}.")


def _protocol(requested: str) -> str:
    protocol = requested.strip().upper() or DEFAULT_PROTOCOL
    if protocol not in PROTOCOLS:
        raise InvalidArgumentError(
            f"protocol {requested!r} is not supported; accepted: {', '.join(PROTOCOLS)} "
            f"(any case), or empty for {DEFAULT_PROTOCOL}."
        )
    return protocol


def _in_range(what: str, value: int, maximum: int) -> int:
    if not 0 <= value <= maximum:
        raise InvalidArgumentError(
            f"{what} {value} is out of range; accepted: 0 to {maximum} (0x{maximum:X})."
        )
    return value


def load_register_map(path: Path) -> dict[str, int]:
    """Read a CSV register map: rows of register name and default value.

    A first row starting with "name" is a header. Values are decimal or 0x hex
    (0b binary, 0o octal) from 0 to REGISTER_MAX; blank rows and rows starting
    with # are skipped. Any other row is refused with its line number.
    """
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise InvalidArgumentError(
            f"The register map {str(path)!r} {problem}; give the path of a CSV file "
            "of register names and default values, as the server sees it."
        )
    registers: dict[str, int] = {}
    lines: dict[str, int] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise InvalidArgumentError(
            f"The register map {str(path)!r} is not a UTF-8 CSV file: {error}."
        ) from error
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() == "name":
            continue
        where = f"{str(path)!r} line {number}"
        if len(cells) != 2:
            raise InvalidArgumentError(
                f"{where} has {len(cells)} cells; each row is: register name, default value."
            )
        name, text = cells
        if not _REGISTER_NAME.fullmatch(name):
            raise InvalidArgumentError(
                f"{where}: register name {name!r} is not accepted; use letters, digits "
                "and underscores, starting with a letter or underscore."
            )
        if name in registers:
            raise InvalidArgumentError(
                f"{where}: register {name!r} is already on line {lines[name]}."
            )
        try:
            value = int(text, 0)
        except ValueError:
            raise InvalidArgumentError(
                f"{where}: default value {text!r} is not a number; write it in decimal or 0x hex."
            ) from None
        if not 0 <= value <= REGISTER_MAX:
            raise InvalidArgumentError(
                f"{where}: default value {text} is out of range; "
                f"accepted: 0 to {REGISTER_MAX} (0x{REGISTER_MAX:X})."
            )
        registers[name] = value
        lines[name] = number
    return registers
