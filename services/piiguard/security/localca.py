"""The throwaway certificate authority of ``piiguard up`` (and of the tests).

On every start ``piiguard up`` makes a new CA in ``<data dir>/security/tls`` and
issues one certificate per component, so nothing long-lived is left to steal:
the CA's key never leaves that folder (mode 0700, keys 0600) and certificates
expire after :data:`VALIDITY_DAYS`. In a cluster cert-manager (or the user's
Secrets) provides the same files; see docs/security.md.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from piiguard.security.identity import spiffe_id

VALIDITY_DAYS = 7  # a local CA lives as long as one `piiguard up`; a week covers long runs
LOCAL_DNS_NAMES: tuple[str, ...] = ("localhost",)
LOCAL_IPS: tuple[str, ...] = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class CertFiles:
    """PEM files of one identity.

    cert: its certificate. key: its private key (mode 0600). ca: the CA that
    issued it and every peer's certificate (what it verifies peers with).
    """

    cert: Path
    key: Path
    ca: Path

    def env(self) -> dict[str, str]:
        """The component's ``PIIGUARD_TLS_*`` variables."""
        return {"PIIGUARD_TLS_CERT": str(self.cert), "PIIGUARD_TLS_KEY": str(self.key),
                "PIIGUARD_TLS_CA": str(self.ca)}


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class LocalCA:
    """A CA in ``directory``: ``ca.pem`` (public) and ``ca-key.pem`` (0600)."""

    def __init__(self, directory: Path, key: ec.EllipticCurvePrivateKey,
                 cert: x509.Certificate) -> None:
        self.directory = directory
        self.key = key
        self.cert = cert

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @classmethod
    def create(cls, directory: Path, name: str = "PII Guard local CA") -> LocalCA:
        """A fresh CA, replacing whatever ``directory`` held."""
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(directory / "ca-key.pem", _key_pem(key))
        (directory / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(directory, key, cert)

    def issue(self, name: str, *, uri: str | None = None, dns_names: Iterable[str] = LOCAL_DNS_NAMES,
              ips: Iterable[str] = LOCAL_IPS) -> CertFiles:
        """A certificate for ``name`` (CN), usable as TLS server and client, written to
        ``<name>.pem`` and ``<name>-key.pem`` beside the CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if uri:
            sans.append(x509.UniformResourceIdentifier(uri))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_file = self.directory / f"{name}.pem"
        key_file = self.directory / f"{name}-key.pem"
        _write_private(key_file, _key_pem(key))
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return CertFiles(cert=cert_file, key=key_file, ca=self.ca_file)

    def issue_component(self, component: str) -> CertFiles:
        return self.issue(component, uri=spiffe_id(component))
