"""Transcripts: the data model, reading files of any supported format, writing the text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import TranscriptFormatError, warn
from .files import atomic_write_text
from .labels import label_key
from .readers import READERS, UNKNOWN_SPEAKER, RawTurn
from .roster import Roster, read_roster, role_for_label

ROSTER_FILE = "participants.csv"
SKIPPED_IN_FOLDERS = ("readme", "license", "licence", "changelog")


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted contribution.

    `speaker` is the person (the roster's label when the roster knows them), `label` the
    label exactly as written in the file; `line` is the source line (paragraph for .docx,
    row for tables) where the turn starts; `start`/`end` are seconds when the file has times.
    """

    index: int
    speaker: str
    text: str
    role: str = "participant"
    label: str = ""
    start: float | None = None
    end: float | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "speaker": self.speaker,
            "role": self.role,
            "label": self.label,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        return cls(
            **{
                key: data.get(key)
                for key in ("index", "speaker", "text", "role", "label", "start", "end", "line")
                if key in data
            }
        )


@dataclass(frozen=True)
class Transcript:
    """One session: its id (the file stem), turns in file order and front-matter metadata."""

    id: str
    turns: tuple[Turn, ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    encoding: str = "utf-8"

    @property
    def group(self) -> str:
        """The session's group name: front matter `group`, else the transcript id."""
        return str(self.metadata.get("group") or self.id)

    @property
    def speakers(self) -> list[str]:
        """Distinct speakers in order of first appearance."""
        return list(dict.fromkeys(turn.speaker for turn in self.turns))

    @property
    def word_count(self) -> int:
        return sum(len(turn.text.split()) for turn in self.turns)

    @property
    def text(self) -> str:
        """The transcript as written to `transcripts/<id>.txt`; offsets refer to this text."""
        return render(self)[0]

    def turn_offsets(self) -> list[int]:
        """Offset of each turn's text in `self.text`."""
        return render(self)[1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "encoding": self.encoding,
            "metadata": dict(self.metadata),
            "turns": [t.to_dict() for t in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            id=data["id"],
            turns=tuple(Turn.from_dict(t) for t in data["turns"]),
            metadata=dict(data.get("metadata") or {}),
            source=data.get("source", ""),
            encoding=data.get("encoding", "utf-8"),
        )


def render(transcript: Transcript) -> tuple[str, list[int]]:
    """`Speaker: text` turns separated by blank lines, after front matter if there is any.

    Returns the text and the offset where each turn's text begins.
    """
    parts: list[str] = []
    position = 0
    if transcript.metadata:
        front = (
            "---\n"
            + yaml.safe_dump(transcript.metadata, allow_unicode=True, sort_keys=False, width=1000)
            + "---\n\n"
        )
        parts.append(front)
        position = len(front)
    offsets: list[int] = []
    for i, turn in enumerate(transcript.turns):
        head = f"{turn.speaker}: " if turn.text else f"{turn.speaker}:"
        separator = "\n\n" if i < len(transcript.turns) - 1 else "\n"
        offsets.append(position + len(head))
        piece = head + turn.text + separator
        parts.append(piece)
        position += len(piece)
    return "".join(parts), offsets


def write_transcript(transcript: Transcript, folder: str | Path) -> Path:
    """Write `<folder>/<id>.txt` atomically and return its path."""
    path = Path(folder) / f"{transcript.id}.txt"
    atomic_write_text(path, transcript.text)
    return path


def transcript_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Transcript files named directly, or found (not recursively) in folders."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in READERS and not _skipped_in_folder(p)
            )
            if not found:
                raise TranscriptFormatError(
                    "the folder holds no transcripts",
                    file=path,
                    fix=f"transcripts end in {', '.join(READERS)}",
                )
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in READERS:
                raise TranscriptFormatError(
                    f"unknown transcript format '{path.suffix or '(no suffix)'}'",
                    file=path,
                    fix=f"use one of {', '.join(READERS)}",
                )
            files.append(path)
        else:
            raise TranscriptFormatError("no such file or folder", file=path, fix="check the path")
    stems = Counter(p.stem for p in files)
    for path in files:
        if stems[path.stem] > 1:
            raise TranscriptFormatError(
                "two transcripts share this file name stem (the transcript id)",
                file=path,
                fix="rename one of them so that every transcript id is unique",
            )
    return files


def _skipped_in_folder(path: Path) -> bool:
    name = path.name.casefold()
    return (
        name.startswith((".", "_", "~$"))
        or name == ROSTER_FILE
        or path.stem.casefold() in SKIPPED_IN_FOLDERS
        or _is_codings_table(path)
    )


def _is_codings_table(path: Path) -> bool:
    """A coder's codings or coding sheet kept beside the transcripts (a `segment_id`
    column), which is not a transcript."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(encoding="utf-8-sig", errors="replace") as handle:
                first = handle.readline(4096)
            return "segment_id" in [c.strip().strip('"') for c in first.split(",")]
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True)
            try:
                row = next(workbook.worksheets[0].iter_rows(max_row=1, values_only=True), ())
            finally:
                workbook.close()
            return "segment_id" in [str(c).strip() for c in row if c is not None]
    except Exception:  # an unreadable file is left for its reader to report
        return False
    return False


def find_roster(paths: str | Path | Iterable[str | Path]) -> Path | None:
    """A `participants.csv` inside the first folder given, if there is one."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for item in paths:
        path = Path(item)
        folder = path if path.is_dir() else path.parent
        if (folder / ROSTER_FILE).is_file():
            return folder / ROSTER_FILE
    return None


def resolve_roster(
    paths: str | Path | Iterable[str | Path], roster: str | Path | Roster | None
) -> Roster | None:
    """The roster given (a path or a `Roster`), else `participants.csv` beside the
    transcripts, else none."""
    if isinstance(roster, Roster):
        return roster
    if roster is None:
        found = find_roster(paths)
        return read_roster(found) if found else None
    return read_roster(roster)


def read_transcript(path: str | Path, roster: Roster | None = None) -> Transcript:
    """Read one transcript file; the reader is chosen by the file's suffix."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise TranscriptFormatError(
            f"unknown transcript format '{path.suffix or '(no suffix)'}'",
            file=path,
            fix=f"use one of {', '.join(READERS)}",
        )
    transcript_id = path.stem
    known = roster.known_names(transcript_id) if roster else []
    try:
        raw = reader(path, known)
    except (UnicodeDecodeError, RecursionError, MemoryError) as error:
        raise TranscriptFormatError(
            f"cannot be read ({type(error).__name__})", file=path, fix="save it again as UTF-8 text"
        ) from None
    except OSError as error:
        raise TranscriptFormatError(
            f"cannot be read ({error.strerror or type(error).__name__})",
            file=path,
            fix="check that the file exists and that you may read it",
        ) from None
    turns = resolve_speakers(raw.turns, transcript_id, roster, path)
    return Transcript(transcript_id, tuple(turns), raw.metadata, str(path), raw.encoding)


def resolve_speakers(
    raw_turns: Sequence[RawTurn], transcript_id: str, roster: Roster | None, path: Path
) -> list[Turn]:
    """Give each turn its person and role: through the roster, else by label."""
    spelling: dict[str, Counter[str]] = {}
    for turn in raw_turns:
        spelling.setdefault(label_key(turn.label), Counter())[turn.label] += 1
    warned: set[str] = set()
    turns: list[Turn] = []
    for index, raw in enumerate(raw_turns):
        entry = roster.find(transcript_id, raw.label) if roster else None
        if entry is not None:
            speaker, role = entry.speaker, entry.role
        else:
            speaker = spelling[label_key(raw.label)].most_common(1)[0][0]
            role = role_for_label(speaker)
            if roster is not None and raw.label != UNKNOWN_SPEAKER and speaker not in warned:
                warned.add(speaker)
                warn(
                    "a speaker label is not in the roster",
                    file=path,
                    line=raw.line,
                    fix="add it to the roster (speaker or aliases) or correct the label",
                )
        turns.append(Turn(index, speaker, raw.text, role, raw.label, raw.start, raw.end, raw.line))
    return turns


def read_transcripts(
    paths: str | Path | Iterable[str | Path], roster: str | Path | Roster | None = None
) -> list[Transcript]:
    """Read transcripts from files and folders.

    A folder is read without recursion; `README.*`, `participants.csv` and hidden files are
    skipped. Without `roster`, a `participants.csv` beside the transcripts is used if there is
    one. Speaker labels are unified through the roster (`Anna`, `ANNA`, `Anna K.`).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    files = transcript_files(paths)
    roster = resolve_roster(paths, roster)
    transcripts = [read_transcript(path, roster) for path in files]
    if roster is not None:
        check_roster_coverage(roster, transcripts)
    return transcripts


def check_roster_coverage(roster: Roster, transcripts: Sequence[Transcript]) -> None:
    """Warn about roster rows whose speaker never speaks in their transcript."""
    spoken = {t.id: set(t.speakers) for t in transcripts}
    everyone = set().union(*spoken.values()) if spoken else set()
    for entry in roster.entries:
        if entry.transcript in spoken and entry.speaker not in spoken[entry.transcript]:
            warn(
                "this roster speaker does not speak in its transcript",
                file=roster.source,
                line=entry.line,
                fix="check the label against the transcript",
            )
        elif not entry.transcript and spoken and entry.speaker not in everyone:
            warn(
                "this roster speaker speaks in none of the transcripts",
                file=roster.source,
                line=entry.line,
                fix="check the label against the transcripts",
            )
