"""The policy of one workspace: what to detect, what to do, and its queues.

This is the one model of a policy. The ``--policy`` YAML file, the built-in
default, and the ``spec`` of a ``PiiPolicy`` custom resource all load through
:func:`load_policy` / :meth:`Policy.model_validate`. Field names are snake_case
in Python and camelCase in YAML and in the CRD; both spellings are accepted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from piiguard.durations import parse_duration
from piiguard.errors import PolicyError as PolicyError  # re-exported: callers catch it here
from piiguard.kinds import UNSCANNABLE_FILE, VENDOR_TOKEN_KINDS

GENERIC_KIND = "GENERIC_API_KEY"  # what vendor tokens were reported as before their own kinds


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class EntityAction(StrEnum):
    DELETE = "delete"
    NOTIFY = "notify"
    IGNORE = "ignore"


class Verdict(StrEnum):
    ALLOW = "allow"
    DELETE = "delete"
    NOTIFY = "notify"


class QuoteMode(StrEnum):
    ORIGINAL = "original"  # the author's text, as posted
    REDACTED = "redacted"  # the text with each finding replaced by <KIND>
    NONE = "none"  # no copy of the text in the DM


# Kinds deleted by the default policy. Globs cover the credential families whose
# names end in _KEY / _TOKEN / PASSWORD (see docs/detection.md).
DEFAULT_DELETE_KINDS: tuple[str, ...] = (
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_BANK_NUMBER",
    "US_SSN",
    "US_ITIN",
    "US_PASSPORT",
    "US_DRIVER_LICENSE",
    "UK_NHS",
    "PRIVATE_KEY",
    "*_KEY",
    "*_TOKEN",
    "*PASSWORD",
    "MEDICAL_CONDITION",
    "MEDICAL_RECORD_NUMBER",
    "DENY_LIST",
)
# Country presets (``detection.presets``): each turns on the national ids of one
# country, deleted like the US ids are by default. A kind named in
# ``actions.rules`` (exactly or by a glob) keeps the action given there.
PRESET_KINDS: dict[str, tuple[str, ...]] = {
    "us": ("US_SSN", "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "US_BANK_NUMBER"),
    "br": ("BR_CPF", "BR_CNPJ", "BR_BANK_ACCOUNT"),
    "uk": ("UK_NINO", "UK_NHS", "UK_BANK_ACCOUNT"),
    "ca": ("CA_SIN",),
    "in": ("IN_AADHAAR", "IN_PAN", "IN_BANK_ACCOUNT"),
    "es": ("ES_NIF", "ES_NIE"),
    "it": ("IT_FISCAL_CODE",),
    "au": ("AU_TFN", "AU_BANK_ACCOUNT"),
}
# Reported, not deleted: Stripe test-mode keys reach no money (a policy choice).
DEFAULT_NOTIFY_KINDS: tuple[str, ...] = (UNSCANNABLE_FILE, "STRIPE_TEST_KEY")


class WorkspaceRef(_Model):
    team_id: str = Field("", description="Slack team id; empty: any workspace (local runs).")
    name: str = Field("", description="Display name, for people.")


class ChannelScope(_Model):
    include: tuple[str, ...] = Field(
        (), description="Watched channel ids; empty: every channel the bot is a member of."
    )
    exclude: tuple[str, ...] = Field((), description="Channel ids never scanned.")
    direct_messages: bool = Field(
        False, description="Scan direct messages sent to the bot itself."
    )


class PatternSpec(_Model):
    name: str = ""
    regex: str
    score: float = Field(0.8, ge=0.0, le=1.0)


class CustomRecognizer(_Model):
    """An extra regex recognizer; context words raise the score when nearby."""

    name: str
    entity_type: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    patterns: tuple[PatternSpec, ...] = Field(min_length=1)
    context: tuple[str, ...] = ()


class FileLimits(_Model):
    """How shared files are scanned. A file beyond a limit is an ``UNSCANNABLE_FILE``
    finding (its action comes from ``actions.rules``), never passed as clean."""

    enabled: bool = Field(True, description="Scan files shared in messages (images, PDFs, text, DOCX, XLSX).")
    max_bytes: int = Field(
        20 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024,
        description="Largest file downloaded and scanned, in bytes; a larger one is UNSCANNABLE_FILE.",
    )
    max_pages: int = Field(
        30, ge=1, le=10_000,
        description="Pages (PDF) or frames (image) scanned per file; more pages: UNSCANNABLE_FILE.",
    )
    time_budget: float = Field(
        60.0, gt=0, le=3600,
        description="Seconds to extract one file's text (download excluded); overrun: UNSCANNABLE_FILE.",
    )
    max_pixels: int = Field(
        50_000_000, ge=1_000_000, le=1_000_000_000,
        description="Largest image (width x height) decoded or rendered; a bigger one is UNSCANNABLE_FILE.",
    )
    max_files: int = Field(
        20, ge=1, le=1000,
        description="Files scanned per message; each one beyond is UNSCANNABLE_FILE, never skipped.",
    )


class DetectionSettings(_Model):
    entities: tuple[str, ...] | None = Field(
        None, description="Enabled entity kinds; unset: every kind the actions act on."
    )
    score_threshold: float = Field(0.5, ge=0.0, le=1.0)
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="Per-kind score thresholds overriding the default."
    )
    allow_list: tuple[str, ...] = Field((), description="Values never flagged.")
    allow_patterns: tuple[str, ...] = Field((), description="Regexes whose matches are never flagged.")
    deny_list: tuple[str, ...] = Field((), description="Values always flagged as DENY_LIST.")
    custom_recognizers: tuple[CustomRecognizer, ...] = ()
    phone_regions: tuple[str, ...] = ("US", "GB")
    presets: tuple[str, ...] = Field(
        (),
        description="Country presets whose national ids are deleted too: "
        + ", ".join(f"{k} ({'/'.join(v)})" for k, v in PRESET_KINDS.items()) + ".",
    )
    files: FileLimits = Field(FileLimits(), description="Limits for scanning shared files.")

    @field_validator("allow_patterns")
    @classmethod
    def _regexes_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            _compile(pattern, "detection.allowPatterns")
        return patterns

    @field_validator("presets")
    @classmethod
    def _presets_known(cls, presets: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in presets if p not in PRESET_KINDS]
        if unknown:
            raise ValueError(
                f"detection.presets: unknown {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(PRESET_KINDS)}"
            )
        return tuple(dict.fromkeys(presets))

    @cached_property
    def preset_kinds(self) -> frozenset[str]:
        """Every kind the enabled presets turn on."""
        return frozenset(kind for preset in self.presets for kind in PRESET_KINDS[preset])

    @field_validator("custom_recognizers")
    @classmethod
    def _recognizer_regexes_compile(
        cls, recognizers: tuple[CustomRecognizer, ...]
    ) -> tuple[CustomRecognizer, ...]:
        for recognizer in recognizers:
            for pattern in recognizer.patterns:
                _compile(pattern.regex, f"detection.customRecognizers[{recognizer.name}]")
        return recognizers

    def threshold_for(self, entity_type: str) -> float:
        return self.thresholds.get(entity_type, self.score_threshold)


class MessageSettings(_Model):
    intro: str = Field(
        "I removed your message in <#{channel}> because it contained {kinds}.",
        description="DM text; {channel} and {kinds} are filled in.",
    )
    quote_intro: str = Field(
        "Here is what you wrote, so you can post it again without them.",
        description="Added after the intro when the DM quotes the message (quote: original or redacted).",
    )
    notify_intro: str = Field(
        "Your message in <#{channel}> seems to contain {kinds}. "
        "Please consider editing it.",
        description="DM text for notify-only findings.",
    )
    quote: QuoteMode = QuoteMode.ORIGINAL


class ActionSettings(_Model):
    rules: dict[str, EntityAction] = Field(
        default_factory=lambda: {
            **{kind: EntityAction.DELETE for kind in DEFAULT_DELETE_KINDS},
            **{kind: EntityAction.NOTIFY for kind in DEFAULT_NOTIFY_KINDS},
        },
        description="Entity kind (or glob such as '*_TOKEN') to action.",
    )
    default: EntityAction = Field(EntityAction.IGNORE, description="Action for unlisted kinds.")
    message: MessageSettings = MessageSettings()
    admin_channel: str = Field(
        "",
        pattern=r"^([CGD][A-Z0-9]{2,31})?$",
        description="Slack channel id told (one notice per page version, kinds and the reason, "
        "never values) when the author of a trashed Notion page cannot be reached in Slack; "
        "empty: nobody is told.",
    )

    def action_for(self, entity_type: str, presets: frozenset[str] = frozenset()) -> EntityAction:
        """Exact kind first, then the most specific (longest) matching glob, then
        the kinds of the enabled country presets (deleted), then the default.
        A vendor token kind (``GITLAB_TOKEN``...) is a refinement of
        ``GENERIC_API_KEY``, which reported those tokens before: a rule naming
        ``GENERIC_API_KEY`` exactly applies to them unless their own kind is named."""
        if entity_type in self.rules:
            return self.rules[entity_type]
        if entity_type in VENDOR_TOKEN_KINDS and GENERIC_KIND in self.rules:
            return self.rules[GENERIC_KIND]
        globs = [g for g in self.rules if any(c in g for c in "*?[") and fnmatch.fnmatchcase(entity_type, g)]
        if globs:
            return self.rules[max(globs, key=len)]
        if entity_type in presets:
            return EntityAction.DELETE
        return self.default


class QueueSettings(_Model):
    concurrency: int = Field(4, ge=1, le=256, description="Messages handled at once.")
    paused: bool = False
    max_attempts: int = Field(8, ge=1, le=100)
    backoff: tuple[float, ...] = Field(
        (1.0, 5.0, 15.0, 60.0), description="Seconds before each retry; the last repeats."
    )
    ack_wait: float = Field(30.0, gt=0, description="Seconds before an unacked message is redelivered.")
    max_age: float | None = Field(
        None, gt=0,
        description="Longest an unhandled message may wait in the stream feeding this stage "
                    "(a handled one is removed at once). Unset: the deployment's "
                    "PIIGUARD_EVENTS_MAX_AGE / PIIGUARD_VERDICTS_MAX_AGE (30m). Only lengthens it.",
    )

    @field_validator("backoff", "ack_wait", "max_age", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return tuple(parse_duration(v) for v in value)
        return parse_duration(value)


class Queues(_Model):
    detection: QueueSettings = QueueSettings()
    action: QueueSettings = QueueSettings(concurrency=8)
    notion: QueueSettings = Field(
        QueueSettings(concurrency=4),
        description="Notion pages fetched and scanned at once by ingest's poller, apart from "
        "Slack's queues so a burst of pages cannot starve Slack.",
    )


class SecretKeyRef(_Model):
    """One value in a Kubernetes Secret of the policy's namespace (never the value itself)."""

    name: str = Field(min_length=1, description="Name of the Secret, in the policy's namespace.")
    key: str = Field(min_length=1, description="Key of the value within the Secret's data.")


class SecretRefs(_Model):
    """Where a workspace's Slack credentials live. Only references: a policy never
    carries a secret value, so it can be shown, logged and published freely."""

    signing_secret: SecretKeyRef = Field(
        description="The Slack app's signing secret, to verify incoming events."
    )
    bot_token: SecretKeyRef = Field(description="The bot token (xoxb-...), to read and DM.")
    admin_token: SecretKeyRef = Field(
        description="A workspace admin's user token (xoxp-...), to delete other people's messages."
    )
    app_token: SecretKeyRef | None = Field(
        None,
        description="The app-level token (xapp-..., scope connections:write), for Socket Mode "
                    "(slack.mode socket or both).",
    )


SlackMode = Literal["http", "socket", "both"]


class SlackSettings(_Model):
    """How this workspace's Slack events reach ingest."""

    mode: SlackMode | None = Field(
        None,
        description="http: the Events API posts to ingest's /slack/events; socket: ingest holds "
                    "a Socket Mode connection with the workspace's app token (no public "
                    "endpoint); both: either, de-duplicated on event_id. Unset: the process's "
                    "PIIGUARD_SLACK_MODE.",
    )

    def socket_mode(self, default: str) -> bool:
        """Whether ingest opens a Socket Mode connection for this workspace."""
        return (self.mode or default) in ("socket", "both")


class IngestApi(_Model):
    """Who may submit this workspace's content through the Ingest API (gRPC
    ``Ingest.SubmitEvent``), besides Slack itself."""

    callers: list[str] = Field(
        default_factory=list,
        description=(
            "Names of external callers allowed to submit events for this workspace: the name "
            "a caller's bearer token is listed under (PIIGUARD_INGEST_API_TOKENS_FILE) or its "
            "client certificate's CN. Empty: nobody but Slack."
        ),
    )

    @field_validator("callers")
    @classmethod
    def _caller_names(cls, callers: list[str]) -> list[str]:
        for name in callers:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", name):
                raise PolicyError(f"ingestApi.callers: {name[:70]!r} is not a caller name "
                                  "(letters, digits, '.', '_', '-'; at most 63)")
        return callers


_NOTION_ID = re.compile(
    r"(?:^|[^0-9a-fA-F])([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32})$"
)


def normalize_notion_id(value: str) -> str:
    """A Notion object id in its canonical dashed, lower-case form, from an id with
    or without dashes or a Notion URL (``https://www.notion.so/acme/Tickets-<32 hex>?v=...``):
    the id ends the URL's last path segment, never its query (``?v=`` names a view)."""
    text = value.strip()
    if "/" in text:
        text = text.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    match = _NOTION_ID.search(text)
    if match is None or ("/" not in value and match.start(1) != 0):
        raise ValueError(f"{value[:80]!r} is not a Notion database id or URL")
    raw = match.group(1).replace("-", "").lower()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class NotionSettings(_Model):
    """Notion as a second source: the databases whose pages are scanned. Empty or
    absent: Notion is off and nothing changes for Slack."""

    databases: tuple[str, ...] = Field(
        (),
        description="Watched Notion database ids (with or without dashes) or database URLs; "
        "stored in the dashed form. Pages of other databases are never read.",
    )
    poll_interval: float = Field(
        30.0, ge=5.0, le=86400.0,
        description="Seconds (or a duration such as 30s) between two polls of a database's data sources.",
    )
    look_back: float = Field(
        86400.0, ge=0.0, le=90 * 86400.0,
        description="The first poll of a newly watched database scans pages edited this long ago "
        "(duration, default 24h), not the whole history.",
    )
    token_secret_ref: SecretKeyRef | None = Field(
        None,
        description="In a cluster, the Secret key holding the Notion integration's token; "
        "locally (or when unset) NOTION_TOKEN.",
    )
    allow_external_file_hosts: tuple[str, ...] = Field(
        (),
        description="Host names whose external file URLs may be downloaded and scanned; others "
        "are never fetched (an SSRF risk) and are reported as UNSCANNABLE_FILE.",
    )

    @field_validator("poll_interval", "look_back", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return parse_duration(value)

    @field_validator("databases")
    @classmethod
    def _ids(cls, databases: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalize_notion_id(d) for d in databases))

    @field_validator("allow_external_file_hosts")
    @classmethod
    def _hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*", host):
                raise ValueError(f"notion.allowExternalFileHosts: {host[:80]!r} is not a host name")
        return tuple(h.lower() for h in hosts)

    @property
    def enabled(self) -> bool:
        return bool(self.databases)

    def watches(self, database_id: str) -> bool:
        try:
            return normalize_notion_id(database_id) in self.databases
        except ValueError:
            return False


DEFAULT_SWEEP_SCHEDULE = "@every 15m"
DEFAULT_DIGEST_SCHEDULE = "0 9 * * *"  # every day at 09:00 in schedules.timeZone
DEFAULT_TOKEN_CHECK_SCHEDULE = "@hourly"


class ScheduleSettings(_Model):
    """The workspace's scheduled jobs, kept as JetStream message schedules
    (docs/schedules.md). Each is a cron expression (5 fields, or 6 with seconds
    first), a predefined one (@hourly, @daily, ...), ``@every <duration>``, or
    ``""`` for off."""

    sweep: str = Field(
        DEFAULT_SWEEP_SCHEDULE,
        description="The reconciliation sweep: reads the watched channels' history over "
                    "sweepWindow and scans what the Events API never delivered. Default "
                    "every 15 minutes.",
    )
    sweep_window: float = Field(
        7200.0, ge=60.0, le=90 * 86400.0,
        description="How far back the scheduled sweep reads (a duration, default 2h).",
    )
    digest: str = Field(
        DEFAULT_DIGEST_SCHEDULE,
        description="The digest posted to actions.adminChannel (when set): deletions and "
                    "notices by kind and channel over the last day, dead letters waiting, "
                    "channels that could not be read; never text or names. Default daily "
                    "at 09:00 (timeZone).",
    )
    token_check: str = Field(
        DEFAULT_TOKEN_CHECK_SCHEDULE,
        description="The health check of the workspace's Slack tokens (auth.test); a "
                    "failure shows in the PiiPolicy's status. Default hourly.",
    )
    time_zone: str = Field(
        "UTC",
        description="IANA time zone of the cron schedules (e.g. Europe/Berlin); @every "
                    "intervals do not depend on it.",
    )

    @field_validator("sweep_window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        return parse_duration(value)

    @field_validator("sweep", "digest", "token_check")
    @classmethod
    def _expression(cls, value: str) -> str:
        from piiguard import schedule_expr

        schedule_expr.parse(value)
        return " ".join(value.split())

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from piiguard import schedule_expr

        schedule_expr.time_zone(value)
        return value

    def expressions(self) -> dict[str, str]:
        """Each job's schedule as written (``""``: off), by job name."""
        return {"sweep": self.sweep, "digest": self.digest, "tokenCheck": self.token_check}


class Policy(_Model):
    workspace: WorkspaceRef = WorkspaceRef()
    ingest_api: IngestApi = Field(
        default_factory=IngestApi,
        description="External Ingest API callers allowed to submit events for this workspace.",
    )
    secrets: SecretRefs | None = Field(
        None, description="References to the Secrets holding the workspace's Slack credentials."
    )
    slack: SlackSettings = Field(
        default_factory=SlackSettings,
        description="How the workspace's Slack events reach ingest (HTTP, Socket Mode or both).",
    )
    channels: ChannelScope = ChannelScope()
    detection: DetectionSettings = DetectionSettings()
    actions: ActionSettings = ActionSettings()
    queues: Queues = Queues()
    notion: NotionSettings = Field(
        default_factory=NotionSettings,
        description="Notion databases watched as a second source (off when empty).",
    )
    schedules: ScheduleSettings = Field(
        default_factory=ScheduleSettings,
        description="Scheduled jobs (reconciliation sweep, digest, token check), kept in "
                    "JetStream as message schedules.",
    )

    @model_validator(mode="after")
    def _kinds_named(self) -> Policy:
        for kind in self.actions.rules:
            if not re.fullmatch(r"[A-Z0-9_*?\[\]]+", kind):
                raise PolicyError(f"actions.rules: {kind!r} is not an entity kind or glob")
        return self

    def watches(self, channel_id: str, *, direct_message: bool = False) -> bool:
        """Whether a message in this channel is ours to scan."""
        if direct_message and not self.channels.direct_messages:
            return False
        if channel_id in self.channels.exclude:
            return False
        return not self.channels.include or channel_id in self.channels.include

    def accepts_ingest_api_caller(self, caller: str, workspace_id: str) -> bool:
        """Whether ``caller`` may submit events for ``workspace_id`` through the Ingest
        API: the policy must name that workspace (``workspace.teamId``; a local policy
        without one serves Slack's signed events only) and list the caller."""
        from piiguard.jetstream import subject_token

        team_id = self.workspace.team_id
        return (bool(team_id) and subject_token(team_id) == subject_token(workspace_id)
                and caller in self.ingest_api.callers)

    def action_for(self, entity_type: str) -> EntityAction:
        return self.actions.action_for(entity_type, self.detection.preset_kinds)

    def verdict_for(self, entity_types: Iterable[str]) -> Verdict:
        actions = {self.action_for(kind) for kind in entity_types}
        if EntityAction.DELETE in actions:
            return Verdict.DELETE
        if EntityAction.NOTIFY in actions:
            return Verdict.NOTIFY
        return Verdict.ALLOW

    def is_enabled(self, entity_type: str) -> bool:
        """Whether detection should look for a kind at all."""
        if self.detection.entities is not None:
            # a list naming GENERIC_API_KEY keeps the vendor tokens it used to cover
            return entity_type in self.detection.entities or (
                entity_type in VENDOR_TOKEN_KINDS and GENERIC_KIND in self.detection.entities)
        return self.action_for(entity_type) is not EntityAction.IGNORE

    @cached_property
    def fingerprint(self) -> str:
        """Stable identity of the content, to notice a changed policy cheaply."""
        import hashlib

        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:16]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Policy:
        """A copy with its own fingerprint: pydantic copies the instance's ``__dict__``,
        where the cached fingerprint of the original lives, and a changed copy must
        not pass for the original (the engine cache keys on it)."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("fingerprint", None)
        return copied


DEFAULT_POLICY = Policy()


def load_policy(path: str | Path | None) -> Policy:
    """The policy in a YAML (or JSON) file, or the built-in default when no path is given.

    The file may hold the policy itself or a whole ``PiiPolicy`` resource, in
    which case its ``spec`` is used.
    """
    if path is None or str(path) == "":
        return DEFAULT_POLICY
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}") from None
    return policy_from_mapping(raw or {}, source=str(path))


def policy_from_mapping(raw: Any, *, source: str = "policy") -> Policy:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: a policy is a mapping, got {type(raw).__name__}")
    if raw.get("kind") == "PiiPolicy":
        raw = raw.get("spec") or {}
    from pydantic import ValidationError

    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise PolicyError(f"{source}: {problems}") from None


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: regex does not compile: {exc}") from None
