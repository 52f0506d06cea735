"""``piiguard operator``: the PiiPolicy operator as its own process (Kopf embedded).

Equivalent to ``kopf run -m piiguard_operator.handlers --standalone -n <ns>``,
with our defaults: one replica without Kopf peering (the chart runs one
operator pod with the Recreate strategy), no scanning of CRDs and namespaces
(so namespaced RBAC suffices), a liveness endpoint for the kubelet, and
NATS_URL from the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Sequence

import kopf

from piiguard_operator.config import OperatorConfig


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="piiguard operator",
        description="Reconcile PiiPolicy resources into JetStream and the services' policy bucket.",
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument(
        "-n", "--namespace", action="append", default=[], metavar="NS",
        help="watch PiiPolicies in this namespace (repeatable; globs such as 'slack-*' work). "
             "Default: $PIIGUARD_WATCH_NAMESPACES (comma-separated), else $POD_NAMESPACE.",
    )
    scope.add_argument("-A", "--all-namespaces", action="store_true",
                       help="watch PiiPolicies in every namespace")
    p.add_argument("--nats-url", default=None,
                   help="NATS server (default: $NATS_URL, else nats://127.0.0.1:4222)")
    p.add_argument("--peering", metavar="NAME", default=None,
                   help="run with Kopf peering under this name (for several replicas); "
                        "default: standalone")
    p.add_argument("--liveness", metavar="URL",
                   default=os.environ.get("PIIGUARD_LIVENESS", "http://0.0.0.0:8080/healthz"),
                   help="liveness endpoint, or '' for none (default: %(default)s)")
    p.add_argument("--json-logs", action="store_true", help="log as JSON lines")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def namespaces_from(args: argparse.Namespace, env: dict[str, str] | os._Environ[str]) -> list[str]:
    if args.namespace:
        return list(args.namespace)
    listed = [ns.strip() for ns in env.get("PIIGUARD_WATCH_NAMESPACES", "").split(",") if ns.strip()]
    if listed:
        return listed
    own = env.get("POD_NAMESPACE", "").strip()
    return [own] if own else []


def run(argv: Sequence[str] | None = None) -> int:
    """Start the operator and block until it is stopped (SIGINT/SIGTERM). Returns
    the process exit code."""
    args = parser().parse_args(list(argv) if argv is not None else None)
    namespaces = [] if args.all_namespaces else namespaces_from(args, os.environ)
    if not args.all_namespaces and not namespaces:
        parser().error("say which namespaces to watch: --namespace NS or --all-namespaces")
    kopf.configure(
        verbose=args.verbose,
        log_format=kopf.LogFormat.JSON if args.json_logs else kopf.LogFormat.FULL,
    )
    config = OperatorConfig.from_env()
    if args.nats_url:
        config = dataclasses.replace(config, nats_url=args.nats_url)

    import piiguard_operator.handlers  # noqa: F401  (registers the handlers with Kopf)

    settings = kopf.OperatorSettings()
    # The CRD is installed before the operator (Helm's crds/) and namespaces are
    # named, so Kopf need not watch CRDs or namespaces: no cluster-scoped RBAC.
    settings.scanning.disabled = True
    kopf.run(
        settings=settings,
        clusterwide=args.all_namespaces,
        namespaces=namespaces,
        standalone=args.peering is None,
        peering_name=args.peering,
        liveness_endpoint=args.liveness or None,
        memo=kopf.Memo(config=config),
    )
    return 0
