"""The NI-DCPower and NI-DMM example plug-ins, hosted for real and called through Measure.

The fixtures `plugins` and `pin_map` are in conftest.py; what the plug-ins leave in
the resource is checked by resource_checks.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from xml.etree import ElementTree

import grpc
import pytest
from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.measurement.v2 import measurement_service_pb2 as v2
from ni.measurementlink.measurement.v2 import measurement_service_pb2_grpc as v2_grpc

import resource_checks
from measurement_client import MeasurementCaller
from support import DCPOWER, DMM, PROJECT


def test_dcpower_plugin_sources_and_measures(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, resource = pin_map
    # NI's simulated PXIe-4141: 5 V with a 10 mA limit on the 10 V range gives 5 V and 0.1 mA.
    outputs = plugins[DCPOWER].measure(
        pin_map_id, voltage_level=5.0, voltage_level_range=10.0, current_limit=0.01
    )
    assert outputs["measured_voltages"] == pytest.approx([5.0])
    assert outputs["measured_currents"] == pytest.approx([0.0001])
    assert outputs["in_compliance"] == [False]
    limited = plugins[DCPOWER].measure(
        pin_map_id, voltage_level=5.0, current_limit=10e-6, current_limit_range=10e-6
    )
    assert limited["measured_currents"] == pytest.approx([10e-6])
    assert limited["in_compliance"] == [True]
    resource_checks.check_dcpower(resource)


def test_dcpower_plugin_refuses_a_level_beyond_the_selected_range(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, _ = pin_map
    with pytest.raises(grpc.RpcError) as caught:
        plugins[DCPOWER].measure(pin_map_id, voltage_level=10.0, voltage_level_range=6.0)
    assert isinstance(caught.value, grpc.Call)
    assert "-1074135024" in (caught.value.details() or "")
    assert "outside the selected voltage_level_range of 6" in (caught.value.details() or "")


def test_dmm_plugin_reads(plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]) -> None:
    pin_map_id, resource = pin_map
    outputs = plugins[DMM].measure(pin_map_id, range=10.0, resolution_digits=5.5)
    assert outputs["measured_value"] == pytest.approx(1.5)
    assert outputs["signal_out_of_range"] is False
    assert outputs["absolute_resolution"] == pytest.approx(5.0e-05)  # NI's simulated PXI-4081
    resource_checks.check_dmm(resource, outputs)


def test_dmm_plugin_measures_with_the_function_chosen_by_enum(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, _ = pin_map
    readings = {
        function: plugins[DMM].measure(pin_map_id, function=function, range=-1.0)
        for function in ("DC_VOLTS", "AC_VOLTS", "TWO_WIRE_RES")
    }
    assert readings["DC_VOLTS"]["measured_value"] == pytest.approx(1.5)
    values = {outputs["measured_value"] for outputs in readings.values()}
    assert len(values) == 3  # each function reads its own input
    assert not any(outputs["signal_out_of_range"] for outputs in readings.values())


def test_both_plugins_share_the_session_set_up_for_the_sequence(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, _ = pin_map
    names = {plugins[name].measure(pin_map_id)["resource_session_name"] for name in (DCPOWER, DMM)}
    assert len(names) == 1


def test_concurrent_measurements_are_all_recorded(
    plugins: dict[str, MeasurementCaller], pin_map: tuple[str, str]
) -> None:
    pin_map_id, resource = pin_map
    failures: list[BaseException] = []

    def measure_repeatedly(name: str) -> None:
        for _ in range(5):
            try:
                plugins[name].measure(pin_map_id)
            except BaseException as error:  # noqa: BLE001  (reported below)
                failures.append(error)

    threads = [threading.Thread(target=measure_repeatedly, args=(n,)) for n in (DCPOWER, DMM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    resource_checks.check_concurrent(resource)


def test_demo_plays_the_sequence_headless(tmp_path: Path) -> None:
    command = [sys.executable, str(PROJECT / "examples" / "teststand" / "demo.py")]
    command += resource_checks.demo_arguments(tmp_path)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resource sessions used: ['" in result.stdout
    resource_checks.check_demo(tmp_path, result.stdout)


SCREEN = "{http://www.ni.com/InstrumentFramework/ScreenDocument}Screen"
BOUND = "[string]"


@pytest.mark.parametrize(
    ("service_class", "panel"),
    [
        (DCPOWER, "nidcpower_measurement/NIDCPowerMeasurement.measui"),
        (DMM, "nidmm_measurement/NIDmmMeasurement.measui"),
    ],
)
def test_panel_binds_every_parameter_of_the_hosted_plugin(
    plugins: dict[str, MeasurementCaller], service_class: str, panel: str
) -> None:
    # What InstrumentStudio reads: the metadata of the hosted plug-in, and its panel.
    location = DiscoveryClient().resolve_service(
        "ni.measurementlink.measurement.v2.MeasurementService", service_class
    )
    with grpc.insecure_channel(location.insecure_address) as channel:
        metadata = v2_grpc.MeasurementServiceStub(channel).GetMetadata(v2.GetMetadataRequest())
    path = (PROJECT / "examples" / panel).resolve()
    assert [ui.file_url for ui in metadata.user_interface_details] == [path.as_uri()]

    root = ElementTree.parse(path).getroot()
    screen = root.find(SCREEN)
    assert screen is not None
    assert screen.get("ServiceClass") == service_class
    client_id = screen.get("ClientId")
    assert client_id
    bindings: dict[str, list[str]] = {"Configuration": [], "Output": []}
    for element in root.iter():
        channel_text = element.get("Channel", "")
        if channel_text.startswith(BOUND):
            owner, direction, name = channel_text.removeprefix(BOUND).split("/", 2)
            assert owner == client_id, channel_text
            bindings[direction].append(name)
    signature = metadata.measurement_signature
    configurations = [parameter.name for parameter in signature.configuration_parameters]
    outputs = [parameter.name for parameter in signature.outputs]
    assert sorted(bindings["Configuration"]) == sorted(configurations)
    assert sorted(bindings["Output"]) == sorted(outputs)
    # Every control has its label, and every label belongs to a control.
    ids = {element.get("Id") for element in root.iter()}
    for element in root.iter():
        for reference in (element.get("Label"), element.get("LabelOwner")):
            if reference and reference.startswith("[UIModel]"):
                assert reference.removeprefix("[UIModel]") in ids
