"""The custom instrument: register map loading, registers and GPIO, and their validation."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior

from custom_instrument_client import CustomInstrumentClient
from custom_instrument_client.stubs import custom_instrument_pb2_grpc as pb2_grpc

from support import PROJECT, ServerProcess, initialize, status_of

Stub = pb2_grpc.CustomInstrumentStub
Opener = Callable[..., CustomInstrumentClient]
EXAMPLE_MAP = PROJECT / "examples" / "register_map.csv"


@pytest.fixture
def register_map(tmp_path: Path) -> Path:
    path = tmp_path / "registers.csv"
    path.write_text("name,default_value\nCONTROL,0x01\n# comment\n\nGAIN,4\nSTATUS,0\n")
    return path


@pytest.fixture
def open_client(server: ServerProcess, new_resource: Callable[[], str]) -> Iterator[Opener]:
    """Open clients on the module's server; every session they opened is closed at the end."""
    opened: list[CustomInstrumentClient] = []

    def open_client(name: str = "", **options: Any) -> CustomInstrumentClient:
        client = CustomInstrumentClient(
            name or new_resource(),
            address=server.address,
            **options,
        )
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        if client.new_session:
            client.close()


def code_and_details(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    error = status_of(call)
    return error.code(), error.details() or ""


def test_registers_start_at_the_map_defaults_and_keep_writes(
    open_client: Opener, register_map: Path
) -> None:
    client = open_client(register_map_path=str(register_map))
    values = {name: client.read_register(register_name=name).value for name in ("CONTROL", "GAIN")}
    assert values == {"CONTROL": 1, "GAIN": 4}
    client.write_register(register_name="GAIN", value=0xFF)
    assert client.read_register(register_name="GAIN").value == 0xFF


def test_attached_clients_share_the_state_as_it_was_opened(
    open_client: Opener, register_map: Path, tmp_path: Path
) -> None:
    first = open_client(protocol="I2C", register_map_path=str(register_map))
    first.write_register(register_name="STATUS", value=7)
    first.write_gpio_channel(port=2, channel=5, state=True)
    other_map = tmp_path / "other.csv"
    other_map.write_text("OTHER,1\n")
    name = first.resource_name
    second = open_client(name, protocol="UART", register_map_path=str(other_map))
    assert not second.new_session
    assert second.read_register(register_name="STATUS").value == 7
    assert second.read_gpio_channel(port=2, channel=5).state is True
    code, details = code_and_details(lambda: second.read_register(register_name="OTHER"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "accepted: CONTROL, GAIN, STATUS" in details


def test_a_reopened_instrument_starts_from_the_defaults_again(
    open_client: Opener, register_map: Path
) -> None:
    client = open_client(register_map_path=str(register_map))
    client.write_register(register_name="GAIN", value=9)
    client.write_gpio_port(port=0, value=0xFF, mask=0xFF)
    client.close()
    name = client.resource_name
    again = open_client(name, register_map_path=str(register_map))
    assert again.new_session
    assert again.read_register(register_name="GAIN").value == 4
    assert again.read_gpio_port(port=0).value == 0


def test_instruments_have_their_own_state(open_client: Opener, register_map: Path) -> None:
    first = open_client(register_map_path=str(register_map))
    second = open_client(register_map_path=str(register_map))
    first.write_register(register_name="GAIN", value=1)
    second.write_register(register_name="GAIN", value=2)
    assert first.read_register(register_name="GAIN").value == 1
    assert second.read_register(register_name="GAIN").value == 2


def test_gpio_port_writes_only_the_masked_lines(open_client: Opener) -> None:
    client = open_client()
    client.write_gpio_channel(port=1, channel=0, state=True)
    client.write_gpio_port(port=1, value=0b1010_0000, mask=0b1111_0000)
    assert client.read_gpio_port(port=1).value == 0b1010_0001
    assert client.read_gpio_channel(port=1, channel=7).state is True
    assert client.read_gpio_channel(port=1, channel=6).state is False
    client.write_gpio_channel(port=1, channel=7, state=False)
    assert client.read_gpio_port(port=1).value == 0b0010_0001
    client.write_gpio_port(port=1, value=0xFF, mask=0)
    assert client.read_gpio_port(port=1).value == 0b0010_0001


@pytest.mark.parametrize("protocol", ["SPI", "i2c", " Uart ", ""])
def test_protocols_are_accepted_in_any_case(open_client: Opener, protocol: str) -> None:
    assert open_client(protocol=protocol).new_session


def test_an_unknown_protocol_is_refused_with_the_accepted_ones(
    stub: Stub, open_client: Opener
) -> None:
    code, details = code_and_details(lambda: open_client(protocol="CAN"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "'CAN'" in details and "accepted: SPI, I2C, UART" in details
    assert open_client(protocol="SPI").new_session  # the server keeps serving


OUT_OF_RANGE: dict[str, tuple[Callable[[CustomInstrumentClient], object], str]] = {
    "register value": (
        lambda c: c.write_register(register_name="GAIN", value=256),
        "value 256 is out of range; accepted: 0 to 255 (0xFF)",
    ),
    "channel port": (
        lambda c: c.write_gpio_channel(port=4, channel=0, state=True),
        "port 4 is out of range; accepted: 0 to 3",
    ),
    "channel": (
        lambda c: c.read_gpio_channel(port=0, channel=8),
        "channel 8 is out of range; accepted: 0 to 7",
    ),
    "port value": (
        lambda c: c.write_gpio_port(port=0, value=0x100, mask=0xFF),
        "value 256 is out of range; accepted: 0 to 255",
    ),
    "mask": (
        lambda c: c.write_gpio_port(port=0, value=1, mask=0x1FF),
        "mask 511 is out of range; accepted: 0 to 255",
    ),
    "read port": (
        lambda c: c.read_gpio_port(port=99),
        "port 99 is out of range; accepted: 0 to 3",
    ),
    "unknown register": (
        lambda c: c.read_register(register_name="GAINS"),
        "No register 'GAINS' in the register map; accepted: CONTROL, GAIN, STATUS",
    ),
}


@pytest.mark.parametrize("case", OUT_OF_RANGE)
def test_out_of_range_arguments_name_the_accepted_range(
    open_client: Opener, register_map: Path, case: str
) -> None:
    call, message = OUT_OF_RANGE[case]
    client = open_client(register_map_path=str(register_map))
    client.write_register(register_name="GAIN", value=5)
    code, details = code_and_details(lambda: call(client))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in details
    assert client.read_register(register_name="GAIN").value == 5  # nothing changed


def test_registers_need_a_register_map(open_client: Opener) -> None:
    client = open_client()
    code, details = code_and_details(lambda: client.read_register(register_name="GAIN"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "opened without a register map" in details


BAD_MAPS = {
    "three cells": ("GAIN,4\nSTATUS,0,1\n", "line 2 has 3 cells"),
    "bad name": ("GAIN,4\n2X,0\n", "line 2: register name '2X' is not accepted"),
    "repeated name": ("GAIN,4\nSTATUS,0\nGAIN,5\n", "line 3: register 'GAIN' is already on line 1"),
    "not a number": ("GAIN,four\n", "line 1: default value 'four' is not a number"),
    "out of range": ("GAIN,0x100\n", "line 1: default value 0x100 is out of range"),
    "not UTF-8": ("GAIN,\xff\n", "is not a UTF-8 CSV file"),
}


@pytest.mark.parametrize("case", BAD_MAPS)
def test_a_bad_register_map_is_refused_with_its_line(
    stub: Stub, new_resource: Callable[[], str], tmp_path: Path, case: str
) -> None:
    text, message = BAD_MAPS[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(text.encode("latin-1"))
    code, details = code_and_details(lambda: open_map(stub, new_resource(), str(path)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in details


@pytest.mark.parametrize("where", ["missing.csv", "."])
def test_a_register_map_that_is_not_a_file_is_refused(
    stub: Stub, new_resource: Callable[[], str], tmp_path: Path, where: str
) -> None:
    code, details = code_and_details(lambda: open_map(stub, new_resource(), str(tmp_path / where)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not exist" in details or "is a directory" in details


def test_the_example_register_map_loads(open_client: Opener) -> None:
    client = open_client(register_map_path=str(EXAMPLE_MAP))
    for name, default in example_defaults().items():
        assert client.read_register(register_name=name).value == default


def test_a_byte_order_mark_and_a_header_are_accepted(open_client: Opener, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffName,Default Value\r\nMODE,0b101\r\n".encode())
    client = open_client(register_map_path=str(path))
    assert client.read_register(register_name="MODE").value == 5


def test_attaching_ignores_a_bad_register_map(
    open_client: Opener, register_map: Path, tmp_path: Path
) -> None:
    first = open_client(register_map_path=str(register_map))
    behavior = SessionInitializationBehavior.ATTACH_TO_SERVER_SESSION
    name = first.resource_name
    missing = str(tmp_path / "none.csv")
    second = open_client(name, initialization_behavior=behavior, register_map_path=missing)
    assert second.session_name == first.session_name


def open_map(stub: Stub, resource: str, register_map_path: str) -> object:
    """Open a session with only a register map, through the raw stub."""
    return initialize(stub, resource, register_map_path=register_map_path)


def example_defaults() -> dict[str, int]:
    """The example register map's defaults, read with the csv module."""
    with EXAMPLE_MAP.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    return {name.strip(): int(value, 0) for name, value in rows[1:]}
