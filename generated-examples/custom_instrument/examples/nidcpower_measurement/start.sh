#!/bin/sh
# Starts this measurement plug-in (POSIX twin of start.bat). The first run
# creates .venv here and installs requirements.txt.
set -eu
cd "$(dirname "$0")"
if [ ! -f .venv/installed ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
    touch .venv/installed
fi
exec .venv/bin/python measurement.py "$@"
