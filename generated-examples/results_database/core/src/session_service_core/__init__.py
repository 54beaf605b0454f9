"""What every session-managed service for NI Measurement Plug-Ins shares.

- `session_service_core.server`: the session registry (NI's initialization
  behaviours), the statuses failures answer with, serving with health checking,
  reflection and session administration, discovery registration, stopping;
- `session_service_core.client`: finding the service and the session base the
  rendered client's session class subclasses;
- `stopping` and `local_runtime`, which servers and plug-ins both use.

A render carries this package byte-identical in its core/ folder and installs it
as an ordinary dependency; `copier update` replaces it with the next version.
"""
