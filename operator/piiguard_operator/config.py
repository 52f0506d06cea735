"""The operator reads the same settings as every other process
(:class:`piiguard.settings.Settings`: NATS, stream retention, token checks, status
interval, webhook); this name is kept for code that says ``OperatorConfig``."""

from __future__ import annotations

from piiguard.settings import Settings as OperatorConfig
from piiguard.settings import load

__all__ = ["OperatorConfig", "load"]
