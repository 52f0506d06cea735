"""Metrics as a real Prometheus sees them: Debian's ``prometheus`` scrapes the real
pipeline's ingest, detection and action every second while PII and clean events go
through the Slack stand-in; assertions are PromQL answers compared with what the
stand-in saw. The chart's dashboard and alert expressions are evaluated against
the same server: every metric they name has series, every rule evaluates."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Harness, running_pipeline, wait_for
from tests.support import slack_events
from tests.support.prometheus import Prometheus
from tests.support.slack_standin import Fault, SlackStandIn

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="prometheus missing: .ci/system-packages installs Debian's prometheus"),
]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "charts" / "piiguard" / "dashboards" / "piiguard.json"
CARD_TEXT = "my card is 4539 1488 0343 6467 exp 04/28"
CLEAN_TEXT = "lunch at noon? the new build is 4.2.1 and ticket 4539 is done"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    # Quick retries, so a transient Slack failure shows in piiguard_retries_total at once.
    policy = ("queues:\n  action:\n    maxAttempts: 3\n    backoff: [0.2]\n"
              "  detection:\n    maxAttempts: 3\n    backoff: [0.2]\n")
    with running_pipeline(tmp_path_factory.mktemp("metrics-pipeline"), slack, policy) as harness:
        yield harness


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, harness: Harness) -> Iterator[Prometheus]:
    ports = harness.pipeline.metrics_ports
    rules = tmp_path_factory.mktemp("rules") / "piiguard-rules.yaml"
    rules.write_text(yaml.safe_dump(alert_rules()), encoding="utf-8")
    server = Prometheus(tmp_path_factory.mktemp("prometheus"),
                        {name: [f"127.0.0.1:{port}"] for name, port in ports.items()})
    server.start(rule_files=[rules])
    try:
        wait_for(server.targets_up, timeout=60, interval=0.5)
        yield server
    finally:
        server.stop()


def alert_rules() -> dict[str, Any]:
    """The chart's PrometheusRule groups, as the chart renders them."""
    from tests.chart.test_chart_metrics import rule_groups

    return rule_groups()


def dashboard_expressions() -> list[str]:
    found: list[str] = []

    def walk(panels: list[dict[str, object]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []) or []:  # type: ignore[attr-defined]
                if target.get("expr"):
                    found.append(str(target["expr"]))
            walk(panel.get("panels", []) or [])  # type: ignore[arg-type]

    walk(json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"])
    return found


def as_prometheus(expr: str) -> str:
    """Grafana's range variables replaced by what Grafana would put there."""
    return expr.replace("$__rate_interval", "1m").replace("$__range", "10m")


def scraped_at_least(prometheus: Prometheus, promql: str, expected: float) -> float:
    """Wait (on scrapes, not on a clock) until ``promql`` reaches ``expected``."""
    def reached() -> float | None:
        value = prometheus.value(promql)
        return value if value is not None and value >= expected else None

    value = wait_for(reached, timeout=60, interval=0.5)
    assert value is not None
    return value


def total(prometheus: Prometheus, promql: str) -> float:
    return prometheus.value(f"sum({promql})") or 0.0


def test_deletions_counted_equal_the_deletes_slack_saw(harness: Harness, prometheus: Prometheus) -> None:
    before = total(prometheus, 'piiguard_actions_total{action="delete",outcome="done"}')
    accepted_before = total(prometheus, 'piiguard_events_received_total{source="slack",outcome="accepted"}')
    deletes_before = len(harness.slack.calls("chat.delete"))
    leaks = [slack_events.message_event(f"{CARD_TEXT} #{next(_ids)}", channel="CMETRICS")
             for _ in range(5)]
    clean = [slack_events.message_event(f"{CLEAN_TEXT} #{next(_ids)}", channel="CMETRICS")
             for _ in range(4)]
    for payload in [*leaks, *clean]:
        assert harness.post(payload).status == 200
    for payload in leaks:
        wait_for(lambda p=payload: harness.deletes_of(p["event"]["ts"]), timeout=60)
    harness.quiet()
    deletes = len(harness.slack.calls("chat.delete")) - deletes_before
    assert deletes == len(leaks)  # nothing clean was touched

    counted = scraped_at_least(prometheus, 'sum(piiguard_actions_total{action="delete",outcome="done"})',
                               before + deletes)
    assert counted == before + deletes
    assert scraped_at_least(
        prometheus, 'sum(piiguard_events_received_total{source="slack",outcome="accepted"})',
        accepted_before + len(leaks) + len(clean)) == accepted_before + len(leaks) + len(clean)
    assert scraped_at_least(prometheus, 'sum(piiguard_findings_total{kind="CREDIT_CARD"})', len(leaks))
    # Every Slack call action made is counted with its method and result.
    ok = scraped_at_least(prometheus, 'sum(piiguard_api_calls_total{api="slack",method="chat.delete",'
                                      'result="ok"})', deletes)
    assert ok >= deletes
    assert scraped_at_least(prometheus, "sum(piiguard_detection_seconds_count)",
                            len(leaks) + len(clean))
    assert scraped_at_least(prometheus, "sum(piiguard_ingest_ack_seconds_count)",
                            len(leaks) + len(clean))


def test_a_duplicate_and_an_ignored_event_are_counted_as_such(harness: Harness,
                                                               prometheus: Prometheus) -> None:
    dup_before = total(prometheus, 'piiguard_events_received_total{outcome="duplicate"}')
    ignored_before = total(prometheus, 'piiguard_events_received_total{outcome="ignored"}')
    payload = slack_events.message_event(f"{CLEAN_TEXT} #{next(_ids)}")
    assert harness.post(payload).status == 200
    assert harness.post(payload, retry_num=1).body["status"] == "SUBMIT_STATUS_DUPLICATE"
    bot = slack_events.message_event(CARD_TEXT, user="UPIIGUARDBOT")
    assert harness.post(bot).body.get("ignored")
    scraped_at_least(prometheus, 'sum(piiguard_events_received_total{outcome="duplicate"})', dup_before + 1)
    scraped_at_least(prometheus, 'sum(piiguard_events_received_total{outcome="ignored"})',
                     ignored_before + 1)


def test_a_permanent_slack_error_raises_the_dead_letter_counter(harness: Harness,
                                                               prometheus: Prometheus) -> None:
    query = 'sum(piiguard_dead_letters_total{stage="action",reason="permanent"})'
    before = total(prometheus, 'piiguard_dead_letters_total{stage="action",reason="permanent"}')
    harness.slack.fail_permanently("chat.delete", "channel", "CGONEMETRICS", "channel_not_found")
    try:
        payload = slack_events.message_event(CARD_TEXT, channel="CGONEMETRICS")
        assert harness.post(payload).status == 200
        assert scraped_at_least(prometheus, query, before + 1) == before + 1
        scraped_at_least(prometheus, 'sum(piiguard_api_calls_total{api="slack",method="chat.delete",'
                                     'result="channel_not_found"})', 1)
        scraped_at_least(prometheus, 'sum(piiguard_actions_total{action="delete",outcome="failed"})', 1)
        harness.quiet()
    finally:
        harness.slack.clear_failures()
    # The chart's alert expression sees it (the alert fires after its `for:`).
    assert prometheus.query('sum by (stage, reason) (increase(piiguard_dead_letters_total'
                            '{stage="action",reason="permanent"}[15m])) > 0')


def test_a_transient_slack_error_is_a_counted_retry(harness: Harness, prometheus: Prometheus) -> None:
    before = total(prometheus, 'piiguard_retries_total{stage="action"}')
    payload = slack_events.message_event(CARD_TEXT, channel="CFLAKY")
    # More 429s than slack_sdk's own retry handler absorbs: the stage retries the message.
    harness.slack.inject(Fault("chat.delete", count=3, status=429, error="ratelimited", retry_after=0,
                               when=lambda args: args.get("channel") == "CFLAKY"))
    assert harness.post(payload).status == 200
    wait_for(lambda: ("CFLAKY", payload["event"]["ts"]) in harness.slack.deleted_messages(), timeout=60)
    scraped_at_least(prometheus, 'sum(piiguard_retries_total{stage="action"})', before + 1)
    scraped_at_least(prometheus, 'sum(piiguard_api_calls_total{api="slack",result="ratelimited"})', 1)


def test_a_shared_file_is_counted_by_type_and_outcome(harness: Harness, prometheus: Prometheus) -> None:
    file_id = f"FMETRICS{next(_ids):04d}"
    url = harness.slack.serve_file(f"{file_id}/notes.txt", CARD_TEXT.encode(), "text/plain")
    ref = {"id": file_id, "name": "notes.txt", "mimetype": "text/plain", "size": len(CARD_TEXT),
           "url_private_download": url, "url_private": url}
    payload = slack_events.message_event("", subtype="file_share", extra={"files": [ref], "upload": True})
    assert harness.post(payload).status == 200
    scraped_at_least(prometheus, 'sum(piiguard_files_total{type="text",outcome="pii"})', 1)
    scraped_at_least(prometheus, 'sum(piiguard_actions_total{action="file_delete",outcome="done"})', 1)
    scraped_at_least(prometheus, 'sum(piiguard_api_calls_total{method="files.download",result="ok"})', 1)


def test_backlog_gauges_have_a_series_per_stage(harness: Harness, prometheus: Prometheus) -> None:
    harness.quiet()
    for stage in ("detection", "action"):
        for family in ("piiguard_consumer_pending", "piiguard_consumer_ack_pending"):
            series = wait_for(lambda f=family, s=stage: prometheus.query(f'{f}{{stage="{s}"}}'), timeout=30)
            assert series[0]["metric"]["workspace"] == "all"
    # Drained: the gauges come back to 0 (refreshed from JetStream every few seconds).
    wait_for(lambda: prometheus.value("sum(piiguard_consumer_pending) + sum(piiguard_consumer_ack_pending)")
             == 0.0, timeout=30, interval=0.5)


def test_labels_carry_no_ids_or_text(harness: Harness, prometheus: Prometheus) -> None:
    """No label value is a Slack user, channel or message id, a timestamp or text."""
    series = prometheus.api("series", **{"match[]": '{__name__=~"piiguard_.+"}'})
    allowed = {"__name__", "job", "instance", "workspace", "stage", "kind", "type", "action", "method",
               "api", "result", "outcome", "reason", "source", "le"}
    identifying = re.compile(r"^[UCDFW][A-Z0-9]{6,}$|^\d{9,}\.\d+$|\s")
    assert series
    for labels in series:
        assert set(labels) <= allowed, labels
        for name, value in labels.items():
            if name not in ("__name__", "instance", "job", "le", "workspace"):
                assert not identifying.search(value), (name, value)


# Run last in this module: it needs the series the tests above made.
def test_zz_every_dashboard_and_alert_expression_uses_existing_series(
        harness: Harness, prometheus: Prometheus) -> None:
    expressions = dashboard_expressions()
    rules = [r for g in alert_rules()["groups"] for r in g["rules"]]
    names = {n for e in [*expressions, *(r["expr"] for r in rules)]
             for n in re.findall(r"\bpiiguard_[a-z_]+\b", e)}
    assert expressions and names
    # The operator's reconcile counter is served by the operator, not the pipeline:
    # tests/operator/test_metrics.py checks it against a real Prometheus the same way.
    for name in sorted(names - {"piiguard_reconcile_total"}):
        assert prometheus.query(f"count({name})"), f"{name}: no series scraped from the pipeline"
    for expr in expressions:
        prometheus.query(as_prometheus(expr))  # evaluates (a PromQL error fails the API call)
    # Prometheus loaded the chart's rules and evaluates each without error.
    def evaluated() -> list[dict[str, object]]:
        loaded = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        return loaded if len(loaded) == len(rules) and all(
            r.get("lastEvaluation", "").startswith("2") and r.get("health") == "ok"
            for r in loaded) else []

    wait_for(evaluated, timeout=30, interval=0.5)
