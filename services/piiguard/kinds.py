"""Plain-words names of entity kinds, for the DM an author receives.

A person reads "credit card number", not ``CREDIT_CARD``. Unknown kinds (a
custom recognizer's, say) fall back to a readable form of the kind itself.
"""

from __future__ import annotations

from collections.abc import Iterable

KIND_DESCRIPTIONS: dict[str, str] = {
    "CREDIT_CARD": "credit card number",
    "IBAN_CODE": "bank account number (IBAN)",
    "US_BANK_NUMBER": "bank account number",
    "US_SSN": "US social security number",
    "US_ITIN": "US taxpayer identification number",
    "US_PASSPORT": "passport number",
    "US_DRIVER_LICENSE": "driver's licence number",
    "UK_NHS": "NHS number",
    "EMAIL_ADDRESS": "email address",
    "PHONE_NUMBER": "phone number",
    "PERSON": "person's name",
    "LOCATION": "location",
    "DATE_TIME": "date",
    "URL": "URL",
    "IP_ADDRESS": "IP address",
    "AWS_ACCESS_KEY": "AWS access key",
    "AWS_SECRET_KEY": "AWS secret key",
    "SLACK_TOKEN": "Slack token",
    "SLACK_WEBHOOK_TOKEN": "Slack webhook URL",
    "GITHUB_TOKEN": "GitHub token",
    "STRIPE_KEY": "Stripe secret key",
    "STRIPE_TEST_KEY": "Stripe test key",
    "GOOGLE_API_KEY": "Google API key",
    "PRIVATE_KEY": "private key",
    "JWT_TOKEN": "JSON web token",
    "DATABASE_PASSWORD": "database password",
    "PASSWORD": "password",
    "GENERIC_API_KEY": "API key or token",
    "MEDICAL_CONDITION": "health information",
    "MEDICAL_RECORD_NUMBER": "medical record number",
    "UNSCANNABLE_FILE": "a file that could not be scanned",
    "DENY_LIST": "a value your workspace blocks",
}


def describe(kind: str) -> str:
    return KIND_DESCRIPTIONS.get(kind) or kind.replace("_", " ").lower()


def describe_all(kinds: Iterable[str]) -> str:
    """"a, b and c" in a stable order, each kind once."""
    words = list(dict.fromkeys(describe(k) for k in sorted(set(kinds))))
    if not words:
        return "sensitive data"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]
