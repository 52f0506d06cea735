"""The rendered chart is secure by default: NetworkPolicies deny everything not
listed, RBAC gives each component only the Secrets its work needs, and the
internet-facing ingest pod never holds the admin or bot token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.chart import (
    COMPONENTS,
    EXTERNAL,
    NS,
    STAGES,
    container,
    env,
    find,
    one,
    pod_spec,
    render,
)

pytestmark = pytest.mark.timeout(120)

Labels = dict[str, str]


# ---- a NetworkPolicy evaluator (the API's semantics, for the cases the chart uses) ----


def selects(selector: dict[str, Any] | None, labels: Labels) -> bool:
    if selector is None:
        return False
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
    return True


class Pod:
    def __init__(
        self, labels: Labels, namespace: str = NS, ip: str = "10.1.2.3", ports: dict[str, int] | None = None
    ) -> None:
        self.labels, self.namespace, self.ip, self.ports = labels, namespace, ip, ports or {}

    @property
    def namespace_labels(self) -> Labels:
        return {"kubernetes.io/metadata.name": self.namespace}


def peer_matches(peer: dict[str, Any], other: Pod, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        return peer["ipBlock"]["cidr"] in ("0.0.0.0/0", other.ip + "/32")
    ns_ok = (
        selects(peer["namespaceSelector"], other.namespace_labels)
        if "namespaceSelector" in peer
        else other.namespace == policy_ns
    )
    pod_ok = selects(peer["podSelector"], other.labels) if "podSelector" in peer else True
    return ns_ok and pod_ok


def port_matches(rule_ports: list[dict[str, Any]] | None, port: int, target: Pod) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        wanted = p.get("port")
        if wanted is None or wanted == port or target.ports.get(str(wanted)) == port:
            return True
    return False


def allowed(policies: list[dict[str, Any]], source: Pod, target: Pod, port: int) -> bool:
    """Ingress to target and egress from source must both be allowed."""

    def direction(pod: Pod, kind: str, other: Pod, key: str, peers_key: str) -> bool:
        applying = [
            p
            for p in policies
            if p["metadata"].get("namespace", NS) == pod.namespace
            and selects(p["spec"]["podSelector"], pod.labels)
            and kind in p["spec"]["policyTypes"]
        ]
        if not applying:
            return True
        for policy in applying:
            for rule in policy["spec"].get(key, []):
                peers = rule.get(peers_key)
                peer_ok = not peers or any(peer_matches(peer, other, pod.namespace) for peer in peers)
                if peer_ok and port_matches(rule.get("ports"), port, target):
                    return True
        return False

    return direction(target, "Ingress", source, "ingress", "from") and direction(
        source, "Egress", target, "egress", "to"
    )


def component(name: str) -> Pod:
    ports = {
        "ingest": {"http": 3000, "grpc": 50051},
        "detection": {"grpc": 50052},
        "action": {"grpc": 50053},
        "operator": {"health": 8080, "webhook": 9443},
    }[name]
    return Pod(
        {
            "app.kubernetes.io/name": "piiguard",
            "app.kubernetes.io/instance": "piiguard",
            "app.kubernetes.io/component": name,
        },
        ports={**ports, "metrics": 9464},
    )


NATS = Pod(
    {
        "app.kubernetes.io/name": "nats",
        "app.kubernetes.io/instance": "piiguard",
        "app.kubernetes.io/component": "nats",
    }
)
INGRESS_CONTROLLER = Pod({"app.kubernetes.io/name": "ingress-nginx"}, namespace="ingress-nginx")
PROMETHEUS = Pod({"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
STRANGER = Pod({"app": "curious"}, namespace=NS)
OTHER_NS = Pod({"app": "curious"}, namespace="team-b")
INTERNET = Pod({}, namespace="-", ip="203.0.113.9")
KUBE_DNS = Pod({"k8s-app": "kube-dns"}, namespace="kube-system")
API_SERVER = Pod({}, namespace="-", ip="10.0.0.1")


def test_networkpolicies_deny_by_default_and_open_only_what_each_component_needs() -> None:
    policies = find(render(), "NetworkPolicy")
    deny = one(policies, "NetworkPolicy", "piiguard-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny["spec"]
    ingest, detection, action, operator = (component(c) for c in COMPONENTS)
    # Public HTTP: the ingress controller only.
    assert allowed(policies, INGRESS_CONTROLLER, ingest, 3000)
    for outsider in (STRANGER, OTHER_NS, PROMETHEUS, detection):
        assert not allowed(policies, outsider, ingest, 3000)
    assert not allowed(policies, INGRESS_CONTROLLER, ingest, 50051), "gRPC is not public"
    assert not allowed(policies, INGRESS_CONTROLLER, detection, 50052)
    # gRPC: no stage calls another by default, nor does anyone else.
    for source in (ingest, detection, action, operator, STRANGER, OTHER_NS):
        for target, port in ((ingest, 50051), (detection, 50052), (action, 50053)):
            if source is not target:
                assert not allowed(policies, source, target, port)
    # NATS: the components only; routes between NATS servers.
    for c in (ingest, detection, action, operator):
        assert allowed(policies, c, NATS, 4222)
    for outsider in (STRANGER, OTHER_NS, INGRESS_CONTROLLER):
        assert not allowed(policies, outsider, NATS, 4222)
    assert allowed(policies, NATS, NATS, 6222) and not allowed(policies, ingest, NATS, 6222)
    # Metrics: the monitoring namespace only.
    for c in (ingest, detection, action, operator):
        assert allowed(policies, PROMETHEUS, c, 9464)
        assert not allowed(policies, STRANGER, c, 9464)
        assert not allowed(policies, OTHER_NS, c, 9464)
    # Egress: DNS for all; Slack/Notion (443) for the stages; not for the operator.
    for c in (ingest, detection, action, operator, NATS):
        assert allowed(policies, c, KUBE_DNS, 53)
    for c in (ingest, detection, action):
        assert allowed(policies, c, INTERNET, 443)
    assert not allowed(policies, operator, INTERNET, 80)
    assert not allowed(policies, ingest, INTERNET, 80)
    assert not allowed(policies, NATS, INTERNET, 443)
    # No webhook port unless the webhook is on.
    assert not allowed(policies, API_SERVER, operator, 9443)


def test_the_webhook_port_is_open_to_the_api_server_and_grpc_to_named_clients() -> None:
    values = {
        "operator": {"admissionWebhook": {"enabled": True}},
        "networkPolicy": {
            "apiServerCIDRs": ["10.0.0.1/32"],
            "grpcClients": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}}
            ],
        },
    }
    policies = find(render(values), "NetworkPolicy")
    operator, ingest = component("operator"), component("ingest")
    assert allowed(policies, API_SERVER, operator, 9443)
    assert not allowed(policies, INTERNET, operator, 9443)
    assert not allowed(policies, STRANGER, operator, 9443)
    assert allowed(policies, OTHER_NS, ingest, 50051)
    assert not allowed(policies, OTHER_NS, ingest, 3000)
    assert not allowed(policies, OTHER_NS, ingest, 50054), "no Ingest API port without tokens"
    assert not allowed(policies, STRANGER, ingest, 50051)


def test_bearer_token_callers_get_the_ingest_api_port_from_grpc_clients_only() -> None:
    values = {"ingest": {"apiTokensSecret": "api-tokens"},
              "networkPolicy": {"grpcClients": [{"namespaceSelector": {"matchLabels": {
                  "kubernetes.io/metadata.name": "team-b"}}}]}}
    docs = render(values)
    c = container(docs, "ingest")
    assert env(c)["PIIGUARD_INGEST_API_PORT"] == "50054"
    assert env(c)["PIIGUARD_INGEST_API_TOKENS_FILE"] == "/etc/piiguard/ingest-api/tokens"
    ports = {p["name"]: p["port"] for p in one(docs, "Service", "piiguard-ingest-grpc")["spec"]["ports"]}
    assert ports == {"grpc": 50051, "api": 50054, "metrics": 9464}
    policies = find(docs, "NetworkPolicy")
    ingest = component("ingest")
    ingest.ports["api"] = 50054
    assert allowed(policies, OTHER_NS, ingest, 50054)
    assert not allowed(policies, STRANGER, ingest, 50054)
    assert not allowed(policies, INGRESS_CONTROLLER, ingest, 50054)


def test_with_an_external_nats_the_components_may_reach_its_port_and_nothing_renders_for_nats() -> None:
    policies = find(render(EXTERNAL), "NetworkPolicy")
    assert not find(policies, "NetworkPolicy", "piiguard-nats")
    external = Pod({}, namespace="nats", ip="10.9.9.9")
    assert allowed(policies, component("action"), external, 4222)


def test_networkpolicies_follow_the_values() -> None:
    values = {
        "networkPolicy": {
            "monitoringNamespace": "observability",
            "ingressController": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}
            },
        }
    }
    policies = find(render(values), "NetworkPolicy")
    ingest = component("ingest")
    assert allowed(policies, Pod({}, namespace="traefik"), ingest, 3000)
    assert not allowed(policies, INGRESS_CONTROLLER, ingest, 3000)
    assert allowed(policies, Pod({}, namespace="observability"), ingest, 9464)
    assert not allowed(policies, PROMETHEUS, ingest, 9464)
    assert not find(render({"networkPolicy": {"enabled": False}}), "NetworkPolicy")
    balancer = Pod({}, namespace="-", ip="198.51.100.7")
    assert not allowed(policies, balancer, ingest, 3000)
    opened = find(render({"networkPolicy": {"httpClients": [{"ipBlock": {"cidr": "198.51.100.7/32"}}]}}),
                  "NetworkPolicy")
    assert allowed(opened, balancer, ingest, 3000) and not allowed(opened, balancer, ingest, 50051)
    openshift = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
                 "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}}}
    dns_pods = find(render({"networkPolicy": {"dns": [openshift]}}), "NetworkPolicy")
    resolver = Pod({"dns.operator.openshift.io/daemonset-dns": "default"}, namespace="openshift-dns")
    assert allowed(dns_pods, ingest, resolver, 53) and not allowed(policies, ingest, resolver, 53)


# ---- RBAC ----------------------------------------------------------------------------


def grants(docs: list[dict[str, Any]], service_account: str) -> list[tuple[str, dict[str, Any]]]:
    """(namespace or '*', rule) of every rule bound to a ServiceAccount."""

    def scope_of(d: dict[str, Any]) -> str:
        # Namespaced objects without a namespace land in the release's.
        return "*" if d["kind"].startswith("Cluster") else d["metadata"].get("namespace", NS)

    roles = {
        (d["kind"], scope_of(d), d["metadata"]["name"]): d
        for d in docs
        if d["kind"] in ("Role", "ClusterRole")
    }
    out: list[Any] = []
    for binding in docs:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(
            s["kind"] == "ServiceAccount" and s["name"] == service_account and s["namespace"] == NS
            for s in binding["subjects"]
        ):
            continue
        ref = binding["roleRef"]
        scope = scope_of(binding)
        role = roles[(ref["kind"], scope if ref["kind"] == "Role" else "*", ref["name"])]
        out.extend((scope, rule) for rule in role["rules"])
    return out


def secret_access(
    docs: list[dict[str, Any]], service_account: str
) -> list[tuple[str, str, list[str] | None]]:
    """(namespace, verb, resourceNames) for every grant on Secrets."""
    return [
        (scope, verb, rule.get("resourceNames"))
        for scope, rule in grants(docs, service_account)
        if "" in rule["apiGroups"] and "secrets" in rule["resources"]
        for verb in rule["verbs"]
    ]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"operator": {"watch": {"allNamespaces": True}}},
        {"operator": {"watch": {"namespaces": ["slack-a", "slack-b"]}}},
    ],
    ids=["release-namespace", "all-namespaces", "namespace-list"],
)
def test_each_stage_reads_only_its_own_projected_secret(values: dict[str, Any]) -> None:
    docs = render(values)
    for stage in STAGES:
        access = secret_access(docs, f"piiguard-{stage}")
        assert access, f"{stage} cannot read its credentials"
        assert {verb for _, verb, _ in access} <= {"get", "watch"}
        for scope, _, names in access:
            assert scope == NS and names == [f"piiguard-{stage}-credentials"]
        assert not [r for _, r in grants(docs, f"piiguard-{stage}") if "secrets" not in r["resources"]]
        assert env(container(docs, stage))["PIIGUARD_CREDENTIALS_SECRET"] == f"piiguard-{stage}-credentials"
        assert one(docs, "Secret", f"piiguard-{stage}-credentials")["type"] == "Opaque"
    assert not [
        d
        for d in docs
        if d["kind"] == "ClusterRoleBinding" and any(s["name"] != "piiguard-operator" for s in d["subjects"])
    ], "ClusterRole only for the operator"


def test_no_role_lets_ingest_list_or_get_secrets_without_resource_names() -> None:
    for values in ({}, {"operator": {"watch": {"allNamespaces": True}}}):
        docs = render(values)
        for sa in (f"piiguard-{s}" for s in STAGES):
            for _, verb, names in secret_access(docs, sa):
                assert names, f"{sa} may {verb} any Secret"
                assert verb not in ("list", "create", "update", "patch", "delete")


def test_the_ingest_pod_holds_no_bot_or_admin_token() -> None:
    for values in ({}, EXTERNAL, {"slack": {"apiUrl": "https://slack.example.com/api/"}}):
        docs = render(values)
        c = container(docs, "ingest")
        names = set(env(c))
        assert not {"SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN", "SLACK_TOKEN", "NOTION_TOKEN"} & names
        mounted = {v["secret"]["secretName"] for v in pod_spec(docs, "ingest")["volumes"] if "secret" in v}
        assert not any("action" in m or "detection" in m for m in mounted)
        assert all("envFrom" not in container(docs, s) for s in COMPONENTS)
    # Each component authenticates to NATS as itself.
    docs = render()
    for component in COMPONENTS:
        assert env(container(docs, component))["NATS_USER"] == component
        assert env(container(docs, component))["NATS_PASSWORD"] == {
            "secretKeyRef": {"name": "piiguard-nats-users", "key": component}
        }


def test_the_operator_writes_only_the_projected_secrets_and_reads_workspace_secrets_where_it_watches() -> (
    None
):
    docs = render()
    access = secret_access(docs, "piiguard-operator")
    writes = [(scope, verb, names) for scope, verb, names in access if verb != "get" or names]
    projected = [f"piiguard-{s}-credentials" for s in STAGES]
    assert writes and all(names == projected and scope == NS for scope, _, names in writes)
    assert {verb for _, verb, _ in writes} == {"get", "patch"}  # merge-patch of its data
    assert (NS, "get", None) in access, "reads the Secrets its PiiPolicies name"
    assert not [a for a in access if a[1] in ("list", "watch", "create", "delete")]
    everything = [r for _, r in grants(docs, "piiguard-operator")]
    assert all("*" not in str(rule) for rule in everything)
    assert not find(docs, "ClusterRole")
    listed = render({"operator": {"watch": {"namespaces": ["slack-a", "slack-b"]}}})
    reads = {scope for scope, verb, names in secret_access(listed, "piiguard-operator") if not names}
    assert reads == {"slack-a", "slack-b"}
    cluster = render({"operator": {"watch": {"allNamespaces": True}}})
    (role,) = find(cluster, "ClusterRole")
    assert {r for rule in role["rules"] for r in rule["resources"]} == {
        "piipolicies",
        "piipolicies/status",
        "secrets",
        "events",
    }
    assert "--all-namespaces" in container(cluster, "operator")["args"]


def test_the_operator_has_least_privilege_on_policies() -> None:
    docs = render()
    granted = {
        (group, resource, verb)
        for _, rule in grants(docs, "piiguard-operator")
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
        if resource != "secrets"
    }
    assert granted == {
        *(("piiguard.io", "piipolicies", v) for v in ("get", "list", "watch", "patch")),
        ("piiguard.io", "piipolicies/status", "get"),
        ("piiguard.io", "piipolicies/status", "patch"),
        ("", "events", "create"),
        ("events.k8s.io", "events", "create"),
    }
    deployment = one(docs, "Deployment", "piiguard-operator")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    assert env(container(docs, "operator"))["PIIGUARD_WATCH_NAMESPACES"] == NS


def test_pods_run_unprivileged_with_read_only_roots() -> None:
    docs = render()
    for c in COMPONENTS:
        spec = pod_spec(docs, c)
        assert spec["securityContext"]["runAsNonRoot"] is True
        sc = container(docs, c)["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        tls = next(v for v in spec["volumes"] if v["name"] == "tls")
        assert tls["secret"]["defaultMode"] == 0o440
