"""Generated gRPC stubs of the core's own proto (the session administration service)."""
