"""One engine per test session: building the first one loads the spaCy model."""

from __future__ import annotations

import pytest

from piiguard.detection.engine import DetectionEngine
from piiguard.policy import DEFAULT_POLICY


@pytest.fixture(scope="session")
def engine() -> DetectionEngine:
    return DetectionEngine(DEFAULT_POLICY)


@pytest.fixture(scope="session")
def kinds_of(engine: DetectionEngine):
    def kinds(text: str) -> list[str]:
        return engine.scan(text).kinds

    return kinds
