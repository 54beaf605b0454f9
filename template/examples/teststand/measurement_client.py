"""Call a hosted measurement plug-in the way InstrumentStudio and TestStand do.

Resolves the plug-in through NI Discovery Service, reads its metadata, and calls
the v2 `Measure` RPC with a pin map context, the configuration serialized from
that metadata by NI's SDK.

Accepted values, per configuration type: numbers (int or float; int for integer
types), booleans, strings (also pins and IO resources), paths (str or
os.PathLike), enums (a member, its name or its number, from the plug-in's
`ni/enum.values` annotation), and lists (or tuples) of any of these for 1-D arrays.
"""

from __future__ import annotations

import enum
import json
import os
from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pool, type_pb2
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

MEASUREMENT_V2 = "ni.measurementlink.measurement.v2.MeasurementService"
ENUM_VALUES = "ni/enum.values"
_INTEGERS = {
    type_pb2.Field.TYPE_INT32: (-(2**31), 2**31 - 1),
    type_pb2.Field.TYPE_INT64: (-(2**63), 2**63 - 1),
    type_pb2.Field.TYPE_UINT32: (0, 2**32 - 1),
    type_pb2.Field.TYPE_UINT64: (0, 2**64 - 1),
}
_FLOATS = (type_pb2.Field.TYPE_DOUBLE, type_pb2.Field.TYPE_FLOAT)


class MeasurementCaller:
    """A client of one hosted measurement plug-in, found by its service class."""

    def __init__(self, service_class: str, discovery_client: DiscoveryClient | None = None) -> None:
        """Find the plug-in and read its configuration and output parameters."""
        discovery = discovery_client or DiscoveryClient()
        location = discovery.resolve_service(MEASUREMENT_V2, service_class)
        self._channel = grpc.insecure_channel(location.insecure_address)
        self._stub = v2_grpc.MeasurementServiceStub(self._channel)
        signature = self._stub.GetMetadata(v2.GetMetadataRequest()).measurement_signature
        self._inputs = _metadata(signature.configuration_parameters, "Configuration")
        self._outputs = _metadata(signature.outputs, "Output")
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
            metadata.field_name: _plain(value)
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
        ordered = [
            _value(metadata, chosen[metadata.field_name]) for metadata in self._inputs.values()
        ]
        payload = serialize_parameters(self._inputs, ordered, self._input_type)
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


def _metadata(parameters: Any, kind: str) -> dict[int, ParameterMetadata]:
    """Build NI's parameter metadata; an enum parameter gets an enum type from its annotation."""
    found = {}
    for parameter in sorted(parameters, key=lambda p: p.field_number):
        annotations = dict(parameter.annotations)
        enum_type: type[enum.Enum] | None = None
        if parameter.type == type_pb2.Field.TYPE_ENUM:
            if ENUM_VALUES not in annotations:
                raise ValueError(
                    f"{kind} {parameter.name!r} is an enum without the {ENUM_VALUES} "
                    "annotation, so its values are unknown."
                )
            # One enum type per parameter: its name prefixes the values in the descriptor.
            type_name = f"{kind}{parameter.name.replace(' ', '_')}Enum"
            enum_type = _make_enum(type_name, json.loads(annotations[ENUM_VALUES]))
        found[parameter.field_number] = ParameterMetadata.initialize(
            parameter.name,
            parameter.type,
            parameter.repeated,
            None,
            annotations,
            parameter.message_type,
            enum_type,
        )
    return found


def _make_enum(name: str, values: dict[str, int]) -> type[enum.Enum]:
    """Return a Python enum named `name` with `values` (names to numbers)."""
    make: Any = enum.Enum  # the functional API, with names known only at run time
    made: type[enum.Enum] = make(name, values)
    return made


def _value(metadata: ParameterMetadata, value: Any) -> Any:
    """Check `value` against the parameter's type; return it as NI's serializer takes it."""
    if metadata.repeated:
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise ValueError(
                f"{metadata.display_name!r} is a 1-D array: pass a list, not "
                f"{type(value).__name__} {value!r}."
            )
        return [_scalar(metadata, item) for item in value]
    return _scalar(metadata, value)


def _scalar(metadata: ParameterMetadata, value: Any) -> Any:
    kind, name = metadata.type, metadata.display_name
    if kind == type_pb2.Field.TYPE_ENUM:
        assert isinstance(metadata.enum_type, enum.EnumMeta)
        members: Any = metadata.enum_type
        for member in members:
            if isinstance(value, enum.Enum | str):  # a member of any enum, or a name
                if getattr(value, "name", value) == member.name:
                    return member
            elif isinstance(value, int) and not isinstance(value, bool) and value == member.value:
                return member
        accepted = ", ".join(f"{m.name} ({m.value})" for m in members)
        raise ValueError(f"{name!r} does not accept {value!r}; accepted: {accepted}.")
    if kind == type_pb2.Field.TYPE_STRING:
        is_path = metadata.annotations.get("ni/type_specialization") == "path"
        if is_path and isinstance(value, os.PathLike):
            return os.fspath(value)
        if not isinstance(value, str):
            what = "a path (str or os.PathLike)" if is_path else "a string"
            raise ValueError(f"{name!r} takes {what}, not {type(value).__name__} {value!r}.")
        return value
    if kind == type_pb2.Field.TYPE_BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"{name!r} takes True or False, not {value!r}.")
        return value
    if kind in _INTEGERS:
        low, high = _INTEGERS[kind]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name!r} takes an integer from {low} to {high}, not {value!r}.")
        return value
    if kind in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name!r} takes a number, not {type(value).__name__} {value!r}.")
        return float(value)
    return value  # messages (such as XY data) go to NI's serializer as they are
