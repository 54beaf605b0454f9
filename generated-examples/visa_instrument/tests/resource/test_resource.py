"""The VISA instrument: exchanges with the simulated bench DMM, sharing, and VISA's failures.

The server is a real process; its instruments are examples/bench_dmm.yaml's DMM
simulated by pyvisa-sim (tests/conftest.py makes it the servers' default backend).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from pyvisa import constants, errors

from session_service_core.server.errors import ServiceError
from visa_instrument_client import VisaInstrumentClient
from visa_instrument_client.stubs import visa_instrument_pb2 as pb2
from visa_instrument_client.stubs import visa_instrument_pb2_grpc as pb2_grpc
from visa_instrument_server.resource import VisaInstrumentResource, _refusal

from support import PROJECT, ServerProcess, close, initialize, status_of

Stub = pb2_grpc.VisaInstrumentStub
Opener = Callable[..., VisaInstrumentClient]
EXAMPLE_BACKEND = f"{PROJECT / 'examples' / 'bench_dmm.yaml'}@sim"
IDENTITY = ("Bench Instruments", "BDM-6500", "SIM000001", "1.2.0")
RAW_COUNTS = [4660.0, 4656.0, 4664.0, 4657.0]  # FETC:RAW? in examples/bench_dmm.yaml


@pytest.fixture
def open_client(server: ServerProcess, new_resource: Callable[[], str]) -> Iterator[Opener]:
    """Open clients on the module's server; every session they opened is closed at the end."""
    opened: list[VisaInstrumentClient] = []

    def open_client(name: str = "", **options: Any) -> VisaInstrumentClient:
        client = VisaInstrumentClient(name or new_resource(), address=server.address, **options)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        if client.new_session:
            client.close()


def code_and_details(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    error = status_of(call)
    return error.code(), error.details() or ""


def test_commands_queries_and_reads_reach_the_instrument(open_client: Opener) -> None:
    dmm = open_client()
    dmm.write(command="SENS:FUNC VOLT:AC")
    dmm.write(command="SENS:RANG 100")
    assert dmm.query(command="SENS:FUNC?").response == "VOLT:AC"
    assert float(dmm.query(command="SENS:RANG?").response) == 100.0
    dmm.write(command="*IDN?")
    assert dmm.read().response == ",".join(IDENTITY)


def test_the_example_simulation_answers_at_its_addresses(open_client: Opener) -> None:
    for address in ("GPIB0::22::INSTR", "USB0::0x2A8D::0x1301::SIM000001::0::INSTR"):
        dmm = open_client(address, backend=EXAMPLE_BACKEND)
        assert dmm.identify().serial_number == IDENTITY[2]


def test_identify_splits_the_idn_answer(open_client: Opener) -> None:
    answer = open_client().identify()
    assert (answer.manufacturer, answer.model, answer.serial_number) == IDENTITY[:3]
    assert answer.firmware_version == IDENTITY[3]


def test_an_unknown_command_lands_in_the_instruments_error_queue(open_client: Opener) -> None:
    dmm = open_client()
    dmm.write(command="SENS:NOTHING 1")
    assert dmm.query(command="SYST:ERR?").response == '-100,"Command error"'
    assert dmm.query(command="SYST:ERR?").response == '+0,"No error"'


def test_binary_blocks_decode_as_the_datatype_says(open_client: Opener) -> None:
    dmm = open_client()
    values = dmm.read_binary_values(command="FETC:RAW?", datatype="int16", big_endian=True)
    assert list(values.values) == RAW_COUNTS
    dmm.write(command="FETC:RAW?")  # empty command: the block is the next answer
    values = dmm.read_binary_values(command="", datatype="h", big_endian=True)
    assert list(values.values) == RAW_COUNTS
    little = dmm.read_binary_values(command="FETC:RAW?", datatype="uint16", big_endian=False)
    assert little.values[0] == 0x3412


def test_an_answer_that_is_no_binary_block_fails_the_precondition(open_client: Opener) -> None:
    dmm = open_client()
    code, details = code_and_details(
        lambda: dmm.read_binary_values(command="*IDN?", datatype="f", big_endian=False)
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "IEEE 488.2 binary block" in details and dmm.resource_name in details


def test_an_unknown_datatype_is_refused_with_the_accepted_ones(open_client: Opener) -> None:
    dmm = open_client()
    code, details = code_and_details(
        lambda: dmm.read_binary_values(command="FETC:RAW?", datatype="int12", big_endian=True)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "int16" in details and "float64" in details


def test_reset_waits_for_the_instrument_and_clear_says_what_the_backend_lacks(
    open_client: Opener,
) -> None:
    dmm = open_client()
    dmm.reset()
    assert dmm.query(command="*OPC?").response == "1"
    code, details = code_and_details(dmm.clear)  # pyvisa-sim has no device clear
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert "device clear" in details
    assert dmm.query(command="*OPC?").response == "1"


def test_attached_clients_share_the_instrument_as_it_was_opened(open_client: Opener) -> None:
    first = open_client(timeout_milliseconds=5000)
    first.write(command="SENS:RANG 1")
    second = open_client(first.resource_name, backend="@py", read_termination="CR")
    assert not second.new_session  # attaching keeps the session's backend and terminations
    assert float(second.query(command="SENS:RANG?").response) == 1.0
    assert second.session_name == first.session_name


def test_spellings_of_one_resource_string_share_a_session(open_client: Opener) -> None:
    first = open_client()
    number = first.resource_name.split("::")[1]
    second = open_client(f"  TCPIP::{number}::INSTR ")
    assert not second.new_session
    assert second.session_name == first.session_name


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("GPIB::22", "GPIB0::22::INSTR"),
        ("gpib0::22::instr", "GPIB0::22::INSTR"),
        ("TCPIP::10.0.0.5::hislip0", "TCPIP0::10.0.0.5::hislip0::INSTR"),
        ("TCPIP0::10.0.0.5::5025::socket", "TCPIP0::10.0.0.5::5025::SOCKET"),
        ("ASRL/dev/ttyUSB0::INSTR", "ASRL/dev/ttyUSB0::INSTR"),  # pyvisa-py's serial ports
        (" BenchDMM ", "BenchDMM"),  # an NI MAX alias
    ],
)
def test_resource_strings_are_keyed_in_visas_canonical_form(name: str, key: str) -> None:
    assert VisaInstrumentResource.resource_key(name) == key


def test_the_instrument_keeps_its_state_after_its_session_closes(
    open_client: Opener, new_resource: Callable[[], str]
) -> None:
    resource = new_resource()
    first = open_client(resource)
    first.write(command="SENS:FUNC RES")
    first.close()
    again = open_client(resource)
    assert again.new_session
    assert again.query(command="SENS:FUNC?").response == "RES"


def test_concurrent_queries_each_get_their_own_answer(open_client: Opener) -> None:
    first = open_client()
    first.write(command="SENS:RANG 1000")
    second = open_client(first.resource_name)
    wrong: list[str] = []

    def ask(client: VisaInstrumentClient, command: str, expected: str) -> None:
        for _ in range(100):
            answer = client.query(command=command).response
            if answer != expected:
                wrong.append(f"{command} answered {answer!r}")

    threads = [
        threading.Thread(target=ask, args=(first, "*IDN?", ",".join(IDENTITY))),
        threading.Thread(target=ask, args=(second, "SENS:RANG?", "+1.000000E+03")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_query_without_an_answer_exceeds_the_deadline_and_the_session_goes_on(
    open_client: Opener,
) -> None:
    dmm = open_client(timeout_milliseconds=50)
    code, details = code_and_details(lambda: dmm.query(command="MEAS:NOTHING?"))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert dmm.resource_name in details and "timeout_milliseconds" in details
    code, _ = code_and_details(dmm.read)  # nothing asked: nothing to read
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert dmm.identify().model == IDENTITY[1]


@pytest.mark.parametrize(
    "name",
    ["GPIB0::twelve::INSTR", "GPIB0::22::NOPE", "FOO0::1::INSTR", "USB0::0x1::INSTR", "bad name!"],
)
def test_a_bad_resource_string_is_refused_with_examples(open_client: Opener, name: str) -> None:
    code, details = code_and_details(lambda: open_client(name))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "GPIB0::22::INSTR" in details
    assert open_client().identify().model == IDENTITY[1]  # the server keeps serving


# The client reads UNAVAILABLE as "the server is not reachable" (it looks the server up
# again and retries once), so the tests of an unavailable instrument use the raw stub.


def test_an_instrument_that_is_not_there_is_unavailable(stub: Stub) -> None:
    error = status_of(lambda: initialize(stub, "GPIB0::3::INSTR"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "GPIB0::3::INSTR" in (error.details() or "")
    assert "connected" in (error.details() or "")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"backend": "@nope"}, "@sim"),
        ({"backend": "/no/such/dmm.yaml@sim"}, "does not exist"),
        ({"backend": "lib.so@py"}, "write @py"),
        ({"timeout_milliseconds": 600_001}, "600000"),
        ({"read_termination": "ETX"}, "CRLF"),
        ({"write_termination": ";"}, "NONE"),
    ],
)
def test_bad_options_are_refused_saying_what_is_accepted(
    open_client: Opener, options: dict[str, Any], named: str
) -> None:
    code, details = code_and_details(lambda: open_client(**options))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert named in details


def test_a_visa_library_that_cannot_load_fails_the_precondition(open_client: Opener) -> None:
    code, details = code_and_details(lambda: open_client(backend="/no/such/libvisa.so@ivi"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "Install NI-VISA" in details and "@py" in details


@pytest.mark.parametrize("spelling", ["", "LF", "lf", "\n"])
def test_terminations_are_accepted_by_name_or_as_characters(
    open_client: Opener, spelling: str
) -> None:
    dmm = open_client(read_termination=spelling, write_termination=spelling)
    assert dmm.identify().model == IDENTITY[1]


def test_a_write_termination_the_instrument_does_not_expect_leaves_it_unanswered(
    stub: Stub, new_resource: Callable[[], str]
) -> None:
    # The simulated DMM takes commands ending in LF: "*IDN?\r" is not one it knows.
    resource = new_resource()
    error = status_of(
        lambda: initialize(stub, resource, write_termination="CR", timeout_milliseconds=50)
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "*IDN?" in (error.details() or "") and "terminations" in (error.details() or "")


def test_commands_must_be_text(open_client: Opener) -> None:
    dmm = open_client()
    for command, named in (("", "empty"), ("*IDN?\x00", "NUL"), ("SENS:FUNC \u03a9", "'\u03a9'")):

        def write(command: str = command) -> None:
            dmm.write(command=command)

        code, details = code_and_details(write)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert named in details


def test_a_lost_instrument_fails_cleanly_and_opens_again_once_back(
    new_resource: Callable[[], str], simulated_instruments: str
) -> None:
    key = VisaInstrumentResource.resource_key(new_resource())

    def open_dmm() -> VisaInstrumentResource:
        return VisaInstrumentResource.open(
            key,
            key,
            backend=simulated_instruments,
            timeout_milliseconds=0,
            read_termination="",
            write_termination="",
        )

    dmm = open_dmm()
    dmm.manager.close()  # the simulator goes away with every instrument it held
    with pytest.raises(ServiceError) as lost:
        dmm.query(command="*IDN?")
    assert lost.value.code == grpc.StatusCode.UNAVAILABLE
    assert key in str(lost.value) and "initialize a new one" in str(lost.value)
    dmm.close()  # nothing left to release, and no error
    back = open_dmm()
    assert back.identify()[1] == IDENTITY[1]
    back.close()


class LanInstrument:
    """An instrument on a TCP socket that answers *IDN?: a cable to pull and plug back in.

    pyvisa-py (backend @py) reaches it as TCPIP0::127.0.0.1::PORT::SOCKET.
    """

    def __init__(self, port: int = 0) -> None:
        connections: list[socket.socket] = []

        class Answer(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                connections.append(self.connection)
                for line in self.rfile:
                    if line.strip() == b"*IDN?":
                        self.wfile.write(b"Bench Instruments,LAN-1,SOCK0001,1.0\n")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._connections = connections
        self._server = Server(("127.0.0.1", port), Answer)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def pull(self) -> None:
        """Stop listening and drop every connection, as a pulled cable does."""
        self._server.shutdown()
        self._server.server_close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def test_a_pulled_lan_cable_fails_calls_and_a_new_session_opens_once_it_is_back(
    stub: Stub,
) -> None:
    instrument = LanInstrument()

    def open_session(resource: str) -> str:
        return initialize(stub, resource, backend="@py", timeout_milliseconds=200).session_name

    name = open_session(instrument.resource)
    query = pb2.QueryRequest(session_name=name, command="*IDN?")
    assert stub.Query(query).response.startswith("Bench Instruments,LAN-1")
    instrument.pull()
    codes = []
    for _ in range(3):  # the read after the pull may time out first; then the write fails
        error = status_of(lambda: stub.Query(query))
        codes.append(error.code())
        assert instrument.resource in (error.details() or "")
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            break
    assert codes[-1] == grpc.StatusCode.UNAVAILABLE, codes
    assert set(codes) <= {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE}
    close(stub, name)  # closing a session whose instrument is gone succeeds
    gone = status_of(lambda: open_session(instrument.resource))
    assert gone.code() == grpc.StatusCode.UNAVAILABLE
    back = LanInstrument(instrument.port)
    reopened = open_session(back.resource)
    again = pb2.QueryRequest(session_name=reopened, command="*IDN?")
    assert stub.Query(again).response.startswith("Bench Instruments,LAN-1")
    close(stub, reopened)
    back.pull()


@pytest.mark.parametrize(
    ("visa_code", "status"),
    [
        (constants.StatusCode.error_resource_locked, grpc.StatusCode.FAILED_PRECONDITION),
        (constants.StatusCode.error_timeout, grpc.StatusCode.DEADLINE_EXCEEDED),
        (constants.StatusCode.error_connection_lost, grpc.StatusCode.UNAVAILABLE),
        (constants.StatusCode.error_resource_not_found, grpc.StatusCode.UNAVAILABLE),
        (constants.StatusCode.error_no_listeners, grpc.StatusCode.UNAVAILABLE),
        (constants.StatusCode.error_invalid_resource_name, grpc.StatusCode.INVALID_ARGUMENT),
        (constants.StatusCode.error_nonsupported_operation, grpc.StatusCode.UNIMPLEMENTED),
    ],
)
def test_visa_errors_a_simulator_cannot_raise_map_to_statuses(
    visa_code: constants.StatusCode, status: grpc.StatusCode
) -> None:
    # A real instrument's errors (another program's lock, a pulled GPIB cable) as NI-VISA
    # reports them; pyvisa-sim raises none of these.
    refusal = _refusal("GPIB0::22::INSTR (backend @ivi)", "query", errors.VisaIOError(visa_code))
    assert refusal.code == status
    assert "GPIB0::22::INSTR" in str(refusal)


def test_opening_times_out_as_unavailable() -> None:
    error = errors.VisaIOError(constants.StatusCode.error_timeout)
    refusal = _refusal("GPIB0::22::INSTR (backend @ivi)", "open", error, opening=True)
    assert refusal.code == grpc.StatusCode.UNAVAILABLE
