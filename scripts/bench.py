"""Benchmark the rendered JSON logger and results database against Python gRPC's limit.

Usage:
    python3 scripts/bench.py                      # full run, about 15 minutes on 2 cores
    python3 scripts/bench.py --quick              # every row, fewer samples, about two minutes
    python3 scripts/bench.py --json bench.json    # also write the table as JSON
    python3 scripts/bench.py --compare old.json   # add a column: this run / the old run
    python3 scripts/bench.py --project DIR        # measure a JSON logger rendered earlier
    python3 scripts/bench.py --only database      # one step's rows (repeatable)
    python3 scripts/bench.py --no-pin             # servers and clients on any CPU

What it measures, in one run and one process tree, alternating the servers and
taking medians over repetitions:

- **generated**: the template rendered now with the default answers (NI's JSON
  logger), run as `python -m json_logger_server --no-discovery --port 0`;
- **baseline**: a server on the same generated proto, same thread pool, whose
  handlers only return an empty response: what Python gRPC can do on this machine;
- **reference**: a server written here from the published description of NI's
  reference design (it re-reads and parses the whole log on every InitializeFile,
  attaches included), to show what the generated design avoids.

The database rows measure the `database` preset rendered with its default answers
(`results_database_server`) against a baseline of its own: empty handlers on that
render's proto and thread pool. They log to SQLite files, and to a PostgreSQL
server started for the run with initdb and pg_ctl when those are found (the report
says why not otherwise), and time QueryResults on a table of 100,000 rows.

Clients are threads of this process, each with its own channel and connection;
one row runs the same load from two client processes to show that the client side
is not the limit. On Linux with 2 or more CPUs every server runs on the first CPU
and the clients on the others (`--no-pin` leaves placement to the scheduler; see
_bench/affinity.py for why). One row per server family is measured A/A, the
baseline against a second baseline: its distance from 1.00x is the noise of that
run's ratios.
Every ratio is generated / baseline. Memory and descriptor rows read /proc, so
they need Linux; elsewhere they are left empty.

Run with any Python 3.10+: the script sets up the repository's .venv (Copier,
uv) with scripts/_bootstrap.py, renders the template (and the database preset)
into a temporary directory, builds an environment there with the renders' pinned
grpcio, protobuf and NI SDK (the database render's from its own lock, psycopg
included) plus their client and server packages, and re-runs itself inside it
(`--measure`).
The code is the package scripts/_bench/, one module per job.
"""

from __future__ import annotations

import sys

from _bench.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
