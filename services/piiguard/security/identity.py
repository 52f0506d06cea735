"""Component identities and how a gRPC peer's identity is read.

A component's certificate names it twice: the SAN URI
``spiffe://piiguard.io/<component>`` (authoritative) and the subject CN (the
fallback, for certificates issued by tools that cannot set URI SANs). An
external Ingest API caller's certificate names the caller in its CN; a caller
may also present a bearer token instead (see :mod:`piiguard.security.tokens`).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Literal

SPIFFE_PREFIX = "spiffe://piiguard.io/"

# The pipeline's stages, in the order work flows through them.
STAGES: tuple[str, ...] = ("ingest", "detection", "action")
# Every component with its own certificate and NATS account. ``admin`` is the
# identity of people operating PII Guard (the CLI, the Audit gRPC).
COMPONENTS: tuple[str, ...] = (*STAGES, "operator", "admin")

Via = Literal["certificate", "token"]


@dataclass(frozen=True)
class Caller:
    """Who made a request.

    name: the component (``ingest`` …, ``admin``) or the external caller's name.
    component: whether ``name`` is one of :data:`COMPONENTS` (proved by a
        certificate of the component CA) rather than an external Ingest API caller.
    via: how the caller proved it: a client certificate or a bearer token.
    """

    name: str
    component: bool
    via: Via


# The caller of the RPC being served (set by the authorisation interceptor), so a
# servicer can scope what it does to the caller without re-reading credentials.
current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "piiguard_current_caller", default=None)


def spiffe_id(component: str) -> str:
    return SPIFFE_PREFIX + component


def name_from_certificate(pem: bytes) -> str | None:
    """The identity a PEM certificate names: its ``spiffe://piiguard.io/`` URI SAN,
    else its subject CN; ``None`` when it names none."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for uri in sans.get_values_for_type(x509.UniformResourceIdentifier):
            if uri.startswith(SPIFFE_PREFIX) and "/" not in uri[len(SPIFFE_PREFIX):]:
                return uri[len(SPIFFE_PREFIX):] or None
    except x509.ExtensionNotFound:
        pass
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names:
        value = names[0].value
        text = value.decode() if isinstance(value, bytes) else value
        return text or None
    return None


def caller_from_certificate(pem: bytes) -> Caller | None:
    name = name_from_certificate(pem)
    if name is None:
        return None
    return Caller(name=name, component=name in COMPONENTS, via="certificate")
