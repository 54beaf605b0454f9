"""Run the local runtime: `python -m local_ni_runtime --help`."""

import sys

from .main import main

sys.exit(main())
