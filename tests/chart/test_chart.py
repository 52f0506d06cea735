"""The Helm chart lints clean, renders offline with Helm's own library
(helm-python-sdk), validates against the Kubernetes schemas of every supported
version with each optional feature on and off, rejects typos in values, and
comes up in a fresh namespace with only what its NOTES ask for."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python as helm
import kubernetes_validate.utils as kubernetes_validate
import pytest
import yaml

from tests.chart import values_reference
from tests.chart.chart import (
    CHART,
    COMPONENTS,
    CUSTOM_KINDS,
    EXTERNAL,
    NS,
    ROOT,
    STAGES,
    chart,
    container,
    env,
    find,
    merged,
    notes,
    one,
    pod_spec,
    pods,
    quick_values,
    render,
)

pytestmark = pytest.mark.timeout(120)

KUBE_VERSIONS = ["1.29.0", "1.30.0", "1.31.0", "1.32.0"]

EVERYTHING_ON: dict[str, Any] = {
    "metrics": {
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "dashboard": {"enabled": True},
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": ["pii.example.com"],
        "tls": [{"secretName": "pii-example-tls", "hosts": ["pii.example.com"]}],
    },
    "operator": {"admissionWebhook": {"enabled": True}, "verifyTokens": True},
    "otel": {"endpoint": "http://otel-collector.observability:4317"},
    "ingest": {"apiTokensSecret": "piiguard-ingest-api-tokens"},
    "networkPolicy": {
        "grpcClients": [{"namespaceSelector": {"matchLabels": {"team": "sec"}}}],
        "apiServerCIDRs": ["10.0.0.0/24"],
        "httpsEgressCIDRs": ["0.0.0.0/0"],
    },
    "slack": {"apiUrl": "https://slack.example.com/api/"},
}
EVERYTHING_OFF: dict[str, Any] = {
    "tls": {"enabled": False},
    "nats": {
        "config": {"nats": {"tls": {"enabled": False}}, "cluster": {"tls": {"enabled": False}}},
        "tlsCA": {"enabled": False},
        "piiguard": {"auth": {"enabled": False}, "encryption": {"enabled": False}},
    },
    "networkPolicy": {"enabled": False},
    "podDisruptionBudget": {"enabled": False},
    "topologySpread": {"enabled": False},
    "metrics": {"podAnnotations": False},
    "crds": {"install": False},
}
OWN_SECRETS: dict[str, Any] = {
    "tls": {
        "certManager": {"enabled": False},
        "existingSecrets": {c: f"my-{c}-tls" for c in (*COMPONENTS, "webhook")},
    },
    "nats": {
        "piiguard": {
            "auth": {"existingSecret": "my-nats-users"},
            "encryption": {"existingSecret": "my-js-key"},
        }
    },
    "operator": {"admissionWebhook": {"enabled": True, "caBundle": "Y2E="}},
}

CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "quick": quick_values(),
    "external-nats": EXTERNAL,
    "external-nats-password": merged(EXTERNAL, {"externalNats": {"credentialsType": "password"}}),
    "everything-on": EVERYTHING_ON,
    "everything-off": EVERYTHING_OFF,
    "own-secrets": OWN_SECRETS,
    "named-issuer": {"tls": {"certManager": {"issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer"}}}},
    "all-namespaces": {"operator": {"watch": {"allNamespaces": True}}},
    "namespace-list": {"operator": {"watch": {"namespaces": ["slack-a", "slack-b"]}}},
    "digests": {c: {"image": {"digest": "sha256:" + "a" * 64}} for c in COMPONENTS},
    "operator-only": {c: {"enabled": False} for c in STAGES},
}


def test_the_chart_lints_clean_in_strict_mode() -> None:
    for values in (None, quick_values(), EXTERNAL, EVERYTHING_ON):
        report = helm.lint(str(CHART), values, strict=True, namespace=NS, kube_version="v1.30.0")
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert report["errors"] == [] and problems == [], report


def test_the_nats_subchart_is_vendored_as_helm_dependency_build_places_it() -> None:
    (dependency,) = yaml.safe_load((CHART / "Chart.yaml").read_text())["dependencies"]
    assert dependency == {
        "name": "nats",
        "version": "2.14.2",
        "repository": "https://nats-io.github.io/k8s/helm/charts/",
        "condition": "nats.enabled",
    }
    assert helm.dependency_list(str(CHART)) == [
        {"name": "nats", "version": "2.14.2", "repository": dependency["repository"], "status": "ok"}
    ]
    archive = CHART / "charts" / "nats-2.14.2.tgz"
    assert archive.stat().st_size < 100_000
    lock = yaml.safe_load((CHART / "Chart.lock").read_text())
    assert lock["dependencies"] == [{k: dependency[k] for k in ("name", "repository", "version")}]
    assert lock["digest"] == lock_digest([dependency], lock["dependencies"]), "Chart.lock is stale"


def lock_digest(requested: list[dict[str, Any]], locked: list[dict[str, Any]]) -> str:
    """Helm's resolver.HashReq: sha256 of the JSON of [requested, locked]."""
    import hashlib

    def go(dep: dict[str, Any]) -> dict[str, Any]:
        order = ("name", "version", "repository", "condition")
        return {k: dep[k] for k in order if dep.get(k) or k in ("name", "repository")}

    data = json.dumps([[go(d) for d in requested], [go(d) for d in locked]], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


@pytest.mark.parametrize("case", list(CASES))
def test_every_manifest_is_valid_kubernetes_for_each_supported_version(case: str) -> None:
    docs = render(CASES[case])
    assert docs
    builtin = [d for d in docs if d["kind"] not in CUSTOM_KINDS]
    for version in KUBE_VERSIONS:
        for doc in builtin:
            kubernetes_validate.validate(doc, version, strict=True)
    for doc in docs:
        assert doc["metadata"].get("name"), doc
        if doc["kind"] in CUSTOM_KINDS:
            assert doc["apiVersion"] in ("cert-manager.io/v1", "monitoring.coreos.com/v1")
            assert isinstance(doc["spec"], dict)
    names = [(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in docs]
    assert len(names) == len(set(names)), "two objects with the same kind and name"


def test_defaults_are_a_production_install() -> None:
    docs = render()
    nats = one(docs, "StatefulSet", "piiguard-nats")
    assert nats["spec"]["replicas"] == 3
    assert nats["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    spread = nats["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"
    config = nats_config(docs)
    assert config["jetstream"]["store_dir"] == "/data" and config["jetstream"]["cipher"] == "chachapoly"
    assert len(config["cluster"]["routes"]) == 3
    assert config["tls"]["verify"] is True
    for component in COMPONENTS:
        variables = env(container(docs, component))
        assert variables["PIIGUARD_STREAM_REPLICAS"] == "3"
        assert variables["NATS_URL"] == ",".join(
            f"tls://piiguard-nats-{i}.piiguard-nats-headless.{NS}.svc:4222" for i in range(3)
        )
        assert variables["PIIGUARD_BIND_HOST"] == "0.0.0.0"
        assert variables["PIIGUARD_METRICS_PORT"] == "9464"
        assert "PIIGUARD_INSECURE_PLAINTEXT" not in variables
    for stage in STAGES:
        assert one(docs, "Deployment", f"piiguard-{stage}")["spec"]["replicas"] == 2
        assert one(docs, "PodDisruptionBudget", f"piiguard-{stage}")["spec"]["maxUnavailable"] == 1
        spread = pod_spec(docs, stage)["topologySpreadConstraints"][0]
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        assert spread["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == stage
    assert not find(docs, "PodDisruptionBudget", "piiguard-operator"), "one operator: no PDB"


def nats_config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """nats.conf as rendered (JSON, with the chart's << $VAR >> variables made strings)."""
    text = one(docs, "ConfigMap", "piiguard-nats-config")["data"]["nats.conf"]
    config: dict[str, Any] = json.loads(re.sub(r"(:\s*)(\$[A-Z_]+|[0-9]+[KMGT]i?)(,?\n)", r'\1"\2"\3', text))
    return config


def test_ingest_receives_slack_events_the_way_the_values_say() -> None:
    assert env(container(render(), "ingest"))["PIIGUARD_SLACK_MODE"] == "http"
    docs = render({"ingest": {"slackMode": "socket"}})
    assert env(container(docs, "ingest"))["PIIGUARD_SLACK_MODE"] == "socket"
    assert "PIIGUARD_SLACK_MODE" not in env(container(docs, "detection"))


def test_quick_values_run_one_nats_server_and_one_replica() -> None:
    docs = render(quick_values())
    assert one(docs, "StatefulSet", "piiguard-nats")["spec"]["replicas"] == 1
    for component in COMPONENTS:
        variables = env(container(docs, component))
        assert variables["PIIGUARD_STREAM_REPLICAS"] == "1"
        assert variables["NATS_URL"] == f"tls://piiguard-nats-0.piiguard-nats-headless.{NS}.svc:4222"
    assert not find(docs, "PodDisruptionBudget")
    header = (CHART / "ci" / "quick-values.yaml").read_text().split("\n\n")[0]
    assert "helm install" in header and "quick-values.yaml" in header


def test_more_stream_replicas_than_nats_servers_fails_the_render() -> None:
    with pytest.raises(helm.HelmError, match=r"jetstream\.replicas"):
        render(merged(quick_values(), {"jetstream": {"replicas": 3}}))


def test_an_external_nats_is_used_with_its_credentials_and_ca() -> None:
    docs = render(EXTERNAL)
    assert not find(docs, "StatefulSet") and not find(docs, "Secret", "piiguard-nats-users")
    for component in COMPONENTS:
        c = container(docs, component)
        variables = env(c)
        assert variables["NATS_URL"] == EXTERNAL["externalNats"]["url"]
        assert variables["NATS_CREDS"] == "/etc/piiguard/nats/nats.creds"
        assert variables["NATS_TLS_CA"] == "/etc/piiguard/nats-ca/ca.crt"
        volumes = {v["name"]: v for v in pod_spec(docs, component)["volumes"]}
        assert volumes["nats-creds"]["secret"] == {
            "secretName": "piiguard-nats-creds",
            "defaultMode": 0o440,
            "items": [{"key": f"{component}.creds", "path": "nats.creds"}],
        }
        assert volumes["nats-ca"]["secret"]["secretName"] == "nats-ca"
    with pytest.raises(helm.HelmError, match=r"externalNats\.url"):
        render({"nats": {"enabled": False}})
    passwords = render(CASES["external-nats-password"])
    variables = env(container(passwords, "action"))
    assert variables["NATS_USER"] == "action"
    assert variables["NATS_PASSWORD"] == {
        "secretKeyRef": {"name": "piiguard-nats-creds", "key": "action-password"}
    }


def test_the_schema_rejects_typos_and_wrong_types() -> None:
    good = chart()
    good.validate_schema({})
    good.validate_schema(quick_values())
    good.validate_schema(EVERYTHING_ON)
    for bad in (
        {"ingest": {"replica": 2}},
        {"ingest": {"replicas": "two"}},
        {"jetstream": {"replica": 3}},
        {"jetstream": {"replicas": 0}},
        {"metrics": {"serviceMonitor": {"enable": True}}},
        {"metrics": {"port": "9464"}},
        {"tls": {"certManager": {"issuerRef": {"kind": "Issuers"}}}},
        {"operator": {"watch": {"allNamespace": True}}},
        {"operator": {"admissionWebhook": {"failurePolicy": "fail"}}},
        {"externalNats": {"url": "nats.example.com:4222"}},
        {"nats": {"piiguard": {"auth": {"enable": False}}}},
        {"nats": {"enabled": "yes"}},
        {"detection": {"image": {"digest": "latest"}}},
        {"unknownTopLevel": 1},
    ):
        with pytest.raises(helm.HelmValuesError):
            good.validate_schema(bad)
    with pytest.raises(helm.HelmError):
        render({"ingest": {"replica": 2}})


def test_images_by_component_tag_or_digest() -> None:
    docs = render(
        {
            "image": {"tag": "1.2.3"},
            "action": {"image": {"tag": "1.2.4"}},
            "detection": {"image": {"digest": "sha256:" + "b" * 64}},
        }
    )
    assert container(docs, "ingest")["image"] == "ghcr.io/piiguard/piiguard-ingest:1.2.3"
    assert container(docs, "action")["image"] == "ghcr.io/piiguard/piiguard-action:1.2.4"
    assert container(docs, "detection")["image"] == "ghcr.io/piiguard/piiguard-detection@sha256:" + "b" * 64
    assert container(render(), "operator")["image"].endswith(":" + chart().metadata["appVersion"])


def test_probes_detection_starts_slowly_and_the_operator_is_ready_before_it_serves_the_webhook() -> None:
    docs = render()
    detection = container(docs, "detection")
    startup = detection["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300
    assert "startupProbe" not in container(docs, "ingest")
    operator = container(docs, "operator")
    assert operator["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    for stage in STAGES:
        c = container(docs, stage)
        assert c["readinessProbe"] and c["livenessProbe"]
        # With mTLS the kubelet cannot speak gRPC health to the port; plaintext can.
        assert c["readinessProbe"]["tcpSocket"] == {"port": "grpc"}
    plain = render(EVERYTHING_OFF)
    assert "grpc" in container(plain, "detection")["readinessProbe"]


def test_separate_public_http_and_internal_grpc_services_and_an_optional_ingress() -> None:
    docs = render()
    http = one(docs, "Service", "piiguard-ingest-http")
    assert [p["port"] for p in http["spec"]["ports"]] == [3000]
    ports = {"ingest": 50051, "detection": 50052, "action": 50053}
    for stage, port in ports.items():
        grpc = one(docs, "Service", f"piiguard-{stage}-grpc")
        assert {p["name"]: p["port"] for p in grpc["spec"]["ports"]} == {"grpc": port, "metrics": 9464}
        c = container(docs, stage)
        assert c["args"] == [stage]
        assert env(c)["PIIGUARD_GRPC_PORT"] == str(port)
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert env(container(docs, "ingest"))["PIIGUARD_HTTP_PORT"] == "3000"
    assert not find(docs, "Ingress")
    ingress = one(render(EVERYTHING_ON), "Ingress", "piiguard-ingest")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "pii-example-tls", "hosts": ["pii.example.com"]}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "pii.example.com"
    assert [(p["path"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]] == [
        ("/slack/events", "piiguard-ingest-http"),
        ("/notion/webhook", "piiguard-ingest-http"),
    ]


def test_mtls_certificates_from_cert_manager_with_spiffe_identities() -> None:
    docs = render({"operator": {"admissionWebhook": {"enabled": True}}})
    issuers = {d["metadata"]["name"]: d["spec"] for d in find(docs, "Issuer")}
    assert issuers == {
        "piiguard-selfsigned": {"selfSigned": {}},
        "piiguard-ca": {"ca": {"secretName": "piiguard-ca"}},
    }
    certificates = {d["metadata"]["name"]: d["spec"] for d in find(docs, "Certificate")}
    for component in (*COMPONENTS, "admin"):
        spec = certificates[f"piiguard-{component}"]
        assert spec["commonName"] == component
        assert spec["uris"] == [f"spiffe://piiguard.io/{component}"]
        assert spec["secretName"] == f"piiguard-{component}-tls"
        assert {"server auth", "client auth"} <= set(spec["usages"])
        assert spec["issuerRef"]["name"] == "piiguard-ca"
    assert f"piiguard-detection-grpc.{NS}.svc" in certificates["piiguard-detection"]["dnsNames"]
    assert "piiguard-ingest-http" in certificates["piiguard-ingest"]["dnsNames"]
    assert "*.piiguard-nats-headless" in certificates["piiguard-nats"]["dnsNames"]
    webhook = one(docs, "ValidatingWebhookConfiguration", f"piiguard-{NS}-piipolicies")
    assert webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == f"{NS}/piiguard-webhook"
    for component in COMPONENTS:
        variables = env(container(docs, component))
        assert variables["PIIGUARD_TLS_CERT"] == "/etc/piiguard/tls/tls.crt"
        assert variables["PIIGUARD_TLS_KEY"] == "/etc/piiguard/tls/tls.key"
        assert variables["PIIGUARD_TLS_CA"] == "/etc/piiguard/tls/ca.crt"
        assert variables["NATS_TLS_CA"] == "/etc/piiguard/tls/ca.crt"
        volumes = {v["name"]: v for v in pod_spec(docs, component)["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == f"piiguard-{component}-tls"
    named = render(CASES["named-issuer"])
    assert not find(named, "Issuer")
    corp = {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert all(c["spec"]["issuerRef"] == corp for c in find(named, "Certificate"))


def test_user_supplied_certificates_instead_of_cert_manager() -> None:
    docs = render(OWN_SECRETS)
    assert not find(docs, "Certificate") and not find(docs, "Issuer")
    for component in COMPONENTS:
        volumes = {v["name"]: v for v in pod_spec(docs, component)["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == f"my-{component}-tls"
    with pytest.raises(helm.HelmError, match=r"tls.existingSecrets.\w+ must name a Secret"):
        render({"tls": {"certManager": {"enabled": False}}})


def test_the_admission_webhook_is_never_rendered_without_a_ca() -> None:
    assert not find(render(), "ValidatingWebhookConfiguration")
    with pytest.raises(helm.HelmError, match=r"needs a CA"):
        render(merged(OWN_SECRETS, {"operator": {"admissionWebhook": {"caBundle": ""}}}))
    docs = render(OWN_SECRETS)
    webhook = one(docs, "ValidatingWebhookConfiguration", f"piiguard-{NS}-piipolicies")
    client = webhook["webhooks"][0]["clientConfig"]
    assert client["caBundle"] == "Y2E=" and client["service"]["path"] == "/validate-policy"
    assert "annotations" not in webhook["metadata"]
    variables = env(container(docs, "operator"))
    assert variables["PIIGUARD_ADMISSION_WEBHOOK"] == "true"
    assert variables["PIIGUARD_WEBHOOK_CERT"] == "/etc/piiguard/webhook/tls.crt"


def test_the_crd_is_a_template_kept_on_uninstall_and_generated_from_the_policy_model() -> None:
    from piiguard_operator import crd as generator

    assert not (CHART / "crds").exists(), "Helm never upgrades crds/: the CRD must be a template"
    assert chart().crds == []
    docs = render()
    crd = one(docs, "CustomResourceDefinition", "piipolicies.piiguard.io")
    assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    generated = yaml.safe_load(generator.render_crd())
    assert crd["spec"] == generated["spec"]
    assert generator.CRD_PATH == CHART / "files" / "crds" / "piipolicies.yaml"
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(crd, version, strict=True)
    assert not find(render({"crds": {"install": False}}), "CustomResourceDefinition")


def test_generated_nats_secrets_are_kept_and_named_ones_are_not_generated() -> None:
    docs = render()
    for name in ("piiguard-nats-users", "piiguard-nats-encryption"):
        secret = one(docs, "Secret", name)
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert all(len(value) >= 40 for value in secret["data"].values())
    assert set(one(docs, "Secret", "piiguard-nats-users")["data"]) == {
        "ingest",
        "detection",
        "action",
        "operator",
        "admin",
    }
    own = render(OWN_SECRETS)
    assert not find(own, "Secret", "piiguard-nats-users")
    nats_env = {
        e["name"]: e.get("valueFrom")
        for e in one(own, "StatefulSet", "piiguard-nats")["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert nats_env["NATS_PASSWORD_INGEST"]["secretKeyRef"] == {"name": "my-nats-users", "key": "ingest"}
    assert nats_env["JETSTREAM_ENCRYPTION_KEY"]["secretKeyRef"] == {"name": "my-js-key", "key": "key"}


def test_the_values_reference_in_the_chart_readme_is_complete_and_fresh() -> None:
    text = values_reference.VALUES.read_text(encoding="utf-8")
    assert values_reference.undocumented(yaml.safe_load(text), values_reference.descriptions(text)) == []
    readme = values_reference.README.read_text(encoding="utf-8")
    assert readme == values_reference.document_with_table(readme), (
        "charts/piiguard/README.md is stale: run python tests/chart/values_reference.py --write"
    )


# ---- a fresh namespace -------------------------------------------------------------


def referenced(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(kind, name) of every Secret, ConfigMap and ServiceAccount the pods use."""
    refs: set[tuple[str, str]] = set()
    for _, spec in pods(docs):
        refs.add(("ServiceAccount", spec.get("serviceAccountName", "default")))
        for pull in spec.get("imagePullSecrets", []):
            refs.add(("Secret", pull["name"]))
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                refs.add(("Secret", volume["secret"]["secretName"]))
            if "configMap" in volume:
                refs.add(("ConfigMap", volume["configMap"]["name"]))
        for c in [*spec.get("containers", []), *spec.get("initContainers", [])]:
            for e in c.get("env", []):
                source = e.get("valueFrom", {})
                if "secretKeyRef" in source:
                    refs.add(("Secret", source["secretKeyRef"]["name"]))
                if "configMapKeyRef" in source:
                    refs.add(("ConfigMap", source["configMapKeyRef"]["name"]))
            for source in c.get("envFrom", []):
                if "secretRef" in source:
                    refs.add(("Secret", source["secretRef"]["name"]))
    return refs


def provided(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """What the chart creates, directly or through cert-manager."""
    out = {(d["kind"], d["metadata"]["name"]) for d in docs}
    out |= {("Secret", d["spec"]["secretName"]) for d in docs if d["kind"] == "Certificate"}
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_in_a_fresh_namespace_every_object_the_pods_need_is_rendered_or_named_in_notes(case: str) -> None:
    values = CASES[case]
    docs = render(values)
    text = notes(values)
    missing = {
        (kind, name)
        for kind, name in referenced(docs) - provided(docs)
        if not re.search(rf"\b{kind} {re.escape(name)}\b", text)
    }
    assert missing == set(), f"needed by the pods but neither rendered nor in NOTES: {missing}"


def test_no_mandatory_slack_secret_in_cluster_mode() -> None:
    docs = render()
    for component in COMPONENTS:
        variables = env(container(docs, component))
        assert not {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN"} & set(variables)
    assert ("Secret", "piiguard-slack") not in referenced(docs)


def test_notes_follow_the_values() -> None:
    default = notes()
    assert "kind: PiiPolicy" in default and "kubectl get piipolicies -A" in default
    assert "Service piiguard-ingest-http, port 3000" in default and "/slack/events" in default
    assert "piiguard-nats" in default and "streams with 3 replicas" in default
    with_ingress = notes(EVERYTHING_ON)
    assert "https://pii.example.com/slack/events" in with_ingress
    assert "Secret piiguard-ingest-api-tokens" in with_ingress
    external = notes(EXTERNAL)
    assert "Secret piiguard-nats-creds" in external and "Secret nats-ca" in external
    assert "statefulset" not in external
    listed = notes({"operator": {"watch": {"namespaces": ["slack-a", "slack-b"]}}})
    assert "kubectl -n slack-a apply" in listed and "slack-a, slack-b" in listed


def test_the_tiltfile_builds_every_image_and_installs_the_chart_with_its_current_values() -> None:
    # The images' Dockerfile targets are checked in tests/test_packaging.py.
    tiltfile = (ROOT / "Tiltfile").read_text(encoding="utf-8")
    assert "docker_build(" in tiltfile and "helm(" in tiltfile and "port_forwards" in tiltfile
    for image in ("piiguard-ingest", "piiguard-detection", "piiguard-action", "piiguard-operator"):
        assert f"piiguard_image('{image}'" in tiltfile
    settings = dict(s.split("=", 1) for s in re.findall(r"'([a-zA-Z.]+=[^']*)'", tiltfile))
    values: dict[str, Any] = {}
    for key, value in settings.items():
        node = values
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = yaml.safe_load(value) if value else value
    assert values, "the Tiltfile sets no chart values"
    chart().validate_schema(values)
    docs = render(values)
    assert find(docs, "Deployment", "piiguard-ingest")
    assert "piiguard-slack" not in tiltfile, "cluster mode needs no shared Slack Secret"


@pytest.mark.parametrize("release", ["prod", "piiguard-eu", "nats-a"])
def test_names_agree_across_the_chart_and_its_nats_subchart_for_any_release_name(release: str) -> None:
    docs = render(release=release)
    fullname = release if "piiguard" in release else f"{release}-piiguard"
    nats_name = release if "nats" in release else f"{release}-nats"
    statefulset = one(docs, "StatefulSet", nats_name)
    headless = one(docs, "Service", f"{nats_name}-headless")
    assert statefulset["spec"]["serviceName"] == headless["metadata"]["name"]
    urls = env(one(docs, "Deployment", f"{fullname}-action")["spec"]["template"]["spec"]["containers"][0])
    assert urls["NATS_URL"] == ",".join(
        f"tls://{nats_name}-{i}.{nats_name}-headless.{NS}.svc:4222" for i in range(3))
    missing = referenced(docs) - provided(docs)
    assert missing == set(), missing
    certificate = one(docs, "Certificate", f"{fullname}-nats")
    assert f"*.{nats_name}-headless" in certificate["spec"]["dnsNames"]
