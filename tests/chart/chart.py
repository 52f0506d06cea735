"""Rendering the chart offline with Helm's own library (helm-python-sdk, no helm
binary, no cluster), shared by the chart's test modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "piiguard"
QUICK = CHART / "ci" / "quick-values.yaml"
NS = "piiguard"
RELEASE = "piiguard"
STAGES = ("ingest", "detection", "action")
COMPONENTS = (*STAGES, "operator")

# Kinds of CRDs the chart may render (cert-manager, Prometheus Operator): not in
# kubernetes-validate's schemas, checked by their own tests.
CUSTOM_KINDS = {"Certificate", "Issuer", "ServiceMonitor", "PrometheusRule"}

EXTERNAL: dict[str, Any] = {
    "nats": {"enabled": False},
    "externalNats": {
        "url": "tls://nats-a.nats.svc:4222,tls://nats-b.nats.svc:4222",
        "credentialsSecret": "piiguard-nats-creds",
        "tls": {"caSecret": "nats-ca"},
    },
}


def chart() -> helm.Chart:
    """A freshly loaded chart: rendering changes a loaded chart (Helm drops the
    subcharts whose condition is false), so each render loads its own."""
    return helm.Chart.load(str(CHART))


def quick_values() -> dict[str, Any]:
    return yaml.safe_load(QUICK.read_text(encoding="utf-8"))


def render_all(
    values: dict[str, Any] | None = None, *, namespace: str = NS, release: str = RELEASE
) -> dict[str, str]:
    return chart().render(values or {}, name=release, namespace=namespace, is_install=True)


def render(values: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path, text in render_all(values, **kwargs).items():
        if path.endswith(".txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def notes(values: dict[str, Any] | None = None) -> str:
    return render_all(values)["piiguard/templates/NOTES.txt"]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = find(docs, kind, name)
    return found


def pod_spec(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "Deployment", f"piiguard-{component}")["spec"]["template"]["spec"]
    return spec


def container(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    c: dict[str, Any] = pod_spec(docs, component)["containers"][0]
    return c


def env(c: dict[str, Any]) -> dict[str, Any]:
    """Name -> literal value, or the valueFrom mapping."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def pods(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(owner name, pod spec) of every workload."""
    out = []
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out.append((d["metadata"]["name"], d["spec"]["template"]["spec"]))
    return out


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of values dicts (later wins), as Helm merges -f files."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = value
    return out
