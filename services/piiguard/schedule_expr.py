"""Schedule expressions, as a policy writes them and as nats-server runs them.

A policy's ``schedules`` fields take one of (``docs/schedules.md``):

* ``""``: off;
* ``@every <duration>``: a fixed interval (``@every 15m``, ``@every 2s``; at least
  one second), counted from when the schedule was (re)written into JetStream;
* a cron expression, five fields (``min hour day month weekday``, as crontab) or
  six (seconds first, as nats-server's scheduler reads them), names allowed
  (``mon-fri``, ``jan``);
* a predefined one: ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``,
  ``@daily``, ``@midnight``, ``@hourly``.

:func:`parse` validates and turns each into the ``Nats-Schedule`` header value
(intervals in whole seconds, cron always with six fields); :func:`next_run`
computes when it fires next, for ``piiguard schedules``. Cron and predefined
schedules run in the policy's ``timeZone`` (an IANA name, default ``UTC``).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from piiguard.durations import parse_duration
from piiguard.errors import PolicyError

PREDEFINED = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 366 * 86400.0


def _at(where: str) -> str:
    return f"{where}: " if where else ""


@dataclass(frozen=True)
class Expression:
    """A valid schedule: ``header`` is what nats-server is given (``Nats-Schedule``);
    ``interval`` is set for ``@every`` (seconds), ``cron`` (six fields) otherwise."""

    header: str
    interval: float | None = None
    cron: str | None = None

    @property
    def uses_time_zone(self) -> bool:
        return self.cron is not None


def parse(value: str, where: str = "") -> Expression | None:
    """The schedule ``value`` describes, or None when it is ``""`` (off)."""
    text = " ".join(str(value).split())
    if not text:
        return None
    lowered = text.lower()
    if lowered.startswith("@every"):
        spec = text[len("@every"):].strip()
        try:
            seconds = parse_duration(spec)
        except ValueError:
            raise PolicyError(f"{_at(where)}{text[:60]!r}: @every takes a duration such as 15m, "
                              "2h or 30s") from None
        if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
            raise PolicyError(f"{_at(where)}{text[:60]!r}: the interval must be between 1s and 366d")
        whole = max(1, math.ceil(seconds))
        return Expression(header=f"@every {whole}s", interval=float(whole))
    if lowered.startswith("@"):
        cron = PREDEFINED.get(lowered)
        if cron is None:
            raise PolicyError(f"{_at(where)}{text[:60]!r} is not a schedule; predefined ones are "
                              f"{', '.join(PREDEFINED)}, or @every <duration>, or a cron expression")
        return Expression(header=lowered, cron=cron)
    fields = text.split(" ")
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise PolicyError(f"{_at(where)}{text[:60]!r}: a cron expression has 5 fields "
                          "(minute hour day month weekday) or 6 (seconds first)")
    cron = " ".join(fields)
    if not croniter.is_valid(cron, second_at_beginning=True):
        raise PolicyError(f"{_at(where)}{text[:60]!r} is not a valid cron expression")
    return Expression(header=cron, cron=cron)


def time_zone(name: str, where: str = "") -> ZoneInfo:
    """The IANA time zone ``name`` (``UTC``, ``Europe/Berlin``), or a PolicyError."""
    try:
        if not name or name != name.strip() or ".." in name or name.startswith("/"):
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(f"{_at(where)}{name[:60]!r} is not an IANA time zone "
                          "(such as UTC or Europe/Berlin)") from None


def next_run(expression: Expression, *, zone: str = "UTC", now: datetime.datetime,
             since: datetime.datetime | None = None) -> datetime.datetime:
    """When ``expression`` fires next after ``now`` (aware datetimes). ``since``: when
    an ``@every`` schedule was written (it counts its intervals from then)."""
    if expression.interval is not None:
        start = since or now
        if now < start:
            return start + datetime.timedelta(seconds=expression.interval)
        elapsed = (now - start).total_seconds()
        periods = math.floor(elapsed / expression.interval) + 1
        return start + datetime.timedelta(seconds=periods * expression.interval)
    assert expression.cron is not None
    local = now.astimezone(time_zone(zone))
    result = croniter(expression.cron, local, second_at_beginning=True).get_next(datetime.datetime)
    assert isinstance(result, datetime.datetime)
    return result
