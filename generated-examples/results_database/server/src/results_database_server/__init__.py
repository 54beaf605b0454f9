"""The ResultsDatabase server: one session per resource, shared by measurement plug-ins."""
