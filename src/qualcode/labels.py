"""Recognising speaker labels at the start of a line.

A label is a name (one to six words, optionally with a parenthesised affiliation), optionally
with a timestamp before or after it, followed by a colon: `Anna:`, `P3:`, `Dr. Kovács:`,
`[00:01:23] Anna:`, `Anna [00:01:23]:`, `Speaker 1 (00:03):`, `Mr. Don Davies (Vancouver, NDP):`,
`**Anna:**`. The Otter/Rev layout puts the label alone on a line with a time: `Anna  0:03`.

A colon inside a sentence is not a label: every word of the name must be capitalised (or a
digit, or a particle such as `van` or `de`). A single capitalised word (`Honestly: no.`) counts
only when it is a known speaker, a moderator word, or used as a label at least twice in the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_WORD = r"[^\W_][\w'’.\-]*"
_PAREN = r"\((?:[^()\n]|\([^()\n]*\))*\)"
_NAME = rf"(?P<name>[^\W\d_][\w'’.\-]*(?:[ \t]+{_WORD}){{0,5}}(?:[ \t]*{_PAREN})?)"

_COLON_LABEL = re.compile(
    rf"^(?:[\[(]?(?P<lead>{_TIME})[\])]?[ \t]+)?{_NAME}"
    rf"(?:[ \t]*[\[(](?P<trail>{_TIME})[\])])?[ \t]*:(?![/\d])[ \t]*(?P<text>.*)$"
)
_TIMED_HEADER = re.compile(rf"^{_NAME}[ \t]+(?P<trail>{_TIME})[ \t]*$")
_BOLD = re.compile(r"^(\*\*|__)(?P<inner>.+?)\1(?P<rest>.*)$")
_TIME_IN_PARENS = re.compile(rf"[ \t]*[\[(](?P<time>{_TIME})[\])]$")

_USERNAME = re.compile(r"^[^\W\d_][\w.\-]*[\w]$")
PARTICLES = frozenset(
    """
van von der den de da del della di du la le bin ibn al el ten ter y of and the
""".split()
)
MODERATOR_LABEL = re.compile(
    r"^(?:co-?)?(?:moderator|facilitator|interviewer|mod|m|int|i|q|host|chair)\s*\d*$"
)
NOT_LABELS = frozenset(
    """
note notes nb ps example examples e.g i.e honestly basically summary update warning edit
source re subject answer question time date location transcript transcriber also so well
okay ok yes no yeah because but and
""".split()
)


@dataclass(frozen=True)
class LabelMatch:
    """A label found at the start of a line, with the rest of the line as text."""

    label: str
    text: str
    start: float | None
    header_only: bool
    strong: bool
    end: float | None = None


def parse_time(value: str | None) -> float | None:
    """`1:02:03.5` → 3723.5 seconds; `0:03` → 3.0; None stays None."""
    if not value:
        return None
    parts = value.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def label_key(label: str) -> str:
    """Case- and spacing-insensitive key for comparing labels (`ANNA ` == `Anna`)."""
    return " ".join(label.casefold().replace("’", "'").rstrip(".").split())


def is_moderator_label(label: str) -> bool:
    """Labels such as Moderator, Facilitator, Interviewer, M, Mod (with or without a number)."""
    return bool(MODERATOR_LABEL.match(label_key(label)))


def _name_shape(name: str, lenient: bool = False) -> tuple[bool, bool]:
    """(plausible, strong) for a candidate name by its capitalisation.

    `lenient` (cue prefixes of captions) also accepts a lower-case user name (`bence.toth`).
    """
    outside = re.sub(_PAREN, " ", name).split()
    if not outside:
        return False, False
    if lenient and len(outside) == 1 and _USERNAME.match(outside[0]):
        return True, False
    for i, word in enumerate(outside):
        first = re.sub(r"^[a-z]{1,3}['’](?=\w)", "", word)[0]  # d'Entremont, l'Anglais
        if first.isupper() or first.isdigit() or (i > 0 and any(c.isupper() for c in word)):
            continue  # capitalised, a number, or camel case inside a name (Zsófia's iPhone)
        if i > 0 and word.casefold() in PARTICLES:
            continue
        return False, False
    letters = [c for c in "".join(outside) if c.isalpha()]
    all_caps = len(letters) > 1 and all(c.isupper() for c in letters)
    several_words = len(outside) > 1 and outside[0].casefold().rstrip(".") not in NOT_LABELS
    has_digit = any(c.isdigit() for c in name)
    return True, all_caps or several_words or has_digit or "(" in name


def match_label(line: str, lenient: bool = False) -> LabelMatch | None:
    """The speaker label at the start of `line`, if the line's shape allows one."""
    stripped = line.strip()
    bold = _BOLD.match(stripped)
    if bold:
        inner, rest = bold["inner"].strip(), bold["rest"]
        stripped = f"{inner} {rest.strip()}" if inner.endswith(":") else f"{inner}{rest}"
    for pattern, header_only in ((_TIMED_HEADER, True), (_COLON_LABEL, False)):
        found = pattern.match(stripped)
        if not found:
            continue
        name = found["name"].strip()
        time_text = found.groupdict().get("lead") or found["trail"]
        paren_time = _TIME_IN_PARENS.search(name)
        if paren_time and time_text is None:
            time_text, name = paren_time["time"], name[: paren_time.start()].strip()
        plausible, strong = _name_shape(name, lenient and not header_only)
        if not plausible or label_key(name) in NOT_LABELS:
            continue
        text = "" if header_only else found["text"].strip()
        return LabelMatch(
            label=name,
            text=text,
            start=parse_time(time_text),
            header_only=header_only or not text,
            strong=strong or time_text is not None or header_only,
        )
    return None


def find_labels(
    lines: Sequence[str], known: Iterable[str] = (), *, separate_blocks: bool = False
) -> list[LabelMatch | None]:
    """The accepted label of every line (None for lines that continue a turn).

    `known` holds labels and aliases from the roster; they, moderator words and labels with a
    strong shape are always accepted, as are single words used as a label at least twice.
    A single word used once is accepted only where a turn can start in this file's layout:
    after a blank line when turns are separated by blank lines, else right after another
    label (or at the top). `separate_blocks` says every line is its own block (cue texts).
    """
    known_keys = {label_key(k) for k in known}
    candidates = [match_label(line, lenient=separate_blocks) for line in lines]
    counts = Counter(label_key(c.label) for c in candidates if c is not None)

    def sure(candidate: LabelMatch) -> bool:
        key = label_key(candidate.label)
        return (
            candidate.strong
            or key in known_keys
            or counts[key] >= 2
            or is_moderator_label(candidate.label)
        )

    def blank_before(i: int) -> bool:
        return separate_blocks or i == 0 or not lines[i - 1].strip()

    established = [i for i, c in enumerate(candidates) if i > 0 and c is not None and sure(c)]
    blank_layout = bool(established) and 2 * sum(map(blank_before, established)) > len(established)
    accepted: list[LabelMatch | None] = []
    previous_was_label = True  # the top of the file
    for i, candidate in enumerate(candidates):
        if candidate is None:
            accepted.append(None)
            if lines[i].strip():
                previous_was_label = False
            continue
        if sure(candidate):
            ok = True
        elif blank_layout:
            ok = blank_before(i)
        else:
            ok = separate_blocks or previous_was_label
        accepted.append(candidate if ok else None)
        previous_was_label = ok
    return accepted
