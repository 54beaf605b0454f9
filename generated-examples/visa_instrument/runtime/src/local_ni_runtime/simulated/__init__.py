"""The simulated NI drivers of the local runtime's NI gRPC Device Server, one module each."""
