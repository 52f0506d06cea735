"""A refusal names where the payload is wrong by our field names; a key the payload
chose itself (it could be text) is never echoed into the error or a log line."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from piiguard.errors import MalformedEvent
from piiguard.ingest.slack_schema import _validate


class Holder(BaseModel):
    labels: dict[str, int]


def test_a_payload_key_is_not_echoed_but_our_field_is_named() -> None:
    with pytest.raises(MalformedEvent) as caught:
        _validate(Holder, {"labels": {"card 4539 1488 0343 6467": "x"}})
    message = str(caught.value)
    assert "4539" not in message
    assert message.startswith("labels.*:"), message
