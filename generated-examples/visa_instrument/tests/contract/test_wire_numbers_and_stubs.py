"""The contract in numbers, and the stubs check that guards it.

The client and server share the generated constants, so a renumbered enum or a
moved field would pass every round-trip test: here the numbers are pinned to the
table NI's pattern defines, on the encoded bytes themselves.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from session_service_core.server.sessions import InitializationBehavior
from visa_instrument_client.stubs import visa_instrument_pb2 as pb2

from support import PROJECT

STUBS = Path("client/src/visa_instrument_client/stubs")


def test_behaviour_enum_has_the_three_values_of_the_contract() -> None:
    enum = pb2.DESCRIPTOR.enum_types_by_name["SessionInitializationBehavior"]
    numbers = {value.name: value.number for value in enum.values}
    assert numbers == {
        "SESSION_INITIALIZATION_BEHAVIOR_UNSPECIFIED": 0,
        "SESSION_INITIALIZATION_BEHAVIOR_INITIALIZE_NEW": 1,
        "SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING": 2,
    }


def test_the_core_registry_has_the_numbers_of_the_proto() -> None:
    prefix = "SESSION_INITIALIZATION_BEHAVIOR_"
    enum = pb2.SessionInitializationBehavior
    proto = {name.removeprefix(prefix): number for name, number in enum.items()}
    assert {behavior.name: behavior.value for behavior in InitializationBehavior} == proto


def test_initialize_request_encodes_name_as_field_1_and_behaviour_as_field_2() -> None:
    request = pb2.InitializeRequest(
        resource_name="r",
        initialization_behavior=pb2.SESSION_INITIALIZATION_BEHAVIOR_ATTACH_TO_EXISTING,
    )
    # Field 1, length-delimited ("r"); field 2, varint 2.
    assert request.SerializeToString() == b"\x0a\x01r\x10\x02"


def test_initialize_response_encodes_session_name_then_new_session() -> None:
    response = pb2.InitializeResponse(session_name="s", new_session=True)
    assert response.SerializeToString() == b"\x0a\x01s\x10\x01"


def copy_for_stub_check(destination: Path) -> Path:
    """Copy what scripts/generate_stubs.py reads and writes (scripts, client/src, core/src)."""
    caches = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(PROJECT / "scripts", destination / "scripts", ignore=caches)
    for package in ("client", "core"):
        shutil.copytree(PROJECT / package / "src", destination / package / "src", ignore=caches)
    return destination


def run_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/generate_stubs.py", "--check"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_stub_check_fails_on_a_changed_proto_naming_the_stale_files(tmp_path: Path) -> None:
    project = copy_for_stub_check(tmp_path)
    assert run_check(project).returncode == 0  # the copy is current

    proto = project / STUBS / "visa_instrument.proto"
    proto.write_text(proto.read_text("utf-8") + "\nmessage AddedByHand {}\n", "utf-8")
    stale = run_check(project)

    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "Stubs out of date (run python scripts/generate_stubs.py):" in stale.stdout
    assert (STUBS / "visa_instrument_pb2.py").as_posix() in stale.stdout
    assert "session_admin_pb2.py" not in stale.stdout  # only what changed
