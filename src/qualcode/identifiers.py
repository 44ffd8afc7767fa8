"""Finding identifiers in text: detectors that only return spans (kind, detector, offsets).

Four detectors, merged by `merge_spans`: the roster (participants' names, aliases, nicknames),
patterns (emails, phones, URLs, postcodes, dates, ages, ID numbers), spaCy's named entities,
and the project's own lists of words to mask. Words that name no one (weekdays, months,
languages, subjects, apps, eponyms) are kept. `anonymize.py` turns spans into pseudonyms.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .nlp import load_pipeline

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from .roster import Roster

PERSON_KINDS = ("participant", "moderator", "observer", "person")
NAME_KINDS = (*PERSON_KINDS, "place", "organisation")
DETECTOR_PRIORITY = {"roster": 0, "list": 1, "pattern": 2, "propagation": 3, "ner": 4}

# Names that are also ordinary English words: masked only where they name a person.
ORDINARY_WORD_NAMES = frozenset(
    """
will rose hope bill grace faith mark joy dawn april may june august summer autumn ivy lily
daisy holly ruby pearl amber crystal sky river brook hunter sandy rusty bob pat sue jack
frank art gene ray rob nick dean drew wade chase cliff dale glen grant heath lance miles
norm victor patience prudence charity honor honour justice destiny trinity harmony melody
penny ginger brandy candy misty star storm haven page reed rod sunny dot kitty carol don eve
ed sterling bella iris jasmine violet hazel olive rock stone king bishop baker cook fisher
mason porter
""".split()
)
TITLES = (
    "dr",
    "dr.",
    "doctor",
    "prof",
    "prof.",
    "professor",
    "mr",
    "mr.",
    "mrs",
    "mrs.",
    "ms",
    "ms.",
    "miss",
    "sir",
    "dame",
    "nurse",
    "sister",
)
_TITLE = r"(?:Dr\.?|Doctor|Prof\.?|Professor|Mr\.?|Mrs\.?|Ms\.?|Miss|Sir|Dame|Nurse)"

KEEP_WORDS = frozenset(
    """
monday tuesday wednesday thursday friday saturday sunday weekend january february march
april may june july august september october november december english hungarian german
french spanish italian portuguese norwegian swedish danish finnish dutch polish czech slovak
romanian arabic persian farsi hebrew turkish russian chinese japanese korean hindi urdu
greek latin anatomy histology physiology biochemistry pathology pharmacology microbiology
immunology embryology neurology cardiology surgery psychiatry paediatrics pediatrics
medicine teams moodle whatsapp anki zoom skype facebook instagram messenger google youtube
excel word powerpoint outlook neptun tiktok snapchat telegram viber discord gmail netflix
spotify moderator facilitator interviewer covid covid-19 corona coronavirus christmas easter
ramadan god erasmus osteology krebs ok okay yeah
""".split()
)
EPONYM_NOUNS = (
    "cycle",
    "syndrome",
    "disease",
    "sign",
    "test",
    "reflex",
    "law",
    "equation",
    "method",
    "scale",
    "criteria",
    "score",
    "classification",
    "triad",
    "manoeuvre",
    "maneuver",
    "fracture",
    "loop",
    "curve",
    "'s",
    "’s",
)
ORGANISATION_WORDS = re.compile(
    r"\b(?:hospital|clinic|infirmary|centre|center|university|faculty|college|institute|"
    r"school|academy|company|ltd|inc|foundation|association|club|society)\b",
    re.IGNORECASE,
)
PROPER_NOUN_TAGS = ("NNP", "NNPS")
NER_KINDS = {
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "ORG": "organisation",
    "DATE": "date",
    "NORP": "group",
    "MONEY": "amount",
    "QUANTITY": "amount",
}
MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|"
    "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)


@dataclass(frozen=True)
class Identifier:
    """A stretch of text that identifies someone: where, what kind, and who found it."""

    start: int
    end: int
    kind: str
    text: str
    detector: str
    person: str = ""  # the roster person (or the name) it refers to, for pseudonyms

    def to_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "text": self.text,
            "detector": self.detector,
        }


@dataclass(frozen=True)
class RosterName:
    """One name of a roster person, with the person's key and role."""

    name: str
    person: str
    role: str
    transcripts: frozenset[str] = frozenset()  # empty: every transcript


@dataclass(frozen=True)
class Lists:
    """The project's own lists: words to always mask (with a kind) and words to keep."""

    mask: dict[str, str] = field(default_factory=dict)
    keep: frozenset[str] = frozenset()


def person_key(names: Iterable[str], pseudonym: str = "") -> str:
    """One key per person: the pseudonym if the roster gives one, else the longest name."""
    if pseudonym:
        return f"pseudonym:{pseudonym.casefold()}"
    return "name:" + max(names, key=lambda n: (len(n), n)).casefold()


def roster_names(roster: Roster | None) -> list[RosterName]:
    """Every name the roster knows, with parts of full names (`Anna`, `Kovács`)."""
    if roster is None:
        return []
    found: dict[tuple[str, str], RosterName] = {}
    for entry in roster.entries:
        names = [n for n in entry.names if n.strip() and n.strip().upper() != "UNKNOWN"]
        key = person_key(names, entry.pseudonym)
        scope = frozenset({entry.transcript}) if entry.transcript else frozenset()
        parts = [
            part
            for name in names
            for part in re.split(r"[\s,]+", name)
            if len(part.strip(".")) > 1
            and part.casefold().rstrip(".") not in {t.rstrip(".") for t in TITLES}
        ]
        for name in [*names, *parts]:
            name = name.strip()
            if name.casefold() in KEEP_WORDS:
                continue
            item = (name.casefold(), key)
            known = found.get(item)
            merged_scope = (
                scope | known.transcripts
                if known and scope and known.transcripts
                else frozenset()
                if known
                else scope
            )
            found[item] = RosterName(name, key, entry.role, merged_scope)
    return list(found.values())


def _loose(name: str) -> str:
    """A regex for a name that also matches it without diacritics (Zsófi ~ Zsofi)."""
    pieces = []
    for char in name:
        base = unicodedata.normalize("NFKD", char)[0]
        if base != char and base.isalpha():
            pieces.append(f"[{re.escape(char)}{re.escape(base)}]")
        elif char in "'’":
            pieces.append("['’]")
        elif char.isspace():
            pieces.append(r"\s+")
        else:
            pieces.append(re.escape(char))
    return "".join(pieces)


_NAME_FOLLOWERS = frozenset(
    "and said says was is has had told thinks thought did does asked just also knows "
    "wanted came went".split()
)


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘([")
    return not before or before[-1] in ".!?\n…:-–—"


def names_a_person(text: str, start: int, end: int, doc: Doc | None) -> bool:
    """Whether an ordinary-word name (Will, Rose, Hope) is used as a name here."""
    word = text[start:end]
    if not word[:1].isupper():
        return False
    after = text[end : end + 2]
    if not _sentence_initial(text, start):
        return True
    if after.startswith(",") or after.startswith("?") or after.startswith("!"):
        return True  # a vocative: "Will, what do you think?"
    following = re.match(r"\s+([\w']+)", text[end : end + 20])
    if text[end : end + 2] in ("'s", "’s") or (
        following and following.group(1).casefold() in _NAME_FOLLOWERS
    ):
        return True  # "Will and I went", "Rose said", "Hope's mentee"
    if doc is not None:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is not None and (
            any(t.tag_ in PROPER_NOUN_TAGS for t in span)
            or any(t.ent_type_ == "PERSON" for t in span)
        ):
            return True
    return False


@functools.lru_cache(maxsize=32)
def _name_matcher(
    names: tuple[tuple[str, str, str], ...], case_sensitive: bool
) -> tuple[re.Pattern[str], dict[str, tuple[str, str, str]], dict[str, tuple[str, str, str]]]:
    """One regex for many names (compiled once per list), and look-ups by folded name."""
    by_loose: dict[str, tuple[str, str, str]] = {}
    for name, kind, person in sorted(names, key=lambda n: -len(n[0])):
        by_loose.setdefault(name.casefold(), (name, kind, person))
    pattern = re.compile(
        r"(?<![\w@.])("
        + "|".join(_loose(info[0] if case_sensitive else key) for key, info in by_loose.items())
        + r")(?=['’]s\b|[^\w@]|$)",
        0 if case_sensitive else re.IGNORECASE,
    )
    plain = {
        unicodedata.normalize("NFKD", k).encode("ascii", "ignore").decode(): v
        for k, v in by_loose.items()
    }
    return pattern, by_loose, plain


def find_names(
    text: str,
    names: Sequence[tuple[str, str, str]],
    doc: Doc | None,
    detector: str,
    case_sensitive: bool = False,
) -> list[Identifier]:
    """Every occurrence of the given (name, kind, person) on word boundaries, with possessives.

    Names are case-insensitive, except names that are also ordinary words, which count only
    where they name a person (`names_a_person`).
    """
    if not names:
        return []
    pattern, by_loose, plain = _name_matcher(tuple(names), case_sensitive)
    found = []
    for match in pattern.finditer(text):
        word = match.group(1)
        key = word.casefold()
        info = (
            by_loose.get(key)
            or by_loose.get(" ".join(key.split()))
            or plain.get(unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode())
        )
        if info is None:
            continue
        name, kind, person = info
        if case_sensitive and word != name and " ".join(word.split()) != name:
            continue
        if name.casefold() in ORDINARY_WORD_NAMES and not names_a_person(
            text, match.start(1), match.end(1), doc
        ):
            continue
        found.append(Identifier(match.start(1), match.end(1), kind, word, detector, person))
    return found


def roster_identifiers(
    text: str, transcript_id: str, names: Sequence[RosterName], doc: Doc | None
) -> list[Identifier]:
    """Names from the roster: full names everywhere, short names in the person's sessions."""
    usable = [
        (n.name, n.role, n.person)
        for n in names
        if len(n.name.split()) > 1 or not n.transcripts or transcript_id in n.transcripts
    ]
    return find_names(text, usable, doc, "roster")


# --- patterns -------------------------------------------------------------------------

_HEDGE = r"(?:like|about|around|only|just|nearly|almost|already)\s+"
_UNITS = "two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_NUMBER = rf"(?:\d{{1,3}}|(?:{_TENS})(?:[\s-](?:one|{_UNITS}))?|{_TEENS}|{_UNITS})"
_NOT_AN_AGE = (
    r"(?!\s*(?:%|percent|minutes?|hours?|days?|weeks?|months?|semesters?"
    r"|years?(?!\s+old)|euros?|pounds?|dollars?|forints?|people|students|mentees"
    r"|patients|times|o'clock|am\b|pm\b|of\b|or\b|to\b|[:.,]\d|-year))"
)
_STREET = (
    r"(?:utca|út|útja|tér|körút|sor|köz|Street|St\.|Road|Rd\.?|Avenue|Ave\.?|Lane|Way"
    r"|Close|Drive|Square|Straße|Strasse|Gasse|Allee|rue|via)"
)
_CAPITALISED = r"[A-ZÁÉÍÓÖŐÚÜŰÄÅØ][\w'’-]+"
_DOMAINS = r"(?:com|org|net|edu|gov|io|hu|uk|de|fr|se|no|nl|eu|info|example|ac\.uk|co\.uk)"

# (kind, pattern): the span is the named group `value` if the pattern has one
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "url",
        re.compile(
            r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]]"
            rf"|\b[\w-]+(?:\.[\w-]+)*\.{_DOMAINS}\b(?:/[^\s<>\"]*[^\s<>\".,;:!?)\]])?",
            re.IGNORECASE,
        ),
    ),
    (
        "phone",
        re.compile(
            r"(?:\+|\bplus\s+|\b00)\d{1,3}(?:[\s.\-/]?\(?\d{1,4}\)?){2,5}\d"
            r"|\(0?\d{2,5}\)\s?\d{3,4}[\s.\-]?\d{3,4}\b"
            r"|\b0\d{1,4}[\s/.\-]\d{3,4}[\s.\-]?\d{3,4}\b"
            r"|\b555[\s.\-]\d{4}\b",
            re.IGNORECASE,
        ),
    ),
    (
        "postcode",
        re.compile(
            r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"
            r"|\b\d{5}-\d{4}\b"
            r"|\b(?:[A-Z]{1,2}-)\d{4,5}\b"
        ),
    ),
    (
        "date",
        re.compile(
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{4}})?"
            rf"|\b(?:{MONTHS})\.?\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
            rf"|\b(?:{MONTHS})\.?\s+\d{{4}}\b"
            r"|\b\d{4}-\d{2}-\d{2}\b"
            r"|\b\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})\b"
            r"|\b(?:in|since|from|until|till|born|of|year)\s+(?P<value>(?:19|20)\d{2})\b",
            re.IGNORECASE,
        ),
    ),
    (
        "age",
        re.compile(
            rf"\b(?P<value>{_NUMBER}[\s-]+(?:years?|yrs?|months?|weeks?|days?)[\s-]+old)\b"
            rf"|\b(?P<aged>aged?\s+(?:of\s+)?{_NUMBER})\b"
            rf"|\b(?:I'?m|I\s+am|I\s+was|you'?re|he'?s|she'?s|he\s+is|she\s+is|he\s+was|she\s+was"
            rf"|turned|turning|(?:child|boy|girl|man|woman)\s+of"
            rf"|(?:daughter|son|child|brother|sister|wife|husband|mother|father|grandmother"
            rf"|grandfather|grandson|granddaughter|partner)\s+(?:is|was|turned))\s+(?:{_HEDGE})?"
            rf"(?P<number>{_NUMBER})\b{_NOT_AN_AGE}",
            re.IGNORECASE,
        ),
    ),
    (
        "person",
        re.compile(
            rf"\b(?P<value>{_CAPITALISED}\s+(?:néni|bácsi))\b"  # Hungarian "auntie", "uncle"
            r"|\b(?i:my|our|his|her|their)\s+(?i:daughter|son|wife|husband|partner|mother|mum"
            r"|mom|father|dad|brother|sister|friend|mentee|mentor|colleague|grandson"
            r"|granddaughter|baby)(?:'s\s+name)?\s+(?i:(?:is|was)(?:\s+(?:called|named))?"
            r"|called|named)\s+"
            rf"(?P<name>{_CAPITALISED}(?:\s+{_CAPITALISED})?)"
        ),
    ),
    (
        "postcode",
        re.compile(
            r"(?i:post\s?code|zip(?:\s+code)?|postal\s+code)\b[^\d\n]{0,16}"
            r"(?P<code>[A-Z0-9]{2,5}(?:[ -][A-Z0-9]{2,4})?)\b"
        ),
    ),
    (
        "place",
        re.compile(
            rf"\b(?:{_CAPITALISED}\s+){{1,3}}{_STREET}(?!\w)"
            r"|\b(?i:ward)\s+\d+[A-Z]?\b"
        ),
    ),
    (
        "id",
        re.compile(
            r"\b\d{3,6}/\d{2,4}\b"
            r"|\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6}\b"
            r"|\b\d{7,}\b"
            r"|\b\d{3,4}(?:[\s-]\d{3,4}){2}\b"
            r"|\b[A-Z]{1,3}-\d{4,}\b"
            r"|\b(?:Bed|Cot|Bay|Room)\s+\d+[A-Z]?\b"
        ),
    ),
]


def pattern_identifiers(text: str) -> list[Identifier]:
    """Emails, URLs, phone numbers, postcodes, dates, ages, streets, wards and ID numbers."""
    found = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            group = next(
                (
                    g
                    for g in ("value", "aged", "number", "name", "code")
                    if match.groupdict().get(g)
                ),
                None,
            )
            start, end = match.span(group) if group else match.span()
            if kind == "person" and _kept(text[start:end], frozenset()):
                continue  # "my friend is Hungarian"
            found.append(Identifier(start, end, kind, text[start:end], "pattern"))
    return found


# --- named entities -------------------------------------------------------------------


def _kept(text: str, keep: frozenset[str]) -> bool:
    if " ".join(text.casefold().split()) in keep:
        return True
    words = [w.strip(".,;:!?\"'’()[]").casefold() for w in text.split()]
    words = [w for w in words if w and w not in ("the", "a", "an")]
    return not words or all(w in KEEP_WORDS or w in keep for w in words)


def _eponym(text: str, end: int) -> bool:
    follow = text[end : end + 24].lstrip().casefold()
    return any(follow.startswith(noun) for noun in EPONYM_NOUNS if noun not in ("'s", "’s")) or (
        text[end : end + 2] in ("'s", "’s")
        and any(text[end + 2 : end + 30].lstrip().casefold().startswith(n) for n in EPONYM_NOUNS)
    )


def ner_identifiers(doc: Doc, lists: Lists, labels: Iterable[str] = NER_KINDS) -> list[Identifier]:
    """Named entities worth masking, with titles joined to persons (`Dr. Fehér`)."""
    text = doc.text
    wanted = set(labels)
    found = []
    for ent in doc.ents:
        if ent.label_ not in wanted:
            continue
        kind = NER_KINDS[ent.label_]
        start, end = ent.start_char, ent.end_char
        value = text[start:end]
        while value.endswith(("'s", "’s")):
            end -= 2
            value = text[start:end]
        if value[:4].casefold() == "the ":
            start += 4
            value = text[start:end]
        if not value or _kept(value, lists.keep):
            continue
        if kind == "date" and not (
            re.search(r"\d", value)
            and re.search(rf"\b(?:{MONTHS})\b|\d{{4}}|\d+[./]\d+", value, re.IGNORECASE)
        ):
            continue  # "last year", "two weeks", "Monday", "first year" name no date
        if kind in ("person", "organisation", "place") and not any(c.isupper() for c in value):
            continue
        if kind in ("person", "organisation") and _eponym(text, end):
            continue
        if kind == "place" and ORGANISATION_WORDS.search(value):
            kind = "organisation"  # "St. Ladislaus Teaching Hospital" tagged as a facility
        if kind in ("person", "place") and len(value) <= 3 and any(c.isdigit() for c in value):
            continue  # "F1", "F2": grades and codes, not people or places
        if kind == "organisation" and value.isupper() and len(value) <= 3:
            continue  # GP, NHS, ICU: kinds of place, not a particular one
        if (
            kind in ("person", "organisation")
            and re.search(r"\b(?:from|in|near|to|at|around)\s+$", text[max(0, start - 8) : start])
            and len(value.split()) == 1
        ):
            kind = "place"  # "I'm from Győr", "back to Pécs"
        if kind == "person":
            title = re.search(rf"{_TITLE}\s+$", text[max(0, start - 12) : start])
            if title:
                start -= len(title.group())
                value = text[start:end]
        found.append(Identifier(start, end, kind, value, "ner"))
    return found


def list_identifiers(text: str, lists: Lists, doc: Doc | None) -> list[Identifier]:
    """The project's words to always mask."""
    return find_names(text, [(word, kind, "") for word, kind in lists.mask.items()], doc, "list")


def proper_noun_identifiers(
    doc: Doc, taken: Sequence[Identifier], lists: Lists
) -> list[Identifier]:
    """Capitalised proper nouns inside a sentence that no detector claimed."""
    found = []
    full = doc.text  # Doc.text joins every token: compute it once
    covered = [(s.start, s.end) for s in taken] + [
        m.span()
        for phrase in lists.keep
        for m in re.finditer(re.escape(phrase), full, re.IGNORECASE)
    ]
    for token in doc:
        if token.tag_ not in PROPER_NOUN_TAGS or not token.text[:1].isupper():
            continue
        start, end = token.idx, token.idx + len(token.text)
        text = token.text.casefold()
        if text in KEEP_WORDS or text in lists.keep or len(token.text) < 2:
            continue
        if token.text.isupper() or any(s <= start < e for s, e in covered):
            continue  # acronyms (NHS, ICU) and words already found
        before = full[max(0, start - 40) : start].rstrip()
        if not before or before[-1] in '.!?\n:[("“]':
            continue
        previous = doc[token.i - 1] if token.i else None
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if previous is not None and (previous.tag_ in ("DT", "PRP$", "WP$", "PDT")):
            continue  # "the Convention", "his Apgar score": a thing, not a person
        if following is not None and (
            following.like_num or (following.text in ("'s", "’s") and _eponym(full, end))
        ):
            continue  # "Article 25", "Rule 59", "Parkinson's disease"
        if _eponym(full, end) or (text.endswith("s") and text[:-1] in KEEP_WORDS):
            continue  # "Krebs cycle", "Four Tuesdays"
        found.append(Identifier(start, end, "person", token.text, "propn"))
    return found


# --- merging --------------------------------------------------------------------------


def merge_spans(spans: Iterable[Identifier]) -> list[Identifier]:
    """Resolve overlaps: the longer span wins, then the more trusted detector."""
    ordered = sorted(
        spans, key=lambda s: (-(s.end - s.start), DETECTOR_PRIORITY.get(s.detector, 9), s.start)
    )
    kept: list[Identifier] = []
    taken: list[tuple[int, int]] = []
    for span in ordered:
        if span.end <= span.start:
            continue
        if any(span.start < end and start < span.end for start, end in taken):
            continue
        kept.append(span)
        taken.append((span.start, span.end))
    return sorted(kept, key=lambda s: s.start)


def ner_pipeline(nlp: Language) -> list[str]:
    """Components the detectors need: fine-grained tags (proper nouns) and entities; the
    detectors read `tag_` (NNP), so the attribute ruler that maps tags to `pos_` is skipped."""
    return [c for c in ("tok2vec", "tagger", "ner") if c in nlp.pipe_names]


def detect_identifiers(
    text: str,
    roster: Roster | None = None,
    *,
    transcript_id: str = "",
    lists: Lists | None = None,
    nlp: Language | None = None,
    model: str | None = None,
) -> list[Identifier]:
    """All identifiers in one text (spans with start, end, kind, text, detector)."""
    lists = lists or Lists()
    nlp = nlp or load_pipeline(model)
    with nlp.select_pipes(enable=ner_pipeline(nlp)):
        doc = nlp(text)
    return detect_in_doc(
        doc,
        roster_names(roster),
        transcript_id,
        lists,
        ("PERSON", "GPE", "LOC", "FAC", "ORG", "DATE"),
    )


def detect_in_doc(
    doc: Doc,
    names: Sequence[RosterName],
    transcript_id: str,
    lists: Lists,
    ner_labels: Iterable[str] = NER_KINDS,
    proper_nouns: bool = True,
) -> list[Identifier]:
    """Every detector on one parsed text, merged."""
    text = doc.text
    spans = (
        roster_identifiers(text, transcript_id, names, doc)
        + list_identifiers(text, lists, doc)
        + pattern_identifiers(text)
        + ner_identifiers(doc, lists, ner_labels)
    )
    if proper_nouns:
        spans += proper_noun_identifiers(doc, merge_spans(spans), lists)
    return merge_spans(spans)
