"""Benchmark the rendered JSON logger service against Python gRPC's limit and NI's design.

Usage:
    python3 scripts/bench.py                      # full run, about 3.5 minutes on 2 cores
    python3 scripts/bench.py --quick              # every row, fewer samples, under a minute
    python3 scripts/bench.py --json bench.json    # also write the table as JSON
    python3 scripts/bench.py --compare old.json   # add a column: this run / the old run
    python3 scripts/bench.py --project DIR        # measure a JSON logger rendered earlier

What it measures, in one run and one process tree, alternating the servers and
taking medians over repetitions:

- **generated**: the template rendered now with the default answers (NI's JSON
  logger), run as `python -m json_logger_server --no-discovery --port 0`;
- **baseline**: a server on the same generated proto, same thread pool, whose
  handlers only return an empty response: what Python gRPC can do on this machine;
- **reference**: a server written here from the published description of NI's
  reference design (it re-reads and parses the whole log on every InitializeFile,
  attaches included), to show what the generated design avoids.

Clients are threads of this process, each with its own channel and connection;
one row runs the same load from two client processes to show that the client side
is not the limit.
Every ratio is generated / baseline. Memory and descriptor rows read /proc, so
they need Linux; elsewhere they are left empty.

Run with any Python 3.10+: the script sets up the repository's .venv (Copier,
uv) with scripts/_bootstrap.py, renders the template into a temporary directory,
builds an environment there with the render's pinned grpcio, protobuf and NI SDK
plus its client and server packages, and re-runs itself inside it (`--measure`).
The code is the package scripts/_bench/, one module per job.
"""

from __future__ import annotations

import sys

from _bench.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
