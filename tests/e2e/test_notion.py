"""Notion as a second source, end to end: the real pipeline processes and nats-server
(mTLS, per-component NATS users), ingest polling the Notion stand-in through the
real notion-client, action trashing pages and DMing authors through slack_sdk
against the Slack stand-in (found by email with users.lookupByEmail)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from piiguard.detection.files import ocr
from tests.e2e.conftest import Harness, running_pipeline, wait_for
from tests.files import samples
from tests.files.conftest import requires_tesseract
from tests.support.notion_standin import NotionStandIn, paragraph, rich_parts, text, title, toggle
from tests.support.slack_standin import SlackStandIn

pytestmark = pytest.mark.e2e

CARD = "4539 1488 0343 6467"
SSN = "536-22-8471"
ADMIN_CHANNEL = "C0SECURITY"
IBAN = "GB82 WEST 1234 5698 7654 32"
CLEAN_NUMBERS = "order 4539 shipped in build 4.2.1, ticket 1234-5678 closed, call ext 5550"


@dataclass
class World:
    harness: Harness
    notion: NotionStandIn
    slack: SlackStandIn
    card_page: str
    ssn_page: str
    clean_page: str
    unwatched_page: str
    unwatched_source: str
    no_email_page: str
    edited_page: str
    long_page: str
    photo_page: str
    pdf_page: str
    files: list[dict]
    bob: str


@pytest.fixture(scope="module")
def notion() -> Iterator[NotionStandIn]:
    with NotionStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn,
          notion: NotionStandIn) -> Iterator[World]:
    watched, (source,) = notion.add_database()
    _, (other_source,) = notion.add_database()
    ana = notion.add_user(email="ana@example.com")
    bob = notion.add_user(email="Bob@Example.com")
    robot = notion.add_user(bot=True)
    slack.add_user("ana@example.com", "UANA")
    slack.add_user("bob@example.com", "UBOB")
    card_page = notion.add_page(source, {"Name": title("Refund request"),
                                         "Details": text(f"card {CARD} exp 04/28"),
                                         "Priority": {"type": "select", "select": {"name": "High"}}},
                                [paragraph("please refund the last order")], created_by=ana)
    ssn_page = notion.add_page(source, {"Name": title("Payroll question")},
                               [paragraph("see below"),
                                toggle("details", toggle("more", paragraph(
                                    f"for the payroll form, my SSN is {SSN}")))],
                               created_by=bob)
    clean_page = notion.add_page(source, {"Name": title("Shipping"), "Details": text(CLEAN_NUMBERS)},
                                 [paragraph(CLEAN_NUMBERS)], created_by=ana)
    unwatched_page = notion.add_page(other_source, {"Name": title("Elsewhere"),
                                                    "Details": text(f"card {CARD}")}, created_by=ana)
    no_email_page = notion.add_page(source, {"Name": title("Imported"),
                                             "Details": text(f"card {CARD}")}, created_by=robot)
    edited_page = notion.add_page(source, {"Name": title("Team notes")}, [paragraph("nothing yet")],
                                  created_by=ana)
    # The card is in the 31st rich text item: beyond the 25 a page object shows.
    long_page = notion.add_page(source, {"Name": title("Call log"), "Log": {
        "type": "rich_text", "rich_text": rich_parts(*[f"call {i} ok. " for i in range(30)],
                                                     f"card {CARD} for the refund")}},
        created_by=bob)
    # An ID card photographed into an image block; a payslip PDF in a files property.
    carol, dave = notion.add_user(email="carol@example.com"), notion.add_user(email="dave@example.com")
    slack.add_user("carol@example.com", "UCAROL")
    slack.add_user("dave@example.com", "UDAVE")
    photo = notion.hosted_file("IMG_0042.jpeg", samples.ssn_photo_jpeg(), "image/jpeg")
    payslip = notion.hosted_file("payslip-march.pdf", samples.text_pdf(), "application/pdf")
    photo_page = notion.add_page(source, {"Name": title("New hire")},
                                 [paragraph("documents attached"), notion.file_block("image", photo)],
                                 created_by=carol)
    pdf_page = notion.add_page(source, {"Name": title("Pay question"), "Attachments": notion.files(payslip)},
                               created_by=dave)
    hidden, _ = notion.add_database(shared=False)  # watched, but not shared with the integration
    policy = (f"workspace:\n  teamId: T0001\nnotion:\n  databases: ['{watched.replace('-', '')}', "
              f"'{hidden}']\n"
              f"  pollInterval: 5s\nactions:\n  adminChannel: {ADMIN_CHANNEL}\n")
    env = {"NOTION_TOKEN": notion.token, "NOTION_API_URL": notion.base_url}
    with running_pipeline(tmp_path_factory.mktemp("notion"), slack, policy, extra_env=env) as harness:
        yield World(harness, notion, slack, card_page, ssn_page, clean_page, unwatched_page, other_source,
                    no_email_page, edited_page, long_page, photo_page, pdf_page, [photo, payslip], bob)


def dm_texts(message: dict) -> str:
    return repr(message.get("blocks")) + str(message.get("text"))


def test_pii_pages_are_trashed_once_and_their_authors_told_once(world: World) -> None:
    notion, slack = world.notion, world.slack
    acted = {world.card_page, world.ssn_page, world.no_email_page, world.long_page}
    wait_for(lambda: acted <= notion.trashed(), timeout=120)
    wait_for(lambda: slack.dms_to("UANA") and len(slack.dms_to("UBOB")) >= 2, timeout=60)
    # At least two more polls after the trashing, and nothing left in flight: still once.
    polls = len(notion.calls("POST", "/v1/data_sources"))
    wait_for(lambda: len(notion.calls("POST", "/v1/data_sources")) >= polls + 2, timeout=60)
    world.harness.quiet()
    for page in acted:
        assert len(notion.trash_requests(page)) == 1, page
    ana, bob = slack.dms_to("UANA"), slack.dms_to("UBOB")
    assert len(ana) == 1 and len(bob) == 2
    assert notion.calls("GET", f"/v1/pages/{world.long_page}/properties/")
    long_dm = next(m for m in bob if "Call log" in dm_texts(m))
    assert "“Log”" in dm_texts(long_dm) and CARD in dm_texts(long_dm)
    bob = [m for m in bob if m is not long_dm]
    assert "Refund request" in dm_texts(ana[0]) and "Details" in dm_texts(ana[0])
    assert "credit card" in dm_texts(ana[0]).lower() or "CREDIT_CARD" in dm_texts(ana[0])
    assert CARD in dm_texts(ana[0])  # quote: original (the default)
    assert "Payroll question" in dm_texts(bob[0]) and "the page body" in dm_texts(bob[0])
    assert SSN in dm_texts(bob[0])
    assert f"https://www.notion.so/Ticket-{world.card_page.replace('-', '')}" in dm_texts(ana[0])


@requires_tesseract
def test_an_id_card_photo_and_a_pdf_attachment_are_trashed_once_and_their_authors_told_once(
        world: World) -> None:
    notion, slack = world.notion, world.slack
    wait_for(lambda: {world.photo_page, world.pdf_page} <= notion.trashed(), timeout=180)
    wait_for(lambda: slack.dms_to("UCAROL") and slack.dms_to("UDAVE"), timeout=60)
    polls = len(notion.calls("POST", "/v1/data_sources"))
    wait_for(lambda: len(notion.calls("POST", "/v1/data_sources")) >= polls + 2, timeout=60)
    world.harness.quiet()
    for page in (world.photo_page, world.pdf_page):
        assert len(notion.trash_requests(page)) == 1, page
    (carol,), (dave,) = slack.dms_to("UCAROL"), slack.dms_to("UDAVE")
    assert "an image in the page body" in dm_texts(carol) and "social security" in dm_texts(carol).lower()
    assert samples.SSN not in dm_texts(carol)  # a file's content is never quoted
    assert "payslip-march.pdf" in dm_texts(dave) and "IBAN" in dm_texts(dave)
    assert samples.IBAN not in dm_texts(dave)
    for file in world.files:  # fetched without any token
        assert notion.downloads(file) and all(d.token == "" for d in notion.downloads(file))
    output = world.harness.pipeline.output()
    assert "X-Amz-Signature" not in output and "/s3/" not in output  # no file URL in any log


def test_clean_and_unwatched_pages_are_untouched(world: World) -> None:
    notion = world.notion
    wait_for(lambda: world.card_page in notion.trashed(), timeout=120)
    world.harness.quiet()
    assert world.clean_page not in notion.trashed() and notion.trash_requests(world.clean_page) == []
    assert world.unwatched_page not in notion.trashed()
    # Never read: neither its database's data source nor its page.
    assert notion.calls(path_prefix=f"/v1/data_sources/{world.unwatched_source}") == []
    assert notion.calls(path_prefix=f"/v1/pages/{world.unwatched_page}") == []
    assert notion.calls(path_prefix=f"/v1/blocks/{world.unwatched_page}") == []
    # The clean page was read and scanned: its verdict is on record.
    clean_id = next(c for c in notion.calls("GET", f"/v1/blocks/{world.clean_page}"))
    assert clean_id


def test_an_author_without_email_is_not_dmed_and_the_audit_says_why(world: World) -> None:
    notion, slack = world.notion, world.slack
    wait_for(lambda: world.no_email_page in notion.trashed(), timeout=120)
    notice = wait_for(lambda: slack.messages_in(ADMIN_CHANNEL), timeout=60)
    assert len(notice) == 1
    text_of = dm_texts(notice[0])
    assert "Imported" in text_of and CARD not in text_of and "no email" in text_of
    reference = re.search(r"Reference: (notion-[0-9a-f]+-[0-9a-f]+)", text_of)
    assert reference is not None
    history = world.harness.history(reference.group(1))
    steps = [r.step for r in history]
    from piiguard.v1 import audit_pb2

    assert audit_pb2.LIFECYCLE_STEP_DELETED in steps
    notified = [r for r in history if r.step == audit_pb2.LIFECYCLE_STEP_NOTIFIED]
    assert notified and "no email" in notified[0].reason and "@" not in notified[0].reason


def test_no_pii_in_any_output(world: World) -> None:
    wait_for(lambda: world.card_page in world.notion.trashed(), timeout=120)
    world.harness.quiet()
    output = world.harness.pipeline.output()
    for value in (CARD, SSN, "ana@example.com", "Bob@Example.com", world.notion.token):
        assert value not in output


def test_a_clean_page_edited_by_someone_else_to_add_pii_is_trashed_and_the_editor_told(world: World) -> None:
    notion, slack = world.notion, world.slack
    # First seen clean: read, scanned, left alone.
    wait_for(lambda: notion.calls("GET", f"/v1/blocks/{world.edited_page}"), timeout=120)
    world.harness.quiet()
    assert world.edited_page not in notion.trashed()
    dms_before = len(slack.dms_to("UANA"))
    # Bob adds a bank account in the same minute (same last_edited_time, rounded):
    # the overlap fetches the page again and the content hash tells the edit.
    notion.edit_page(world.edited_page, by=world.bob,
                     body=[paragraph("nothing yet"), paragraph(f"please pay to {IBAN}")])
    wait_for(lambda: world.edited_page in notion.trashed(), timeout=120)
    wait_for(lambda: any("Team notes" in dm_texts(m) for m in slack.dms_to("UBOB")), timeout=60)
    world.harness.quiet()
    assert len(notion.trash_requests(world.edited_page)) == 1
    about = [m for m in slack.dms_to("UBOB") if "Team notes" in dm_texts(m)]
    assert len(about) == 1 and IBAN in dm_texts(about[0]) and "the page body" in dm_texts(about[0])
    assert len(slack.dms_to("UANA")) == dms_before  # the creator did not add it


def scrape(world: World, component: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The component's /metrics page, as Prometheus reads it: (name, labels) -> value."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    port = world.harness.pipeline.metrics_ports[component]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        page = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(page) for sample in family.samples}


def test_the_poller_counts_pages_polled_submitted_and_trashed_poll_errors_and_lag(world: World) -> None:
    notion = world.notion
    acted = {world.card_page, world.ssn_page, world.no_email_page, world.long_page}
    wait_for(lambda: acted <= notion.trashed(), timeout=120)
    polls = len(notion.calls("POST", "/v1/data_sources"))
    wait_for(lambda: len(notion.calls("POST", "/v1/data_sources")) >= polls + 2, timeout=60)
    world.harness.quiet()
    ingest, action = scrape(world, "ingest"), scrape(world, "action")

    def pages(outcome: str) -> float:
        return ingest[("piiguard_notion_pages_total", (("outcome", outcome), ("workspace", "T0001")))]

    assert pages("polled") >= pages("submitted") + pages("unchanged") > 0
    assert pages("submitted") >= 7  # every page of the watched database, once per version
    assert pages("unchanged") > 0  # the repeated polls (the overlap) sent nothing again
    assert ingest[("piiguard_events_received_total", (("outcome", "accepted"), ("source", "notion")))] \
        == pages("submitted")
    trashed = action[("piiguard_actions_total", (("action", "trash"), ("outcome", "done")))]
    assert trashed == len({c.path for c in notion.calls("PATCH") if c.body.get("in_trash")})
    not_shared = ingest[("piiguard_notion_poll_errors_total",
                         (("reason", "not_shared"), ("workspace", "T0001")))]
    assert not_shared >= 2  # the unshared database, at every poll
    # The lag is that of the least recently polled database: the unshared one, never polled.
    lag = ingest[("piiguard_notion_poll_lag_seconds", (("workspace", "T0001"),))]
    wait_for(lambda: scrape(world, "ingest")[("piiguard_notion_poll_lag_seconds", (("workspace", "T0001"),))]
             > lag, timeout=60)
    assert all("notion.so" not in str(key) and "-" not in "".join(v for _, v in key[1])
               for key in ingest if key[0].startswith("piiguard_notion"))


def test_a_crash_of_every_process_and_repeated_polls_act_no_second_time(world: World) -> None:
    notion, slack, pipeline = world.notion, world.slack, world.harness.pipeline
    acted = (world.card_page, world.ssn_page, world.no_email_page, world.long_page,
             *((world.photo_page, world.pdf_page) if ocr.available() else ()))
    wait_for(lambda: set(acted) <= notion.trashed(), timeout=120)
    world.harness.quiet()
    dms = {user: len(slack.dms_to(user)) for user in ("UANA", "UBOB", "UCAROL", "UDAVE")}
    notices = len(slack.messages_in(ADMIN_CHANNEL))
    for name in ("ingest", "detection", "action"):
        pipeline.kill(name)
    for name in ("ingest", "detection", "action"):
        pipeline.restart(name, kill=False, wait=False)
    pipeline.wait_ready()
    polls = len(notion.calls("POST", "/v1/data_sources"))
    wait_for(lambda: len(notion.calls("POST", "/v1/data_sources")) >= polls + 2, timeout=60)
    world.harness.quiet()
    for page in acted:
        assert len(notion.trash_requests(page)) == 1, page
    assert {user: len(slack.dms_to(user)) for user in dms} == dms
    assert len(slack.messages_in(ADMIN_CHANNEL)) == notices


def _post(world: World, body: bytes, headers: dict[str, str] | None = None) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{world.harness.pipeline.http_port}/notion/webhook", data=body, method="POST",
        headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_webhook_verification_signatures_and_a_page_event(world: World) -> None:
    import hashlib
    import hmac
    import json
    import subprocess
    import sys

    notion, pipeline = world.notion, world.harness.pipeline
    token = "secret_" + "V" * 40
    event = json.dumps({"type": "page.created", "entity": {"id": world.clean_page, "type": "page"}}).encode()
    assert _post(world, event, {"X-Notion-Signature": "sha256=" + "0" * 64}) == 401  # no token yet
    assert _post(world, json.dumps({"verification_token": token}).encode()) == 200
    assert _post(world, json.dumps({"verification_token": "secret_" + "X" * 40}).encode()) == 401
    printed = subprocess.run([sys.executable, "-m", "piiguard", "notion", "webhook-token"],
                             env=pipeline.cli_env(), capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0 and printed.stdout.strip() == token

    def signed(body: bytes) -> dict[str, str]:
        return {"X-Notion-Signature": "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()}

    assert _post(world, event) == 401  # unsigned
    assert _post(world, event, {"X-Notion-Signature": signed(b"other")["X-Notion-Signature"]}) == 401
    assert _post(world, b"not json", signed(b"not json")) == 400
    # A signed page event for a page of the watched database: fetched by id.
    fetched = len(notion.calls("GET", f"/v1/pages/{world.clean_page}"))
    assert _post(world, event, signed(event)) == 200
    wait_for(lambda: len(notion.calls("GET", f"/v1/pages/{world.clean_page}")) > fetched, timeout=30)
    # ... and one for a page of an unwatched database (its parent named): never read.
    other = json.dumps({"type": "page.content_updated",
                        "entity": {"id": world.unwatched_page, "type": "page"},
                        "data": {"parent": {"id": world.unwatched_source, "type": "data_source"}}}).encode()
    assert _post(world, other, signed(other)) == 200
    world.harness.quiet()
    assert notion.calls(path_prefix=f"/v1/pages/{world.unwatched_page}") == []
    assert world.clean_page not in notion.trashed()
    output = pipeline.output()
    assert token not in output


def _cli(world: World, *args: str) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "piiguard", *args], env=world.harness.pipeline.cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_page_that_keeps_failing_is_dead_lettered_not_lost_and_replayable(world: World) -> None:
    """Its fetch fails at every poll: after three polls it is in the DLQ with its
    reason, the pages after it are still taken (the cursor is not wedged), and a
    replay once Notion answers again takes it (nothing skipped)."""
    from tests.support.notion_standin import Fault

    notion, slack = world.notion, world.slack
    source = notion.calls("POST", "/v1/data_sources")[0].path.split("/")[3]
    frank = notion.add_user(email="frank@example.com")
    slack.add_user("frank@example.com", "UFRANK")
    broken = notion.add_page(source, {"Name": title("Broken page")}, [paragraph(f"card {CARD}")],
                             created_by=frank)
    notion.inject(Fault(f"GET /v1/blocks/{broken}/children", status=400, count=10**6, retry_after=None))
    notion.advance(180)  # later than the overlap: the cursor must move past the broken page
    after = notion.add_page(source, {"Name": title("After it"), "Details": text(f"card {CARD}")},
                            created_by=frank)
    wait_for(lambda: after in notion.trashed(), timeout=120)
    letters = wait_for(lambda: [line for line in _cli(world, "dlq", "list", "--stage", "notion").splitlines()
                                if broken.replace("-", "") in line], timeout=120)
    assert len(letters) == 1 and "validation_error (HTTP 400)" in letters[0] and "attempts=3" in letters[0]
    assert broken not in notion.trashed()
    # Notion answers again: the replay takes the page, once.
    notion.clear_faults()
    assert "replayed" in _cli(world, "dlq", "replay", "--all", "--stage", "notion")
    wait_for(lambda: broken in notion.trashed(), timeout=120)
    wait_for(lambda: any("Broken page" in dm_texts(m) for m in slack.dms_to("UFRANK")), timeout=60)
    world.harness.quiet()
    assert len(notion.trash_requests(broken)) == 1
    assert "0 dead letter(s)" in _cli(world, "dlq", "list", "--stage", "notion")
    steps = world.harness.history(f"notion-{broken.replace('-', '')}")
    from piiguard.v1 import audit_pb2

    assert any(r.step == audit_pb2.LIFECYCLE_STEP_DEAD_LETTERED and "validation_error" in r.reason
               for r in steps)
    assert CARD not in world.harness.pipeline.output()
