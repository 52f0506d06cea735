"""What of a Notion page is scanned, and which page versions are new."""

from __future__ import annotations

from piiguard.ingest.notion.content import (
    BODY,
    PROPERTY,
    SEPARATOR,
    Text,
    block_text,
    content_hash,
    joined,
    property_text,
    property_texts,
)
from tests.support.notion_standin import block, checkbox, number, rich, select, text, title


def test_every_text_holding_property_kind_and_nothing_else() -> None:
    assert property_text(title("T")) == "T"
    assert property_text(text("a ") | {"rich_text": rich("a ") + rich("b")}) == "a b"
    assert property_text({"type": "email", "email": "x@example.com"}) == "x@example.com"
    assert property_text({"type": "phone_number", "phone_number": "+1 555"}) == "+1 555"
    assert property_text({"type": "url", "url": "https://e.example"}) == "https://e.example"
    assert property_text(number(4539148803436467.0)) == "4539148803436467"
    assert property_text(number(2.5)) == "2.5"
    assert property_text(select("High")) == "High"
    assert property_text({"type": "status", "status": {"name": "Open"}}) == "Open"
    assert property_text({"type": "multi_select", "multi_select": [{"name": "a"}, {"name": "b"}]}) == "a, b"
    assert property_text({"type": "formula", "formula": {"type": "string", "string": "f"}}) == "f"
    assert property_text({"type": "formula", "formula": {"type": "number", "number": 3}}) == ""
    files = {"type": "files", "files": [{"name": "scan.png", "type": "file",
                                         "file": {"url": "https://s3/x?X-Amz-Signature=abc"}}]}
    assert property_text(files) == "scan.png"  # the name, never the pre-signed URL
    assert property_text(checkbox(True)) == ""
    assert property_text({"type": "date", "date": {"start": "2026-01-01"}}) == ""


def test_title_comes_first_and_empty_properties_are_left_out() -> None:
    page = {"properties": {"Notes": text("n"), "Empty": text(""), "Name": title("T"),
                           "Done": checkbox(False)}}
    assert property_texts(page) == [Text(PROPERTY, "Name", "T"), Text(PROPERTY, "Notes", "n")]


def test_block_kinds_with_text_captions_and_table_rows() -> None:
    assert block_text(block("heading_2", "h")) == "h"
    assert block_text(block("to_do", "t", checked=False)) == "t"
    assert block_text(block("code", "k = 1", caption=rich("c"))) == "k = 1\nc"
    row = {"type": "table_row", "table_row": {"cells": [rich("a"), rich("b")]}}
    assert block_text(row) == "a | b"
    image = {"type": "image", "image": {"type": "file", "file": {"url": "https://s3/?sig"},
                                        "caption": rich("id")}}
    assert block_text(image) == "id"
    assert block_text({"type": "divider", "divider": {}}) == ""


def test_hash_ignores_nothing_scanned_and_sees_every_text() -> None:
    a = [Text(PROPERTY, "Name", "T"), Text(BODY, "", "x")]
    assert content_hash(a) == content_hash(list(a))
    assert content_hash(a) != content_hash([Text(PROPERTY, "Name", "T"), Text(BODY, "", "y")])
    assert content_hash(a) != content_hash([Text(PROPERTY, "Title", "T"), Text(BODY, "", "x")])
    assert joined(a) == f"T{SEPARATOR}x"
