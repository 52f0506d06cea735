"""Shared fixtures of the file-scanning tests: the generated samples (built once)
and a detection engine on the default policy."""

from __future__ import annotations

import pytest

from piiguard.detection.engine import DetectionEngine
from piiguard.detection.files import ocr
from piiguard.policy import DEFAULT_POLICY

requires_tesseract = pytest.mark.skipif(not ocr.available(), reason="tesseract-ocr is not installed "
                                        "(bash .ci/system-packages)")


@pytest.fixture(scope="session")
def engine() -> DetectionEngine:
    return DetectionEngine(DEFAULT_POLICY)
