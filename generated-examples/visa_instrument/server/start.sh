#!/bin/sh
# Starts the server (POSIX twin of start.bat; also: start.sh --no-discovery). The
# first run builds .venv here (venv_setup.py; pip's output goes to venv-install.log).
# Python: $PYTHON if set, else python3.
set -eu
cd "$(dirname "$0")"
if ! "${PYTHON:-python3}" venv_setup.py; then
    echo "start.sh: .venv is not ready; see the error above and $PWD/venv-install.log." \
        "Set PYTHON to a Python 3.10+ interpreter to choose another Python." >&2
    exit 1
fi
exec .venv/bin/python serve.py "$@"
