"""Run the server with the .serviceconfig of this folder (start.bat and start.sh run this).

Template-owned. Arguments are passed on: `serve.py --no-discovery`, `serve.py --port 50051`.
"""

import sys
from pathlib import Path

from visa_instrument_server.main import main

SERVICE_CONFIG = Path(__file__).resolve().parent / "VisaInstrument.serviceconfig"

if __name__ == "__main__":
    sys.exit(main(["--service-config", str(SERVICE_CONFIG), *sys.argv[1:]]))
