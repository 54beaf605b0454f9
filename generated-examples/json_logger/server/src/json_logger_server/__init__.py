"""The JsonLogger server: one session per resource, shared across measurement plug-ins."""
