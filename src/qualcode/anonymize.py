"""Pseudonymising transcripts: spans from `identifiers` become consistent pseudonyms.

Each person has one pseudonym in every transcript and every run: participants from the
roster's `pseudonym` column or `P01`, `P02`…, moderators `Moderator`, `Moderator 2`, people
they mention `[Person A]`, `[Doctor B]`; places and organisations become numbered tags
(`[Place 1]`, `[Hospital 1]`); dates and ages are generalised (`[March 2022]`,
`[age 20–24]`). The key (original → pseudonym) and the review list go to a private folder
with owner-only permissions; a leak check scans the output for every original in the key.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spacy.lang.en.stop_words import STOP_WORDS

from .errors import QualcodeError
from .files import atomic_write_text, csv_text
from .identifiers import (
    DOCUMENT_HEADS,
    KEEP_WORDS,
    MONTHS,
    NAME_KINDS,
    NER_KINDS,
    ORDINARY_WORD_NAMES,
    ORGANISATION_HEADS,
    PERSON_KINDS,
    TITLES,
    WORD_RUN,
    Identifier,
    Lists,
    alternative_names,
    detect_in_doc,
    find_names,
    merge_spans,
    name_matcher,
    ner_pipeline,
    person_key,
    roster_names,
)
from .nlp import (
    DETECTION_ATTRS,
    TAGGING,
    PackedDocs,
    TurnDocs,
    balanced_runs,
    load_pipeline,
    map_in_processes,
    pipe_options,
    pipe_texts,
    respelled,
    without_tensor,
)
from .roster import Roster, read_roster
from .transcripts import Transcript, Turn, render

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

KEY_COLUMNS = ("original", "pseudonym", "kind", "transcripts")
REVIEW_COLUMNS = (
    "transcript_id",
    "start",
    "end",
    "original",
    "replacement",
    "kind",
    "detector",
    "context",
)
LEAK_KINDS = (*NAME_KINDS, "email", "phone", "url", "postcode", "id")
DATE_PRECISIONS = ("month", "year", "mask")
DURATION_SETTINGS = ("keep", "mask")
_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()


PRESETS: dict[str, dict[str, Any]] = {
    # for the analysis: dates kept to the month, durations, sums and nationalities visible
    "analysis": {},
    # for transcripts deposited or shared beyond the team: every date, duration, sum,
    # quantity and nationality masked too (what de-identifying court judgments asks for)
    "sharing": {
        "dates": "mask",
        "durations": "mask",
        "ner_labels": ["PERSON", "GPE", "LOC", "FAC", "ORG", "DATE", "NORP", "MONEY", "QUANTITY"],
    },
}


class LeakError(QualcodeError):
    """An original identifier is still in the output."""


@dataclass(frozen=True)
class AnonymizeSettings:
    """How to anonymise: the project's lists, date precision and which entities to mask."""

    mask: dict[str, str] = field(default_factory=dict)  # word → kind (always masked)
    keep: tuple[str, ...] = ()  # words never masked
    dates: str = "month"  # month | year | mask
    ner_labels: tuple[str, ...] = ("PERSON", "GPE", "LOC", "FAC", "ORG", "DATE")
    durations: str = "keep"  # keep | mask ("three years", "eight days" → [duration])
    propagate: bool = True
    proper_nouns: bool = True  # mask capitalised proper nouns that no other detector found

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AnonymizeSettings:
        """Settings from `qualcode.yaml`'s `anonymize:` section; `preset: sharing` starts from
        `SHARING` (for transcripts shared beyond the team), and keys given override it."""
        data = dict(data or {})
        preset = str(data.pop("preset", "analysis"))
        if preset not in PRESETS:
            raise QualcodeError(
                f"unknown anonymisation preset '{preset}'", fix=f"use one of: {', '.join(PRESETS)}"
            )
        data = {**PRESETS[preset], **data}
        mask = data.get("mask") or {}
        if isinstance(mask, list):
            mask = dict.fromkeys(mask, "organisation")
        settings = cls(
            mask={str(k): str(v) for k, v in mask.items()},
            keep=tuple(str(k) for k in data.get("keep") or ()),
            dates=str(data.get("dates", "month")),
            ner_labels=tuple(data.get("ner_labels") or cls.ner_labels),
            durations=str(data.get("durations", "keep")),
            propagate=bool(data.get("propagate", True)),
            proper_nouns=bool(data.get("proper_nouns", True)),
        )
        if settings.dates not in DATE_PRECISIONS:
            raise QualcodeError(
                f"unknown date precision '{settings.dates}'",
                fix=f"use one of: {', '.join(DATE_PRECISIONS)}",
            )
        if settings.durations not in DURATION_SETTINGS:
            raise QualcodeError(
                f"unknown durations setting '{settings.durations}'",
                fix=f"use one of: {', '.join(DURATION_SETTINGS)}",
            )
        unknown = [label for label in settings.ner_labels if label not in NER_KINDS]
        if unknown:
            raise QualcodeError(
                f"unknown entity label '{unknown[0]}'", fix=f"use some of: {', '.join(NER_KINDS)}"
            )
        return settings

    @property
    def lists(self) -> Lists:
        return Lists(
            {k: v for k, v in self.mask.items()}, frozenset(k.casefold() for k in self.keep)
        )


@dataclass(frozen=True)
class KeyEntry:
    """One row of `key.csv`: an original string and its pseudonym."""

    original: str
    pseudonym: str
    kind: str
    transcripts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replacement:
    """One row of `review.csv`; offsets are into the transcript text before anonymisation."""

    transcript_id: str
    start: int
    end: int
    original: str
    replacement: str
    kind: str
    detector: str
    context: str


@dataclass
class AnonymizationResult:
    """Pseudonymised transcripts, the key, the review list and the possible misses."""

    transcripts: list[Transcript]
    key: list[KeyEntry]
    review: list[Replacement]
    misses: list[Replacement]
    docs: TurnDocs | None = None  # with `anonymize(..., tag=True)`: for `apply_codebook`

    def write_private(self, folder: str | Path) -> list[Path]:
        """Write `key.csv` and `review.csv` with owner-only permissions."""
        folder = private_folder(folder)
        key_path, review_path = folder / "key.csv", folder / "review.csv"
        atomic_write_text(
            key_path,
            csv_text(
                KEY_COLUMNS,
                [(k.original, k.pseudonym, k.kind, ";".join(k.transcripts)) for k in self.key],
            ),
            mode=0o600,
        )
        rows = [
            (
                r.transcript_id,
                r.start,
                r.end,
                r.original,
                r.replacement,
                r.kind,
                r.detector,
                r.context,
            )
            for r in [*self.review, *self.misses]
        ]
        atomic_write_text(review_path, csv_text(REVIEW_COLUMNS, rows), mode=0o600)
        return [key_path, review_path]

    @property
    def counts(self) -> dict[str, int]:
        kinds: dict[str, int] = defaultdict(int)
        for item in self.review:
            kinds[item.kind] += 1
        return {
            "replacements": len(self.review),
            "possible_misses": len(self.misses),
            "key_entries": len(self.key),
            **dict(sorted(kinds.items())),
        }


def private_folder(folder: str | Path) -> Path:
    """Create the private folder (owner-only) and return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


# --- pseudonyms -----------------------------------------------------------------------


def _letters(n: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = string.ascii_uppercase[rest] + out
    return out


def age_band(age: int) -> str:
    low = age // 5 * 5
    return f"[age {low}–{low + 4}]"


_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_WORD_TENS = {
    w: 10 * i
    for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split())
    if w != "_"
}


def spoken_number(text: str) -> int | None:
    """`23` → 23, `twenty-three` → 23, `nineteen` → 19."""
    digits = re.search(r"\d+", text)
    if digits:
        return int(digits.group())
    total = None
    for word in re.findall(r"[a-z]+", text.casefold()):
        if word in _WORD_TENS:
            total = (total or 0) + _WORD_TENS[word]
        elif word in _WORD_NUMBERS:
            total = (total or 0) + _WORD_NUMBERS[word]
    return total


def age_text(text: str) -> str:
    """An age expression as a band: `23` → `[age 20–24]`, `six weeks old` → `[age under 1]`."""
    if re.search(r"\b(?:months?|weeks?|days?)\b", text, re.IGNORECASE):
        return "[age under 1]"
    number = spoken_number(text)
    return age_band(number) if number is not None else "[age]"


def generalise_date(text: str, precision: str) -> str:
    """`the 14th of March 2022` → `[March 2022]`; `2022-03-14` → `[March 2022]`; lists keep
    every month and year: `February and March 2001` → `[February and March 2001]`."""
    if precision == "mask":
        return "[date]"
    months = list(
        dict.fromkeys(
            next(m for m in _MONTH_NAMES if m[:3].casefold() == found[:3].casefold())
            for found in re.findall(rf"\b({MONTHS})\b", text, re.IGNORECASE)
        )
    )
    month = _listed(months) or None
    year_text = _listed(list(dict.fromkeys(re.findall(r"\b(?:1[89]\d\d|20\d\d)\b", text))))
    numeric = re.fullmatch(r"\s*(\d{4})-(\d{2})-(\d{2})\s*", text) or re.fullmatch(
        r"\s*(\d{1,2})[./](\d{1,2})[./](\d{2,4})\s*", text
    )
    if numeric and month is None:
        parts = numeric.groups()
        if len(parts[0]) == 4:
            year_text, month_number = parts[0], int(parts[1])
        else:
            year_text = parts[2] if len(parts[2]) == 4 else f"20{parts[2]}"
            month_number = int(parts[1])
        if 1 <= month_number <= 12:
            month = _MONTH_NAMES[month_number - 1]
    if precision == "year":
        return f"[{year_text}]" if year_text else "[date]"
    if month and year_text:
        return f"[{month} {year_text}]"
    if month:
        return f"[{month}]"
    return f"[{year_text}]" if year_text else "[date]"


def _listed(items: Sequence[str]) -> str:
    """`[a]` → `a`; `[a, b]` → `a and b`; `[a, b, c]` → `a, b and c`."""
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


class Pseudonyms:
    """Assigns and remembers pseudonyms, seeded from an existing key."""

    def __init__(
        self, roster: Roster | None, key: Sequence[KeyEntry] = (), dates: str = "month"
    ) -> None:
        self.dates = dates
        self.by_original: dict[tuple[str, str], str] = {}
        self.by_person: dict[str, str] = {}
        self.tags: dict[tuple[str, str], str] = {}  # (tag kind, original casefold) → tag
        self.counters: dict[str, int] = defaultdict(int)
        self.parts: dict[str, str | None] = {}  # name part → pseudonym of a mentioned person
        self.used: dict[str, set[str]] = defaultdict(set)
        for entry in key:
            self._remember(entry.original, entry.kind, entry.pseudonym)
        self.roster = roster
        self._roster_pseudonyms(roster)

    def _remember(self, original: str, kind: str, pseudonym: str) -> None:
        self.by_original[(kind, original.casefold())] = pseudonym
        number = re.search(r"(\d+)\]?$", pseudonym)
        letter = re.search(r" ([A-Z]+)\]$", pseudonym)
        tag = pseudonym.strip("[]").rsplit(" ", 1)[0] if pseudonym.startswith("[") else kind
        if pseudonym.startswith("P") and pseudonym[1:].isdigit():
            self.counters["participant"] = max(self.counters["participant"], int(pseudonym[1:]))
        elif pseudonym.startswith("Moderator"):
            self.counters["moderator"] = max(
                self.counters["moderator"], int(number.group(1)) if number else 1
            )
        elif letter:
            index = sum((ord(c) - 64) * 26**i for i, c in enumerate(reversed(letter.group(1))))
            self.counters[tag] = max(self.counters[tag], index)
        elif number:
            self.counters[tag] = max(self.counters[tag], int(number.group(1)))
        self.used[kind].add(pseudonym)

    def _roster_pseudonyms(self, roster: Roster | None) -> None:
        if roster is None:
            return
        for entry in roster.entries:
            names = [n for n in entry.names if n.strip()]
            key = person_key(names, entry.pseudonym)
            if key in self.by_person:
                continue
            known = next(
                (
                    self.by_original[(entry.role, n.casefold())]
                    for n in names
                    if (entry.role, n.casefold()) in self.by_original
                ),
                None,
            )
            if entry.pseudonym:
                pseudonym = entry.pseudonym
            elif known:
                pseudonym = known
            elif entry.role == "moderator":
                self.counters["moderator"] += 1
                count = self.counters["moderator"]
                pseudonym = "Moderator" if count == 1 else f"Moderator {count}"
            elif entry.role == "observer":
                self.counters["observer"] += 1
                pseudonym = f"Observer {self.counters['observer']}"
            else:
                pseudonym = self._next_participant()
            self.by_person[key] = pseudonym

    def _next_participant(self) -> str:
        while True:
            self.counters["participant"] += 1
            pseudonym = f"P{self.counters['participant']:02d}"
            if pseudonym not in self.used["participant"]:
                return pseudonym

    def speaker(self, turn: Turn, transcript_id: str) -> str:
        """The pseudonym of a turn's speaker (unknown labels get one of their own)."""
        if turn.speaker == "UNKNOWN":
            return "UNKNOWN"
        entry = self.roster.find(transcript_id, turn.speaker) if self.roster else None
        if entry is not None:
            return self.by_person[
                person_key([n for n in entry.names if n.strip()], entry.pseudonym)
            ]
        key = f"label:{transcript_id}:{turn.speaker.casefold()}"
        if key not in self.by_person:
            if turn.role == "moderator":
                self.counters["moderator"] += 1
                count = self.counters["moderator"]
                self.by_person[key] = "Moderator" if count == 1 else f"Moderator {count}"
            else:
                self.by_person[key] = self._next_participant()
        return self.by_person[key]

    def for_span(self, span: Identifier) -> str:
        """The replacement text for an identifier."""
        text = span.text
        if span.kind in ("participant", "moderator", "observer") and span.person:
            return self.by_person.get(span.person) or self._tag("person", "Person", text)
        if span.kind == "date":
            return generalise_date(text, self.dates)
        if span.kind == "age":
            return age_text(text)
        if span.kind in ("email", "phone", "postcode"):
            return f"[{span.kind}]"
        if span.kind == "url":
            return "[URL]"
        if span.kind == "id":
            return "[ID]"
        if span.kind == "person":
            return self._person(text)
        if span.kind == "place":
            return self._tag("place", "Place", text, numbered=True)
        if span.kind == "organisation":
            pseudonym = self._tag("organisation", _organisation_tag(text), text, numbered=True)
            for other in alternative_names(text):  # "EAT" is the tribunal named with it
                self.by_original.setdefault(("organisation", _normal(other)), pseudonym)
            return pseudonym
        if span.kind == "amount":  # sums of money and quantities (MONEY, QUANTITY)
            return "[amount]"
        if span.kind == "duration":  # "three years", "eight days" (durations: mask)
            return "[duration]"
        if span.kind == "group":  # nationalities, religious and political groups (NORP)
            return self._tag("group", "Group", text, numbered=True)
        return self._tag(span.kind, span.kind.capitalize(), text, numbered=True)

    def _tag(self, kind: str, tag: str, original: str, numbered: bool = False) -> str:
        key = (kind, _normal(original))
        if key in self.by_original:
            return self.by_original[key]
        self.counters[tag] += 1
        count = self.counters[tag]
        pseudonym = f"[{tag} {count}]" if numbered else f"[{tag} {_letters(count - 1)}]"
        self.by_original[key] = pseudonym
        return pseudonym

    def _person(self, text: str) -> str:
        name = _normal(text)
        if ("person", name) in self.by_original:
            return self.by_original[("person", name)]
        words = name.split()
        title = (
            words[0].rstrip(".")
            if (words and words[0] in {t.rstrip(".") for t in TITLES})
            or (words and words[0] + "." in TITLES)
            else ""
        )
        parts = [w for w in words if w.rstrip(".") not in {t.rstrip(".") for t in TITLES}]
        linked = {self.parts.get(p) for p in parts if p in self.parts}
        linked.discard(None)
        if len(linked) == 1:
            pseudonym = linked.pop()
        else:
            tag = {
                "dr": "Doctor",
                "doctor": "Doctor",
                "prof": "Professor",
                "professor": "Professor",
                "nurse": "Nurse",
                "sister": "Nurse",
            }.get(title, "Person")
            pseudonym = self._tag("person-tag", tag, name)
        self.by_original[("person", name)] = pseudonym
        for part in parts:
            if len(part) > 1:
                if part in self.parts and self.parts[part] != pseudonym:
                    self.parts[part] = None  # ambiguous: two people share this name
                else:
                    self.parts.setdefault(part, pseudonym)
        return pseudonym


def _normal(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split())


def _organisation_tag(text: str) -> str:
    lowered = text.casefold()
    for words, tag in (
        (
            (
                "hospital",
                "clinic",
                "klinik",
                "infirmary",
                "medical centre",
                "clinical centre",
                "health centre",
                "ward",
            ),
            "Hospital",
        ),
        (("university", "faculty", "college", "institute"), "University"),
        (("school", "academy", "gymnasium", "kindergarten"), "School"),
    ):
        if any(word in lowered for word in words):
            return tag
    return "Organisation"


# --- detection over a project ---------------------------------------------------------


def _possible_misses(
    doc: Doc, spans: Sequence[Identifier], lists: Lists, text: str = ""
) -> list[tuple[int, int, str]]:
    """Words a human should check: titles before unmasked words, digits, capitalised words.
    `text` is the doc's text when the caller has it."""
    full = text or doc.text
    masked = bytearray(len(full) + 1)
    for span in spans:
        masked[span.start : span.end] = b"\x01" * (span.end - span.start)

    def free(start: int, end: int) -> bool:
        return not any(masked[start:end])

    misses = []
    for token in doc:
        word = token.text
        lowered = word.casefold()
        title = lowered in _TITLE_WORDS
        digits = not word.isalpha() and sum(c.isdigit() for c in word) >= 2
        if not (title or digits or word[:1].isupper()):
            continue  # none of the checks below can flag it: most words, settled quickly
        start, end = token.idx, token.idx + len(word)
        if spans and not free(start, end):
            continue
        if title and token.i + 1 < len(doc):
            following = doc[token.i + 1]
            if following.text[:1].isupper() and free(
                following.idx, following.idx + len(following.text)
            ):
                misses.append(
                    (
                        start,
                        following.idx + len(following.text),
                        "possible miss: title followed by a name",
                    )
                )
        elif digits:
            misses.append((start, end, "possible miss: digits left visible"))
        elif (
            word[:1].isupper()
            and not _starts_sentence(full, start)
            and lowered not in KEEP_WORDS
            and lowered not in lists.keep
            and token.tag_[:2] in ("NN", "JJ")
            and len(word) > 2
            and not word.isupper()
        ):
            misses.append((start, end, "possible miss: capitalised word"))
    return misses


_TITLE_WORDS = frozenset([*TITLES, *(t[:-1] for t in TITLES if t.endswith("."))])  # "dr", "dr."


@dataclass
class _Piece:
    """A text to anonymise: a turn's text or a front-matter value."""

    transcript: int
    turn: int | None  # None: metadata
    key: str  # metadata key
    text: str
    offset: int  # where the text starts in the original rendered transcript
    place: int  # where its doc is in its transcript's group of `PackedDocs`


def anonymize(
    transcripts: Sequence[Transcript],
    roster: str | Path | Roster | None = None,
    settings: AnonymizeSettings | None = None,
    *,
    key: str | Path | Sequence[KeyEntry] | None = None,
    nlp: Language | None = None,
    model: str | None = None,
    tag: bool = False,
) -> AnonymizationResult:
    """Pseudonymise transcripts consistently across the project.

    `key` is an earlier `key.csv` (or its entries) whose pseudonyms are reused, so adding a
    transcript later keeps everyone's pseudonym. `tag` also runs the tagger and lemmatizer in
    the same pass and keeps the anonymised turns' docs in `result.docs` for `apply_codebook`,
    so that the pipeline goes over the text once.
    """
    settings = settings or AnonymizeSettings()
    if roster is not None and not isinstance(roster, Roster):
        roster = read_roster(roster)
    if isinstance(key, (str, Path)):
        key = read_key(key) if Path(key).is_file() else []
    pseudonyms = Pseudonyms(roster, key or [], settings.dates)
    lists = settings.lists
    names = roster_names(roster)
    nlp = nlp or load_pipeline(model)
    pieces = _pieces(transcripts)
    components = ner_pipeline(nlp)
    if tag:
        components = [c for c in nlp.pipe_names if c in components or c in TAGGING]
    found: list[list[Identifier]] = []
    texts = [p.text for p in pieces]
    options = pipe_options(texts)
    # each transcript's docs are packed once detected and unpacked for propagation and
    # rewriting, so a large project does not hold every doc between the two
    docs = PackedDocs(DETECTION_ATTRS, pack=options["n_process"] > 1)
    with nlp.select_pipes(enable=components):
        for piece, doc in zip(pieces, pipe_texts(nlp, texts, **options), strict=True):
            docs.add(piece.transcript, without_tensor(doc))  # detecting while workers tag
            found.append(
                detect_in_doc(
                    doc,
                    names,
                    transcripts[piece.transcript].id,
                    lists,
                    settings.ner_labels,
                    settings.proper_nouns,
                    settings.durations == "mask",
                    piece.text,
                )
            )
    ordinary = _ordinary_words(pieces)
    names = None
    if settings.propagate:
        found, names = _propagation_names(pieces, found, ordinary)
    runs = _transcript_runs(pieces, options["n_process"])
    found, misses = _finish_pieces(pieces, docs, found, names, lists, runs)
    tagging = nlp if tag else None
    return _rewrite(transcripts, pieces, docs, found, misses, pseudonyms, ordinary, tagging, runs)


def _pieces(transcripts: Sequence[Transcript]) -> list[_Piece]:
    pieces = []
    for t_index, transcript in enumerate(transcripts):
        text, offsets = render(transcript)
        first = len(pieces)
        for key, value in transcript.metadata.items():
            if isinstance(value, str) and value.strip():
                position = text.find(f"{key}: ")
                offset = position + len(key) + 2 if position >= 0 else -1
                pieces.append(_Piece(t_index, None, key, value, offset, len(pieces) - first))
        for turn, offset in zip(transcript.turns, offsets, strict=True):
            pieces.append(_Piece(t_index, turn.index, "", turn.text, offset, len(pieces) - first))
    return pieces


def _transcript_runs(pieces: Sequence[_Piece], parts: int) -> list[tuple[int, int]]:
    """The pieces in about `parts` runs of similar length, whole transcripts each."""
    sizes = [len(piece.text) for piece in pieces]
    return balanced_runs(sizes, [piece.transcript for piece in pieces], parts)


def _noun_like(doc: Doc, span: Identifier) -> bool:
    """Whether the tagger reads a lower-case word as a name or noun ("ask ildiko"), not as
    an adjective or verb ("medical school")."""
    tokens = doc.char_span(span.start, span.end, alignment_mode="expand")
    return tokens is not None and all(t.tag_[:2] in ("NN", "FW", "XX") for t in tokens)


def _case_counts(pieces: Sequence[_Piece]) -> tuple[Counter[str], Counter[str]]:
    """How often each word is written capitalised and in lower case across the project."""
    capitalised: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    for piece in pieces:
        for word in re.findall(r"[^\W\d_][\w'’-]*", piece.text):
            (capitalised if word[0].isupper() else lower)[word.casefold()] += 1
    return capitalised, lower


def _mostly_lower_case(span: Identifier, capitalised: Counter[str], lower: Counter[str]) -> bool:
    """A one-word name that only the statistical detectors found and that the project writes
    in lower case far more often than capitalised ("So", "Next", "Meeting" after a pause in a
    meeting transcript): an ordinary word, not a name (names from the roster are not affected)."""
    if span.detector not in ("ner", "propn") or " " in span.text:
        return False
    if span.kind not in ("person", "place", "organisation"):
        return False
    word = span.text.casefold()
    if word in ORDINARY_WORD_NAMES:
        return False
    stem = re.split(r"['’]", word, maxsplit=1)[0]  # "I'm", "We've": a pronoun and a clitic
    return (
        span.text.islower()  # "hhh", "java": a name in lower case is found from its capitals
        or word in STOP_WORDS
        or (stem != word and stem in STOP_WORDS)
        or lower[word] > 3 * capitalised[word]
    )


def _name_parts(name: str) -> list[str]:
    """The words of a multiword name that can name the person alone."""
    words = name.split()
    if len(words) < 2:
        return []
    return [
        w
        for w in words
        if len(w) > 2
        and w[0].isupper()
        and w.casefold().rstrip(".") not in {t.rstrip(".") for t in TITLES}
        and w.casefold() not in KEEP_WORDS
        and w.casefold() not in ORDINARY_WORD_NAMES
    ]


def _ordinary_words(pieces: Sequence[_Piece]) -> set[str]:
    """Every word the project's texts use in lower case."""
    return {
        w
        for piece in pieces
        for w in re.findall(r"\b[^\W\d_A-Z][^\W\d_]*\b", piece.text)
        if w.islower()
    }


def _is_ordinary(span: Identifier, text: str, ordinary: set[str]) -> bool:
    """A capitalised word at the start of a sentence that the project also uses in lower
    case ("Recognition. Credits." / "recognition"): a word, not a name."""
    return (
        span.detector in ("ner", "propn")
        and " " not in span.text
        and span.kind in ("person", "place", "organisation")
        and span.text.casefold() in ordinary
        and span.text.casefold() not in ORDINARY_WORD_NAMES
        and _starts_sentence(text, span.start)
    )


_WORDS = re.compile(r"[^\W\d_][\w'’-]*")
_DETERMINERS = frozenset("the a an this that these those".split())
_REFERENCE_AFTER = re.compile(r"[ \t]+(?:[Nn]o\.|[Nn]os\.|§|\d)")


def _generic_words(pieces: Sequence[_Piece], lower: set[str]) -> set[str]:
    """Capitalised words that the project, where they stand alone (not inside a longer name),
    mostly writes after a determiner or before a number ("the Court", "the Government",
    "THE FACTS", "Article 6", "Protocol No. 11") and also writes in lower case (or that name
    a kind of organisation or document): common nouns with a capital, not names. An acronym after a
    lower-case determiner ("the PKK") and a name never written in lower case ("the Salzburg
    cemetery") are names."""
    alone: Counter[str] = Counter()
    generic_use: Counter[str] = Counter()
    for piece in pieces:
        text = piece.text
        previous = ""
        previous_end = -2
        for match in _WORDS.finditer(text):
            word = match.group()
            joined = previous_end == match.start() - 1 and text[previous_end] in " \t"
            follows = joined and previous[:1].isupper() and previous.casefold() not in _DETERMINERS
            if word[:1].isupper() and not follows:
                after = text[match.end() : match.end() + 2]
                inside_name = after[:1] in " \t" and after[1:2].isupper()
                if not inside_name:
                    alone[word] += 1
                    determiner = joined and previous.casefold() in _DETERMINERS
                    if (determiner and (not word.isupper() or previous.isupper())) or (
                        _REFERENCE_AFTER.match(text, match.end())
                    ):
                        generic_use[word] += 1
            previous, previous_end = word, match.end()
    return {
        word
        for word, n in generic_use.items()
        if n >= 2
        and 2 * n >= alone[word]
        and (
            word.casefold() in lower
            or ORGANISATION_HEADS.fullmatch(word)
            or DOCUMENT_HEADS.fullmatch(word)
        )
    }


def _is_generic(span: Identifier, generic: set[str]) -> bool:
    """A single word that a name detector (not the roster or the lists) flagged, which the
    project mostly writes after a determiner."""
    return (
        span.detector in ("ner", "propn")
        and span.kind in ("person", "organisation")
        and span.text in generic
    )


def _is_role_label(label: str, ordinary: set[str]) -> bool:
    """A speaker label made of words the project also writes in lower case ("Project
    Manager", "Marketing", "Chair"): a role, not a name, so the leak check does not look for
    it in the text ("our project manager"); names that are words ("Will") stay names."""
    words = label.split()
    return (
        bool(words)
        and label.casefold() not in ORDINARY_WORD_NAMES
        and all(w.isalpha() and w.casefold() in ordinary for w in words)
    )


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘([")
    return not before or before[-1] in ".!?\n…:-–—"


def _doc_getter(docs: PackedDocs, transcript: int, place: int) -> Callable[[], Doc]:
    return lambda: docs.docs(transcript)[place]


@dataclass(frozen=True)
class _ProjectNames:
    """The names any detector flagged anywhere in the project, to be masked everywhere:
    as written (case-sensitively: "Rose" does not flag "rose"), and the `loose` ones (names
    of people written mostly capitalised) in any case."""

    exact: Any  # identifiers.name_matcher
    loose: Any


def _propagation_names(
    pieces: Sequence[_Piece], found: list[list[Identifier]], ordinary: set[str]
) -> tuple[list[list[Identifier]], _ProjectNames]:
    """Drop sentence-initial ordinary words from what the detectors found, and gather the
    names that propagation masks in every piece (`_propagated`)."""
    generic = _generic_words(pieces, ordinary)
    capitalised, lower = _case_counts(pieces)
    found = [
        [
            s
            for s in spans
            if not _is_ordinary(s, piece.text, ordinary)
            and not _is_generic(s, generic)
            and not _mostly_lower_case(s, capitalised, lower)
        ]
        for piece, spans in zip(pieces, found, strict=True)
    ]
    votes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    strong: set[str] = set()  # names some detector other than the proper-noun one found
    for spans in found:
        for span in spans:
            if (
                span.kind in NAME_KINDS
                and len(span.text) > 1
                and span.text.casefold() not in KEEP_WORDS
            ):
                text = span.text.strip()  # "Noisy - OR " → "Noisy - OR"
                votes[text][(span.kind, span.person)] += 1
                if span.detector != "propn":
                    strong.add(text)
    # the kind most detections agree on ("Szeged" is a place even where NER said person)
    names = [(text, *counter.most_common(1)[0][0]) for text, counter in votes.items()]
    # a person's full name also flags its parts: "Dr. Fehér" → "Fehér", "Judit Kardos" → "Judit";
    # not a word the project mostly writes after a determiner ("the Court"), and not the words
    # of a run of proper nouns that no other detector took for a name ("Human Rights")
    parts = {
        part: (part, kind, person)
        for text, kind, person in names
        if kind in PERSON_KINDS
        for part in _name_parts(text)
        if part not in votes
        and part not in generic
        and part.casefold() not in ordinary  # "So Morgan" (a misread name) ⇏ every "So"
        and text in strong
    }
    names += list(parts.values())
    # a name with another in brackets flags both: "Employment Appeal Tribunal (“EAT”)" → "EAT"
    names += list(
        {
            other: (other, kind, person)
            for text, kind, person in names
            if kind in ("organisation", "place")
            for other in alternative_names(text)
            if other not in votes and other not in generic and other.casefold() not in ordinary
        }.values()
    )
    # a name written mostly capitalised is also masked where a transcriber typed it in lower
    # case ("ildiko"); a word the project mostly writes in lower case is not ("Recognition")
    loose = [
        n
        for n in names
        if n[1] in PERSON_KINDS
        and " " not in n[0]
        and capitalised[n[0].casefold()] > 2 * lower[n[0].casefold()]
        and n[0].casefold() not in ORDINARY_WORD_NAMES
    ]
    names_found = _ProjectNames(name_matcher(names, case_sensitive=True), name_matcher(loose))
    return found, names_found


def _propagated(
    text: str, spans: list[Identifier], names: _ProjectNames, doc: Callable[[], Doc]
) -> list[Identifier]:
    """A piece's identifiers with every occurrence of the project's names added."""
    extra = [
        replace(s, detector="propagation")
        for s in find_names(text, names.exact, doc, "propagation")
        + [
            s
            for s in find_names(text, names.loose, doc, "propagation")
            if not s.text.islower() or _noun_like(doc(), s)
        ]
    ]
    return merge_spans([*spans, *extra])


Miss = tuple[int, int, str]  # start, end, why a human should look at it


def _finish_pieces(
    pieces: Sequence[_Piece],
    docs: PackedDocs,
    found: list[list[Identifier]],
    names: _ProjectNames | None,
    lists: Lists,
    runs: list[tuple[int, int]],
) -> tuple[list[list[Identifier]], list[list[Miss]]]:
    """Each piece's final identifiers (with the project's `names` propagated, unless None)
    and its possible misses; each run of pieces (`_transcript_runs`) on a forked process."""

    def finish(bounds: tuple[int, int]) -> list[tuple[list[Identifier], list[Miss]]]:
        done = []
        for index in range(*bounds):
            piece = pieces[index]
            doc = _doc_getter(docs, piece.transcript, piece.place)
            spans = found[index]
            if names is not None:
                spans = _propagated(piece.text, spans, names, doc)
            done.append((spans, _possible_misses(doc(), spans, lists, piece.text)))
        return done

    finished = [item for part in map_in_processes(finish, runs, len(runs)) for item in part]
    return [spans for spans, _ in finished], [misses for _, misses in finished]


def _context(text: str, start: int, end: int) -> str:
    return " ".join(text[max(0, start - 40) : end + 40].split())


@dataclass
class _Rewritten:
    """A run of pieces (whole transcripts) rewritten with their pseudonyms: each piece's new
    text, the review's rows, the key's (original, pseudonym, kind, transcript) and, when
    tagging, each transcript's tagged docs (`PackedDocs.stored`) with their turns and the
    new words their tokens spell (for the string store of the process that unpacks them)."""

    texts: list[str]
    review: list[Replacement]
    misses: list[Replacement]
    key: list[tuple[str, str, str, str]]
    tagged: dict[int, tuple[Any, list[int]]]
    words: set[str]


def _rewrite_pieces(
    transcripts: Sequence[Transcript],
    pieces: Sequence[_Piece],
    docs: PackedDocs,
    found: Sequence[Sequence[Identifier]],
    found_misses: Sequence[Sequence[Miss]],
    pseudonyms: Sequence[Sequence[str]],
    tagging: Language | None,
    bounds: tuple[int, int],
) -> _Rewritten:
    """Pieces `bounds[0]:bounds[1]` rewritten: each span replaced by its pseudonym."""
    done = _Rewritten([], [], [], [], {}, set())
    tagged = PackedDocs(pack=docs.packs)
    tagged_turns: dict[int, list[int]] = defaultdict(list)
    originals: dict[int, str] = {}
    for index in range(*bounds):
        piece, spans, piece_pseudonyms = pieces[index], found[index], pseudonyms[index]
        transcript = transcripts[piece.transcript]
        if piece.transcript not in originals:
            originals[piece.transcript] = render(transcript)[0]
        original = originals[piece.transcript]
        text = piece.text
        out = []
        written = 0  # length of the anonymised text so far
        regions: list[tuple[int, int, int, int]] = []  # replaced: old start, end → new
        position = 0
        previous: Identifier | None = None
        for span, pseudonym in zip(spans, piece_pseudonyms, strict=True):
            gap = text[position : span.start]
            # "Gergely Nagy", two names of one person side by side, becomes one "P02"; the
            # review row then covers the space too and is replaced by nothing
            joined = (
                previous is not None
                and not gap.strip()
                and out[-1] == pseudonym
                and _normal(previous.text) != _normal(span.text)
            )
            replacement = "" if joined else pseudonym
            begin = position if joined else span.start
            if joined:
                regions[-1] = (regions[-1][0], span.end, regions[-1][2], regions[-1][3])
            else:
                out += [gap, pseudonym]
                written += len(gap)
                regions.append((span.start, span.end, written, written + len(pseudonym)))
                written += len(pseudonym)
            position = span.end
            previous = span
            done.key.append((span.text, pseudonym, span.kind, transcript.id))
            start = piece.offset + begin if piece.offset >= 0 else -1
            done.review.append(
                Replacement(
                    transcript.id,
                    start,
                    piece.offset + span.end if piece.offset >= 0 else -1,
                    text[begin : span.end],
                    replacement,
                    span.kind,
                    span.detector,
                    _context(original, start, start + span.end - begin)
                    if start >= 0
                    else _context(text, span.start, span.end),
                )
            )
        out.append(text[position:])
        new_text = "".join(out)
        done.texts.append(new_text)
        if tagging is not None and piece.turn is not None:
            doc = docs.docs(piece.transcript)[piece.place]
            new_doc = (
                respelled(doc, new_text, regions, tagging, text, done.words) if regions else doc
            )
            if new_doc is not None:
                tagged.add(piece.transcript, new_doc)
                tagged_turns[piece.transcript].append(piece.turn)
        for start, end, kind in found_misses[index]:
            begin = piece.offset + start if piece.offset >= 0 else -1
            done.misses.append(
                Replacement(
                    transcript.id,
                    begin,
                    begin + end - start,
                    text[start:end],
                    "",
                    kind,
                    "review",
                    _context(text, start, end),
                )
            )
    done.tagged = {t: (tagged.stored(t), turns) for t, turns in tagged_turns.items()}
    return done


def _rewrite(
    transcripts: Sequence[Transcript],
    pieces: Sequence[_Piece],
    docs: PackedDocs,
    found: Sequence[Sequence[Identifier]],
    found_misses: Sequence[Sequence[Miss]],
    pseudonyms: Pseudonyms,
    ordinary: set[str],
    tagging: Language | None,
    runs: list[tuple[int, int]],
) -> AnonymizationResult:
    """The anonymised transcripts, key and review; with `tagging`, also the tagged docs of
    the anonymised turns, made from the original turns' docs. The pseudonyms are given in
    the order the spans come; each run of pieces (`_transcript_runs`) is rewritten on a
    forked process."""
    chosen = [[pseudonyms.for_span(span) for span in spans] for spans in found]

    def rewrite(bounds: tuple[int, int]) -> _Rewritten:
        return _rewrite_pieces(
            transcripts, pieces, docs, found, found_misses, chosen, tagging, bounds
        )

    new_texts: dict[tuple[int, int | None, str], str] = {}
    tagged = PackedDocs(pack=docs.packs)  # the docs of the new texts, a group a transcript
    tagged_turns: dict[int, list[int]] = {}
    review: list[Replacement] = []
    misses: list[Replacement] = []
    key_rows: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for bounds, part in zip(runs, map_in_processes(rewrite, runs, len(runs)), strict=True):
        for piece, new_text in zip(pieces[slice(*bounds)], part.texts, strict=True):
            new_texts[(piece.transcript, piece.turn, piece.key)] = new_text
        review += part.review
        misses += part.misses
        for original, pseudonym, kind, transcript_id in part.key:
            key_rows[(original, pseudonym, kind)].add(transcript_id)
        if tagging is not None:
            for word in part.words:  # spelt by the pseudonyms' tokens in a worker process
                tagging.vocab.strings.add(word)
            for t_index, (stored, turns) in part.tagged.items():
                tagged.put(t_index, stored, tagging.vocab)
                tagged_turns[t_index] = turns
    anonymised = []
    role_labels: dict[str, bool] = {}
    for t_index, transcript in enumerate(transcripts):
        turns = []
        originals_text, offsets = render(transcript)
        for turn, offset in zip(transcript.turns, offsets, strict=True):
            pseudonym = pseudonyms.speaker(turn, transcript.id)
            if turn.speaker != "UNKNOWN":
                role = "participant" if turn.role == "participant" else turn.role
                in_roster = pseudonyms.roster and pseudonyms.roster.find(
                    transcript.id, turn.speaker
                )
                if turn.speaker not in role_labels:
                    role_labels[turn.speaker] = _is_role_label(turn.speaker, ordinary)
                if not in_roster and role_labels[turn.speaker]:
                    role = "role label"  # "Project Manager:": in the key, not a name to look for
                for label in dict.fromkeys((turn.speaker, turn.label)):
                    if label:
                        key_rows[(label, pseudonym, role)].add(transcript.id)
                label_start = offset - len(turn.speaker) - (2 if turn.text else 1)
                review.append(
                    Replacement(
                        transcript.id,
                        label_start,
                        label_start + len(turn.speaker),
                        turn.speaker,
                        pseudonym,
                        role,
                        "speaker label",
                        _context(originals_text, label_start, offset),
                    )
                )
            turns.append(
                replace(
                    turn,
                    speaker=pseudonym,
                    label=pseudonym,
                    text=new_texts[(t_index, turn.index, "")],
                )
            )
        metadata = {
            key: new_texts.get((t_index, None, key), value)
            for key, value in transcript.metadata.items()
        }
        anonymised.append(replace(transcript, turns=tuple(turns), metadata=metadata))
    key = [
        KeyEntry(original, pseudonym, kind, tuple(sorted(ids)))
        for (original, pseudonym, kind), ids in sorted(key_rows.items(), key=lambda item: item[0])
    ]
    turn_docs = None
    if tagging is not None:
        turn_docs = TurnDocs(tagged)
        for t_index, transcript in enumerate(anonymised):
            tagged_here = set(tagged_turns.get(t_index, ()))
            turn_docs.place(
                transcript.id,
                t_index,
                [
                    (turn.index, offset)
                    for turn, offset in zip(transcript.turns, render(transcript)[1], strict=True)
                    if turn.index in tagged_here
                ],
            )
    return AnonymizationResult(anonymised, key, review, misses, turn_docs)


# --- key, leak check ------------------------------------------------------------------


def read_key(path: str | Path) -> list[KeyEntry]:
    """Read an earlier `key.csv`."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    missing = [c for c in KEY_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise QualcodeError(
            f"not a qualcode key: missing {', '.join(missing)}",
            file=path,
            line=1,
            fix="give the key.csv that qualcode wrote",
        )
    return [
        KeyEntry(
            row["original"],
            row["pseudonym"],
            row["kind"],
            tuple(t for t in row["transcripts"].split(";") if t),
        )
        for row in reader
    ]


_WORDLIKE = re.compile(r"[^\W\d_]+(?:[-'’.][^\W\d_]+)*\.?")


def _leak_pattern(original: str, kind: str) -> re.Pattern[str] | None:
    """How to find an original in output: names from the roster case-insensitively; other
    names as written (a detector flagged "Recognition", not "recognition")."""
    word = original.strip()
    if len(word) < 3 or word.casefold() in KEEP_WORDS or word.upper() == "UNKNOWN":
        return None
    escaped = r"\s+".join(re.escape(part) for part in word.split())
    roster_name = kind in ROSTER_KINDS
    if word.islower() and " " not in word and not roster_name and kind in NAME_KINDS:
        # found in lower case only as a variant of a capitalised name ("ildiko" of "Ildiko"),
        # which is checked itself; where the word is an ordinary word it stays (e-mail and
        # web addresses, which are mostly written in lower case, are looked for all the same)
        return None
    if word.casefold() in ORDINARY_WORD_NAMES:
        # capitalised and inside a sentence: "told Will", not "Will you" or "I will"
        return re.compile(rf"(?<=[\w,;] ){escaped}(?!\w)")
    # other names as written: "City Hall" was a name where it was found, "the city hall" a
    # place anyone might mention; codes, e-mails and numbers in any case
    wordlike = _WORDLIKE.fullmatch(word) is not None  # "Mm-hmm", "Sorry.": words, as written
    flags = re.IGNORECASE if roster_name or (" " not in word and not wordlike) else 0
    return re.compile(rf"(?<!\w){escaped}(?!\w)", flags)


_WORD = re.compile(r"\w+(?:['’-]\w+)*")


ROSTER_KINDS = ("participant", "moderator", "observer")


def in_authored_text(key: Iterable[KeyEntry], authored: str) -> list[KeyEntry]:
    """The key's entries, other than the roster's people, that the team's own text (the
    codebook, which the reports copy) uses as written: a word the detectors took for a name
    in a transcript ("Pride", "Approach") is not a leak where the codebook says it."""
    if not authored:
        return []
    words = set(WORD_RUN.findall(authored.casefold()))
    found = []
    for entry in key:
        if entry.kind in ROSTER_KINDS or entry.kind not in LEAK_KINDS:
            continue
        if not all(w in words for w in WORD_RUN.findall(entry.original.casefold())):
            continue  # a word of it is not there: no need to search (a large codebook is slow)
        pattern = _leak_pattern(entry.original, entry.kind)
        if pattern is not None and pattern.search(authored):
            found.append(entry)
    return found


@dataclass(frozen=True)
class _Originals:
    """The key's originals as the leak check looks for them (`find_leaks`)."""

    any_case: dict[str, str]  # single words, case-folded → kind
    exact: dict[str, str]
    ordinary: dict[str, str]  # names that are ordinary words: only capitalised in a sentence
    phrases: list[_Phrase]
    tags: frozenset[str]  # pseudonyms in brackets, not searched inside

    @classmethod
    def of(cls, key: list[KeyEntry], authored: str) -> _Originals:
        excused = set(in_authored_text(key, authored))
        originals = cls(
            {}, {}, {}, [], frozenset(e.pseudonym for e in key if e.pseudonym.startswith("["))
        )
        for entry in key:
            word = entry.original.strip()
            if entry.kind not in LEAK_KINDS or word == entry.pseudonym.strip() or entry in excused:
                continue
            pattern = _leak_pattern(word, entry.kind)
            if pattern is None:
                continue
            if not _WORD.fullmatch(word):
                originals.phrases.append(_Phrase.of(word, pattern, entry.kind))
            elif word.casefold() in ORDINARY_WORD_NAMES:
                originals.ordinary.setdefault(word, entry.kind)
            elif pattern.flags & re.IGNORECASE:
                originals.any_case.setdefault(word.casefold(), entry.kind)
            else:
                originals.exact.setdefault(word, entry.kind)
        return originals

    def in_file(self, path: Path, share: tuple[int, int] = (0, 1)) -> str | None:
        """The kind of the first original found in a file, or None; with `share` (k, n),
        only in its k-th piece and every n-th after it (the others are searched elsewhere)."""
        which, shares = share
        for index, text in enumerate(_pieces_of(searchable_parts(path))):
            if index % shares != which:
                continue
            if self.tags:  # "[University 1]" is a pseudonym, not "University"
                text = _TAG.sub(lambda m: " " if m.group() in self.tags else m.group(), text)
            words = _WORD.findall(text)
            kind = _leaked_word(text, set(words), self.any_case, self.exact, self.ordinary)
            if kind is None and self.phrases:
                kind = _leaked_phrase(text, words, self.phrases)
            if kind is not None:
                return kind
        return None


LEAK_PARALLEL_BYTES = 4_000_000  # outputs above this size are searched on two processes


def find_leaks(
    folder: str | Path,
    key: Iterable[KeyEntry],
    authored: str = "",
    *,
    checked: Iterable[str | Path] = (),
) -> list[tuple[Path, str]]:
    """(file, kind) for every output file that still holds an original from the key.

    Single words are looked up among the file's words (roster names case-insensitively, other
    single words as written, names that are ordinary words only capitalised inside a
    sentence); names of several words are searched as phrases. Originals that `authored`
    (the codebook's text) uses are not looked for (`in_authored_text`). Files in `checked`
    were searched already (`LeakCheck`) and are left out. Large outputs are searched on two
    forked processes, each taking files of about half the bytes; a file larger than that is
    split between them, piece by piece.
    """
    return LeakCheck(key, authored).leaks(folder, checked)


LEAK_PIECE_CHARS = 1_000_000  # a file's text is searched in pieces of about this size
_LEAK_OVERLAP = 2_000  # longer than any original: one that a cut splits is whole in a piece


def _pieces_of(parts: Iterable[str], size: int = LEAK_PIECE_CHARS) -> Iterator[str]:
    """The parts' texts in overlapping pieces cut after white space, so that the leak
    check's word lists stay small for a project of millions of words; every original
    shorter than the overlap lies whole in some piece, and no word is cut (but in a text
    with no white space for half a piece)."""
    for text in parts:
        start = 0
        while len(text) - start > size:
            end = start + size
            space = _last_space(text, start + size // 2, end)
            end = space + 1 if space >= 0 else end
            space = _last_space(text, start + 1, end - _LEAK_OVERLAP)
            yield text[start:end]
            start = space + 1 if space >= 0 else end - _LEAK_OVERLAP
        yield text[start:]


def _last_space(text: str, start: int, end: int) -> int:
    """Where the last space, tab or line break in `text[start:end]` is, or -1."""
    return max(text.rfind(space, start, end) for space in " \n\t")


_TAG = re.compile(r"\[[^\[\]\n]{1,80}\]")


def _leaked_word(
    text: str,
    words: set[str],
    any_case: dict[str, str],
    exact: dict[str, str],
    ordinary: dict[str, str],
) -> str | None:
    if (
        words.isdisjoint(exact)
        and words.isdisjoint(ordinary)
        and {w.casefold() for w in words}.isdisjoint(any_case)
    ):
        return None  # the usual case, settled without going through the text word by word
    for match in _WORD.finditer(text):
        word = match.group()
        kind = exact.get(word) or any_case.get(word.casefold())
        if kind:
            return kind
        if (
            word in ordinary
            and match.start() >= 2
            and text[match.start() - 1] == " "
            and (text[match.start() - 2].isalnum() or text[match.start() - 2] in ",;")
        ):
            return ordinary[word]  # "told Will", not "Will you?" or "I will"
    return None


@dataclass(frozen=True)
class _Phrase:
    """An original of several words (or with signs: e-mails, numbers) for the leak check."""

    pattern: re.Pattern[str]  # the original as the leak check looks for it
    kind: str
    words: tuple[str, ...]  # its words, case-folded
    probe: re.Pattern[str]  # the case-folded original, a plain search over case-folded text

    @classmethod
    def of(cls, original: str, pattern: re.Pattern[str], kind: str) -> _Phrase:
        words = tuple(w.casefold() for w in _WORD.findall(original))
        probe = r"\s+".join(re.escape(part) for part in original.casefold().split())
        return cls(pattern, kind, words, re.compile(probe))


def _leaked_phrase(text: str, words: list[str], phrases: list[_Phrase]) -> str | None:
    """The kind of the first phrase found in the text. A phrase can only be there if its
    words and each pair of neighbouring words are; its pattern is then tried only where the
    case-folded phrase is, rather than through the whole file once per phrase."""
    folded = text.casefold()
    same_length = len(folded) == len(text)  # no letter folds to two ("ß"): same words
    sequence = _WORD.findall(folded) if same_length else [w.casefold() for w in words]
    present = set(sequence)
    candidates = [p for p in phrases if all(w in present for w in p.words)]
    if not candidates:
        return None
    leading = {word for p in candidates for word in p.words[:-1]}
    pairs = {pair for pair in pairwise(sequence) if pair[0] in leading}
    candidates = [p for p in candidates if all(pair in pairs for pair in pairwise(p.words))]
    if not candidates:
        return None
    if not same_length:  # positions in the folded text would differ from the text's
        return next((p.kind for p in candidates if p.pattern.search(text)), None)
    return next((p.kind for p in candidates if _phrase_found(text, folded, p)), None)


_PHRASE_MARGIN = 8  # characters around a phrase's words where its pattern may start or end


def _phrase_found(text: str, folded: str, phrase: _Phrase) -> bool:
    """Whether a phrase's pattern matches the text, tried around each place where the
    case-folded text holds the case-folded phrase (`folded` has the text's length)."""
    for candidate in phrase.probe.finditer(folded):
        start = max(0, candidate.start() - _PHRASE_MARGIN)
        end = min(len(text), candidate.end() + _PHRASE_MARGIN)
        hit = phrase.pattern.search(text, start, end)
        if hit is not None and (hit.end() < end or end == len(text)):
            return True
        if hit is not None and phrase.pattern.match(text, hit.start()) is not None:
            return True  # a match that reaches the window's end, checked on the whole text
    return False


_LAYOUT_PARTS = re.compile(
    r"(?:^|/)(?:styles|stylesWithEffects|fontTable|theme\d*|settings|webSettings|numbering"
    r"|app)\.xml$|\.rels$|^\[Content_Types\]\.xml$"
)
_STYLE_BLOCKS = re.compile(r"<style\b.*?</style>", re.DOTALL | re.IGNORECASE)


def searchable_parts(path: Path) -> Iterator[str]:
    """A file's texts for the leak check, one part at a time: for ZIP-based files (docx,
    xlsx, qdpx) the text of each XML and text part that holds content (not styles, fonts and
    themes); for HTML, the page without its style sheet; else the file's text."""
    with path.open("rb") as file:
        zipped = file.read(4) == b"PK\x03\x04"
    if zipped:  # docx, xlsx, qdpx: search the XML inside
        import zipfile

        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith((".xml", ".qde", ".txt")) and not _LAYOUT_PARTS.search(name):
                    xml = archive.read(name).decode("utf-8", "replace")
                    yield html.unescape(re.sub(r"<[^>]+>", " ", xml))
        return
    text = path.read_bytes().decode("utf-8", "replace")
    if path.suffix.lower() in (".html", ".htm"):
        text = _STYLE_BLOCKS.sub(" ", text)
    yield text


def searchable_text(path: Path) -> str:
    """A file's text for the leak check (`searchable_parts`, joined)."""
    return "\n".join(searchable_parts(path))


def check_leaks(
    folder: str | Path,
    key: Iterable[KeyEntry],
    authored: str = "",
    *,
    checked: Iterable[str | Path] = (),
) -> None:
    """Raise `LeakError` (naming the file and kind, never the original) if anything leaked;
    the files that leak are removed. `authored` is the codebook's text; files in `checked`
    passed a `LeakCheck` already (`find_leaks`)."""
    LeakCheck(key, authored).check_folder(folder, checked)


def _leak_error(path: Path, kind: str, more: int = 0) -> LeakError:
    others = f" (and {more} more files)" if more else ""
    return LeakError(
        f"an original {kind} identifier is still in the output{others}; the file was removed",
        file=path,
        fix="add the name to the roster aliases or to anonymize.mask, then re-run",
    )


class LeakCheck:
    """The leak check against a key: of one file at a time, for searching each output as
    soon as it is written (a run does this beside the writing of its slowest report), then
    of the rest of the folder (`check_folder`, what `check_leaks` does)."""

    def __init__(self, key: Iterable[KeyEntry], authored: str = "") -> None:
        self._originals = _Originals.of(list(key), authored)

    def __call__(self, path: str | Path) -> None:
        """Raise `LeakError` if the file holds an original of the key (the file is removed)."""
        path = Path(path)
        kind = self._originals.in_file(path)
        if kind is not None:
            path.unlink(missing_ok=True)
            raise _leak_error(path, kind)

    def leaks(
        self, folder: str | Path, checked: Iterable[str | Path] = ()
    ) -> list[tuple[Path, str]]:
        """(file, kind) for every file in `folder` but those in `checked` that holds an
        original (`find_leaks`)."""
        done = {Path(path).absolute() for path in checked}
        paths = sorted(
            p for p in Path(folder).rglob("*") if p.is_file() and p.absolute() not in done
        )
        sizes = {path: path.stat().st_size for path in paths}
        total = sum(sizes.values())
        parts = 2 if total > LEAK_PARALLEL_BYTES and (os.cpu_count() or 1) > 1 else 1
        shares = [  # (file, k, n): a file larger than a process's part is split into n shares
            (path, which, count)
            for path in paths
            for count in [parts if sizes[path] > total / parts else 1]
            for which in range(count)
        ]
        groups: list[list[tuple[Path, int, int]]] = [[] for _ in range(parts)]
        loads = [0.0] * parts
        for share in sorted(shares, key=lambda s: sizes[s[0]] / s[2], reverse=True):
            lightest = loads.index(min(loads))  # largest to the lightest group
            groups[lightest].append(share)
            loads[lightest] += sizes[share[0]] / share[2]

        def search(group: list[tuple[Path, int, int]]) -> list[tuple[Path, str]]:
            found = []
            for path, which, count in group:
                kind = self._originals.in_file(path, (which, count))
                if kind is not None:
                    found.append((path, kind))
            return found

        found: dict[Path, str] = {}
        for part in map_in_processes(search, groups, parts):
            for path, kind in part:
                found.setdefault(path, kind)
        return sorted(found.items(), key=lambda leak: paths.index(leak[0]))

    def check_folder(self, folder: str | Path, checked: Iterable[str | Path] = ()) -> None:
        """Raise `LeakError` if a file in `folder` but those in `checked` holds an original;
        the files that do are removed (`check_leaks`)."""
        leaks = self.leaks(folder, checked)
        if not leaks:
            return
        for path, _kind in leaks:
            path.unlink(missing_ok=True)
        raise _leak_error(*leaks[0], more=len(leaks) - 1)
