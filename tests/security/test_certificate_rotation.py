"""Certificates are renewed in place (cert-manager rewrites the mounted files): a
server takes the new certificate, key and CA for new connections without a
restart; the old CA's certificates are refused from then on."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from piiguard.grpcserver import GrpcServer
from piiguard.security.localca import CertFiles, LocalCA
from piiguard.security.tls import TlsSettings


def settings_of(files: CertFiles) -> TlsSettings:
    return TlsSettings(plaintext=False, cert=files.cert, key=files.key, ca=files.ca)


async def check(port: int, client: CertFiles) -> grpc.StatusCode | None:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=client.ca.read_bytes(), private_key=client.key.read_bytes(),
        certificate_chain=client.cert.read_bytes())
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        try:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.aio.AioRpcError as error:
            return error.code()
    return None


@pytest.fixture
async def mounted(tmp_path: Path) -> AsyncIterator[tuple[GrpcServer, Path]]:
    """A server whose certificate files live where a Secret would be mounted."""
    old = LocalCA.create(tmp_path / "old-ca")
    issued = old.issue_component("detection")
    mount = tmp_path / "mount"
    mount.mkdir()
    for source, name in ((issued.cert, "tls.crt"), (issued.key, "tls.key"), (issued.ca, "ca.crt")):
        shutil.copy(source, mount / name)
    server = GrpcServer(0, [], "127.0.0.1", component="detection",
                        tls=settings_of(CertFiles(mount / "tls.crt", mount / "tls.key", mount / "ca.crt")))
    await server.start()
    try:
        yield server, tmp_path
    finally:
        await server.stop(0)


async def test_a_renewed_certificate_and_ca_apply_without_a_restart(
        mounted: tuple[GrpcServer, Path]) -> None:
    server, tmp_path = mounted
    old_admin = LocalCA(tmp_path / "old-ca", *_load(tmp_path / "old-ca")).issue_component("admin")
    assert await check(server.port, old_admin) is None

    new = LocalCA.create(tmp_path / "new-ca")
    renewed = new.issue_component("detection")
    mount = tmp_path / "mount"
    for source, name in ((renewed.cert, "tls.crt"), (renewed.key, "tls.key"), (renewed.ca, "ca.crt")):
        shutil.copy(source, mount / name)

    new_admin = new.issue_component("admin")
    assert await check(server.port, new_admin) is None  # trusts and presents the new ones
    assert await check(server.port, old_admin) == grpc.StatusCode.UNAVAILABLE  # old CA: refused


def _load(directory: Path) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    return key, cert
