"""Ports for the local processes: never in the range the kernel hands to outgoing
connections (which could take a port between our check and the child's bind),
never the same one twice, and one already listened on is passed over."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest

from piiguard.natsserver import free_port


def test_ports_come_from_outside_the_ephemeral_range() -> None:
    low, high = (int(part) for part in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = [free_port() for _ in range(50)]
    assert all(not low <= port <= high for port in ports)
    assert len(set(ports)) == len(ports)


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offered: list[int] = []
        real_choice = random.choice

        def busy_first(candidates: list[int]) -> int:
            # The busy port is offered first; later draws are the real ones.
            port = busy if not offered else real_choice(candidates)
            offered.append(port)
            return port

        monkeypatch.setattr(random, "choice", busy_first)
        port = free_port()
        assert offered[0] == busy
        assert port != busy
