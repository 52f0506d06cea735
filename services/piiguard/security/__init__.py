"""Who may talk to whom: component identities, mutual TLS, per-RPC authorisation,
the local certificate authority of ``piiguard up``, Ingest API callers, and the
NATS accounts of each component. See docs/security.md."""
