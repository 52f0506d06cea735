"""Every Prometheus metric family of PII Guard, defined once (prometheus_client).

Each component serves its own process's families on ``PIIGUARD_METRICS_PORT``
(:func:`serve`); families a component never touches are simply absent from its
page. Names and labels are a contract (docs/operations.md, the chart's alerts and
dashboard use them): labels carry only bounded, non-identifying values — workspace,
stage, kind, type, action, method, api, result, outcome and a reason *class* —
never message text, user or channel ids, timestamps or free-form reasons. Values
that come from outside (a Slack error code, a file type) pass through
:func:`bounded` first, so a hostile input cannot mint series.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# ---- ingest --------------------------------------------------------------------------
EVENTS_RECEIVED = Counter(
    "piiguard_events_received_total",
    "Events ingest received, by source (slack, api) and outcome: accepted, duplicate "
    "(a retry collapsed), ignored (no policy, channel not watched, bot or system message), "
    "refused (not made durable: JetStream unavailable or full, or too large).",
    ["source", "outcome"])
INGEST_ACK_SECONDS = Histogram(
    "piiguard_ingest_ack_seconds",
    "Seconds from an event's arrival at ingest to its answer (durable in JetStream, or "
    "refused); Slack's deadline is 3 s.", buckets=_LATENCY_BUCKETS)

NOTION_PAGES = Counter(
    "piiguard_notion_pages_total",
    "Notion pages the poller (or a webhook event) handled, by workspace and outcome: polled "
    "(returned by a data source query or named by a webhook event), submitted (a new version "
    "sent to detection), unchanged (same content hash: not sent again), failed (held back, "
    "tried again next poll), dead_lettered.", ["workspace", "outcome"])
NOTION_POLL_ERRORS = Counter(
    "piiguard_notion_poll_errors_total",
    "Polls of a watched Notion database that failed, by workspace and reason: not_shared "
    "(object_not_found), ratelimited, transient (5xx, 529, timeouts), permanent, other.",
    ["workspace", "reason"])
NOTION_POLL_LAG = Gauge(
    "piiguard_notion_poll_lag_seconds",
    "Seconds since the least recently polled watched database of a workspace was last polled "
    "successfully (updated every poll round; grows while a database cannot be polled).",
    ["workspace"])

# ---- detection -----------------------------------------------------------------------
DETECTION_SECONDS = Histogram(
    "piiguard_detection_seconds",
    "Seconds detection spent on one event (text and shared files).", buckets=_LATENCY_BUCKETS)
FINDINGS = Counter("piiguard_findings_total", "Findings, by kind (entity type).", ["kind"])
FILES = Counter(
    "piiguard_files_total",
    "Shared files detection handled, by detected type and outcome (pii, clean, unscannable).",
    ["type", "outcome"])

# ---- action --------------------------------------------------------------------------
ACTIONS = Counter(
    "piiguard_actions_total",
    "Effects action carried out, by action (delete, file_delete, notify, trash) and outcome "
    "(done, already_done, failed).", ["action", "outcome"])
API_CALLS = Counter(
    "piiguard_api_calls_total",
    "Calls to outside APIs, by api (slack, notion), method and result (ok, the API's error "
    "code, ratelimited, http_5xx, connection_error).", ["api", "method", "result"])

# ---- every consuming stage -----------------------------------------------------------
DEAD_LETTERS = Counter(
    "piiguard_dead_letters_total",
    "Messages dead-lettered, by stage and reason class (poison, permanent, auth, "
    "retries_exhausted, attempts_exceeded).", ["stage", "reason"])
RETRIES = Counter("piiguard_retries_total", "Deliveries handed back for a later retry, by stage.",
                  ["stage"])
CONSUMER_PENDING = Gauge(
    "piiguard_consumer_pending",
    "Messages waiting for a stage's consumer (JetStream num_pending), by stage and workspace "
    "(\"all\": the one local consumer over every workspace).", ["stage", "workspace"])
CONSUMER_ACK_PENDING = Gauge(
    "piiguard_consumer_ack_pending",
    "Messages delivered to a stage's consumer and not yet acknowledged (num_ack_pending).",
    ["stage", "workspace"])

# ---- operator ------------------------------------------------------------------------
RECONCILES = Counter(
    "piiguard_reconcile_total",
    "PiiPolicy reconciliations by result: ok, rejected (invalid or conflicting policy), "
    "nats_unavailable, error.", ["result"])

ReasonClass = Literal["poison", "permanent", "auth", "retries_exhausted", "attempts_exceeded"]
ActionName = Literal["delete", "file_delete", "notify", "trash"]
ActionOutcome = Literal["done", "already_done", "failed"]

_REASON_CLASSES: tuple[ReasonClass, ...] = ("poison", "permanent", "auth", "retries_exhausted",
                                             "attempts_exceeded")
_ACTION_NAMES: tuple[ActionName, ...] = ("delete", "file_delete", "notify", "trash")
NOTION_PAGE_OUTCOMES = ("polled", "submitted", "unchanged", "failed", "dead_lettered")
NOTION_POLL_ERROR_REASONS = ("not_shared", "ratelimited", "transient", "permanent", "other")
_ACTION_OUTCOMES: tuple[ActionOutcome, ...] = ("done", "already_done", "failed")


def initialise(component: str) -> None:
    """Create the component's known series at 0 before anything happens: ``increase()``
    cannot see a counter's first step when its series is born at 1, so an alert on
    "dead letters growing" would miss the first dead letter of every process."""
    if component == "ingest":
        for source in ("slack", "api", "notion"):
            for outcome in ("accepted", "duplicate", "ignored", "refused"):
                EVENTS_RECEIVED.labels(source, outcome)
        DEAD_LETTERS.labels("notion", "attempts_exceeded")  # Notion pages the poller gave up on
    if component in ("detection", "action"):
        for reason in _REASON_CLASSES:
            DEAD_LETTERS.labels(component, reason)
        RETRIES.labels(component)
    if component == "action":
        for action in _ACTION_NAMES:
            for done in _ACTION_OUTCOMES:
                ACTIONS.labels(action, done)
    if component == "operator":
        for result in ("ok", "rejected", "nats_unavailable", "error"):
            RECONCILES.labels(result)


_SAFE = re.compile(r"[a-z0-9_.+-]{1,40}")


def initialise_notion_workspace(workspace: str) -> None:
    """The Notion poller's series of one workspace, at 0 (see :func:`initialise`)."""
    for outcome in NOTION_PAGE_OUTCOMES:
        NOTION_PAGES.labels(workspace_label(workspace), outcome)
    for reason in NOTION_POLL_ERROR_REASONS:
        NOTION_POLL_ERRORS.labels(workspace_label(workspace), reason)


_WORKSPACE = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def workspace_label(value: str) -> str:
    """A workspace (Slack team id) as a label value: kept when it has an id's shape."""
    return value if _WORKSPACE.fullmatch(value) else "other"


def bounded(value: str, fallback: str = "other") -> str:
    """A label value from outside (an API's error code, a file type) kept only when it
    has the shape of a code; anything else is ``fallback``."""
    value = value.strip().lower()
    return value if _SAFE.fullmatch(value) else fallback


_served_lock = threading.Lock()
_served_port: int | None = None


def serve(port: int | None, host: str = "127.0.0.1") -> int | None:
    """Serve ``/metrics`` on ``port`` (``PIIGUARD_METRICS_PORT``; None: not served) from
    a daemon thread. Returns the port. Once per process; a second call is a no-op."""
    global _served_port
    if port is None:
        return None
    with _served_lock:
        if _served_port is None:
            server, _thread = start_http_server(port, addr=host)
            _served_port = int(server.server_address[1])
            log.info("metrics on http://%s:%d/metrics", host, _served_port)
        return _served_port
