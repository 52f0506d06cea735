"""The Notion stand-in answers the real notion-client like Notion (2025-09-03)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from notion_client import APIResponseError, AsyncClient
from notion_client.client import ClientOptions

from tests.support.notion_standin import Fault, NotionStandIn, notion_time, paragraph, text, title, toggle


@pytest.fixture()
def notion() -> Iterator[NotionStandIn]:
    with NotionStandIn() as standin:
        yield standin


def client(standin: NotionStandIn, **options: object) -> AsyncClient:
    return AsyncClient(options=ClientOptions(auth=standin.token, base_url=standin.base_url, **options))  # type: ignore[arg-type]


def test_database_query_filter_sort_and_short_pages(notion: NotionStandIn) -> None:
    database, (source,) = notion.add_database()
    author = notion.add_user(email="ana@example.com")
    old = notion.add_page(source, {"Name": title("old")}, created_by=author)
    notion.advance(600)
    since = notion_time(notion.now())
    fresh = [notion.add_page(source, {"Name": title(f"t{i}")}, created_by=author) for i in range(5)]

    async def run() -> tuple[list[str], int, list[str]]:
        async with client(notion) as api:
            db = await api.databases.retrieve(database_id=database.replace("-", ""))
            assert [d["id"] for d in db["data_sources"]] == [source]
            found: list[str] = []
            cursor = None
            rounds = 0
            while True:
                kwargs: dict[str, Any] = {"start_cursor": cursor} if cursor else {}
                answer = await api.data_sources.query(
                    data_source_id=source, page_size=100,
                    filter={"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since}},
                    sorts=[{"timestamp": "last_edited_time", "direction": "ascending"}], **kwargs)
                rounds += 1
                assert len(answer["results"]) < 100
                found += [p["id"] for p in answer["results"]]
                if not answer["has_more"]:
                    break
                cursor = answer["next_cursor"]
            times = [p["last_edited_time"] for p in answer["results"]]
            return found, rounds, times

    found, rounds, times = asyncio.run(run())
    assert found == fresh and old not in found and rounds == 3
    assert all(t.endswith(":00.000Z") for t in times)


def test_blocks_nest_and_paginate_users_have_emails_trash_is_final(notion: NotionStandIn) -> None:
    _, (source,) = notion.add_database()
    person, bot = notion.add_user(email="ana@example.com"), notion.add_user(bot=True)
    page = notion.add_page(source, {"Name": title("t"), "Notes": text("n")},
                           [paragraph("a"), toggle("b", toggle("c", paragraph("deep"))), paragraph("d")],
                           created_by=person)

    async def run() -> None:
        async with client(notion) as api:
            top = await api.blocks.children.list(block_id=page, page_size=100)
            assert len(top["results"]) == 2 and top["has_more"]
            rest = await api.blocks.children.list(block_id=page, start_cursor=top["next_cursor"])
            toggle_block = top["results"][1]
            assert toggle_block["type"] == "toggle" and toggle_block["has_children"]
            inner = (await api.blocks.children.list(block_id=toggle_block["id"]))["results"][0]
            deep = (await api.blocks.children.list(block_id=inner["id"]))["results"][0]
            assert deep["paragraph"]["rich_text"][0]["plain_text"] == "deep"
            assert len(rest["results"]) == 1
            assert (await api.users.retrieve(user_id=person))["person"]["email"] == "ana@example.com"
            assert "person" not in await api.users.retrieve(user_id=bot)
            trashed = await api.pages.update(page_id=page, in_trash=True)
            assert trashed["in_trash"] is True
            with pytest.raises(APIResponseError) as again:
                await api.pages.update(page_id=page, in_trash=True)
            assert again.value.code == "validation_error"
            with pytest.raises(APIResponseError) as missing:
                await api.pages.retrieve(page_id="0" * 32)
            assert missing.value.code == "object_not_found"

    asyncio.run(run())
    assert notion.trashed() == {page}


def test_unshared_database_is_object_not_found_and_429_carries_retry_after(notion: NotionStandIn) -> None:
    hidden, _ = notion.add_database(shared=False)
    notion.inject(Fault("GET /v1/users", status=429, retry_after=0))

    async def run() -> None:
        async with client(notion, retry=False) as api:
            with pytest.raises(APIResponseError) as unshared:
                await api.databases.retrieve(database_id=hidden)
            assert unshared.value.code == "object_not_found" and unshared.value.status == 404
            with pytest.raises(APIResponseError) as limited:
                await api.users.retrieve(user_id=notion.add_user())
            assert limited.value.status == 429 and limited.value.headers["retry-after"] == "0"

    asyncio.run(run())


def test_hosted_files_are_presigned_and_expire_and_each_read_signs_afresh(notion: NotionStandIn) -> None:
    _, (source,) = notion.add_database()
    author = notion.add_user(email="ana@example.com")
    hosted = notion.hosted_file("scan.png", b"PNG...", "image/png")
    page = notion.add_page(source, {"Name": title("t"), "Scan": notion.files(hosted)},
                           [notion.file_block("image", hosted)], created_by=author)

    async def urls() -> tuple[str, str, str]:
        async with client(notion) as api:
            shown = await api.pages.retrieve(page_id=page)
            (image,) = (await api.blocks.children.list(block_id=page))["results"]
            again = await api.blocks.retrieve(block_id=image["id"])
            return (shown["properties"]["Scan"]["files"][0]["file"]["url"], image["image"]["file"]["url"],
                    again["image"]["file"]["url"])

    in_property, in_block, refreshed = asyncio.run(urls())
    assert len({in_property, in_block, refreshed}) == 3
    assert httpx.get(in_block).content == b"PNG..."
    assert httpx.get(in_block, headers={"Authorization": "Bearer x"}).status_code == 400
    notion.advance(3601)
    assert httpx.get(in_block).status_code == 403
    assert httpx.get(asyncio.run(urls())[2]).content == b"PNG..."
    assert len(notion.downloads(hosted)) == 4


def test_long_values_are_truncated_in_the_page_and_whole_through_the_property_endpoint(
        notion: NotionStandIn) -> None:
    from piiguard.ingest.notion.poller import NotionPoller
    from tests.support.notion_standin import rich_parts

    _, (source,) = notion.add_database()
    author = notion.add_user(email="ana@example.com")
    parts = [f"line {i}. " for i in range(40)]
    page = notion.add_page(source, {"Name": title("t"),
                                    "Log": {"type": "rich_text", "rich_text": rich_parts(*parts)}},
                           created_by=author)

    async def run() -> None:
        async with client(notion) as api:
            shown = await api.pages.retrieve(page_id=page)
            assert len(shown["properties"]["Log"]["rich_text"]) == 25
            poller = NotionPoller(None, None, api, list)  # type: ignore[arg-type]
            whole = await poller.full_properties(shown)
            assert [p["plain_text"] for p in whole["properties"]["Log"]["rich_text"]] == parts
            assert whole["properties"]["Name"] == shown["properties"]["Name"]

    asyncio.run(run())
    pages = notion.calls("GET", f"/v1/pages/{page}/properties/")
    assert len(pages) == 20  # 40 items, 2 per answer: paginated
