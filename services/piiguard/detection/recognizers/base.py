"""The base of every PII Guard recognizer: a Presidio ``EntityRecognizer`` that
declares its prefilter keywords and judges its own context.

Why not Presidio's ``PatternRecognizer``: a regex alone cannot tell a real key
from ``xoxb-your-token-here`` or a phone number from an NHS number. Each of our
recognizers finds candidates with linear regexes, then validates them
(checksum, entropy, placeholder, context words) before it reports a score.
Recognizers stay ordinary registry members, so Presidio users can list,
remove or add recognizers as they are used to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar, NamedTuple, cast

from presidio_analyzer import EntityRecognizer, RecognizerResult

from piiguard.detection.recognizers.context import TextView


class Hit(NamedTuple):
    entity_type: str
    start: int
    end: int
    score: float


def recognizer_name(recognizer: EntityRecognizer) -> str:
    """A recognizer's registry name, typed.

    Presidio's ``EntityRecognizer.__init__`` first assigns ``self.name`` in a
    branch mypy deems unreachable (``name: str = None``), so mypy cannot infer
    the attribute's type on ``EntityRecognizer`` itself.
    """
    name: str = cast(Any, recognizer).name
    return name


def view_for(text: str, nlp_artifacts: Any) -> TextView:
    """The shared :class:`TextView` of a text, cached on its NLP artifacts."""
    view = getattr(nlp_artifacts, "piiguard_view", None)
    if isinstance(view, TextView) and view.text is text:
        return view
    view = TextView(text)
    if nlp_artifacts is not None:
        try:
            nlp_artifacts.piiguard_view = view
        except AttributeError:  # pragma: no cover - slotted foreign artifacts
            pass
    return view


class PiiRecognizer(EntityRecognizer):
    """A recognizer that validates its candidates and says when it is worth running.

    Subclasses set ``ENTITIES`` and at least one trigger: ``KEYWORDS`` (lower-case
    substrings, found by the Aho-Corasick prefilter), ``DIGITS`` (the text holds
    a run of 8+ digits), ``TRIGGER`` (a cheap regex for ids with few digits, such
    as ``AB 12 34 56 C``), or ``ALWAYS``. They implement :meth:`find`.
    """

    ENTITIES: ClassVar[tuple[str, ...]] = ()
    KEYWORDS: ClassVar[tuple[str, ...]] = ()
    DIGITS: ClassVar[bool] = False
    TRIGGER: ClassVar[re.Pattern[str] | None] = None
    ALWAYS: ClassVar[bool] = False

    # Set by ``EntityRecognizer.__init__``; declared here because mypy cannot
    # infer it from Presidio (see :func:`recognizer_name`).
    name: str

    def __init__(self) -> None:
        super().__init__(
            supported_entities=list(self.ENTITIES),
            name=type(self).__name__,
            supported_language="en",
        )

    def load(self) -> None:  # nothing to load: patterns compile at import time
        return None

    def analyze(
        self, text: str, entities: list[str] | None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        view = view_for(text, nlp_artifacts)
        if view.triggered is not None and self.name not in view.triggered:
            return []
        wanted = set(entities) if entities else set(self.supported_entities)
        # A recognizer's error is not caught here: swallowing it would pass the
        # text as clean. It reaches the engine, which fails closed (the text is
        # retried, then dead-lettered with the reason).
        hits = list(self.find(view, nlp_artifacts))
        return [
            RecognizerResult(
                entity_type=hit.entity_type,
                start=hit.start,
                end=hit.end,
                score=hit.score,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )
            for hit in hits
            if hit.entity_type in wanted and 0 <= hit.start < hit.end <= len(text)
        ]

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        raise NotImplementedError
