"""``piiguard operator``: the PiiPolicy operator as its own process (Kopf embedded).

Equivalent to ``kopf run -m piiguard_operator.handlers --standalone -n <ns>``,
with our defaults: one replica without Kopf peering (the chart runs one
operator pod with the Recreate strategy), no scanning of CRDs and namespaces
(so namespaced RBAC suffices), a liveness endpoint for the kubelet, and
NATS_URL from the environment.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

import kopf

from piiguard import logs
from piiguard import settings as piiguard_settings
from piiguard.errors import ConfigError


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
    p.add_argument("--liveness", metavar="URL", default=None,
                   help="liveness endpoint, or '' for none "
                        "(default: $PIIGUARD_LIVENESS, else http://0.0.0.0:8080/healthz)")
    p.add_argument("--json-logs", action="store_true",
                   help="log as JSON lines (as PIIGUARD_LOG_FORMAT=json)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def namespaces_from(args: argparse.Namespace,
                    env: Mapping[str, str] | piiguard_settings.Settings) -> list[str]:
    if args.namespace:
        return list(args.namespace)
    config = env if isinstance(env, piiguard_settings.Settings) else piiguard_settings.load(env)
    return config.watched_namespaces


def run(argv: Sequence[str] | None = None) -> int:
    """Start the operator and block until it is stopped (SIGINT/SIGTERM). Returns
    the process exit code."""
    args = parser().parse_args(list(argv) if argv is not None else None)
    try:
        config = piiguard_settings.load()
    except ConfigError as exc:
        print(f"piiguard operator: error: {exc}", file=sys.stderr)
        return 2
    namespaces = [] if args.all_namespaces else namespaces_from(args, config)
    if not args.all_namespaces and not namespaces:
        parser().error("say which namespaces to watch: --namespace NS or --all-namespaces")
    kopf.configure(verbose=args.verbose)  # Kopf's own loggers and its Kubernetes-event poster
    # Then the one format of every PII Guard process on the root logger.
    logs.configure("operator", "DEBUG" if args.verbose else config.log_level,
                   "json" if args.json_logs else config.log_format)
    if args.nats_url:
        config = config.model_copy(update={"nats_url": args.nats_url})
    liveness = config.liveness_url if args.liveness is None else args.liveness

    import piiguard_operator.handlers  # noqa: F401  (registers the handlers with Kopf)

    settings = kopf.OperatorSettings()
    # The CRD is installed with the operator (the chart's templates/crd.yaml) and namespaces are
    # named, so Kopf need not watch CRDs or namespaces: no cluster-scoped RBAC.
    settings.scanning.disabled = True
    kopf.run(
        settings=settings,
        clusterwide=args.all_namespaces,
        namespaces=namespaces,
        standalone=args.peering is None,
        peering_name=args.peering,
        liveness_endpoint=liveness or None,
        memo=kopf.Memo(config=config),
    )
    return 0
