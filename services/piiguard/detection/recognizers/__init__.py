"""PII Guard's recognizers, one module per family, all Presidio ``EntityRecognizer``s.

:func:`build_recognizers` returns the set a policy needs: our own recognizers
for the kinds PII Guard acts on, Presidio's stock ones for kinds a policy may
enable for notification (e-mail, phone, names ...), and the policy's own
deny-list and custom regexes.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.credentials import CREDENTIAL_RECOGNIZERS
from piiguard.detection.recognizers.financial import FINANCIAL_RECOGNIZERS
from piiguard.detection.recognizers.government_ids import GOVERNMENT_ID_RECOGNIZERS
from piiguard.detection.recognizers.health import HEALTH_RECOGNIZERS
from piiguard.detection.recognizers.national_accounts import NATIONAL_ACCOUNT_RECOGNIZERS
from piiguard.detection.recognizers.national_ids import NATIONAL_ID_RECOGNIZERS, NationalIdRecognizer
from piiguard.detection.recognizers.policy_hooks import GuardDenyListRecognizer, custom_recognizers
from piiguard.policy import Policy

OWN_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    *CREDENTIAL_RECOGNIZERS,
    *FINANCIAL_RECOGNIZERS,
    *GOVERNMENT_ID_RECOGNIZERS,
    *NATIONAL_ID_RECOGNIZERS,
    *NATIONAL_ACCOUNT_RECOGNIZERS,
    *HEALTH_RECOGNIZERS,
)

# Kinds Presidio already recognizes well enough for notify-only use.
NER_KINDS = ("PERSON", "LOCATION", "NRP", "DATE_TIME")


def stock_recognizers(policy: Policy) -> list[EntityRecognizer]:
    """Presidio's recognizers for the non-default kinds a policy enables."""
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
        UrlRecognizer,
    )

    built: list[EntityRecognizer] = []
    if policy.is_enabled("EMAIL_ADDRESS"):
        built.append(EmailRecognizer())
    if policy.is_enabled("PHONE_NUMBER"):
        built.append(PhoneRecognizer(supported_regions=list(policy.detection.phone_regions)))
    if policy.is_enabled("IP_ADDRESS"):
        built.append(IpRecognizer())
    if policy.is_enabled("URL"):
        built.append(UrlRecognizer())
    ner = [kind for kind in NER_KINDS if policy.is_enabled(kind)]
    if ner:
        built.append(SpacyRecognizer(supported_entities=ner))
    return built


def build_recognizers(policy: Policy) -> list[EntityRecognizer]:
    """Every recognizer a policy needs, fresh instances (cheap: regexes are shared)."""
    recognizers: list[EntityRecognizer] = []
    presets = policy.detection.preset_kinds
    for cls in OWN_RECOGNIZERS:
        if any(policy.is_enabled(kind) for kind in cls.ENTITIES):
            if issubclass(cls, NationalIdRecognizer):
                # a country's preset lets its bare, checksum-valid ids stand alone
                recognizers.append(cls(preset=bool(presets & set(cls.ENTITIES))))
            else:
                recognizers.append(cls())
    recognizers.extend(stock_recognizers(policy))
    if policy.detection.deny_list:
        recognizers.append(GuardDenyListRecognizer(policy.detection.deny_list))
    recognizers.extend(custom_recognizers(policy.detection.custom_recognizers))
    return recognizers


__all__ = ["OWN_RECOGNIZERS", "Hit", "PiiRecognizer", "build_recognizers"]
