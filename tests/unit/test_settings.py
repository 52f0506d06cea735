"""The settings: read once, frozen, one line naming a bad variable, and the README's
table is what the code says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from piiguard import settings
from piiguard.durations import format_duration, parse_duration
from piiguard.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_documented_ones() -> None:
    config = settings.load({})
    assert config.nats_url == settings.DEFAULT_NATS_URL == "nats://127.0.0.1:4222"
    assert config.http_port == 3000 and config.grpc_port is None
    assert config.policy_source == "file" and not config.cluster_mode
    # Text-carrying streams keep a backlog for minutes, not hours; side streams longer.
    assert config.events_max_age == config.verdicts_max_age == 30 * 60
    assert config.dlq_max_age == 3 * 86400 and config.audit_max_age == 30 * 86400
    assert config.stream_replicas == 1 and config.stream_max_bytes == 1024**3
    assert config.slack_api_url == "https://slack.com/api/"


def test_values_come_from_the_named_variables() -> None:
    config = settings.load({
        "NATS_URL": "nats://a:4222, nats://b:4222", "PIIGUARD_EVENTS_MAX_AGE": "1h30m",
        "PIIGUARD_DLQ_MAX_AGE": "2d", "PIIGUARD_LOG_LEVEL": "debug", "PIIGUARD_POLICY_SOURCE": "kv",
        "SLACK_API_URL": "http://127.0.0.1:9/api", "PIIGUARD_GRPC_PORT": "0",
        "PIIGUARD_STREAM_REPLICAS": "3", "PIIGUARD_INSECURE_PLAINTEXT": "true",
        "PIIGUARD_WATCH_NAMESPACES": " a, b ,", "UNRELATED": "x",
    })
    assert config.nats_servers == ["nats://a:4222", "nats://b:4222"]
    assert config.events_max_age == 5400 and config.dlq_max_age == 2 * 86400
    assert config.log_level == "DEBUG" and config.cluster_mode
    assert config.slack_api_url == "http://127.0.0.1:9/api/"
    assert config.grpc_port == 0 and config.stream_replicas == 3 and config.insecure_plaintext
    assert config.watched_namespaces == ["a", "b"]


def test_empty_variables_mean_unset() -> None:
    assert settings.load({"PIIGUARD_HTTP_PORT": "", "NATS_URL": " "}).http_port == 3000


@pytest.mark.parametrize(("variable", "value"), [
    ("PIIGUARD_HTTP_PORT", "eighty"), ("PIIGUARD_HTTP_PORT", "70000"), ("PIIGUARD_GRPC_PORT", "-1"),
    ("PIIGUARD_EVENTS_MAX_AGE", "soon"), ("PIIGUARD_AUDIT_MAX_AGE", "0s"),
    ("PIIGUARD_POLICY_SOURCE", "etcd"), ("PIIGUARD_STREAM_REPLICAS", "9"),
    ("PIIGUARD_INSECURE_PLAINTEXT", "perhaps"), ("PIIGUARD_LOG_LEVEL", "loud"),
])
def test_a_bad_value_is_one_line_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings.load({variable: value})
    message = str(raised.value)
    assert message.startswith(f"{variable}: ") and "\n" not in message


def test_secrets_are_never_shown() -> None:
    config = settings.load({"SLACK_BOT_TOKEN": "xoxb-123-secret", "NATS_PASSWORD": "hunter2"})
    assert "xoxb-123-secret" not in repr(config) and "hunter2" not in str(config)
    assert config.slack_bot_token.get_secret_value() == "xoxb-123-secret"
    with pytest.raises(ConfigError, match="SLACK_ADMIN_TOKEN is not set"):
        config.require("SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN")


def test_settings_are_frozen() -> None:
    config = settings.load({})
    with pytest.raises(ValidationError):
        config.http_port = 1


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIIGUARD_HTTP_PORT", "3100")
    assert settings.load().http_port == 3100
    monkeypatch.setenv("PIIGUARD_HTTP_PORT", "x")
    with pytest.raises(ConfigError, match=r"^PIIGUARD_HTTP_PORT: "):
        settings.load()


def test_every_field_is_documented_with_its_variable() -> None:
    for name, info in settings.Settings.model_fields.items():
        assert info.validation_alias, name
        assert info.description and len(info.description) > 15, name


def test_the_readme_table_is_generated_from_the_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings.with_environment_table(readme) == readme, (
        "README's environment table is stale: run `python -m piiguard.settings README.md`")
    for name, info in settings.Settings.model_fields.items():
        assert f"| `{info.validation_alias}` |" in readme, name


def test_a_service_refuses_a_bad_setting_with_exit_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'services'}:{ROOT / 'operator'}",
           "PIIGUARD_GRPC_PORT": "not-a-port"}
    result = subprocess.run([sys.executable, "-m", "piiguard", "detection"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "piiguard detection: error: PIIGUARD_GRPC_PORT: must be a port number between 0 and 65535"]


@pytest.mark.parametrize(("text", "seconds"), [
    (5, 5.0), (2.5, 2.5), ("30", 30.0), ("500ms", 0.5), ("30s", 30.0), ("5m", 300.0), ("24h", 86400.0),
    ("3d", 3 * 86400.0), ("1h30m", 5400.0), ("1d12h", 129600.0), ("2s500ms", 2.5), (" 5 m ", 300.0),
])
def test_durations_in_the_kubernetes_style(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1s", "d", "1x", True, None, "h1"])
def test_what_is_not_a_duration(text: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_durations_are_shown_in_their_short_form() -> None:
    assert [format_duration(s) for s in (30, 90, 900, 21600, 259200)] == ["30s", "90s", "15m", "6h", "3d"]
