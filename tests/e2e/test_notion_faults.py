"""Notion end to end when Notion is unwell, and the DM's quote modes: the real
pipeline processes and nats-server, the Notion stand-in answering the trash
(PATCH) with 429 + Retry-After, 500 and 529 before it succeeds; each page is
still trashed once and its author DM'd once. Run under ``quote: redacted`` and
``quote: none``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import Harness, running_pipeline, wait_for
from tests.support.notion_standin import Fault, NotionStandIn, paragraph, text, title
from tests.support.slack_standin import SlackStandIn

pytestmark = pytest.mark.e2e

CARD = "4539 1488 0343 6467"
SSN = "536-22-8471"
IBAN = "GB82 WEST 1234 5698 7654 32"
RETRY_AFTER = 2


@dataclass
class World:
    harness: Harness
    notion: NotionStandIn
    slack: SlackStandIn
    quote: str
    pages: dict[str, tuple[str, int, str]]  # status -> (page, faults injected, slack user)


@pytest.fixture(scope="module", params=["redacted", "none"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    quote = str(request.param)
    with NotionStandIn() as notion, SlackStandIn() as slack:
        watched, (source,) = notion.add_database()
        pages: dict[str, tuple[str, int, str]] = {}
        for status, value, faults in ((429, f"card {CARD}", 3), (500, f"SSN {SSN}", 2),
                                      (529, f"IBAN {IBAN}", 2)):
            email = f"p{status}@example.com"
            author = notion.add_user(email=email)
            slack.add_user(email, f"U{status}")
            page = notion.add_page(source, {"Name": title(f"Ticket {status}"),
                                            "Details": text(f"customer data: {value} (see notes)")},
                                   [paragraph("nothing else here")], created_by=author)
            notion.inject(Fault(f"PATCH /v1/pages/{page}", status=status, count=faults,
                                retry_after=RETRY_AFTER if status == 429 else None))
            pages[str(status)] = (page, faults, f"U{status}")
        policy = (f"workspace:\n  teamId: T0001\nnotion:\n  databases: ['{watched}']\n  pollInterval: 5s\n"
                  f"actions:\n  message:\n    quote: {quote}\n"
                  "queues:\n  action:\n    maxAttempts: 8\n    backoff: [0.5]\n")
        env = {"NOTION_TOKEN": notion.token, "NOTION_API_URL": notion.base_url}
        with running_pipeline(tmp_path_factory.mktemp(f"notion-{quote}"), slack, policy,
                              extra_env=env) as harness:
            yield World(harness, notion, slack, quote, pages)


def dm_text(message: dict) -> str:
    return repr(message.get("blocks")) + str(message.get("text"))


def settled(world: World) -> None:
    """Every page trashed and every author told, then two more polls and nothing in flight."""
    notion = world.notion
    wait_for(lambda: {p for p, _, _ in world.pages.values()} <= notion.trashed(), timeout=180)
    wait_for(lambda: all(world.slack.dms_to(u) for _, _, u in world.pages.values()), timeout=60)
    polls = len(notion.calls("POST", "/v1/data_sources"))
    wait_for(lambda: len(notion.calls("POST", "/v1/data_sources")) >= polls + 2, timeout=60)
    world.harness.quiet()


def test_429_500_and_529_on_the_trash_are_retried_and_acted_on_once(world: World) -> None:
    settled(world)
    for status, (page, faults, user) in world.pages.items():
        requests = world.notion.trash_requests(page)
        # Each refused request, then exactly one that went through.
        assert len(requests) == faults + 1, status
        assert len(world.slack.dms_to(user)) == 1, status
    # Retry-After was honoured between the 429s (by the SDK, then by the pipeline's retry).
    limited = world.notion.trash_requests(world.pages["429"][0])
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(limited)]
    assert all(gap >= RETRY_AFTER - 0.2 for gap in gaps), gaps


def test_the_dm_follows_the_quote_mode(world: World) -> None:
    settled(world)
    for status, value, kind in (("429", CARD, "card [CREDIT_CARD]"), ("500", SSN, "SSN [US_SSN]"),
                                ("529", IBAN, "IBAN [IBAN_CODE]")):
        (dm,) = world.slack.dms_to(world.pages[status][2])
        shown = dm_text(dm)
        assert value not in shown, status  # never the value, in either mode
        assert f"Ticket {status}" in shown and "the property “Details”" in shown
        if world.quote == "redacted":
            assert f"customer data: {kind} (see notes)" in shown
        else:
            assert "customer data" not in shown and "rich_text_quote" not in shown
    output = world.harness.pipeline.output()
    assert all(v not in output for v in (CARD, SSN, IBAN))
