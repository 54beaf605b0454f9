"""The JsonLogger server: one session per resource, shared by measurement plug-ins."""
