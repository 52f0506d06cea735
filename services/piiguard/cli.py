"""The ``piiguard`` command.

    piiguard up          run NATS (unless NATS_URL is set) and the three services locally
    piiguard scan        JSON lines in, verdicts out (audit a Slack export)
    piiguard ingest      run the ingest service alone (as its container does)
    piiguard detection   run the detection service alone
    piiguard action      run the action service alone
    piiguard operator    run the PiiPolicy operator (Kopf), as its container does
    piiguard dlq         list, show, replay or purge dead letters
    piiguard events ID   one event's life, from the audit trail
    piiguard notion webhook-token   the token Notion sent to /notion/webhook
    piiguard sweep       read channels' history; --dry-run reports what would be deleted
    piiguard schedules   each workspace's scheduled jobs (sweep, digest, token check), next runs
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="piiguard",
        description="PII Guard: removes Slack messages that leak personal or secret data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    up = commands.add_parser("up", help="run everything locally")
    up.add_argument("--policy", help="policy YAML file (default: built-in policy)")
    up.add_argument("--data-dir", help="nats-server storage (default: a folder in the user's state dir)")
    scan = commands.add_parser("scan", help="scan JSON lines from stdin")
    scan.add_argument("--policy", help="policy YAML file (default: built-in policy)")
    scan.add_argument("--all-entities", action="store_true",
                      help="also list kinds the policy ignores (names, emails, ...)")
    sweep = commands.add_parser("sweep", help="sweep channels' history (--dry-run: report only)")
    from piiguard.sweep.command import add_arguments as sweep_arguments

    sweep_arguments(sweep)
    dlq = commands.add_parser("dlq", help="inspect and re-drive dead letters (NATS_URL)")
    dlq.add_argument("action", choices=["list", "show", "replay", "purge"])
    dlq.add_argument("seq", nargs="?", type=int, help="dead letter sequence number")
    dlq.add_argument("--stage", choices=["detection", "action", "notion"],
                     help="only this stage's (notion: pages the Notion poller gave up on)")
    dlq.add_argument("--all", action="store_true", help="replay or purge every (matching) dead letter")
    dlq.add_argument("--json", action="store_true", help="machine-readable output")
    dlq.add_argument("--data-dir", help="the `piiguard up` data dir whose admin identity to use "
                     "(default: piiguard up's default, unless NATS_URL or NATS_USER is set)")
    notion = commands.add_parser("notion", help="Notion integration helpers (NATS_URL)")
    notion.add_argument("what", choices=["webhook-token"],
                        help="webhook-token: print the verification token Notion sent to /notion/webhook")
    notion.add_argument("--data-dir", help="the `piiguard up` data dir whose admin identity to use")
    events = commands.add_parser("events", help="print one event's life (NATS_URL)")
    events.add_argument("correlation_id", help="Slack event_id or Ingest API id")
    events.add_argument("--json", action="store_true", help="machine-readable output")
    events.add_argument("--data-dir", help="the `piiguard up` data dir whose admin identity to use")
    schedules = commands.add_parser("schedules", help="list the scheduled jobs and their next run (NATS_URL)")
    schedules.add_argument("--json", action="store_true", help="machine-readable output")
    schedules.add_argument("--data-dir", help="the `piiguard up` data dir whose admin identity to use")
    for name in ("ingest", "detection", "action"):
        commands.add_parser(name, help=f"run the {name} service alone", add_help=False)
    commands.add_parser("operator", help="run the PiiPolicy operator", add_help=False)

    if argv and argv[0] in ("ingest", "detection", "action"):
        return _run_service(argv[0], argv[1:])
    if argv and argv[0] == "operator":
        from piiguard_operator.main import run as run_operator

        return run_operator(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "up":
        from piiguard.up import run_up

        return run_up(policy_path=args.policy, data_dir=args.data_dir)
    if args.command == "scan":
        from piiguard import scan as scan_module
        from piiguard.errors import PolicyError
        from piiguard.policy import load_policy

        try:
            policy = load_policy(args.policy)
        except PolicyError as exc:
            print(f"piiguard scan: error: {exc}", file=sys.stderr)
            return 2
        return scan_module.run(policy, all_entities=args.all_entities)
    if args.command == "sweep":
        from piiguard.sweep.command import run as run_sweep

        return run_sweep(args)
    if args.command == "dlq":
        from piiguard import admin

        admin.DATA_DIR = args.data_dir
        return admin.dlq(args.action, args.seq, args.stage, args.all, args.json)
    if args.command == "notion":
        from piiguard import admin

        admin.DATA_DIR = args.data_dir
        return admin.notion_webhook_token()
    if args.command == "schedules":
        from piiguard import admin
        admin.DATA_DIR = args.data_dir
        return admin.schedules(args.json)
    if args.command == "events":
        from piiguard import admin

        admin.DATA_DIR = args.data_dir
        return admin.events(args.correlation_id, args.json)
    parser.print_help()
    return 2


def _run_service(name: str, argv: list[str]) -> int:
    if name == "ingest":
        from piiguard.ingest.main import main as ingest_main

        return ingest_main(argv)
    if name == "detection":
        from piiguard.detection.main import main as detection_main

        return detection_main(argv)
    from piiguard.action.main import main as action_main

    return action_main(argv)


if __name__ == "__main__":
    sys.exit(main())
