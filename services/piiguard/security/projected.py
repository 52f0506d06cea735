"""The shape of the stages' projected credentials Secrets (a cluster): which of a
workspace's Slack credentials each stage receives, and under which keys. The
operator writes them (piiguard_operator.projection); each stage reads its own
(piiguard.slack_credentials.ProjectedCredentials)."""

from __future__ import annotations

from piiguard.jetstream import subject_token

# What each stage's projected Secret holds of a workspace's credentials (least privilege).
STAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "ingest": ("signing_secret", "app_token", "notion_token"),  # verifies Slack; Socket Mode; polls Notion
    "detection": ("bot_token", "notion_token"),  # downloads files; refreshes Notion file URLs
    "action": ("bot_token", "admin_token", "notion_token"),  # DMs; deletes; trashes Notion pages
}
KEY_NAMES: dict[str, str] = {"signing_secret": "signingSecret", "bot_token": "botToken",
                             "admin_token": "adminToken", "app_token": "appToken",
                             "notion_token": "notionToken"}


def projected_key(workspace_id: str, field: str) -> str:
    """The key of one credential of one workspace in a projected Secret:
    ``<team id>.<signingSecret|appToken|botToken|adminToken>`` (valid Secret key characters)."""
    return f"{subject_token(workspace_id)}.{KEY_NAMES[field]}"
