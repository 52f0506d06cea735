"""The policy's `notion` section and `actions.adminChannel`: one model, YAML and CRD."""

from __future__ import annotations

import pytest

from piiguard.errors import PolicyError
from piiguard.policy import normalize_notion_id, policy_from_mapping

CANONICAL = "0f3c2a1b-9d8e-4c7b-a6f5-e4d3c2b1a098"


@pytest.mark.parametrize("written", [
    CANONICAL,
    CANONICAL.replace("-", ""),
    CANONICAL.upper(),
    "https://www.notion.so/acme/Support-tickets-0f3c2a1b9d8e4c7ba6f5e4d3c2b1a098",
    "https://www.notion.so/0f3c2a1b9d8e4c7ba6f5e4d3c2b1a098?v=11112222333344445555666677778888",
    f"https://www.notion.so/acme/{CANONICAL}/",
])
def test_database_ids_are_normalised_from_any_spelling(written: str) -> None:
    policy = policy_from_mapping({"notion": {"databases": [written]}})
    assert policy.notion.databases == (CANONICAL,)
    assert policy.notion.enabled and policy.notion.watches(written)


@pytest.mark.parametrize("bad", ["tickets", "0f3c2a1b9d8e4c7ba6f5e4d3c2b1a09", "x" + CANONICAL,
                                 "0f3c2a1b9d8e4c7ba6f5e4d3c2b1a098ff"])
def test_a_database_that_is_not_an_id_is_refused(bad: str) -> None:
    with pytest.raises(PolicyError, match="not a Notion database id"):
        policy_from_mapping({"notion": {"databases": [bad]}})


def test_defaults_are_off_30s_and_24h() -> None:
    notion = policy_from_mapping({}).notion
    assert not notion.enabled and notion.databases == ()
    assert notion.poll_interval == 30.0 and notion.look_back == 86400.0
    assert notion.token_secret_ref is None and notion.allow_external_file_hosts == ()
    assert policy_from_mapping({}).actions.admin_channel == ""


def test_camel_case_section_with_durations_secret_ref_and_admin_channel() -> None:
    policy = policy_from_mapping({
        "notion": {"databases": [CANONICAL, CANONICAL.replace("-", "")], "pollInterval": "1m",
                   "lookBack": "2h", "tokenSecretRef": {"name": "notion", "key": "token"},
                   "allowExternalFileHosts": ["Files.Example.com"]},
        "actions": {"adminChannel": "C0SECURITY"},
        "queues": {"notion": {"concurrency": 2}},
    })
    assert policy.notion.databases == (CANONICAL,)  # duplicates folded
    assert (policy.notion.poll_interval, policy.notion.look_back) == (60.0, 7200.0)
    assert policy.notion.token_secret_ref is not None and policy.notion.token_secret_ref.key == "token"
    assert policy.notion.allow_external_file_hosts == ("files.example.com",)
    assert policy.actions.admin_channel == "C0SECURITY"
    assert policy.queues.notion.concurrency == 2
    assert not policy.notion.watches("11112222333344445555666677778888")


@pytest.mark.parametrize("notion", [
    {"pollInterval": "1s"}, {"lookBack": "-1h"}, {"allowExternalFileHosts": ["http://x/"]},
    {"tokenSecretRef": {"name": ""}}, {"unknownField": 1},
])
def test_invalid_notion_settings_are_refused(notion: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        policy_from_mapping({"notion": notion})


def test_admin_channel_must_be_a_channel_id() -> None:
    with pytest.raises(PolicyError):
        policy_from_mapping({"actions": {"adminChannel": "#security"}})


def test_normalise_is_idempotent() -> None:
    assert normalize_notion_id(normalize_notion_id(CANONICAL.upper())) == CANONICAL
