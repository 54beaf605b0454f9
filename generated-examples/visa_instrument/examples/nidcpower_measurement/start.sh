#!/bin/sh
# Starts this measurement plug-in (POSIX twin of start.bat). Each
# start runs venv_setup.py, which builds .venv here when it is missing or stale
# (pip's output goes to venv-install.log). Python: $PYTHON if set, else python3.X
# for the version in .python-version (scripts/deploy.py writes it), else python3.
set -eu
cd "$(dirname "$0")"
python=python3
if [ -f .python-version ]; then python="python$(cat .python-version)"; fi
if ! "${PYTHON:-$python}" venv_setup.py; then
    echo "start.sh: .venv is not ready; see the error above and $PWD/venv-install.log." \
        "Set PYTHON to a Python interpreter (${python}, or 3.10+) to choose another Python." >&2
    exit 1
fi
exec .venv/bin/python measurement.py "$@"
