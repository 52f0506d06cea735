"""What Slack's Web API error codes mean to PII Guard: one list, read by action (a
refused token dead-letters its work and marks the stage unhealthy) and by the
operator (a policy whose token Slack refuses is Degraded/TokenRevoked)."""

from __future__ import annotations

# The token itself no longer works: revoked, expired, its account deactivated.
TOKEN_DEAD = frozenset({"invalid_auth", "token_revoked", "account_inactive", "token_expired", "not_authed"})

# The token cannot do PII Guard's work: dead, or lacking the scope or the kind
# (a bot token where a user token is needed) the call requires.
AUTH_ERRORS = TOKEN_DEAD | frozenset({
    "missing_scope", "no_permission", "not_allowed_token_type", "ekm_access_denied",
})
