"""The benchmark that `python3 scripts/bench.py` runs, one module per job.

One command runs as three kinds of process, each of them scripts/bench.py:

- the outer one, under any Python 3.10+, renders the template (the default
  answers, the database and VISA instrument presets) and builds an environment
  with the renders' packages (`environment`), then runs the script again inside it with `--measure`;
- that one starts the servers under test (`servers`), drives them with clients
  (`load`) through the rows of `scenarios`, and prints them (`report`);
- the baseline and reference servers are the script once more, with `--serve`
  (`servicers`).

`cli` reads the command line, `plan` says how much a run measures, `affinity`
puts the servers and the clients on CPUs of their own, `project` is
what the benchmark knows of the renders, `proc` what /proc says about a server,
`figures` turns samples into figures, `throughput` makes a records/s row,
`database` adds the database preset's rows (on a PostgreSQL server from
`postgresql` when it can start one), `visa` the VISA instrument preset's, and
`table` holds the rows.
"""

from pathlib import Path

# The script every process of the benchmark runs.
ENTRY = Path(__file__).resolve().parent.parent / "bench.py"
