"""The participant roster (`participants.csv`): who spoke, in which role, under which names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RosterError, TranscriptFormatError
from .labels import is_moderator_label, label_key
from .readers import decode, read_bytes

ROLES = ("moderator", "participant", "observer")
REQUIRED_COLUMNS = ("speaker", "role")
KNOWN_COLUMNS = ("transcript", "speaker", "role", "pseudonym", "aliases")


@dataclass(frozen=True)
class RosterEntry:
    """One person in one session (or in every session when `transcript` is empty)."""

    speaker: str
    role: str = "participant"
    transcript: str = ""
    pseudonym: str = ""
    aliases: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict, compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The speaker label and every alias."""
        return (self.speaker, *self.aliases)

    def applies_to(self, transcript_id: str) -> bool:
        return not self.transcript or self.transcript == transcript_id

    def to_dict(self) -> dict[str, object]:
        return {
            "transcript": self.transcript,
            "speaker": self.speaker,
            "role": self.role,
            "pseudonym": self.pseudonym,
            "aliases": list(self.aliases),
            "attributes": dict(self.attributes),
        }


@dataclass(frozen=True)
class Roster:
    """All roster entries, with look-ups by transcript and label."""

    entries: tuple[RosterEntry, ...] = ()
    source: str = ""

    def for_transcript(self, transcript_id: str) -> list[RosterEntry]:
        return [entry for entry in self.entries if entry.applies_to(transcript_id)]

    def known_names(self, transcript_id: str) -> list[str]:
        """Labels and aliases that may appear as speaker labels in this transcript."""
        return [name for entry in self.for_transcript(transcript_id) for name in entry.names]

    def find(self, transcript_id: str, label: str) -> RosterEntry | None:
        """The entry a label refers to: `Anna`, `ANNA`, `Anna K.` all find Anna Kovács.

        Tries the label and aliases (case-insensitive), then a name whose words the label's
        words match or abbreviate (`Anna K.` → `Anna Kovács`), then a unique first name.
        """
        entries = self.for_transcript(transcript_id)
        # entries specific to this transcript win over the project-wide ones
        entries.sort(key=lambda entry: entry.transcript == "")
        key = label_key(label)
        for entry in entries:
            if any(label_key(name) == key for name in entry.names):
                return entry
        words = key.split()
        candidates = [
            entry
            for entry in entries
            if any(_abbreviates(words, label_key(name).split()) for name in entry.names)
        ]
        if len({c.speaker for c in candidates}) == 1:
            return candidates[0]
        return None

    @property
    def attribute_names(self) -> list[str]:
        names: dict[str, None] = {}
        for entry in self.entries:
            names.update(dict.fromkeys(entry.attributes))
        return list(names)


def _abbreviates(label_words: list[str], name_words: list[str]) -> bool:
    """`anna k` abbreviates `anna kovács`; `anna` alone matches the first name."""
    if not label_words or len(label_words) > len(name_words):
        return False
    for short, full in zip(label_words, name_words):
        if short == full:
            continue
        if len(short.rstrip(".")) == 1 and full.startswith(short.rstrip(".")):
            continue
        return False
    return True


def role_for_label(label: str) -> str:
    """The role of a speaker without a roster: moderator words, else participant."""
    return "moderator" if is_moderator_label(label) else "participant"


def read_roster(path: str | Path) -> Roster:
    """Read `participants.csv`; every problem raises `RosterError` naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(
            "the roster file does not exist",
            file=path,
            fix="give the path of participants.csv with --roster",
        )
    try:
        text, _encoding = decode(read_bytes(path), path)
    except TranscriptFormatError as error:  # not text: the same words, as a roster problem
        raise RosterError(
            error.what.replace("text transcript", "CSV roster"),
            file=path,
            line=error.line,
            fix="save participants.csv as CSV (UTF-8) from your spreadsheet",
        ) from None
    except OSError as error:
        raise RosterError(
            f"cannot be read ({error.strerror or type(error).__name__})",
            file=path,
            fix="check that the file exists and that you may read it",
        ) from None
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as error:
        raise RosterError(
            f"broken CSV ({error})",
            file=path,
            line=reader.line_num,
            fix="check the quoting of that row",
        ) from None
    header = [cell.strip().casefold() for cell in rows[0]] if rows else []
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise RosterError(
            f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            file=path,
            line=1,
            fix="the header needs transcript, speaker, role, pseudonym, aliases",
        )
    return Roster(tuple(_entries(rows, header, path)), str(path))


def _entries(rows: list[list[str]], header: list[str], path: Path) -> Iterable[RosterEntry]:
    seen: dict[tuple[str, str], int] = {}
    attribute_columns = [c for c in header if c and c not in KNOWN_COLUMNS]
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise RosterError(
                f"{len(row)} cells but {len(header)} columns",
                file=path,
                line=line,
                fix="quote cells that contain commas",
            )
        cells = {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header)}
        speaker = cells["speaker"]
        if not speaker:
            raise RosterError(
                "the speaker cell is empty",
                file=path,
                line=line,
                fix="write the label as it appears in the transcript",
            )
        role = cells["role"].casefold() or role_for_label(speaker)
        if role not in ROLES:
            raise RosterError(
                f"unknown role '{role}'",
                file=path,
                line=line,
                fix=f"use one of: {', '.join(ROLES)}",
            )
        transcript = cells.get("transcript", "")
        key = (transcript, label_key(speaker))
        if key in seen:
            raise RosterError(
                f"duplicate row (same transcript and speaker as line {seen[key]})",
                file=path,
                line=line,
                fix="keep one row per person per session",
            )
        seen[key] = line
        aliases = tuple(a.strip() for a in cells.get("aliases", "").split(";") if a.strip())
        yield RosterEntry(
            speaker=speaker,
            role=role,
            transcript=transcript,
            pseudonym=cells.get("pseudonym", ""),
            aliases=aliases,
            attributes={name: cells[name] for name in attribute_columns},
            line=line,
        )
