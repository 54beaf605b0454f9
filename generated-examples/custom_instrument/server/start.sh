#!/bin/sh
# Starts the CustomInstrument server (POSIX twin of start.bat). The first run
# creates .venv here and installs the client (which holds the stubs) and the server.
set -eu
cd "$(dirname "$0")"
if [ ! -f .venv/installed ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --disable-pip-version-check -q -e ../client -e .
    touch .venv/installed
fi
exec .venv/bin/python -m custom_instrument_server --service-config "$PWD/CustomInstrument.serviceconfig" "$@"
