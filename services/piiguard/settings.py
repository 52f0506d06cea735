"""Every setting of every PII Guard process, read once from the environment.

A process calls :func:`load` at start-up and passes the frozen :class:`Settings`
down explicitly; no other module reads ``os.environ``. An invalid value fails the
start with one line naming the variable (``piiguard <service>: error: ...``, exit 2),
never with a traceback and never quoting a secret.

Each field says its unit and why it has its default. The README's environment
table is generated from these fields (:func:`environment_table`), and a test
keeps the two equal. The same values apply in ``piiguard up`` and in a cluster:
the chart sets the same variables; the operator reads them too.

Durations are written in the Kubernetes style (``30s``, ``15m``, ``1h30m``, ``3d``)
or as a number of seconds; see :mod:`piiguard.durations`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from piiguard.durations import format_duration, parse_duration
from piiguard.errors import ConfigError

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_NOTION_API_URL = "https://api.notion.com"

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number between 0 and 65535")
    return value


def _with_slash(url: str) -> str:
    """slack_sdk's ``base_url`` must end with a slash."""
    return url if url.endswith("/") else url + "/"


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("must be a positive duration")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive)]
Port = Annotated[int, AfterValidator(_port)]
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                     BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v)]


def _env(name: str, description: str, *, used_by: str, shown_default: str | None = None) -> Any:
    """Field metadata: the variable's name, what it is for, who reads it, and (for
    the README) how its default is shown when the value alone would not say it."""
    extra: dict[str, Any] = {"used_by": used_by}
    if shown_default is not None:
        extra["shown_default"] = shown_default
    return {"validation_alias": name, "description": description, "json_schema_extra": extra}


class Settings(BaseSettings):
    """One process's configuration. Construct with :func:`load` (from the
    environment) or ``Settings(field=value, ...)`` in tests."""

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,
        env_ignore_empty=True,  # VAR= means "not set", as a shell user expects
        populate_by_name=True,
        extra="ignore",
    )

    # ---- Slack ---------------------------------------------------------------------
    slack_signing_secret: SecretStr = Field(SecretStr(""), **_env(
        "SLACK_SIGNING_SECRET",
        "The Slack app's signing secret; ingest refuses unsigned events. In a cluster "
        "each PiiPolicy may reference its own.", used_by="ingest", shown_default="required"))
    slack_bot_token: SecretStr = Field(SecretStr(""), **_env(
        "SLACK_BOT_TOKEN",
        "The bot token (xoxb-): action sends DMs, detection downloads shared files; "
        "ingest optionally learns the bot's own ids with auth.test.",
        used_by="action; detection (to download shared files); ingest: optional, to learn its own ids",
        shown_default="required"))
    slack_admin_token: SecretStr = Field(SecretStr(""), **_env(
        "SLACK_ADMIN_TOKEN",
        "A workspace admin's user token (xoxp-): only a user token may delete another "
        "person's message.", used_by="action", shown_default="required"))
    slack_app_token: SecretStr = Field(SecretStr(""), **_env(
        "SLACK_APP_TOKEN",
        "The app-level token (xapp-, scope connections:write) that opens Socket Mode "
        "connections; needed when PIIGUARD_SLACK_MODE is socket or both. In a cluster each "
        "PiiPolicy may reference its own (secrets.appToken).",
        used_by="ingest", shown_default="unset"))
    slack_mode: Literal["http", "socket", "both"] = Field("http", **_env(
        "PIIGUARD_SLACK_MODE",
        "How ingest receives Slack events: http (the Events API at /slack/events), socket "
        "(Socket Mode: ingest dials out, no public endpoint needed) or both. A policy's "
        "slack.mode overrides it for its workspace's Socket Mode connection.", used_by="ingest"))
    slack_api_url: Annotated[str, AfterValidator(_with_slash)] = Field(DEFAULT_SLACK_API_URL, **_env(
        "SLACK_API_URL",
        "slack_sdk's base_url (a trailing slash is added); detection resolves relative "
        "file URLs against its host. Tests point it at the Slack stand-in.",
        used_by="ingest, action, detection"))

    # ---- Notion --------------------------------------------------------------------
    notion_token: SecretStr = Field(SecretStr(""), **_env(
        "NOTION_TOKEN",
        "The Notion integration's secret (ntn_... / secret_...), for local runs and when a "
        "policy references no notion.tokenSecretRef. Unset: Notion is off.",
        used_by="ingest (polls), action (trashes pages, reads authors' emails), detection "
        "(refreshes a Notion file's expired URL)",
        shown_default="unset"))
    notion_api_url: Annotated[str, AfterValidator(lambda u: u.rstrip("/"))] = Field(
        DEFAULT_NOTION_API_URL, **_env(
            "NOTION_API_URL",
            "Base URL that notion-client's /v1/... paths hang off (a trailing slash is "
            "dropped). Tests point it at the Notion stand-in.", used_by="ingest, action, detection"))

    # ---- listening -------------------------------------------------------------------
    http_port: Port = Field(3000, **_env(
        "PIIGUARD_HTTP_PORT", "TCP port of ingest's HTTP endpoint (/slack/events, /healthz); "
        "3000 is what Slack app tutorials use.", used_by="ingest"))
    grpc_port: Port | None = Field(None, **_env(
        "PIIGUARD_GRPC_PORT", "TCP port of the service's gRPC server (0: any free port). "
        "Unset: the stage's own default, so three stages fit on one host.",
        used_by="each service", shown_default="ingest 50051, detection 50052, action 50053"))
    bind_host: str = Field("127.0.0.1", **_env(
        "PIIGUARD_BIND_HOST", "Address the HTTP and gRPC servers listen on. Loopback by default "
        "(piiguard up); the chart sets 0.0.0.0 inside the pod.", used_by="each service"))
    http_read_timeout: Duration = Field(10.0, **_env(
        "PIIGUARD_HTTP_READ_TIMEOUT", "Seconds a client of ingest's HTTP port has to send a request's "
        "headers (from connecting, or from its previous response) and, separately, its whole body; "
        "then the connection is cut (slow clients must not hold it). Slack sends a few KB at once.",
        used_by="ingest"))
    http_max_connections: int = Field(256, ge=1, le=100_000, **_env(
        "PIIGUARD_HTTP_MAX_CONNECTIONS", "HTTP connections ingest keeps open at once; one more is "
        "answered 503 and closed before any of its bytes are read.", used_by="ingest"))
    metrics_port: Port | None = Field(None, **_env(
        "PIIGUARD_METRICS_PORT", "TCP port of the Prometheus /metrics endpoint. Unset: none; the "
        "chart sets 9464; piiguard up picks a free port per component.",
        used_by="each service, operator", shown_default="unset (chart: 9464)"))

    # ---- component identity (mutual TLS) ------------------------------------------------
    tls_cert: Path | None = Field(None, **_env(
        "PIIGUARD_TLS_CERT", "PEM certificate of this component (CN and SAN URI "
        "spiffe://piiguard.io/<component>), for mutual TLS between components.",
        used_by="each service, operator, CLI", shown_default="unset"))
    tls_key: Path | None = Field(None, **_env(
        "PIIGUARD_TLS_KEY", "PEM private key of PIIGUARD_TLS_CERT.",
        used_by="each service, operator, CLI", shown_default="unset"))
    tls_ca: Path | None = Field(None, **_env(
        "PIIGUARD_TLS_CA", "PEM CA bundle that signs every component's certificate.",
        used_by="each service, operator, CLI", shown_default="unset"))
    insecure_plaintext: bool = Field(False, **_env(
        "PIIGUARD_INSECURE_PLAINTEXT", "true: no TLS between components (local development "
        "only; logs a WARNING). Secure by default.", used_by="each service, operator, CLI"))
    ingest_api_port: Port = Field(50054, **_env(
        "PIIGUARD_INGEST_API_PORT", "TCP port of ingest's second gRPC server, for Ingest API "
        "callers with bearer tokens (TLS without client certificates; serves only Ingest). "
        "Opened only when PIIGUARD_INGEST_API_TOKENS_FILE is set.", used_by="ingest"))
    ingest_api_tokens_file: Path | None = Field(None, **_env(
        "PIIGUARD_INGEST_API_TOKENS_FILE", "File of '<caller-name> <token>' lines: bearer "
        "tokens of external Ingest API callers (mounted from a Secret).",
        used_by="ingest", shown_default="unset"))

    # ---- NATS --------------------------------------------------------------------------
    nats_url: str = Field(DEFAULT_NATS_URL, **_env(
        "NATS_URL", "NATS server(s), comma-separated for a cluster; piiguard up uses it instead "
        "of starting its own server.", used_by="all; piiguard up uses it instead of starting a server"))
    nats_creds: Path | None = Field(None, **_env(
        "NATS_CREDS", "Path of this component's NATS .creds file (user JWT and NKEY seed).",
        used_by="all", shown_default="unset"))
    nats_user: str | None = Field(None, **_env(
        "NATS_USER", "NATS user name (with NATS_PASSWORD), when no .creds file is used.",
        used_by="all", shown_default="unset"))
    nats_password: SecretStr | None = Field(None, **_env(
        "NATS_PASSWORD", "Password of NATS_USER.", used_by="all", shown_default="unset"))
    nats_tls_ca: Path | None = Field(None, **_env(
        "NATS_TLS_CA", "CA file to verify the NATS server's certificate.",
        used_by="all", shown_default="unset"))
    nats_tls_cert: Path | None = Field(None, **_env(
        "NATS_TLS_CERT", "Client certificate for NATS (optional, with NATS_TLS_KEY).",
        used_by="all", shown_default="unset"))
    nats_tls_key: Path | None = Field(None, **_env(
        "NATS_TLS_KEY", "Private key of NATS_TLS_CERT.", used_by="all", shown_default="unset"))

    # ---- policies ------------------------------------------------------------------------
    policy_path: str | None = Field(None, **_env(
        "PIIGUARD_POLICY", "Policy YAML file (same as --policy).",
        used_by="all (same as `--policy`)", shown_default="built-in default policy"))
    policy_source: Literal["file", "kv"] = Field("file", **_env(
        "PIIGUARD_POLICY_SOURCE",
        "`file` (the `--policy` file or the default) or `kv` (in a cluster: each workspace's "
        "policy from the operator's `piiguard-policies` bucket, hot-reloaded; per-workspace "
        "consumers; events of a workspace without a `PiiPolicy` are recorded and dropped).",
        used_by="all"))
    kubernetes_api_url: str | None = Field(None, **_env(
        "PIIGUARD_KUBERNETES_API_URL", "Where to read the Secrets a PiiPolicy references. "
        "Unset: the in-cluster API with the pod's service account.",
        used_by="ingest, action, detection in a cluster", shown_default="in-cluster"))
    credentials_secret: str | None = Field(None, **_env(
        "PIIGUARD_CREDENTIALS_SECRET", "In a cluster: the name of this stage's own projected "
        "credentials Secret (in its own namespace), which the operator fills with only what this "
        "stage needs of each workspace's Slack credentials. Set: the stage reads no other Secret.",
        used_by="ingest, detection, action in a cluster", shown_default="unset (chart: set)"))
    credentials_namespace: str | None = Field(None, **_env(
        "PIIGUARD_CREDENTIALS_NAMESPACE", "Namespace of the stages' projected credentials "
        "Secrets (the release namespace).", used_by="operator", shown_default="unset (chart: set)"))
    credentials_secrets: str | None = Field(None, **_env(
        "PIIGUARD_CREDENTIALS_SECRETS", "The stages' projected credentials Secrets the operator "
        "fills, as ingest=<name>,detection=<name>,action=<name>. Unset: nothing is projected.",
        used_by="operator", shown_default="unset (chart: set)"))
    kubernetes_service_host: str | None = Field(None, **_env(
        "KUBERNETES_SERVICE_HOST", "Set by the kubelet: the in-cluster API's address.",
        used_by="services and operator in a cluster", shown_default="set by Kubernetes"))
    kubernetes_service_port: str | None = Field(None, **_env(
        "KUBERNETES_SERVICE_PORT", "Set by the kubelet: the in-cluster API's port.",
        used_by="services and operator in a cluster", shown_default="set by Kubernetes"))

    # ---- streams: the one owner of their retention ----------------------------------------
    events_max_age: Duration = Field(30 * MINUTE, **_env(
        "PIIGUARD_EVENTS_MAX_AGE",
        "Longest an event (message text) waits in PIIGUARD_EVENTS for detection. A handled event "
        "is removed at once (work-queue stream); this only bounds a backlog (a stage down, a "
        "paused workspace), so text never sits for hours. At least the de-duplication window "
        "(15m, Slack's retries) plus a stage's retries; a policy's queues.detection.maxAge "
        "may ask for longer.",
        used_by="stages, operator"))
    verdicts_max_age: Duration = Field(30 * MINUTE, **_env(
        "PIIGUARD_VERDICTS_MAX_AGE",
        "Longest a verdict (with the message text for the DM) waits in PIIGUARD_VERDICTS for "
        "action; handled verdicts are removed at once. A policy's queues.action.maxAge may ask "
        "for longer.", used_by="stages, operator"))
    dlq_max_age: Duration = Field(3 * DAY, **_env(
        "PIIGUARD_DLQ_MAX_AGE", "How long a dead letter (original bytes, for replay) is kept: "
        "a long weekend for someone to look.", used_by="stages, operator"))
    audit_max_age: Duration = Field(30 * DAY, **_env(
        "PIIGUARD_AUDIT_MAX_AGE", "How long audit records (no text) are kept.",
        used_by="stages, operator"))
    actions_ttl: Duration = Field(7 * DAY, **_env(
        "PIIGUARD_ACTIONS_TTL", "How long a completed delete/DM is remembered, so a replayed "
        "or redelivered message is not acted on twice.", used_by="action"))
    seen_ttl: Duration = Field(30 * DAY, **_env(
        "PIIGUARD_SEEN_TTL", "How long ingest remembers a message version (workspace, channel, "
        "ts, edited.ts) as scanned, so the live path and a history sweep never scan it twice; "
        "ids and timestamps only, no text.", used_by="ingest, sweep"))
    sweep_rate: float = Field(50.0, gt=0, **_env(
        "PIIGUARD_SWEEP_RATE", "Swept (bulk-lane) messages detection scans per second at most, "
        "and only while the live lane is idle: a backfill never delays live events.",
        used_by="detection", shown_default="`50`"))
    sweep_slack_rpm: float = Field(50.0, gt=0, **_env(
        "PIIGUARD_SWEEP_SLACK_RPM", "Calls per minute a sweep makes to each of Slack's "
        "conversations.history and conversations.replies (Tier 3: about 50 a minute); a 429 "
        "is waited out for its Retry-After on top.", used_by="sweep", shown_default="`50`"))
    sweep_backlog: int = Field(2000, ge=10, **_env(
        "PIIGUARD_SWEEP_BACKLOG", "Swept messages a sweep lets wait in the bulk lane before it "
        "pauses reading Slack, so a backfill holds little text in the stream and never fills it.",
        used_by="sweep"))
    stream_max_bytes: int = Field(1024**3, ge=1024 * 1024, **_env(
        "PIIGUARD_STREAM_MAX_BYTES", "Cap of each work stream, in bytes; when full, ingest "
        "answers 503 (back-pressure, Slack retries) instead of losing events.",
        used_by="stages, operator", shown_default="1 GiB"))
    stream_replicas: int = Field(1, ge=1, le=5, **_env(
        "PIIGUARD_STREAM_REPLICAS", "JetStream replicas of every stream and bucket (the chart "
        "sets jetstream.replicas, default 3); the operator brings existing ones to it at start. "
        "At most the number of NATS servers.", used_by="stages, operator"))

    # ---- process -----------------------------------------------------------------------------
    log_level: LogLevel = Field("INFO", **_env(
        "PIIGUARD_LOG_LEVEL", "Lowest level logged.", used_by="all"))
    log_format: Literal["json", "text"] = Field("text", **_env(
        "PIIGUARD_LOG_FORMAT", "`json`: one JSON object per line with trace and span ids and every "
        "field a log call passes (for a log pipeline: the chart sets it); `text`: one readable "
        "line with the same fields (a terminal, `piiguard up`).", used_by="all"))
    nice: int | None = Field(None, ge=0, le=19, **_env(
        "PIIGUARD_NICE", "Run at this lower CPU priority; `piiguard up` sets 5 for detection and "
        "action so ingest's ack (racing Slack's 3-second deadline) comes first on one host.",
        used_by="each service", shown_default="unset"))
    otel_exporter_otlp_endpoint: str | None = Field(None, **_env(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "Export traces over OTLP (e.g. to Jaeger); the "
        "OpenTelemetry SDK reads the other OTEL_* variables itself.", used_by="all",
        shown_default="off"))
    otel_exporter_otlp_traces_endpoint: str | None = Field(None, **_env(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "As OTEL_EXPORTER_OTLP_ENDPOINT, for traces only.",
        used_by="all", shown_default="off"))
    otel_service_name: str | None = Field(None, **_env(
        "OTEL_SERVICE_NAME", "service.name of spans and logs. Unset: piiguard-<component>.",
        used_by="all", shown_default="piiguard-<component>"))
    otel_traces_exporter: str = Field("otlp", **_env(
        "OTEL_TRACES_EXPORTER", "`otlp`, `console` or `none`; spans are exported only when "
        "an endpoint is set (otlp) or `console` is chosen.", used_by="all"))

    # ---- operator --------------------------------------------------------------------------
    verify_tokens: bool = Field(False, **_env(
        "PIIGUARD_VERIFY_TOKENS", "Check bot/admin tokens with Slack (auth.test) so a revoked "
        "one shows as Degraded. Off: it needs egress to slack.com.", used_by="operator"))
    verify_notion_databases: bool = Field(True, **_env(
        "PIIGUARD_VERIFY_NOTION_DATABASES", "Ask Notion (GET /v1/databases/{id}, with the token of "
        "notion.tokenSecretRef) whether each watched database is shared with the integration, "
        "shown as the NotionReachable condition. Needs egress to api.notion.com.",
        used_by="operator"))
    token_check_ttl: Duration = Field(10 * MINUTE, **_env(
        "PIIGUARD_TOKEN_CHECK_TTL", "How long a token verdict is trusted before Slack is asked "
        "again.", used_by="operator"))
    status_interval: Duration = Field(15.0, **_env(
        "PIIGUARD_STATUS_INTERVAL", "Seconds between refreshes of each policy's status "
        "(figures, health, self-repair).", used_by="operator"))
    watch_namespaces: str = Field("", **_env(
        "PIIGUARD_WATCH_NAMESPACES", "Comma-separated namespaces whose PiiPolicies the operator "
        "watches (globs work), when -n is not given.", used_by="operator",
        shown_default="$POD_NAMESPACE"))
    pod_namespace: str = Field("", **_env(
        "POD_NAMESPACE", "The operator's own namespace (downward API): watched when nothing "
        "else is named.", used_by="operator", shown_default="unset"))
    liveness_url: str = Field("http://0.0.0.0:8080/healthz", **_env(
        "PIIGUARD_LIVENESS", "Kopf's liveness endpoint for the kubelet; empty: none.",
        used_by="operator"))
    admission_webhook: bool = Field(False, **_env(
        "PIIGUARD_ADMISSION_WEBHOOK", "Serve the validating admission webhook (TLS).",
        used_by="operator"))
    webhook_port: Port = Field(9443, **_env(
        "PIIGUARD_WEBHOOK_PORT", "TCP port of the admission webhook.", used_by="operator"))
    webhook_host: str | None = Field(None, **_env(
        "PIIGUARD_WEBHOOK_HOST", "Host name the API server reaches the webhook at.",
        used_by="operator", shown_default="unset"))
    webhook_cert: Path = Field(Path("/etc/piiguard/webhook/tls.crt"), **_env(
        "PIIGUARD_WEBHOOK_CERT", "PEM certificate of the admission webhook.", used_by="operator"))
    webhook_key: Path = Field(Path("/etc/piiguard/webhook/tls.key"), **_env(
        "PIIGUARD_WEBHOOK_KEY", "PEM key of the admission webhook.", used_by="operator"))

    # ---- derived -------------------------------------------------------------------------------

    @property
    def cluster_mode(self) -> bool:
        """Policies from the operator's bucket (``kv``) rather than a file."""
        return self.policy_source == "kv"

    @property
    def nats_servers(self) -> list[str]:
        """``NATS_URL`` as the list of servers nats-py connects to."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @property
    def watched_namespaces(self) -> list[str]:
        """``PIIGUARD_WATCH_NAMESPACES``, else the operator's own namespace."""
        listed = [ns.strip() for ns in self.watch_namespaces.split(",") if ns.strip()]
        if listed:
            return listed
        return [self.pod_namespace.strip()] if self.pod_namespace.strip() else []

    @property
    def kubernetes_url(self) -> str:
        """The Kubernetes API to read Secrets from: the override, else in-cluster, else ''."""
        if self.kubernetes_api_url:
            return self.kubernetes_api_url.rstrip("/")
        if self.kubernetes_service_host and self.kubernetes_service_port:
            return f"https://{self.kubernetes_service_host}:{self.kubernetes_service_port}"
        return ""

    def require(self, *names: str) -> None:
        """Fail with one line per process when a secret this process needs is not set."""
        for name in names:
            field = _FIELD_BY_VARIABLE[name]
            value = getattr(self, field)
            text = value.get_secret_value() if isinstance(value, SecretStr) else (value or "")
            if not str(text).strip():
                raise ConfigError(f"{name} is not set: export {name}=... (see README, 'Slack app setup')")


_FIELD_BY_VARIABLE: dict[str, str] = {
    str(info.validation_alias): name for name, info in Settings.model_fields.items()
}
_VARIABLE_BY_FIELD: dict[str, str] = {field: var for var, field in _FIELD_BY_VARIABLE.items()}


def load(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """The settings in ``env`` (default: the process environment), or ConfigError
    naming the first variable that is wrong — never its value."""
    try:
        if env is None:
            return Settings(**overrides)
        values = {k: v for k, v in env.items() if k in _FIELD_BY_VARIABLE and v.strip()}
        return Settings.model_validate({**values, **overrides}, by_alias=True, by_name=True)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line naming the variable and the rule it breaks."""
    error = exc.errors(include_input=False, include_url=False)[0]
    where = str(error["loc"][0]) if error["loc"] else "?"
    variable = _VARIABLE_BY_FIELD.get(where, where)
    message = str(error["msg"]).removeprefix("Value error, ")
    if variable.endswith("_PORT") and error["type"] in ("int_parsing", "value_error"):
        message = "must be a port number between 0 and 65535"
    return f"{variable}: {message}"


TABLE_START = "<!-- environment: generated from piiguard/settings.py by `python -m piiguard.settings` -->"
TABLE_END = "<!-- end of environment -->"


def environment_table() -> str:
    """The README's environment table, as markdown rows."""
    rows = ["| variable | used by | what and why | default |", "| --- | --- | --- | --- |"]
    for variable, field in _FIELD_BY_VARIABLE.items():
        info = Settings.model_fields[field]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        rows.append(f"| `{variable}` | {extra.get('used_by', '')} | {info.description} "
                    f"| {_shown_default(info.default, extra.get('shown_default'))} |")
    return "\n".join(rows)


def with_environment_table(readme: str) -> str:
    """``readme`` with the text between the table's markers regenerated."""
    head, start, rest = readme.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ValueError("README lacks the environment table markers")
    return f"{head}{TABLE_START}\n{environment_table()}\n{TABLE_END}{tail}"


def _shown_default(default: Any, shown: Any) -> str:
    if shown is not None:
        return str(shown)
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, float):
        return f"`{format_duration(default)}`"
    if isinstance(default, SecretStr):
        return "unset"
    return f"`{default}`"


def main(argv: list[str] | None = None) -> int:
    """``python -m piiguard.settings [README.md]``: rewrite the README's table (or print it)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(environment_table())
        return 0
    path = Path(args[0])
    path.write_text(with_environment_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
