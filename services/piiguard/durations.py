"""Durations as people write them in Kubernetes: ``30s``, ``5m``, ``1h30m``, ``500ms``.

Parsed by ``durationpy`` (Go's ``time.ParseDuration`` grammar, as the Kubernetes
Python client uses it), plus two forms our settings and policies have always
accepted: a bare number of seconds, and a leading count of days (``3d``, ``1d12h``),
which Go has no unit for.
"""

from __future__ import annotations

from typing import Any

import durationpy

SECONDS_PER_DAY = 86400.0


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"500ms"``, ``"30s"``, ``"5m"``,
    ``"1h30m"``, ``"24h"``, ``"3d"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)  # range checks belong to the field that holds it
    if isinstance(value, str):
        seconds = _seconds("".join(value.split()))
        if seconds is not None and seconds >= 0:
            return seconds
    raise ValueError(f"not a duration: {value!r} (use seconds or e.g. '30s', '5m', '1h30m', '3d')")


def _seconds(text: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)  # a bare number: seconds
    except ValueError:
        pass
    days = 0.0
    head, sep, rest = text.partition("d")
    if sep:
        try:
            days = float(head)
        except ValueError:
            return None
        if not rest:
            return days * SECONDS_PER_DAY
        text = rest
    if text.startswith(("-", "+")):
        return None
    try:
        return days * SECONDS_PER_DAY + durationpy.from_str(text).total_seconds()
    except (ValueError, TypeError, durationpy.DurationError):
        return None


def format_duration(seconds: float) -> str:
    """The short form people read in tables: ``15m``, ``6h``, ``3d``, ``90s``."""
    for unit, size in (("d", SECONDS_PER_DAY), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
