"""Cutting transcripts into segments (sentences or whole turns), the unit of coding."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import QualcodeError
from .files import atomic_write_text, csv_text
from .nlp import balanced_runs, load_pipeline, map_in_processes, pipe_options, pipe_texts
from .transcripts import Transcript, render

if TYPE_CHECKING:
    import pandas as pd
    from spacy.language import Language

Unit = Literal["sentence", "turn"]
UNITS: tuple[str, ...] = ("sentence", "turn")
_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)")
_WORDISH = re.compile(r"\w")
# pseudonym tags such as [Place 3], [Person B], [March 2022], [age 20–24] (not [laughs])
_PSEUDONYM_TAG = re.compile(r"\[(?:[A-Z]|age )[^\]\n]{0,40}\]")


def _as_name(match: re.Match[str]) -> str:
    """A tag as a capitalised word of the same length, so that sentences split around it as
    around a name (offsets stay the same)."""
    return "X" + "x" * (len(match.group()) - 1)


@dataclass(frozen=True)
class Segment:
    """A stretch of one turn; `start`/`end` are offsets into the transcript's text.

    `text == transcript.text[start:end]` always holds.
    """

    id: str
    transcript_id: str
    group: str
    speaker: str
    role: str
    turn: int
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


CSV_COLUMNS = (
    "segment_id",
    "transcript_id",
    "group",
    "speaker",
    "role",
    "turn",
    "start",
    "end",
    "text",
)


class Segments(Sequence[Segment]):
    """The segments of a project, in transcript and turn order."""

    def __init__(self, items: Iterable[Segment], unit: str = "sentence") -> None:
        self.items: tuple[Segment, ...] = tuple(items)
        self.unit = unit
        self._by_id = {segment.id: segment for segment in self.items}

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.items)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return Segments(self.items[index], self.unit)
        return self.items[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segments) and self.items == other.items

    def __repr__(self) -> str:
        transcripts = len({s.transcript_id for s in self.items})
        return f"<Segments: {len(self)} {self.unit} segments from {transcripts} transcripts>"

    def get(self, segment_id: str) -> Segment | None:
        return self._by_id.get(segment_id)

    def rows(self) -> list[tuple[Any, ...]]:
        return [
            (s.id, s.transcript_id, s.group, s.speaker, s.role, s.turn, s.start, s.end, s.text)
            for s in self.items
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row a segment, the columns of `segments.csv`."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=list(CSV_COLUMNS))


def segment(
    transcripts: Sequence[Transcript],
    unit: Unit | str = "sentence",
    *,
    model: str | None = None,
    nlp: Language | None = None,
) -> Segments:
    """Cut every turn into sentence segments (spaCy) or keep whole turns.

    A segment never crosses a turn; a line break inside a turn always ends a sentence;
    fragments without words (`[laughs]`, `--`) join the sentence before them. Segment ids are
    `<transcript>:<turn>:<n>`.
    """
    if unit not in UNITS:
        raise QualcodeError(f"unknown unit '{unit}'", fix=f"use one of: {', '.join(UNITS)}")
    pieces: list[tuple[Transcript, int, int, str]] = []  # transcript, turn, offset, paragraph
    for transcript in transcripts:
        offsets = render(transcript)[1]
        for turn, offset in zip(transcript.turns, offsets):
            if unit == "turn":
                pieces.append((transcript, turn.index, offset, turn.text))
                continue
            position = 0
            for paragraph in turn.text.split("\n"):
                pieces.append((transcript, turn.index, offset + position, paragraph))
                position += len(paragraph) + 1
    if unit == "turn":
        spans = [[(0, len(text))] for *_, text in pieces]
    else:
        spans = list(sentence_spans([text for *_, text in pieces], nlp or load_pipeline(model)))
    segments: list[Segment] = []
    counters: dict[tuple[str, int], int] = {}
    for (transcript, turn_index, offset, text), ranges in zip(pieces, spans):
        turn = transcript.turns[turn_index]
        for start, end in ranges:
            start, end = _strip(text, start, end)
            if start >= end:
                continue
            key = (transcript.id, turn_index)
            n = counters.get(key, 0)
            counters[key] = n + 1
            segments.append(
                Segment(
                    id=f"{transcript.id}:{turn_index}:{n}",
                    transcript_id=transcript.id,
                    group=transcript.group,
                    speaker=turn.speaker,
                    role=turn.role,
                    turn=turn_index,
                    start=offset + start,
                    end=offset + end,
                    text=text[start:end],
                )
            )
    return Segments(segments, unit)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _has_words(text: str) -> bool:
    return bool(_WORDISH.search(_BRACKETED.sub("", _PSEUDONYM_TAG.sub("X", text))))


def sentence_spans(texts: Sequence[str], nlp: Language) -> Iterator[list[tuple[int, int]]]:
    """Sentence (start, end) character ranges for each text, covering all of it."""
    component = next((c for c in ("senter", "parser", "sentencizer") if c in nlp.pipe_names), None)
    if component is None:
        nlp.add_pipe("sentencizer")
        component = "sentencizer"
    enable = [component] if component != "parser" else ["tok2vec", "parser"]
    enable = [c for c in enable if c in nlp.pipe_names]
    plain = [_PSEUDONYM_TAG.sub(_as_name, text) for text in texts]
    options = pipe_options(plain)
    processes = options.pop("n_process")
    if component != "parser":  # a light component: big batches
        options["batch_size"] = 256

    def sentence_starts(part: list[str]) -> list[list[int]]:
        docs = pipe_texts(nlp, part, **options)
        return [[sent.start_char for sent in doc.sents][1:] for doc in docs]

    # runs of texts of about equal length to each worker process, which sends back only the
    # sentence starts
    runs = balanced_runs([len(text) for text in plain], range(len(plain)), processes)
    parts = [plain[first:end] for first, end in runs] or [[]]
    with nlp.select_pipes(enable=enable):
        found = map_in_processes(sentence_starts, parts, processes)
    all_starts = (starts for part in found for starts in part)
    for text, starts in zip(texts, all_starts, strict=True):
        if not text.strip():
            yield []
            continue
        starts = _outside_brackets(text, starts)
        bounds = list(zip([0, *starts], [*starts, len(text)]))
        yield _merge_wordless(text, bounds)


def _outside_brackets(text: str, starts: list[int]) -> list[int]:
    """Move sentence starts that fall on or inside `[...]`/`(...)` to after the bracket.

    spaCy often splits `[laughs]` at its bracket; the notation stays with the sentence it
    follows.
    """
    spans = [
        (m.start(), m.end())
        for m in _BRACKETED.finditer(text)
        if not _PSEUDONYM_TAG.fullmatch(m.group())
    ]
    moved: list[int] = []
    for start in starts:
        for left, right in spans:
            if left <= start < right:
                start = right
                break
        if 0 < start < len(text) and (not moved or start > moved[-1]):
            moved.append(start)
    return moved


def _merge_wordless(text: str, bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join ranges without words (`[laughs]`, `--`) to their neighbour."""
    merged: list[tuple[int, int]] = []
    for start, end in bounds:
        if merged and not (_has_words(text[start:end]) and _has_words(text[slice(*merged[-1])])):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def write_segments(segments: Segments, path: str | Path) -> Path:
    """Write `segments.csv` atomically."""
    path = Path(path)
    atomic_write_text(path, csv_text(CSV_COLUMNS, segments.rows()))
    return path


def read_segments(path: str | Path) -> Segments:
    """Read a `segments.csv` written by qualcode."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise QualcodeError(
            f"not a segments table: missing {', '.join(missing)}",
            file=path,
            line=1,
            fix="give the segments.csv that qualcode wrote",
        )
    items = []
    for row in reader:
        try:
            items.append(
                Segment(
                    row["segment_id"],
                    row["transcript_id"],
                    row["group"],
                    row["speaker"],
                    row["role"],
                    int(row["turn"]),
                    int(row["start"]),
                    int(row["end"]),
                    row["text"],
                )
            )
        except ValueError:
            raise QualcodeError(
                "turn, start and end must be whole numbers",
                file=path,
                line=reader.line_num,
                fix="give the segments.csv that qualcode wrote",
            ) from None
    return Segments(items)
