"""The policy of one workspace: what to detect, what to do, and its queues.

This is the one model of a policy. The ``--policy`` YAML file, the built-in
default, and the ``spec`` of a ``PiiPolicy`` custom resource all load through
:func:`load_policy` / :meth:`Policy.model_validate`. Field names are snake_case
in Python and camelCase in YAML and in the CRD; both spellings are accepted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel


class PolicyError(ValueError):
    """A policy that cannot be used; the message says why (never a secret)."""


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
# Reported, not deleted: Stripe test-mode keys reach no money (a policy choice).
DEFAULT_NOTIFY_KINDS: tuple[str, ...] = ("UNSCANNABLE_FILE", "STRIPE_TEST_KEY")


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
    files: FileLimits = Field(FileLimits(), description="Limits for scanning shared files.")

    @field_validator("allow_patterns")
    @classmethod
    def _regexes_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            _compile(pattern, "detection.allowPatterns")
        return patterns

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
        "I removed your message in <#{channel}> because it contained {kinds}. "
        "Here is what you wrote, so you can post it again without them.",
        description="DM text; {channel} and {kinds} are filled in.",
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

    def action_for(self, entity_type: str) -> EntityAction:
        """Exact kind first, then the most specific (longest) matching glob."""
        if entity_type in self.rules:
            return self.rules[entity_type]
        globs = [g for g in self.rules if any(c in g for c in "*?[") and fnmatch.fnmatchcase(entity_type, g)]
        if globs:
            return self.rules[max(globs, key=len)]
        return self.default


class QueueSettings(_Model):
    concurrency: int = Field(4, ge=1, le=256, description="Messages handled at once.")
    paused: bool = False
    max_attempts: int = Field(8, ge=1, le=100)
    backoff: tuple[float, ...] = Field(
        (1.0, 5.0, 15.0, 60.0), description="Seconds before each retry; the last repeats."
    )
    ack_wait: float = Field(30.0, gt=0, description="Seconds before an unacked message is redelivered.")
    max_age: float = Field(
        24 * 3600.0, gt=0, description="Retention (seconds) of the stream feeding this stage."
    )

    @field_validator("backoff", "ack_wait", "max_age", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(parse_duration(v) for v in value)
        return parse_duration(value)


class Queues(_Model):
    detection: QueueSettings = QueueSettings()
    action: QueueSettings = QueueSettings(concurrency=8)


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


class Policy(_Model):
    workspace: WorkspaceRef = WorkspaceRef()
    secrets: SecretRefs | None = Field(
        None, description="References to the Secrets holding the workspace's Slack credentials."
    )
    channels: ChannelScope = ChannelScope()
    detection: DetectionSettings = DetectionSettings()
    actions: ActionSettings = ActionSettings()
    queues: Queues = Queues()

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

    def action_for(self, entity_type: str) -> EntityAction:
        return self.actions.action_for(entity_type)

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
            return entity_type in self.detection.entities
        return self.action_for(entity_type) is not EntityAction.IGNORE

    @cached_property
    def fingerprint(self) -> str:
        """Stable identity of the content, to notice a changed policy cheaply."""
        import hashlib

        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


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


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"500ms"``, ``"30s"``, ``"5m"``, ``"24h"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"not a duration: {value!r} (use seconds or e.g. '30s', '5m', '24h')")


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: regex does not compile: {exc}") from None
