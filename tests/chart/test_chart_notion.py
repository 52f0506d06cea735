"""The chart gives the Notion integration's token to ingest, detection and action only."""

from __future__ import annotations

from typing import Any

from tests.chart.chart import render


def notion_env(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for doc in render(values):
        if doc.get("kind") != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            found[doc["metadata"]["name"]] = {e["name"]: e.get("value", e.get("valueFrom"))
                                              for e in container.get("env", [])
                                              if e["name"].startswith("NOTION")}
    return found


def test_the_token_secret_reaches_ingest_detection_and_action_only() -> None:
    env = notion_env({"notion": {"tokenSecret": {"name": "notion-integration", "key": "secret"},
                                 "apiUrl": "https://notion.internal.example"}})
    ref = {"secretKeyRef": {"name": "notion-integration", "key": "secret"}}
    for name, variables in env.items():
        if name.endswith(("-ingest", "-detection", "-action")):
            assert variables == {"NOTION_TOKEN": ref, "NOTION_API_URL": "https://notion.internal.example"}
        elif name.endswith("-operator"):  # checks the databases with each policy's own token
            assert variables == {"NOTION_API_URL": "https://notion.internal.example"}
        else:
            assert variables == {}, name


def test_without_a_secret_notion_is_off() -> None:
    assert all(variables == {} for variables in notion_env({}).values())
