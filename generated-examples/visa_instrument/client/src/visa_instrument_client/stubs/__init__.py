"""Generated gRPC stubs: regenerate with `python scripts/generate_stubs.py`."""
