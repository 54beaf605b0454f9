"""Pin map files: the subset of NI's pin map schema the emulated services need.

Parses instruments (custom `Instrument`, `NIDCPowerInstrument` with channel
groups, `NIDAQmxTask` with its `channelList`, `NIRelayDriverModule` with its
control lines, `NIDmmInstrument` and the other single-session NI types),
multiplexers (schema 1.6), DUT and system pins, site and system relays, pin groups
and relay groups, sites, connections, relay connections and multiplexed
connections, and answers one question for Session Management: which sessions,
channels and multiplexer routes serve these pins and relays on these sites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from xml.etree import ElementTree
from xml.parsers import expat

from ni.measurementlink.sessionmanagement.v1.client import (
    INSTRUMENT_TYPE_NI_DAQMX,
    INSTRUMENT_TYPE_NI_DCPOWER,
    INSTRUMENT_TYPE_NI_DIGITAL_PATTERN,
    INSTRUMENT_TYPE_NI_DMM,
    INSTRUMENT_TYPE_NI_FGEN,
    INSTRUMENT_TYPE_NI_RELAY_DRIVER,
    INSTRUMENT_TYPE_NI_SCOPE,
    SITE_SYSTEM_PINS,
)

NAMESPACE = "http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd"
_LINE = "{urn:local-ni-runtime}line"  # where each element starts, for error messages
# Element name -> instrument type id, for NI's instruments with one session each.
SINGLE_SESSION_TYPES = {
    "NIDmmInstrument": INSTRUMENT_TYPE_NI_DMM,
    "NIScopeInstrument": INSTRUMENT_TYPE_NI_SCOPE,
    "NIFGenInstrument": INSTRUMENT_TYPE_NI_FGEN,
    "NIDigitalPatternInstrument": INSTRUMENT_TYPE_NI_DIGITAL_PATTERN,
}


CONNECTIONS = (
    "Connection",
    "SystemConnection",
    "MultiplexedConnection",
    "RelayConnection",
    "SystemRelayConnection",
)


class PinMapError(ValueError):
    """The pin map XML is malformed or refers to something it does not define."""


@dataclass(frozen=True)
class Instrument:
    """One instrument and the session each of its channels belongs to."""

    name: str
    type_id: str
    channels: tuple[str, ...]
    # channel -> session key; NI-DCPower channel groups share one session across instruments.
    session_keys: dict[str, str] = field(default_factory=dict)
    fully_qualified: bool = False

    def session_key(self, channel: str) -> str:
        """Return the key of the session that owns `channel`."""
        return self.session_keys.get(channel, f"{self.type_id}\0{self.name}")

    def qualified(self, channel: str) -> str:
        """Return the channel as Session Management writes it in channel lists."""
        return f"{self.name}/{channel}" if self.fully_qualified else channel


@dataclass(frozen=True)
class Connection:
    """A pin (or system pin, site -1) wired to an instrument channel, maybe through a route."""

    pin: str
    site: int
    instrument: str
    channel: str
    multiplexer: str = ""
    route: str = ""


@dataclass(frozen=True)
class Slot:
    """One reserved (pin, site) and where it lands."""

    pin: str
    site: int
    instrument: Instrument
    channel: str
    multiplexer: str = ""
    route: str = ""

    def channel_name(self) -> str:
        """The channel as Session Management names it.

        NI-Digital Pattern names a pin's channel by site and pin ("site0/CS"; a system
        pin by its name), as NI-Digital addresses pins; the others by instrument channel.
        """
        if self.instrument.type_id == INSTRUMENT_TYPE_NI_DIGITAL_PATTERN:
            return self.pin if self.site == SITE_SYSTEM_PINS else f"site{self.site}/{self.pin}"
        return self.instrument.qualified(self.channel)


@dataclass
class PinMap:
    """A parsed pin map; relays are reserved as pins are, relay groups expand as pin groups."""

    instruments: dict[str, Instrument]
    dut_pins: list[str]
    system_pins: list[str]
    # pin groups and relay groups: name -> the pins, relays and groups it references
    pin_groups: dict[str, list[str]]
    sites: list[int]
    connections: dict[tuple[str, int], Connection]
    # multiplexer name -> its multiplexerTypeId (may be empty)
    multiplexers: dict[str, str] = field(default_factory=dict)
    site_relays: list[str] = field(default_factory=list)
    system_relays: list[str] = field(default_factory=list)
    relay_groups: list[str] = field(default_factory=list)  # which of pin_groups hold relays

    def resolved(self, group: str) -> list[str]:
        """Return the pins or relays a group holds, nested groups expanded."""
        return self._resolve(group, ())

    def everything(self) -> list[str]:
        """Return every pin and relay: what a reservation naming none reserves."""
        return self.dut_pins + self.system_pins + self.site_relays + self.system_relays

    def expand(self, names: Iterable[str]) -> tuple[list[str], dict[str, list[str]]]:
        """Expand pin groups; return the pins in order and each group's pins."""
        pins: list[str] = []
        groups: dict[str, list[str]] = {}
        for name in names:
            resolved = self._resolve(name, ())
            if name in self.pin_groups:
                groups[name] = resolved
            pins.extend(pin for pin in resolved if pin not in pins)
        return pins, groups

    def _resolve(self, name: str, trail: tuple[str, ...]) -> list[str]:
        if name in self.dut_pins or name in self.system_pins or self._is_relay(name):
            return [name]
        if name not in self.pin_groups:
            raise PinMapError(
                f"Pin map has no pin, relay, pin group or relay group named {name!r}."
            )
        if name in trail:
            raise PinMapError(f"Pin group {name!r} contains itself ({' > '.join(trail)}).")
        pins: list[str] = []
        for reference in self.pin_groups[name]:
            pins.extend(p for p in self._resolve(reference, (*trail, name)) if p not in pins)
        return pins

    def _is_relay(self, name: str) -> bool:
        return name in self.site_relays or name in self.system_relays

    def slots(self, pins: Iterable[str], sites: Iterable[int]) -> Iterator[Slot]:
        """Yield where each pin or relay lands on each site; system ones once, on site -1."""
        site_list = list(sites)
        for pin in pins:
            system = pin in self.system_pins or pin in self.system_relays
            pin_sites = [SITE_SYSTEM_PINS] if system else site_list
            for site in pin_sites:
                connection = self.connections.get((pin, site))
                if connection is not None:
                    instrument = self.instruments[connection.instrument]
                    yield Slot(
                        pin,
                        site,
                        instrument,
                        connection.channel,
                        connection.multiplexer,
                        connection.route,
                    )

    def routed_multiplexers(self, sites: Iterable[int]) -> list[str]:
        """Return the multiplexers with a route on any of `sites`, in pin map order."""
        wanted = set(sites)
        used = {c.multiplexer for c in self.connections.values() if c.site in wanted}
        return [name for name in self.multiplexers if name in used]

    def session_channels(self, key: str) -> list[tuple[Instrument, str]]:
        """Return every connected channel of the session `key`, sorted."""
        found = {
            (connection.instrument, connection.channel)
            for connection in self.connections.values()
            if self.instruments[connection.instrument].session_key(connection.channel) == key
        }
        return sorted(
            ((self.instruments[name], channel) for name, channel in found),
            key=lambda item: (item[0].name, channel_order(item[1])),
        )


def parse(xml: str) -> PinMap:
    """Parse pin map XML; PinMapError names the line and element of the first problem."""
    root = _read_tree(xml.lstrip("\ufeff"))
    if _local(root.tag) != "PinMap":
        raise PinMapError(f"Pin map root element is <{_local(root.tag)}>, expected <PinMap>.")
    instruments: dict[str, Instrument] = {}
    multiplexers: dict[str, str] = {}
    for element in _children(root, "Instruments"):
        name = _attribute(element, "name")
        if name in instruments or name in multiplexers:
            raise PinMapError(_where(element, f"instrument {name!r} is defined twice"))
        if _local(element.tag) == "Multiplexer":
            multiplexers[name] = (element.get("multiplexerTypeId") or "").strip()
            continue
        instruments[name] = _instrument(element, instruments)
    dut_pins: list[str] = []
    system_pins: list[str] = []
    for element in _children(root, "Pins"):
        kind = _local(element.tag)
        if kind not in ("DUTPin", "SystemPin"):
            raise PinMapError(_where(element, "expected <DUTPin> or <SystemPin>"))
        (dut_pins if kind == "DUTPin" else system_pins).append(_attribute(element, "name"))
    site_relays: list[str] = []
    system_relays: list[str] = []
    for element in _children(root, "Relays"):
        kind = _local(element.tag)
        if kind not in ("SiteRelay", "SystemRelay"):
            raise PinMapError(_where(element, "expected <SiteRelay> or <SystemRelay>"))
        (site_relays if kind == "SiteRelay" else system_relays).append(_attribute(element, "name"))
    pin_groups = {
        _attribute(group, "name"): [
            _attribute(reference, "pin")
            for reference in group
            if _local(reference.tag) == "PinReference"
        ]
        for group in _children(root, "PinGroups")
    }
    relay_groups: list[str] = []
    for group in _children(root, "RelayGroups"):
        name = _attribute(group, "name")
        if name in pin_groups:
            raise PinMapError(_where(group, f"group {name!r} is defined twice"))
        relay_groups.append(name)
        pin_groups[name] = [
            _attribute(reference, "relay")
            for reference in group
            if _local(reference.tag) == "RelayReference"
        ]
    sites = [int(_attribute(site, "siteNumber", r"\d+")) for site in _children(root, "Sites")]
    pin_map = PinMap(
        instruments,
        dut_pins,
        system_pins,
        pin_groups,
        sites or [0],
        {},
        multiplexers,
        site_relays,
        system_relays,
        relay_groups,
    )
    for element in _children(root, "Connections"):
        for connection in _connections(element, pin_map):
            pin_map.connections[(connection.pin, connection.site)] = connection
    return pin_map


def _read_tree(xml: str) -> ElementTree.Element:
    """Build an element tree that remembers the line each element starts on."""
    parser = expat.ParserCreate(namespace_separator="}")
    stack: list[ElementTree.Element] = []
    roots: list[ElementTree.Element] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = ElementTree.Element(tag, attributes)
        element.set(_LINE, str(parser.CurrentLineNumber))
        (stack[-1].append(element) if stack else roots.append(element))
        stack.append(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as error:
        raise PinMapError(
            f"Pin map is not well-formed XML at line {error.lineno}, column {error.offset}: "
            f"{expat.ErrorString(error.code)}."
        ) from None
    return roots[0]


def _instrument(element: ElementTree.Element, known: dict[str, Instrument]) -> Instrument:
    kind = _local(element.tag)
    name = _attribute(element, "name")
    if kind == "Instrument":
        type_id = _attribute(element, "instrumentTypeId")
        ids = [_attribute(c, "id") for c in element.iter() if _local(c.tag) == "Channel"]
        return Instrument(name, type_id, tuple(ids or ["0"]))
    if kind == "NIDCPowerInstrument":
        count = int(_attribute(element, "numberOfChannels", r"\d+"))
        channels = tuple(str(number) for number in range(count))
        keys: dict[str, str] = {}
        for group in element:
            if _local(group.tag) != "ChannelGroup":
                continue
            members = _channel_range(group, group.get("channels"), channels)
            for channel in members:
                keys[channel] = f"{INSTRUMENT_TYPE_NI_DCPOWER}\0group\0{_attribute(group, 'name')}"
        for channel in channels:
            keys.setdefault(channel, f"{INSTRUMENT_TYPE_NI_DCPOWER}\0{name}")
        return Instrument(name, INSTRUMENT_TYPE_NI_DCPOWER, channels, keys, fully_qualified=True)
    if kind == "NIDAQmxTask":
        # Channels are named as NI-DAQmx physical channels, e.g. channelList="Dev1/ai0:3, Dev2/ai0".
        channels = _physical_channels(element, _attribute(element, "channelList"))
        return Instrument(name, INSTRUMENT_TYPE_NI_DAQMX, channels)
    if kind == "NIRelayDriverModule":
        # Control lines are K0, K1, ... as NI's pin maps name them.
        count = int(_attribute(element, "numberOfControlLines", r"\d+"))
        lines = tuple(f"K{n}" for n in range(count))
        return Instrument(name, INSTRUMENT_TYPE_NI_RELAY_DRIVER, lines)
    if kind in SINGLE_SESSION_TYPES:
        count = int(element.get("numberOfChannels") or element.get("numberOfControlLines") or 1)
        return Instrument(name, SINGLE_SESSION_TYPES[kind], tuple(str(n) for n in range(count)))
    raise PinMapError(_where(element, f"instrument element <{kind}> is not supported here"))


def _connections(element: ElementTree.Element, pin_map: PinMap) -> Iterator[Connection]:
    kind = _local(element.tag)
    if kind not in CONNECTIONS:
        raise PinMapError(
            _where(
                element,
                f"connection element <{kind}> is not supported here (supported: "
                f"{', '.join(f'<{c}>' for c in CONNECTIONS)})",
            )
        )
    relay = kind in ("RelayConnection", "SystemRelayConnection")
    instrument_name = _attribute(element, "relayDriverModule" if relay else "instrument")
    channel = _attribute(element, "controlLine" if relay else "channel")
    instrument = pin_map.instruments.get(instrument_name)
    if instrument is None:
        raise PinMapError(_where(element, f"instrument {instrument_name!r} is not defined"))
    if relay and instrument.type_id != INSTRUMENT_TYPE_NI_RELAY_DRIVER:
        raise PinMapError(_where(element, f"{instrument_name!r} is not an <NIRelayDriverModule>"))
    if channel not in instrument.channels:
        raise PinMapError(
            _where(element, f"instrument {instrument_name!r} has no channel {channel!r}")
        )
    if kind == "RelayConnection":
        name = _attribute(element, "relay")
        if name not in pin_map.site_relays:
            raise PinMapError(_where(element, f"{name!r} is not a site relay"))
        for site in _sites(element, pin_map):
            yield Connection(name, site, instrument_name, channel)
        return
    if kind == "SystemRelayConnection":
        name = _attribute(element, "relay")
        if name not in pin_map.system_relays:
            raise PinMapError(_where(element, f"{name!r} is not a system relay"))
        yield Connection(name, SITE_SYSTEM_PINS, instrument_name, channel)
        return
    if kind == "MultiplexedConnection":
        yield from _routes(element, pin_map, instrument_name, channel)
        return
    pin = _attribute(element, "pin")
    if kind == "SystemConnection":
        if pin not in pin_map.system_pins:
            raise PinMapError(_where(element, f"{pin!r} is not a system pin"))
        yield Connection(pin, SITE_SYSTEM_PINS, instrument_name, channel)
        return
    for site in _dut_pin_sites(element, pin, pin_map):
        yield Connection(pin, site, instrument_name, channel)


def _routes(
    element: ElementTree.Element, pin_map: PinMap, instrument: str, channel: str
) -> Iterator[Connection]:
    """The DUT pins a multiplexed instrument channel reaches, each through a multiplexer route."""
    for route in element:
        if _local(route.tag) != "MultiplexedDUTPinRoute":
            raise PinMapError(
                _where(route, "expected <MultiplexedDUTPinRoute> inside <MultiplexedConnection>")
            )
        pin = _attribute(route, "pin")
        multiplexer = _attribute(route, "multiplexer")
        if multiplexer not in pin_map.multiplexers:
            raise PinMapError(_where(route, f"multiplexer {multiplexer!r} is not defined"))
        route_name = _attribute(route, "routeName")
        for site in _dut_pin_sites(route, pin, pin_map):
            yield Connection(pin, site, instrument, channel, multiplexer, route_name)


def _dut_pin_sites(element: ElementTree.Element, pin: str, pin_map: PinMap) -> list[int]:
    if pin not in pin_map.dut_pins:
        raise PinMapError(_where(element, f"{pin!r} is not a DUT pin"))
    return _sites(element, pin_map)


def _sites(element: ElementTree.Element, pin_map: PinMap) -> list[int]:
    sites = []
    for site_text in _attribute(element, "siteNumber", r"\d+(\s*,\s*\d+)*").split(","):
        site = int(site_text)
        if site not in pin_map.sites:
            raise PinMapError(_where(element, f"site {site} is not in <Sites>"))
        sites.append(site)
    return sites


def _channel_range(
    element: ElementTree.Element, text: str | None, channels: tuple[str, ...]
) -> list[str]:
    if not text:
        return list(channels)
    members: list[str] = []
    for part in text.split(","):
        start, _, end = part.strip().partition("-")
        if not start.isdigit() or (end and not end.isdigit()):
            raise PinMapError(_where(element, f'channels={text!r} is not like "0,1" or "0-3"'))
        members.extend(str(n) for n in range(int(start), int(end or start) + 1))
    unknown = [m for m in members if m not in channels]
    if unknown:
        raise PinMapError(_where(element, f"channels {', '.join(unknown)} do not exist"))
    return members


def _children(root: ElementTree.Element, section: str) -> list[ElementTree.Element]:
    return [child for part in root if _local(part.tag) == section for child in part]


def _attribute(element: ElementTree.Element, name: str, pattern: str = r".+") -> str:
    value = element.get(name)
    if value is None or not re.fullmatch(pattern, value.strip()):
        found = "is missing" if value is None else f"is {value!r}"
        raise PinMapError(_where(element, f"attribute {name!r} {found}"))
    return value.strip()


def _where(element: ElementTree.Element, problem: str) -> str:
    return f"Pin map line {element.get(_LINE)}, <{_local(element.tag)}>: {problem}."


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _physical_channels(element: ElementTree.Element, text: str) -> tuple[str, ...]:
    """Expand an NI-DAQmx channel list: "Dev1/ai0:2, Dev2/ai0" names four channels."""
    channels: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        found = re.fullmatch(r"(.*?)(\d+):(\d+)", part)
        if found is None:
            if not part:
                raise PinMapError(_where(element, f"channelList={text!r} has an empty entry"))
            channels.append(part)
            continue
        prefix, first, last = found.group(1), int(found.group(2)), int(found.group(3))
        step = 1 if last >= first else -1
        channels.extend(f"{prefix}{n}" for n in range(first, last + step, step))
    return tuple(channels)


def channel_order(channel: str) -> tuple[str | int, ...]:
    """Order channels naturally: 0 < 2 < 10, K1 < K10, Dev1/ai2 < Dev1/ai10."""
    parts = re.split(r"(\d+)", channel)
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts))
