"""A spaCy NLP engine that costs nothing until a recognizer needs it.

Stock Presidio runs the whole pipeline (tagger, parser, lemmatizer, NER) on
every text, even when only regex kinds are asked for. Here:

* the model is loaded with **only the NER component** (and its own tok2vec);
* :meth:`PiiNlpEngine.process_text` returns :class:`LazyArtifacts`, which run
  NER on first access to ``entities`` / ``tokens``, so regex-only scans never
  touch spaCy;
* the health recognizer asks only whether a *sentence* names a person
  (:meth:`LazyArtifacts.persons_between`), and in batch mode those questions
  are deferred, answered together with ``nlp.pipe``, then replayed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

if TYPE_CHECKING:  # spaCy is imported lazily, in load()
    from spacy.language import Language

_NER_ONLY_EXCLUDE = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter",
                     "morphologizer", "trainable_lemmatizer", "textcat")
PERSON_LABELS = frozenset({"PERSON", "PER"})


class PiiNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, loaded NER-only, with lazy per-text artifacts."""

    # Presidio initialises ``self.nlp = None`` unannotated, so mypy types it as
    # ``None``; after load() it maps a language code to its spaCy pipeline.
    nlp: dict[str, Language]  # type: ignore[assignment]  # presidio infers None

    def __init__(self, model_name: str) -> None:
        super().__init__(models=[{"lang_code": "en", "model_name": model_name}])
        self.model_name = model_name
        self._lock = threading.Lock()

    def load(self) -> None:
        import spacy

        nlp = spacy.load(self.model_name, exclude=list(_NER_ONLY_EXCLUDE))
        if "tok2vec" in nlp.pipe_names and "ner" in nlp.pipe_names:
            arch = str(nlp.get_pipe_config("ner")["model"]["tok2vec"].get("@architectures", ""))
            if "Listener" not in arch:
                nlp.remove_pipe("tok2vec")  # NER has its own embedding layer
        self.nlp = {"en": nlp}

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return LazyArtifacts(text, self, language)

    def process_batch(  # type: ignore[override]
        self, texts: Iterable[Any], language: str, batch_size: int = 1, n_process: int = 1,
        as_tuples: bool = False,
    ) -> Iterator[Any]:
        for item in texts:
            if as_tuples:
                text, context = item
                yield str(text), LazyArtifacts(str(text), self, language), context
            else:
                yield str(item), LazyArtifacts(str(item), self, language)

    def doc(self, text: str) -> Any:
        with self._lock:
            return self.nlp["en"](text)

    def docs(self, texts: Sequence[str], batch_size: int = 32) -> list[Any]:
        with self._lock:
            return list(self.nlp["en"].pipe(texts, batch_size=batch_size))

    def artifacts_from_doc(self, doc: Any, language: str = "en") -> NlpArtifacts:
        return self._doc_to_nlp_artifact(doc, language)


class LazyArtifacts(NlpArtifacts):
    """NLP artifacts whose spaCy work happens on first use, if ever.

    ``person_cache`` maps a (start, end) window to whether NER found a person
    there; with ``defer`` set, unknown windows are recorded in ``requests``
    and answered "no" for now, so a batch can run them through ``nlp.pipe``.
    """

    def __init__(
        self, text: str, engine: PiiNlpEngine, language: str = "en",
        person_cache: dict[tuple[int, int], bool] | None = None, defer: bool = False,
    ) -> None:
        # NlpArtifacts.__init__ computes keywords from lemmas eagerly: skipped.
        self.text = text
        self.language = language
        self.nlp_engine = engine
        self.keywords: list[str] = []
        self.person_cache = person_cache if person_cache is not None else {}
        self.defer = defer
        self.requests: list[tuple[int, int]] = []
        self._full: NlpArtifacts | None = None

    def _materialize(self) -> NlpArtifacts:
        if self._full is None:
            self._full = self.nlp_engine.artifacts_from_doc(
                self.nlp_engine.doc(self.text), self.language
            )
        return self._full

    @property
    def entities(self) -> Any:  # type: ignore[override]
        return self._materialize().entities

    @property
    def tokens(self) -> Any:  # type: ignore[override]
        return self._materialize().tokens

    @property
    def tokens_indices(self) -> Any:  # type: ignore[override]
        return self._materialize().tokens_indices

    @property
    def lemmas(self) -> Any:  # type: ignore[override]
        return self._materialize().lemmas

    @property
    def scores(self) -> Any:  # type: ignore[override]
        return self._materialize().scores

    def persons_between(self, start: int, end: int) -> bool:
        """Whether NER finds a person's name in text[start:end]."""
        key = (start, end)
        if key in self.person_cache:
            return self.person_cache[key]
        if self.defer:
            self.requests.append(key)
            return False
        found = has_person(self.nlp_engine.doc(self.text[start:end]))
        self.person_cache[key] = found
        return found

    def to_json(self) -> str:
        return "{}"


def has_person(doc: Any) -> bool:
    return any(ent.label_ in PERSON_LABELS for ent in doc.ents)
