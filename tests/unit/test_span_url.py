"""Outgoing HTTP spans name the host and a Slack API method, never a file's name or
a pre-signed query (issue: PII-free side channels)."""

from __future__ import annotations

import pytest
from yarl import URL

from piiguard.telemetry import span_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://slack.com/api/chat.delete", "https://slack.com/api/chat.delete"),
        ("http://127.0.0.1:4321/api/conversations.open?x=1", "http://127.0.0.1:4321/api/conversations.open"),
        ("https://files.slack.com/files-pri/T1-F1/card_4111111111111111.png", "https://files.slack.com/"),
        ("https://s3.example.com/bucket/p.pdf?X-Amz-Signature=abc&X-Amz-Credential=k", "https://s3.example.com/"),
        ("https://user:hunter2@host.example/api/auth.test", "https://host.example/api/auth.test"),
        ("https://slack.com/api/../files-pri/x", "https://slack.com/"),
    ],
)
def test_span_url_keeps_only_host_and_api_method(url: str, expected: str) -> None:
    assert span_url(URL(url)) == expected
