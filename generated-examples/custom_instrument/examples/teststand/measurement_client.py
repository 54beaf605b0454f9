"""Call a hosted measurement plug-in the way InstrumentStudio and TestStand do.

Resolves the plug-in through NI Discovery Service, reads its metadata, and calls
the v2 `Measure` RPC with a pin map context, the configuration serialized from
that metadata by NI's SDK. Importing it applies the NI_LOCAL_RUNTIME switch, so a
script that only uses NI's SDK and this module still finds the local runtime.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pool
from ni.measurementlink import pin_map_context_pb2
from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.measurement.v2 import measurement_service_pb2 as v2
from ni.measurementlink.measurement.v2 import measurement_service_pb2_grpc as v2_grpc
from ni_measurement_plugin_sdk_service.measurement.client_support import (
    ParameterMetadata,
    create_file_descriptor,
    deserialize_parameters,
    serialize_parameters,
)

from custom_instrument_client import local_runtime

local_runtime.apply()

MEASUREMENT_V2 = "ni.measurementlink.measurement.v2.MeasurementService"


class MeasurementCaller:
    """A client of one hosted measurement plug-in, found by its service class."""

    def __init__(self, service_class: str, discovery_client: DiscoveryClient | None = None) -> None:
        """Find the plug-in and read its configuration and output parameters."""
        discovery = discovery_client or DiscoveryClient()
        location = discovery.resolve_service(MEASUREMENT_V2, service_class)
        self._channel = grpc.insecure_channel(location.insecure_address)
        self._stub = v2_grpc.MeasurementServiceStub(self._channel)
        signature = self._stub.GetMetadata(v2.GetMetadataRequest()).measurement_signature
        self._inputs = _metadata(signature.configuration_parameters)
        self._outputs = _metadata(signature.outputs)
        self._input_type = signature.configuration_parameters_message_type
        self._output_type = signature.outputs_message_type
        create_file_descriptor(
            service_class,
            list(self._outputs.values()),
            list(self._inputs.values()),
            descriptor_pool.Default(),
        )
        defaults = deserialize_parameters(
            self._inputs, signature.configuration_defaults.value, self._input_type
        )
        self.defaults = {
            metadata.field_name: value
            for metadata, value in zip(self._inputs.values(), defaults, strict=True)
        }

    def measure(
        self, pin_map_id: str, sites: list[int] | None = None, **values: Any
    ) -> dict[str, Any]:
        """Call Measure with the defaults overridden by `values`; return the last outputs."""
        unknown = sorted(set(values) - set(self.defaults))
        if unknown:
            raise ValueError(f"Unknown parameters {unknown}; accepted: {sorted(self.defaults)}")
        chosen = {**self.defaults, **values}
        payload = serialize_parameters(self._inputs, list(chosen.values()), self._input_type)
        request = v2.MeasureRequest(
            configuration_parameters=any_pb2.Any(
                type_url=f"type.googleapis.com/{self._input_type}", value=payload
            ),
            pin_map_context=pin_map_context_pb2.PinMapContext(
                pin_map_id=pin_map_id, sites=[0] if sites is None else sites
            ),
        )
        responses = list(self._stub.Measure(request))
        if not responses:
            raise RuntimeError("The measurement returned no outputs.")
        outputs = deserialize_parameters(
            self._outputs, responses[-1].outputs.value, self._output_type
        )
        names = [metadata.field_name for metadata in self._outputs.values()]
        return {name: _plain(value) for name, value in zip(names, outputs, strict=True)}

    def close(self) -> None:
        """Close the channel to the plug-in."""
        self._channel.close()


def _plain(value: Any) -> Any:
    """Turn protobuf repeated containers into lists."""
    if hasattr(value, "__len__") and not isinstance(value, str | bytes | dict):
        return list(value)
    return value


def _metadata(parameters: Any) -> dict[int, ParameterMetadata]:
    return {
        parameter.field_number: ParameterMetadata.initialize(
            parameter.name,
            parameter.type,
            parameter.repeated,
            None,
            dict(parameter.annotations),
            parameter.message_type,
        )
        for parameter in sorted(parameters, key=lambda p: p.field_number)
    }
