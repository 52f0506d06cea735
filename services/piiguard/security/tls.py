"""Mutual TLS for gRPC: the component's own certificate and the CA it trusts.

Every component serves gRPC over TLS and asks every client for a certificate
of the same CA (``PIIGUARD_TLS_CA``); clients present their own
(``PIIGUARD_TLS_CERT`` / ``PIIGUARD_TLS_KEY``). Plaintext only with the
explicit ``PIIGUARD_INSECURE_PLAINTEXT=true``, for local development, with a
WARNING on every start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import grpc

from piiguard.errors import ConfigError
from piiguard.settings import Settings

log = logging.getLogger(__name__)

PLAINTEXT_ENV = "PIIGUARD_INSECURE_PLAINTEXT"


@dataclass(frozen=True)
class TlsSettings:
    """One component's TLS material.

    plaintext: ``PIIGUARD_INSECURE_PLAINTEXT=true``: no TLS at all, every caller trusted.
    cert: ``PIIGUARD_TLS_CERT``, this component's certificate (PEM; may hold the chain).
    key: ``PIIGUARD_TLS_KEY``, its private key (PEM).
    ca: ``PIIGUARD_TLS_CA``, the CA whose certificates identify peers (PEM).
    """

    plaintext: bool
    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None

    @classmethod
    def from_settings(cls, config: Settings) -> TlsSettings:
        if config.insecure_plaintext:
            return cls(plaintext=True)
        values = {"PIIGUARD_TLS_CERT": config.tls_cert, "PIIGUARD_TLS_KEY": config.tls_key,
                  "PIIGUARD_TLS_CA": config.tls_ca}
        missing = [name for name, value in values.items() if value is None]
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} not set: gRPC needs this component's certificate, key and "
                f"CA (piiguard up creates them; in a cluster the chart mounts them), or "
                f"{PLAINTEXT_ENV}=true for local development without TLS")
        for name, path in values.items():
            assert path is not None
            if not path.is_file():
                raise ConfigError(f"{name}: no such file ({path.name})")
        return cls(plaintext=False, cert=config.tls_cert, key=config.tls_key, ca=config.tls_ca)
    def warn_if_plaintext(self, component: str) -> None:
        if self.plaintext:
            log.warning("%s: %s=true: gRPC WITHOUT TLS OR AUTHENTICATION; anyone who can reach "
                        "the port can call it. For local development only.", component, PLAINTEXT_ENV)

    def _read(self) -> tuple[bytes, bytes, bytes]:
        assert self.cert and self.key and self.ca
        return self.cert.read_bytes(), self.key.read_bytes(), self.ca.read_bytes()

    def _stamp(self) -> tuple[int, ...]:
        assert self.cert and self.key and self.ca
        return tuple(p.stat().st_mtime_ns for p in (self.cert, self.key, self.ca))

    def _configuration(self, require_client_auth: bool) -> grpc.ServerCertificateConfiguration:
        cert, key, ca = self._read()
        return grpc.ssl_server_certificate_configuration(
            [(key, cert)], root_certificates=ca if require_client_auth else None)

    def server_credentials(self, *, require_client_auth: bool = True) -> grpc.ServerCredentials:
        """Credentials that follow the files: a renewed certificate, key or CA (cert-manager
        rewrites the mounted Secret) is used for every new connection, without a restart."""
        state = {"stamp": self._stamp()}

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            try:
                stamp = self._stamp()
                if stamp == state["stamp"]:
                    return None  # unchanged: keep the current configuration
                configuration = self._configuration(require_client_auth)
            except (OSError, ValueError) as exc:  # half-written during renewal: try again later
                log.warning("TLS files not reloaded: %s", type(exc).__name__)
                return None
            state["stamp"] = stamp
            log.info("TLS certificate, key or CA changed: new connections use the new files")
            return configuration

        return grpc.dynamic_ssl_server_credentials(
            self._configuration(require_client_auth), fetch,
            require_client_authentication=require_client_auth)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        cert, key, ca = self._read()
        return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                            certificate_chain=cert)


def secure_channel(target: str, settings: TlsSettings,
                   options: list[tuple[str, object]] | None = None) -> grpc.Channel:
    """A blocking channel to another component with this component's credentials."""
    if settings.plaintext:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, settings.channel_credentials(), options=options)
