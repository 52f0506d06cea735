"""The chart's metrics objects: Prometheus scrape settings on port 9464, an
optional ServiceMonitor, a PrometheusRule whose alerts `promtool` accepts and
that fire (and stay quiet) as they should on synthetic series, and a Grafana
dashboard whose panels use only the metric names of the contract."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.chart import CHART, COMPONENTS, NS, STAGES, container, env, find, one, pod_spec, render

pytestmark = pytest.mark.timeout(120)

# The metric families every component exports (docs/operations.md, "Metrics").
CONTRACT = {
    "piiguard_events_received_total",
    "piiguard_ingest_ack_seconds",
    "piiguard_detection_seconds",
    "piiguard_findings_total",
    "piiguard_files_total",
    "piiguard_actions_total",
    "piiguard_dead_letters_total",
    "piiguard_retries_total",
    "piiguard_api_calls_total",
    "piiguard_consumer_pending",
    "piiguard_consumer_ack_pending",
    "piiguard_reconcile_total",
}
HISTOGRAMS = {"piiguard_ingest_ack_seconds", "piiguard_detection_seconds"}
ALERTS = {
    "PiiGuardDeadLettersGrowing",
    "PiiGuardConsumerBacklogHigh",
    "PiiGuardSlackAuthFailures",
    "PiiGuardNotionAuthFailures",
    "PiiGuardIngestRefusing",
    "PiiGuardDetectionLatencyHigh",
    "PiiGuardReconcileFailures",
}
DASHBOARD = CHART / "dashboards" / "piiguard.json"

ON = {
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus"}},
        "prometheusRule": {"enabled": True},
        "dashboard": {"enabled": True},
    }
}

promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    promtool is None, reason="promtool missing: .ci/system-packages installs Debian's prometheus"
)


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers that start with piiguard_)."""
    return set(re.findall(r"\bpiiguard_[a-z_]+\b", expr))


def family(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name.removesuffix(suffix) in HISTOGRAMS:
            return name.removesuffix(suffix)
    return name


def rule_groups(values: dict[str, Any] | None = None) -> dict[str, Any]:
    (rule,) = find(render(values or ON), "PrometheusRule")
    spec: dict[str, Any] = rule["spec"]
    return spec


def test_every_component_exposes_metrics_on_9464_with_scrape_annotations() -> None:
    docs = render()
    for c in COMPONENTS:
        assert env(container(docs, c))["PIIGUARD_METRICS_PORT"] == "9464"
        ports = {p["name"]: p["containerPort"] for p in container(docs, c)["ports"]}
        assert ports["metrics"] == 9464
        annotations = one(docs, "Deployment", f"piiguard-{c}")["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "9464"
    for stage in STAGES:
        ports = {
            p["name"]: p["port"] for p in one(docs, "Service", f"piiguard-{stage}-grpc")["spec"]["ports"]
        }
        assert ports["metrics"] == 9464
    assert not find(docs, "ServiceMonitor") and not find(docs, "PrometheusRule")
    assert not [
        d for d in docs if d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"]["labels"]
    ]
    quiet = render({"metrics": {"podAnnotations": False, "port": 9500}})
    spec = pod_spec(quiet, "action")
    assert env(spec["containers"][0])["PIIGUARD_METRICS_PORT"] == "9500"
    meta = one(quiet, "Deployment", "piiguard-action")["spec"]["template"]["metadata"]
    assert "prometheus.io/scrape" not in meta.get("annotations", {})


def test_the_service_monitor_scrapes_every_component_metrics_port() -> None:
    docs = render(ON)
    monitor = one(docs, "ServiceMonitor", "piiguard")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NS]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    selector = monitor["spec"]["selector"]["matchLabels"]
    with_metrics = [
        s
        for s in find(docs, "Service")
        if any(p["name"] == "metrics" for p in s["spec"]["ports"])
        and all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())
    ]
    components = {s["metadata"]["labels"]["app.kubernetes.io/component"] for s in with_metrics}
    assert components == set(COMPONENTS)


def test_the_alerts_use_only_contract_metrics_and_cover_every_case() -> None:
    groups = rule_groups()["groups"]
    rules = {r["alert"]: r for g in groups for r in g["rules"]}
    assert set(rules) == ALERTS
    for name, rule in rules.items():
        used = {family(m) for m in metric_names(rule["expr"])}
        assert used and used <= CONTRACT, (name, used - CONTRACT)
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert "docs/operations.md#" + name.lower() in rule["annotations"]["description"]
    operations = (CHART.parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    for name in ALERTS:
        assert f"### {name}" in operations, f"docs/operations.md says nothing on {name}"


def write_rules(tmp_path: Path, values: dict[str, Any] | None = None, *, annotations: bool = True) -> Path:
    """The PrometheusRule's groups as a rule file (without annotations for unit
    tests, which would otherwise have to repeat every rendered text)."""
    groups = rule_groups(values)
    if not annotations:
        for group in groups["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
    path = tmp_path / "piiguard-rules.yaml"
    path.write_text(yaml.safe_dump(groups), encoding="utf-8")
    return path


@needs_promtool
def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    assert promtool is not None
    for values in (
        ON,
        {
            "metrics": {
                "prometheusRule": {
                    "enabled": True,
                    "backlogThreshold": 50,
                    "backlogFor": "2m",
                    "detectionP99Seconds": 0.5,
                }
            }
        },
    ):
        result = subprocess.run(
            [promtool, "check", "rules", str(write_rules(tmp_path, values))],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "7 rules found" in result.stdout


# Synthetic series: for each alert, one series that must fire it and one that must not.
RULE_TESTS: list[dict[str, Any]] = [
    {
        "interval": "1m",
        "input_series": [
            {
                "series": 'piiguard_dead_letters_total{stage="action",reason="slack_permanent"}',
                "values": "0 0 1 2 3 4 5 6 7 8 9 10",
            },
            {"series": 'piiguard_dead_letters_total{stage="detection",reason="poison"}', "values": "3x12"},
            {"series": 'piiguard_consumer_pending{stage="detection",workspace="t1"}', "values": "5000x15"},
            {"series": 'piiguard_consumer_pending{stage="action",workspace="t2"}', "values": "10x15"},
            {
                "series": 'piiguard_api_calls_total{api="slack",method="chat.delete",result="invalid_auth"}',
                "values": "0 1 2 3 4 5",
            },
            {
                "series": 'piiguard_api_calls_total{api="slack",method="chat.delete",result="ok"}',
                "values": "0 10 20 30 40 50",
            },
            {
                "series": "piiguard_api_calls_total"
                '{api="notion",method="blocks.update",result="unauthorized"}',
                "values": "0 1 2 3 4 5",
            },
            {
                "series": 'piiguard_events_received_total{source="slack",outcome="refused"}',
                "values": "0 5 10 15 20 25 30 35 40 45 50 55",
            },
            {
                "series": 'piiguard_events_received_total{source="slack",outcome="accepted"}',
                "values": "0 100 200 300 400 500 600 700 800 900 1000 1100",
            },
            {"series": 'piiguard_reconcile_total{result="error"}', "values": "0 1 2 3 4 5 6 7 8 9"},
            {"series": 'piiguard_reconcile_total{result="ok"}', "values": "0 5 10 15 20 25 30 35 40 45"},
        ],
        "alert_rule_test": [
            {
                "eval_time": "11m",
                "alertname": "PiiGuardDeadLettersGrowing",
                "exp_alerts": [
                    {"exp_labels": {"severity": "warning", "stage": "action", "reason": "slack_permanent"}}
                ],
            },
            {
                "eval_time": "14m",
                "alertname": "PiiGuardConsumerBacklogHigh",
                "exp_alerts": [
                    {"exp_labels": {"severity": "warning", "stage": "detection", "workspace": "t1"}}
                ],
            },
            {"eval_time": "5m", "alertname": "PiiGuardConsumerBacklogHigh", "exp_alerts": []},
            {
                "eval_time": "5m",
                "alertname": "PiiGuardSlackAuthFailures",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": "critical",
                            "method": "chat.delete",
                            "result": "invalid_auth",
                        }
                    }
                ],
            },
            {
                "eval_time": "5m",
                "alertname": "PiiGuardNotionAuthFailures",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": "critical",
                            "method": "blocks.update",
                            "result": "unauthorized",
                        }
                    }
                ],
            },
            {
                "eval_time": "11m",
                "alertname": "PiiGuardIngestRefusing",
                "exp_alerts": [{"exp_labels": {"severity": "critical", "source": "slack"}}],
            },
            {
                "eval_time": "9m",
                "alertname": "PiiGuardReconcileFailures",
                "exp_alerts": [{"exp_labels": {"severity": "warning", "result": "error"}}],
            },
        ],
    },
    {
        "interval": "1m",
        "input_series": [
            *(
                {"series": f'piiguard_detection_seconds_bucket{{le="{le}"}}', "values": f"0+{count}x30"}
                for le, count in (("0.5", 10), ("1", 20), ("5", 30), ("10", 100), ("+Inf", 100))
            ),
        ],
        "alert_rule_test": [
            {
                "eval_time": "25m",
                "alertname": "PiiGuardDetectionLatencyHigh",
                "exp_alerts": [{"exp_labels": {"severity": "warning"}}],
            },
        ],
    },
    {
        "interval": "1m",
        "input_series": [
            # Healthy: nothing dead-lettered, fast detection, only ok results.
            {
                "series": 'piiguard_dead_letters_total{stage="action",reason="slack_permanent"}',
                "values": "2x20",
            },
            *(
                {"series": f'piiguard_detection_seconds_bucket{{le="{le}"}}', "values": f"0+{count}x30"}
                for le, count in (("0.5", 95), ("1", 100), ("5", 100), ("+Inf", 100))
            ),
            {
                "series": 'piiguard_api_calls_total{api="slack",method="chat.delete",result="ratelimited"}',
                "values": "0 1 2 3 4 5",
            },
            {
                "series": 'piiguard_events_received_total{source="slack",outcome="duplicate"}',
                "values": "0 5 10 15 20 25 30 35 40 45 50 55",
            },
            {"series": 'piiguard_reconcile_total{result="ok"}', "values": "0 5 10 15 20 25 30 35 40 45"},
        ],
        "alert_rule_test": [
            {"eval_time": f"{t}m", "alertname": name, "exp_alerts": []}
            for t in (5, 11, 25)
            for name in sorted(ALERTS)
        ],
    },
]


@needs_promtool
def test_each_alert_fires_on_its_condition_and_not_on_a_healthy_system(tmp_path: Path) -> None:
    assert promtool is not None
    rules = write_rules(tmp_path, annotations=False)
    tests = tmp_path / "piiguard-rules-test.yaml"
    tests.write_text(
        yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": RULE_TESTS}),
        encoding="utf-8",
    )
    result = subprocess.run(
        [promtool, "test", "rules", tests.name], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    fired = {t["alertname"] for group in RULE_TESTS for t in group["alert_rule_test"] if t["exp_alerts"]}
    assert fired == ALERTS


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def test_the_dashboard_panels_use_only_contract_metrics_and_show_every_family() -> None:
    exprs = dashboard_expressions()
    assert exprs
    used: set[str] = set()
    for expr in exprs:
        names = {family(m) for m in metric_names(expr)}
        assert names and names <= CONTRACT, (expr, names - CONTRACT)
        used |= names
    assert used == CONTRACT, f"families without a panel: {CONTRACT - used}"


@needs_promtool
def test_every_dashboard_expression_is_valid_promql(tmp_path: Path) -> None:
    assert promtool is not None
    grafana = {"$__rate_interval": "5m", "$__range": "1h", "$__interval": "1m"}
    rules = []
    for i, expr in enumerate(dashboard_expressions()):
        for variable, value in grafana.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"piiguard:dashboard:panel{i}", "expr": expr})
    path = tmp_path / "dashboard-as-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_ships_as_a_configmap_grafana_discovers() -> None:
    docs = render({"metrics": {"dashboard": {"enabled": True, "namespace": "grafana"}}})
    (config_map,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]
    assert config_map["metadata"]["namespace"] == "grafana"
    assert json.loads(config_map["data"]["piiguard.json"]) == json.loads(
        DASHBOARD.read_text(encoding="utf-8")
    )
