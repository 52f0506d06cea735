"""Reading configuration from the environment, with errors a person can act on.

Secrets (signing secret, tokens) come only from the environment, which a
Kubernetes Secret fills in a cluster; never from stream messages or files
in the image.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """A missing or bad setting. The message names the variable, never its value."""


def required(name: str, env: Mapping[str, str] | None = None) -> str:
    value = (env if env is not None else os.environ).get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: export {name}=... (see README, 'Slack app setup')")
    return value


def optional(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    value = (env if env is not None else os.environ).get(name, "").strip()
    return value or default


def port(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    raw = optional(name, str(default), env)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a port number, got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise ConfigError(f"{name} must be a port number between 0 and 65535, got {value}")
    return value


def slack_api_url(env: Mapping[str, str] | None = None) -> str:
    """slack_sdk's ``base_url``: it must end with a slash."""
    url = optional("SLACK_API_URL", DEFAULT_SLACK_API_URL, env)
    return url if url.endswith("/") else url + "/"


def nats_url(env: Mapping[str, str] | None = None) -> str:
    return optional("NATS_URL", DEFAULT_NATS_URL, env)


def policy_path(env: Mapping[str, str] | None = None) -> str | None:
    return optional("PIIGUARD_POLICY", "", env) or None
