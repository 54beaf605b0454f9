"""The VisaInstrument server: one session per resource, shared by measurement plug-ins."""
