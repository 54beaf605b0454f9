"""The switch that points processes at the local runtime (applied by the client package)."""

ENVIRONMENT_VARIABLE = "NI_LOCAL_RUNTIME"
