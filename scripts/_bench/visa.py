"""The VISA instrument preset's row: a Query round trip to the simulated bench DMM.

The generated server of the VISA render against its empty-handler baseline (same
proto, same thread pool) and its floor: the same query answered by pyvisa-sim
with no session layer (`servicers._visa_floor`), the three alternating in rounds.
Every process of the run has the render's examples/bench_dmm.yaml as its
PYVISA_LIBRARY (the outer process sets it), so the generated server and the floor
open the same simulated instrument.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _bench import ENTRY
from _bench.figures import collect, percentile
from _bench.load import timed_ms
from _bench.plan import Plan
from _bench.project import (
    INITIALIZE_NEW,
    VISA_QUERY,
    VISA_RESOURCE,
    VISA_SERVER_PACKAGE,
    visa_modules,
)
from _bench.servers import (
    KIND_BASELINE,
    KIND_FLOOR,
    KIND_GENERATED,
    SERVE_VISA_BASELINE,
    SERVE_VISA_FLOOR,
    Target,
    launch_target,
    stop_target,
)
from _bench.table import Table
from _bench.throughput import Targets

SUBJECTS = (KIND_GENERATED, KIND_BASELINE, KIND_FLOOR)
EXPECTED = "Bench Instruments,BDM-6500,SIM000001,1.2.0"  # *IDN? in examples/bench_dmm.yaml


class VisaClient:
    """One client of the VISA render's server (or its baseline or floor): its own channel."""

    def __init__(self, address: str) -> None:
        """Connect to `address` over a connection of its own."""
        v = visa_modules()
        self._pb2 = v.pb2
        options = [("grpc.use_local_subchannel_pool", 1)]
        self._channel = v.grpc.insecure_channel(address, options=options)
        v.grpc.channel_ready_future(self._channel).result(timeout=30)
        self._stub = v.pb2_grpc.VisaInstrumentStub(self._channel)

    def initialize(self, resource: str) -> str:
        """Open the session for `resource` (INITIALIZE_NEW); return its name."""
        request = self._pb2.InitializeRequest(
            resource_name=resource, initialization_behavior=INITIALIZE_NEW
        )
        return str(self._stub.Initialize(request).session_name)

    def query(self, session_name: str, command: str) -> str:
        """Send `command` and return the instrument's answer."""
        request = self._pb2.QueryRequest(session_name=session_name, command=command)
        return str(self._stub.Query(request).response)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


def measure_visa(table: Table, _targets: Targets, work: Path, plan: Plan) -> None:
    """Add the Query row: p50 and p99 latency of one *IDN? round trip, 1 client."""
    directory = work / "visa"
    directory.mkdir()
    servers: dict[str, Target] = {}
    clients: dict[str, VisaClient] = {}
    try:
        for kind in SUBJECTS:
            servers[kind] = _start(kind, directory)
            clients[kind] = VisaClient(servers[kind].address)
        names = {kind: clients[kind].initialize(VISA_RESOURCE) for kind in SUBJECTS}
        for kind in (KIND_GENERATED, KIND_FLOOR):
            answer = clients[kind].query(names[kind], VISA_QUERY)
            if answer != EXPECTED:
                raise RuntimeError(f"the {kind} server answered {VISA_QUERY} with {answer!r}")

        def sample(kind: str) -> list[float]:
            return timed_ms(
                lambda: clients[kind].query(names[kind], VISA_QUERY), plan.latency_batch * 4
            )

        samples = collect(list(SUBJECTS), plan.latency_rounds, sample)
        for fraction, name in ((0.5, "p50"), (0.99, "p99")):
            table.add(
                f"visa_query_{name}",
                f"Query {VISA_QUERY}, simulated bench DMM (pyvisa-sim), 1 client, {name}",
                "ms",
                {kind: percentile(values, fraction) for kind, values in samples.items()},
            )
    finally:
        for client in clients.values():
            client.close()
        for server in servers.values():
            stop_target(server)


def _start(kind: str, directory: Path) -> Target:
    """Start the VISA render's generated server, or this script's baseline or floor for it."""
    if kind == KIND_GENERATED:
        command = [sys.executable, "-m", VISA_SERVER_PACKAGE, "--no-discovery", "--port", "0"]
    else:
        serve = SERVE_VISA_BASELINE if kind == KIND_BASELINE else SERVE_VISA_FLOOR
        command = [sys.executable, str(ENTRY), "--serve", serve]
    return launch_target(kind, command, directory)
