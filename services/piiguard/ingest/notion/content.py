"""What of a Notion page is scanned: its title, its text-holding properties and its
body, block by block and recursively. Pure functions over Notion's JSON.

Texts are kept apart with where they were (the property's name, or the page
body), so a finding can say so. File URLs are never scanned as text: Notion's
pre-signed URLs carry credential-shaped parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# Between two texts in Event.text: long enough that no recognizer joins two of them.
SEPARATOR = "\n\n\n"
BODY = "body"
PROPERTY = "property"

# Blocks whose text is in ``<type>.rich_text`` (and, for some, a caption).
TEXT_BLOCKS = frozenset({
    "paragraph", "heading_1", "heading_2", "heading_3", "heading_4", "bulleted_list_item",
    "numbered_list_item", "to_do", "toggle", "quote", "callout", "code", "template",
})
CAPTIONED = frozenset({"code", "image", "pdf", "file", "video", "audio", "embed", "bookmark"})
FILE_BLOCKS = frozenset({"image", "pdf", "file"})  # downloaded and extracted


@dataclass(frozen=True)
class Text:
    location: str  # PROPERTY or BODY
    name: str  # the property's name; "" for the body
    text: str


def plain(rich_text: Iterable[Mapping[str, Any]] | None) -> str:
    return "".join(str(part.get("plain_text") or "") for part in rich_text or ())


def title_of(page: Mapping[str, Any]) -> str:
    for value in (page.get("properties") or {}).values():
        if isinstance(value, Mapping) and value.get("type") == "title":
            return plain(value.get("title"))
    return ""


def property_text(value: Mapping[str, Any]) -> str:
    """The scannable text of one property value ("" for a checkbox, a date, ...)."""
    kind = value.get("type")
    data = value.get(kind) if isinstance(kind, str) else None
    if kind in ("title", "rich_text"):
        return plain(data)
    if kind in ("email", "phone_number", "url"):
        return str(data or "")
    if kind == "number":
        if isinstance(data, float) and data.is_integer():
            return str(int(data))  # 4111111111111111.0 is the number a person typed
        return "" if data is None else str(data)
    if kind in ("select", "status"):
        return str((data or {}).get("name") or "")
    if kind == "multi_select":
        return ", ".join(str(o.get("name") or "") for o in data or ())
    if kind == "formula" and isinstance(data, Mapping) and data.get("type") == "string":
        return str(data.get("string") or "")
    if kind == "files":
        return ", ".join(str(f.get("name") or "") for f in data or ())  # names only, never URLs
    return ""


def property_texts(page: Mapping[str, Any]) -> list[Text]:
    """The title first, then every other text-holding property (in the page's order)."""
    texts: list[Text] = []
    for name, value in (page.get("properties") or {}).items():
        if not isinstance(value, Mapping):
            continue
        content = property_text(value)
        if content.strip():
            entry = Text(PROPERTY, str(name), content)
            texts.insert(0, entry) if value.get("type") == "title" else texts.append(entry)
    return texts


def block_text(block: Mapping[str, Any]) -> str:
    """The text one block holds itself (its children are fetched apart)."""
    kind = str(block.get("type") or "")
    data = block.get(kind) or {}
    if not isinstance(data, Mapping):
        return ""
    parts: list[str] = []
    if kind in TEXT_BLOCKS:
        parts.append(plain(data.get("rich_text")))
    if kind == "table_row":
        parts.append(" | ".join(plain(cell) for cell in data.get("cells") or ()))
    if kind in CAPTIONED:
        parts.append(plain(data.get("caption")))
    if kind in ("child_page", "child_database"):
        parts.append(str(data.get("title") or ""))
    if kind == "equation":
        parts.append(str(data.get("expression") or ""))
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class File:
    """A file of the page: a ``files`` property entry or an image/pdf/file block."""

    name: str  # the file's name; "" for an unnamed image
    url: str  # never scanned as text, logged or recorded
    hosting: str  # "file" (Notion-hosted) or "external"
    block_id: str = ""
    block_type: str = ""
    property_id: str = ""
    index: int = 0

    def identity(self) -> str:
        """What the content hash sees: where the file is and which file (a
        pre-signed URL changes at every read, its path does not)."""
        where = self.block_id or f"{self.property_id}/{self.index}"
        stable = urlsplit(self.url).path if self.hosting == "file" else self.url
        return f"{where}\x00{self.hosting}\x00{self.name}\x00{stable}"


def file_object(value: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(url, hosting)`` of a Notion file object (``type: file`` or ``external``)."""
    hosting = value.get("type")
    data = value.get(hosting) if hosting in ("file", "external") else None
    url = data.get("url") if isinstance(data, Mapping) else None
    return (url, str(hosting)) if isinstance(url, str) and url else None


def property_files(page: Mapping[str, Any]) -> list[File]:
    found: list[File] = []
    for name_of_property, value in (page.get("properties") or {}).items():
        if not isinstance(value, Mapping) or value.get("type") != "files":
            continue
        for index, entry in enumerate(value.get("files") or ()):
            fetched = file_object(entry) if isinstance(entry, Mapping) else None
            if fetched is not None:
                found.append(File(str(entry.get("name") or ""), fetched[0], fetched[1],
                                  property_id=str(value.get("id") or name_of_property), index=index))
    return found


def block_file(block: Mapping[str, Any]) -> File | None:
    kind = str(block.get("type") or "")
    data = block.get(kind)
    if kind not in FILE_BLOCKS or not isinstance(data, Mapping):
        return None
    fetched = file_object(data)
    if fetched is None:
        return None
    return File(str(data.get("name") or ""), fetched[0], fetched[1], block_id=str(block.get("id") or ""),
                block_type=kind)


def content_hash(texts: Iterable[Text], files: Iterable[File] = ()) -> str:
    """sha256 over what is scanned: an edit that changes nothing scannable (a
    checkbox, a date) keeps the hash, and is not acted on again."""
    digest = hashlib.sha256()
    for entry in texts:
        for part in (entry.location, entry.name, entry.text):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
    for file in files:
        digest.update(b"\x01file\x00" + file.identity().encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def joined(texts: Iterable[Text]) -> str:
    return SEPARATOR.join(t.text for t in texts)
