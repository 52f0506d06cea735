"""The Helm chart lints, renders offline with Helm's own library (helm-python-sdk,
no helm binary), and every manifest validates against the Kubernetes schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate.utils as kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "piiguard"
KUBE_VERSION = "1.30.0"
NS = "piiguard"

pytestmark = pytest.mark.timeout(60)


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    chart = helm.Chart.load(str(CHART))
    manifests = chart.render(values or {}, name="piiguard", namespace=NS, is_install=True)
    docs: list[dict[str, Any]] = []
    for path, text in manifests.items():
        if path.endswith(".txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def container(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    (deployment,) = find(docs, "Deployment", f"piiguard-{component}")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def env(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in c["env"]}


def test_the_chart_lints_clean() -> None:
    report = helm.lint(str(CHART), strict=True, namespace=NS)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("values", [
    {},
    {"operator": {"watch": {"allNamespaces": True}}},
    {"operator": {"watch": {"namespaces": ["slack-a", "slack-b"]}}},
    {"operator": {"admissionWebhook": {"enabled": True, "caBundle": "Y2E="}}},
    {"otel": {"endpoint": "http://jaeger:4317"}, "prometheus": {"annotations": True}},
], ids=["default", "all-namespaces", "namespace-list", "webhook", "observability"])
def test_every_rendered_manifest_is_valid_kubernetes(values: dict[str, Any]) -> None:
    docs = render(values)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_the_crd_ships_where_helm_installs_it_and_is_valid() -> None:
    crd = yaml.safe_load((CHART / "crds" / "piipolicies.yaml").read_text(encoding="utf-8"))
    assert crd["metadata"]["name"] == "piipolicies.piiguard.io"
    kubernetes_validate.validate(crd, KUBE_VERSION, strict=True)
    assert [c["name"] for c in helm.Chart.load(str(CHART)).crds] == ["crds/piipolicies.yaml"]


def test_the_three_services_run_their_stage_on_their_ports() -> None:
    docs = render({"nats": {"url": "nats://my-nats:4222"}, "otel": {"endpoint": "http://otel:4317"}})
    expected = {"ingest": {"http": 3000, "grpc": 50051}, "detection": {"grpc": 50052},
                "action": {"grpc": 50053}}
    for component, ports in expected.items():
        c = container(docs, component)
        assert c["args"] == [component]  # the image's entrypoint is `piiguard`
        assert {p["name"]: p["containerPort"] for p in c["ports"]} == ports
        variables = env(c)
        assert variables["PIIGUARD_GRPC_PORT"] == str(ports["grpc"])
        assert variables["NATS_URL"] == "nats://my-nats:4222"
        assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel:4317"
        (service,) = find(docs, "Service", f"piiguard-{component}")
        assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == ports
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert env(container(docs, "ingest"))["PIIGUARD_HTTP_PORT"] == "3000"


def operator_rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    roles = [d for d in docs if d["kind"] in ("Role", "ClusterRole")
             and d["metadata"]["name"] == "piiguard-operator"]
    assert roles
    return [rule for role in roles for rule in role["rules"]]


def test_the_operator_has_least_privilege_in_its_namespace_only() -> None:
    docs = render()
    assert not find(docs, "ClusterRole") and not find(docs, "ClusterRoleBinding")
    granted = {(group, resource, verb)
               for rule in operator_rules(docs)
               for group in rule["apiGroups"] for resource in rule["resources"] for verb in rule["verbs"]}
    assert granted == {
        *(("piiguard.io", "piipolicies", v) for v in ("get", "list", "watch", "patch")),
        ("piiguard.io", "piipolicies/status", "get"), ("piiguard.io", "piipolicies/status", "patch"),
        ("", "secrets", "get"),
        ("", "events", "create"), ("events.k8s.io", "events", "create"),
    }
    assert all("*" not in str(rule) for rule in operator_rules(docs))
    (binding,) = [d for d in find(docs, "RoleBinding") if d["metadata"]["name"] == "piiguard-operator"]
    assert binding["metadata"]["namespace"] == NS
    deployment = find(docs, "Deployment", "piiguard-operator")[0]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    assert env(container(docs, "operator"))["PIIGUARD_WATCH_NAMESPACES"] == NS


def test_watching_listed_namespaces_grants_rights_in_each_of_them_only() -> None:
    docs = render({"operator": {"watch": {"namespaces": ["slack-a", "slack-b"]}}})
    roles = [d for d in find(docs, "Role") if d["metadata"]["name"] == "piiguard-operator"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["slack-a", "slack-b"]
    assert not find(docs, "ClusterRole")
    assert env(container(docs, "operator"))["PIIGUARD_WATCH_NAMESPACES"] == "slack-a,slack-b"


def test_watching_all_namespaces_uses_a_cluster_role() -> None:
    docs = render({"operator": {"watch": {"allNamespaces": True}}})
    assert find(docs, "ClusterRole", "piiguard-operator")
    assert "--all-namespaces" in container(docs, "operator")["args"]


def test_the_admission_webhook_is_optional_and_needs_no_extra_rights() -> None:
    assert not find(render(), "ValidatingWebhookConfiguration")
    docs = render({"operator": {"admissionWebhook": {"enabled": True, "caBundle": "Y2E="}}})
    (webhook,) = find(docs, "ValidatingWebhookConfiguration")
    client = webhook["webhooks"][0]["clientConfig"]
    assert client["service"]["path"] == "/validate-policy"
    assert env(container(docs, "operator"))["PIIGUARD_ADMISSION_WEBHOOK"] == "true"
    assert all("admissionregistration" not in str(rule) for rule in operator_rules(docs))


@pytest.mark.parametrize(("path", "command", "ports"), [
    ("services/piiguard/ingest/Dockerfile", "ingest", ["3000", "50051"]),
    ("services/piiguard/detection/Dockerfile", "detection", ["50052"]),
    ("services/piiguard/action/Dockerfile", "action", ["50053"]),
])
def test_each_service_has_a_dockerfile_with_its_entry_point(
    path: str, command: str, ports: list[str]
) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["piiguard"]' in text and f'CMD ["{command}"]' in text
    for port in ports:
        assert port in text
    assert "USER 10001" in text


def test_the_operator_image_and_tiltfile_exist() -> None:
    dockerfile = (ROOT / "operator" / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["python", "-m", "piiguard_operator"]' in dockerfile
    tiltfile = (ROOT / "Tiltfile").read_text(encoding="utf-8")
    assert "docker_build(" in tiltfile
    for image in ("piiguard-ingest", "piiguard-detection", "piiguard-action", "piiguard-operator"):
        assert f"piiguard_image('{image}'" in tiltfile
    assert "helm(" in tiltfile and "jaeger" in tiltfile and "port_forwards" in tiltfile
