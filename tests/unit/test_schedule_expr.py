"""Schedule expressions: what a policy may write, what nats-server is given, and
when each fires next."""

from __future__ import annotations

import datetime

import pytest

from piiguard import schedule_expr
from piiguard.errors import PolicyError
from piiguard.policy import DEFAULT_POLICY, policy_from_mapping
from piiguard.schedules import Job, desired

UTC = datetime.UTC


@pytest.mark.parametrize(("written", "header"), [
    ("@every 15m", "@every 900s"),
    ("@every 2s", "@every 2s"),
    ("@every 1h30m", "@every 5400s"),
    ("@every 1d", "@every 86400s"),
    ("0 9 * * *", "0 0 9 * * *"),  # five fields: seconds added
    ("*/2 * * * * *", "*/2 * * * * *"),
    ("0  8 * *   mon-fri", "0 0 8 * * mon-fri"),
    ("@daily", "@daily"),
    ("@HOURLY", "@hourly"),
])
def test_a_valid_expression_becomes_the_header_nats_server_runs(written: str, header: str) -> None:
    expression = schedule_expr.parse(written)
    assert expression is not None and expression.header == header


def test_an_empty_schedule_is_off() -> None:
    assert schedule_expr.parse("") is None
    assert schedule_expr.parse("  ") is None


@pytest.mark.parametrize(("written", "says"), [
    ("@every", "@every takes a duration"),
    ("@every soon", "@every takes a duration"),
    ("@every 500ms", "between 1s and 366d"),
    ("@every 400d", "between 1s and 366d"),
    ("@sometimes", "predefined ones are"),
    ("0 9 * *", "5 fields"),
    ("0 0 0 9 * * * *", "5 fields"),
    ("0 99 * * *", "not a valid cron expression"),
    ("0 9 * * funday", "not a valid cron expression"),
])
def test_an_invalid_expression_is_a_policy_error_saying_why(written: str, says: str) -> None:
    with pytest.raises(PolicyError, match=says):
        schedule_expr.parse(written)


@pytest.mark.parametrize("field", ["sweep", "digest", "tokenCheck"])
def test_the_policy_refuses_a_bad_schedule_naming_the_field(field: str) -> None:
    with pytest.raises(PolicyError, match=rf"schedules\.{field}: .*not a valid cron"):
        policy_from_mapping({"schedules": {field: "61 * * * *"}})


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", " UTC", "../etc/passwd", "/etc/localtime"])
def test_the_policy_refuses_an_unknown_time_zone(zone: str) -> None:
    with pytest.raises(PolicyError, match=r"schedules\.timeZone: .*not an IANA time zone"):
        policy_from_mapping({"schedules": {"timeZone": zone}})


def test_the_defaults_sweep_every_15_minutes_over_2h_digest_daily_and_check_tokens_hourly() -> None:
    schedules = DEFAULT_POLICY.schedules
    assert (schedules.sweep, schedules.sweep_window) == ("@every 15m", 7200.0)
    assert (schedules.digest, schedules.token_check, schedules.time_zone) == ("0 9 * * *", "@hourly", "UTC")
    wanted = desired(DEFAULT_POLICY)
    assert {job: d.schedule for job, d in wanted.items()} == {
        "sweep": "@every 900s", "digest": "0 0 9 * * *", "tokencheck": "@hourly"}
    assert wanted["sweep"].time_zone == ""  # an interval has no time zone
    assert wanted["digest"].time_zone == "UTC"
    assert Job.decode(wanted["sweep"].body) == Job("sweep", "_", 7200.0)


def test_a_window_is_a_duration() -> None:
    assert policy_from_mapping({"schedules": {"sweepWindow": "30m"}}).schedules.sweep_window == 1800.0
    with pytest.raises(PolicyError, match="sweepWindow"):
        policy_from_mapping({"schedules": {"sweepWindow": "10s"}})


def test_next_run_of_an_interval_counts_from_when_it_was_written() -> None:
    every = schedule_expr.parse("@every 15m")
    assert every is not None
    written = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    now = datetime.datetime(2026, 1, 1, 12, 40, tzinfo=UTC)
    assert schedule_expr.next_run(every, now=now, since=written) == datetime.datetime(
        2026, 1, 1, 12, 45, tzinfo=UTC)
    assert schedule_expr.next_run(every, now=written, since=written) == datetime.datetime(
        2026, 1, 1, 12, 15, tzinfo=UTC)


def test_next_run_of_a_cron_schedule_is_in_its_time_zone() -> None:
    nine = schedule_expr.parse("0 9 * * *")
    assert nine is not None
    now = datetime.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 10:00 in Berlin (summer time)
    berlin = schedule_expr.next_run(nine, zone="Europe/Berlin", now=now)
    assert berlin.astimezone(UTC) == datetime.datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    assert schedule_expr.next_run(nine, now=now) == datetime.datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    weekdays = schedule_expr.parse("0 8 * * mon-fri")
    assert weekdays is not None
    saturday = datetime.datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
    assert schedule_expr.next_run(weekdays, now=saturday).date() == datetime.date(2026, 8, 3)
