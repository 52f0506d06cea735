"""Credential recognizers: positives, placeholders and look-alikes, boundaries."""

from __future__ import annotations

import base64
import json

import pytest

GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0kLmN0pQrStUvWxYz"


def _jwt(payload: dict[str, object]) -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(payload)}.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key AKIAZ3MHKL4PQRX7TY2B for prod", "AWS_ACCESS_KEY"),
        ("aws_secret_access_key = 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", "AWS_SECRET_KEY"),
        ("xoxb-123456789012-1234567890123-Zk3mQ9vR2tLp8WnXy4Hs6Dj1", "SLACK_TOKEN"),
        ("xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIzLTk4NzY1NDMyMTA", "SLACK_TOKEN"),
        ("https://hooks.slack.com/services/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",
         "SLACK_WEBHOOK_TOKEN"),
        (f"token {GH}", "GITHUB_TOKEN"),
        ("github_pat_11ABCDE2Y0aBcD3fGhIjKl_"
         "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2As4Df6Gh8Jk1Lz3Xc5Vb7",
         "GITHUB_TOKEN"),
        ("sk_live_51Hq8ZkLmN3pQrStUvWxYz0a", "STRIPE_KEY"),
        ("rk_live_51Hq8ZkLmN3pQrStUvWxYz0a", "STRIPE_KEY"),
        ("sk_test_51Hq8ZkLmN3pQrStUvWxYz0a", "STRIPE_TEST_KEY"),
        ("AIzaSyD3kQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9U", "GOOGLE_API_KEY"),
        (f"Bearer {_jwt({'sub': 'u-77', 'role': 'admin'})}", "JWT_TOKEN"),
        ("postgres://app:S3cr3tPw9@db.internal:5432/app", "DATABASE_PASSWORD"),
        ("jdbc:mysql://db:3306/x?user=a&password=Xk29dkf!", "DATABASE_PASSWORD"),
        ("password: Summer2024!", "PASSWORD"),
        ("the vpn pw is Tr0ub4dor&3", "PASSWORD"),
        ("login: jdoe / Spring#2024", "PASSWORD"),
        ("api_key=Zk3mQ9vR2tLp8WnXy4Hs6Dj1", "GENERIC_API_KEY"),
        ("Authorization: Bearer 8f7a6d5c4b3a2910ffeeddccbbaa99887766aa11", "GENERIC_API_KEY"),
    ],
)
def test_finds_credential(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


def test_private_key_block(kinds_of) -> None:
    body = "\n".join(["MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8bX1kLm2nQ4rS6tU8vW0xY2zA"] * 4)
    for label in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY"):
        text = f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"
        assert kinds_of(text) == ["PRIVATE_KEY"]


@pytest.mark.parametrize(
    "text",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "xoxb-your-token-here",
        "export GITHUB_TOKEN=<your token>",
        "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "api_key=YOUR_API_KEY",
        "password: ********",
        "password: <your password>",
        "the password is case sensitive",
        "reset your password at the portal",
        "DATABASE_URL=postgres://user:password@localhost/app",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "max_tokens=4096",
        "public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx4bW9ja2tleW1vY2trZXltb2Nr me@host",
        "the key takeaway is to ship smaller",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
        "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ],
)
def test_placeholders_and_lookalikes_are_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_specific_kind_wins_over_generic(kinds_of) -> None:
    assert kinds_of(f"api_key={GH}") == ["GITHUB_TOKEN"]
    assert kinds_of("STRIPE_KEY=sk_test_51Hq8ZkLmN3pQrStUvWxYz0a") == ["STRIPE_TEST_KEY"]


def test_token_boundaries(engine) -> None:
    text = f"use ({GH}) now"
    (finding,) = engine.analyze(text)
    assert text[finding.start : finding.end] == GH
    assert engine.analyze(f"x{GH}") == []  # glued to a word: not a token start


def test_stripe_test_key_notifies_not_deletes(engine) -> None:
    assert engine.scan("sk_test_51Hq8ZkLmN3pQrStUvWxYz0a").verdict.value == "notify"
