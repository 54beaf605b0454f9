"""Run the server: `python -m <package> --help`."""

import sys

from .main import main

sys.exit(main())
