"""Fixtures shared by every test folder: a real nats-server with JetStream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from piiguard.natsserver import NatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server (JetStream, temp storage, free port) for one test."""
    server = NatsServer.secured(tmp_path / "nats", harness=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server for a whole session, for tests that isolate by stream/subject."""
    server = NatsServer.secured(tmp_path_factory.mktemp("nats-shared"), harness=True).start()
    try:
        yield server
    finally:
        server.stop()
