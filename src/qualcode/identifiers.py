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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .nlp import load_pipeline, pipe_texts

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

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
# Heads of names of organisations and places, for the kind of a proper-noun run and for
# widening a name over the words around it ("the Brandenburg Regional Labour Court")
ORGANISATION_HEADS = re.compile(
    r"\b(?:hospital|clinic|infirmary|centre|center|university|faculty|college|institute|school"
    r"|academy|company|ltd|inc|gmbh|foundation|association|club|society|court|tribunal|ministry"
    r"|office|council|committee|department|directorate|agency|authority|board|commission"
    r"|government|parliament|party|army|prison|police|bank|church|union|service|chamber"
    r"|assembly|corporation|trust|fund|ensemble|prosecutor|administration|inspectorate|section"
    r"|division|bureau)s?\b",
    re.IGNORECASE,
)
DOCUMENT_HEADS = re.compile(
    r"(?:convention|treaty|protocol|act|code|charter|constitution|regulation|directive|law"
    r"|rule|article|section|chapter|paragraph|annex|schedule)s?",
    re.IGNORECASE,
)
PLACE_HEADS = re.compile(
    r"\b(?:street|road|avenue|lane|square|river|lake|mountains?|hills?|valley|island|village"
    r"|town|city|county|district|province|region|borough|municipality|park|cemetery)\b",
    re.IGNORECASE,
)
# Languages, which are also nationalities: kept as languages ("we spoke Hungarian"), masked
# as nationalities only when NORP is asked for ("a Turkish national")
LANGUAGES = frozenset(
    """
english hungarian german french spanish italian portuguese norwegian swedish danish finnish
dutch polish czech slovak romanian arabic persian farsi hebrew turkish russian chinese japanese
korean hindi urdu greek latin
""".split()
)
_LANGUAGE_USE = re.compile(
    r"(?i:\b(?:in|into|speak|speaks|speaking|spoke|spoken|learn|learns|learning|learned|learnt"
    r"|study|studies|studying|studied|teach|teaches|teaching|taught|medical|translated|from"
    r"|my|your|his|her|our|their)\s+$)"  # "my Hungarian is bad"
)
_LANGUAGE_NOUNS = re.compile(
    r"\s+(?i:class|classes|course|courses|lesson|lessons|exam|exams|language|teacher|teachers"
    r"|words?|grammar|test|tests|speakers?|translation|version|subtitles|lecture|lectures)\b"
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


_NAME_START = "(?:(?<![\\w@.])|(?<=\\.)(?=[A-ZÀ-ÖØ-Þ]))"
# after a full stop with no space only when capitalised ("now.I'm", "Mr.Kovács"; not the
# "kovacs" of an e-mail address, which the e-mail pattern takes whole)
_NAME_END = r"(?=['’]s\b|[^\w@]|$)"
WORD_RUN = re.compile(r"\w+")


def _fold(word: str) -> str:
    """A word case-folded with its letters' diacritics dropped, as `_loose` lets them go."""
    if word.isascii():
        return word.casefold()
    return "".join(unicodedata.normalize("NFKD", char)[0] for char in word).casefold()


@dataclass(frozen=True)
class _NameMatcher:
    """Many names found in a text by a look-up per word: each name's pattern is tried only
    where a word of the text starts as the name does, so the cost grows with the text, not
    with the text times the number of names (a project's propagation has thousands)."""

    by_first_word: dict[str, list[re.Pattern[str]]]  # folded first word → longest name first
    by_first_sign: dict[str, list[re.Pattern[str]]]  # names that start with a sign: "(EAT)"
    by_loose: dict[str, tuple[str, str, str]]
    plain: dict[str, tuple[str, str, str]]
    case_sensitive: bool

    def finditer(self, text: str) -> list[re.Match[str]]:
        """Non-overlapping matches, leftmost first and at one place the longest name, as one
        alternation of every name would give; the name is the match's group 1."""
        starts: list[tuple[int, list[re.Pattern[str]]]] = []
        for word in WORD_RUN.finditer(text):
            patterns = self.by_first_word.get(_fold(word.group()))
            if patterns:
                starts.append((word.start(), patterns))
        if self.by_first_sign:
            signs = "".join(re.escape(sign) for sign in self.by_first_sign)
            for sign in re.finditer(f"[{signs}]", text):
                starts.append((sign.start(), self.by_first_sign[sign.group()]))
            starts.sort(key=lambda start: start[0])
        found: list[re.Match[str]] = []
        resume = 0
        for position, patterns in starts:
            if position < resume:
                continue
            for pattern in patterns:
                match = pattern.match(text, position)
                if match is not None:
                    found.append(match)
                    resume = match.end()
                    break
        return found


@functools.lru_cache(maxsize=32)
def _name_matcher(names: tuple[tuple[str, str, str], ...], case_sensitive: bool) -> _NameMatcher:
    """The matcher for a list of names (built once per list), and look-ups by folded name."""
    by_loose: dict[str, tuple[str, str, str]] = {}
    for name, kind, person in sorted(names, key=lambda n: -len(n[0])):
        by_loose.setdefault(name.casefold(), (name, kind, person))
    flags = 0 if case_sensitive else re.IGNORECASE
    by_first_word: dict[str, list[re.Pattern[str]]] = {}
    by_first_sign: dict[str, list[re.Pattern[str]]] = {}
    for key, info in by_loose.items():  # longest first
        written = info[0] if case_sensitive else key
        pattern = re.compile(f"{_NAME_START}({_loose(written)}){_NAME_END}", flags)
        first = WORD_RUN.match(written)
        if first is not None:
            by_first_word.setdefault(_fold(first.group()), []).append(pattern)
        elif written[:1] in "'’":  # `_loose` lets either apostrophe stand for the other
            for sign in "'’":
                by_first_sign.setdefault(sign, []).append(pattern)
        elif written:
            by_first_sign.setdefault(written[0], []).append(pattern)
    plain = {
        unicodedata.normalize("NFKD", k).encode("ascii", "ignore").decode(): v
        for k, v in by_loose.items()
    }
    return _NameMatcher(by_first_word, by_first_sign, by_loose, plain, case_sensitive)


def name_matcher(
    names: Iterable[tuple[str, str, str]], case_sensitive: bool = False
) -> _NameMatcher:
    """What `find_names` looks for, built once: pass it instead of the names when the same
    names are looked for in many texts."""
    return _name_matcher(tuple(names), case_sensitive)


def find_names(
    text: str,
    names: Sequence[tuple[str, str, str]] | _NameMatcher,
    doc: Doc | Callable[[], Doc] | None,
    detector: str,
    case_sensitive: bool = False,
) -> list[Identifier]:
    """Every occurrence of the given (name, kind, person) on word boundaries, with possessives.

    Names are case-insensitive, except names that are also ordinary words, which count only
    where they name a person (`names_a_person`). `names` may be a `name_matcher` built once;
    `doc` may be a function that gives it, called only when a name needs its tags.
    """
    if not names:
        return []
    matcher = names if isinstance(names, _NameMatcher) else name_matcher(names, case_sensitive)
    by_loose, plain, case_sensitive = matcher.by_loose, matcher.plain, matcher.case_sensitive
    found = []
    for match in matcher.finditer(text):
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
            text, match.start(1), match.end(1), doc() if callable(doc) else doc
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
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_AND = r"(?:,\s*|\s+(?:and|or|to)\s+|\s*[-–]\s*)"  # joins items of a list or a range
_PLOT = r"(?:\d+(?:[/.‑-]?\w+)*|[A-Z](?![\w’'-]))"
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
            # days and months may come in lists: "14 and 27 July 1999", "February and March 2001"
            rf"\b{_DAY}(?:{_AND}{_DAY})*\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{4}})?"
            rf"|\b(?:{MONTHS})\.?\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
            rf"|\b(?:{MONTHS})(?:{_AND}(?:{MONTHS}))*\.?\s+\d{{4}}\b"
            r"|\b\d{4}-\d{2}-\d{2}\b"
            r"|\b\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})\b"
            r"|\b(?:in|since|from|until|till|born|of|year)\s+"
            rf"(?P<value>{_YEAR}(?:{_AND}{_YEAR})*)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "age",
        re.compile(
            rf"\b(?P<value>{_NUMBER}[\s-]+(?:years?|yrs?|months?|weeks?|days?)[\s-]+old"
            rf"|{_NUMBER}\s+years?\s+of\s+age)\b"
            rf"|\b(?P<aged>aged?\s+(?:of\s+)?{_NUMBER})\b"
            rf"|\b(?:I'?m|I\s+am|I\s+was|you'?re|he'?s|she'?s|he\s+is|she\s+is|he\s+was|she\s+was"
            rf"|age\s+(?:is|was)"
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
            # land and homes: "plot no. 900", "plots nos. 260, 268 and 425", "sheet/plan
            # 24/59", "flat 3", "block C"
            r"|\b(?:(?i:plots?|parcels?|sheets?/plans?|sheets?|blocks?|flats?|apartments?)"
            r"\s+(?:(?i:no|nos|nr|numbers?)\.?\s*)?|(?i:houses?)\s+(?i:no|nr|number)\.?\s*)"
            rf"{_PLOT}(?:(?:,\s*|\s+and\s+){_PLOT})*\b"
        ),
    ),
]


def needs_digit(pattern: re.Pattern[str]) -> bool:
    """Whether every match of a regex holds a digit (what `\\d` matches), read from the
    pattern's parse; False when unsure."""
    from re import _constants as sre  # the parser's opcodes
    from re import _parser

    def digit_set(items: Any) -> bool:
        if any(op is sre.NEGATE for op, _value in items):
            return False
        return bool(items) and all(
            (op is sre.CATEGORY and value is sre.CATEGORY_DIGIT)
            or (op is sre.LITERAL and chr(value).isdecimal())
            or (op is sre.RANGE and all(chr(c).isdecimal() for c in range(value[0], value[1] + 1)))
            for op, value in items
        )

    def needs(items: Any) -> bool:
        for op, value in items:
            if op is sre.LITERAL and chr(value).isdecimal():
                return True
            if op is sre.IN and digit_set(value):
                return True
            if op is sre.SUBPATTERN and needs(value[3]):
                return True
            if op is sre.ASSERT and needs(value[1]):  # a look-around that must hold
                return True
            if op is sre.BRANCH and all(needs(branch) for branch in value[1]):
                return True
            repeats = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
            if op in repeats and value[0] >= 1 and needs(value[2]):
                return True
        return False

    try:
        return needs(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # re's parser is private: when it changes, no shortcut
        return False


_DIGIT = re.compile(r"\d")
_NEEDS_DIGIT = [needs_digit(pattern) for _kind, pattern in PATTERNS]

# every form of the age pattern holds a number (`_NUMBER`: digits, or one of these words
# standing alone), and most turns hold none: looking their words up is faster than the pattern
_NEEDS_NUMBER = [kind == "age" for kind, _pattern in PATTERNS]
_NUMBER_WORDS = frozenset(f"{_UNITS}|{_TEENS}|{_TENS}".split("|"))
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_IGNORING_CASE = str.maketrans({"\u0130": "i", "\u0131": "i"})  # İ, ı match i in `re`


def _has_number_word(text: str) -> bool:
    """Whether a text holds a number word as `re` matches it ignoring case ("Twenty",
    "ſix", "fıve")."""
    words = _LETTER_RUN.findall(text.translate(_IGNORING_CASE).casefold())
    return not _NUMBER_WORDS.isdisjoint(words)


def pattern_identifiers(text: str) -> list[Identifier]:
    """Emails, URLs, phone numbers, postcodes, dates, ages, streets, wards and ID numbers
    (the patterns that cannot match without a digit tried only on a text with one, the
    ages only on a text with a digit or a number word)."""
    found = []
    has_digit = _DIGIT.search(text) is not None
    needs = zip(PATTERNS, _NEEDS_DIGIT, _NEEDS_NUMBER, strict=True)
    for (kind, pattern), digit_needed, number_needed in needs:
        if digit_needed and not has_digit:
            continue
        if number_needed and not (has_digit or _has_number_word(text)):
            continue
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


# --- sums of money, quantities and durations (each masked only when a setting asks) ------

_CURRENCY_CODES = (
    "EUR|USD|GBP|CHF|HUF|PLN|CZK|SKK|SEK|NOK|DKK|ISK|RON|BGN|HRK|RSD|BAM|MKD|TRY|TRL|YTL|RUB|"
    "UAH|BYN|GEL|AMD|AZN|JPY|CNY|INR|AUD|CAD|NZD|ZAR|BRL|MXN|ILS|AED|SAR|ATS|DEM|FRF|ITL|"
    "ESP|NLG|BEF|LUF|IEP|GRD|PTE|FIM|SIT|LTL|LVL|EEK|CYP|MTL|DM"
)
_CURRENCY_NAMES = (
    r"euros?|cents?|pounds?(?:\s+sterling)?|sterling|pence|dollars?|forints?|francs?"
    r"|deutschmarks?|(?:deutsche?|german|gdr)\s+marks?|schillings?|zlotys?|złoty|złotych"
    r"|kronor|kroner|kronur|krona|krone|korun[ay]?|liras?|lire|lei|leu|leva|roubles?|rubles?"
    r"|hryvnias?|kunas?|dinars?|yen|yuan|renminbi|rupees?|pesos?|shekels?|dirhams?|riyals?"
)
_CURRENCY_SYMBOLS = r"(?:US|C|A|HK|NZ)?\$|[€£¥₺₹₽₴]|Ft\b|zł|Kč"
_FIGURE = r"\d[\d,.]*\d|\d"  # 250,000 · 1.579.135,52 · 615.478.0000
_SPOKEN = (
    rf"(?:(?:{_TENS})(?:[\s-](?:one|{_UNITS}))?|{_TEENS}|one|{_UNITS})"
    r"(?:[\s-]+(?:hundred|thousand|million|billion))*"
    r"|a\s+(?:hundred|thousand|million|billion)"
)
_MULTIPLIER = r"(?:\s*(?:million|billion|thousand|bn|m|k)\b)?"
_APPROX = r"(?:(?i:approximately|approx\.|roughly|around|nearly|almost)\s+)?"
MONEY = re.compile(
    rf"{_APPROX}(?:"
    rf"(?:{_CURRENCY_SYMBOLS}|\b(?:{_CURRENCY_CODES})\b\.?)\s?(?:{_FIGURE}){_MULTIPLIER}"
    rf"|\b(?:{_FIGURE}|(?i:{_SPOKEN})){_MULTIPLIER}\s?(?:{_CURRENCY_SYMBOLS}"
    rf"|(?:{_CURRENCY_CODES})\b"
    rf"|(?:(?:[A-Z][\w-]+|[A-Z]{{2,4}})\s+){{0,2}}(?i:{_CURRENCY_NAMES})\b))"
)
_MEASURE_UNITS = (
    r"%|per\s?cent\b|percent\b|km/h|kph\b|mph\b|km\b|kilomet(?:re|er)s?\b|m²|m2\b"
    r"|sq\.?\s?m\b|square\s+met(?:re|er)s?\b|met(?:re|er)s?\b|cm\b|mm\b|m\b|kg\b|kilos?\b"
    r"|kilograms?\b|grams?\b|g\b|mg\b|tonnes?\b|tons?\b|hectares?\b|ha\b|acres?\b|lit(?:re|er)s?\b"
    r"|ml\b|miles?\b|feet\b|ft\b|inch(?:es)?\b|degrees?\b|°C?"
)
_QUANTITY_NUMBER = rf"(?:{_FIGURE}|(?i:{_SPOKEN}))"
QUANTITY = re.compile(
    rf"{_APPROX}\b{_QUANTITY_NUMBER}(?:\s*(?:[x×]|to|and|or|[-–])\s*{_QUANTITY_NUMBER})*"
    rf"\s?(?:{_MEASURE_UNITS})(?:{_AND}{_QUANTITY_NUMBER}\s?(?:{_MEASURE_UNITS}))*"
)
_DURATION_ONE = (
    rf"(?:\d+(?:[.,]\d+)?|(?i:{_SPOKEN}))(?:\s+and\s+a\s+half)?[\s-]+"
    r"(?i:years?|yrs?|months?|weeks?|days?|hours?|hrs?|minutes?|mins?)\b(?:['’]s\b|['’])?"
)
DURATION = re.compile(rf"\b{_DURATION_ONE}(?:,?\s+and\s+{_DURATION_ONE})*")
_BRACKET_WORDS = re.compile(
    rf"^(?:\s|[;,:=‑–-]|{_FIGURE}|{_CURRENCY_SYMBOLS}|\b(?:{_CURRENCY_CODES})\b"
    rf"|(?i:(?:{_CURRENCY_NAMES}|approximately|about|around|roughly|nearly|almost|some"
    r"|equivalent|equal|to|of|or|and)\b|approx\.|i\.e\.)|[A-Z][\w-]+\b)+$"
)


def _closing_bracket(text: str, start: int, limit: int = 120) -> int:
    """Where the bracket opened at `start` closes (after it), or -1."""
    depth = 0
    for index in range(start, min(len(text), start + limit)):
        if text[index] in "([":
            depth += 1
        elif text[index] in ")]":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def _with_equivalent(text: str, end: int) -> int:
    """Extend a sum of money over a bracket that only restates it: `(EUR)`,
    `[approx. EUR 138]`, `(SEK; approximately 27,000 euros)`."""
    while True:
        opening = re.match(r"\s?[(\[]", text[end : end + 3])
        if not opening:
            return end
        close = _closing_bracket(text, end + opening.end() - 1)
        inner = text[end + opening.end() : close - 1] if close > 0 else ""
        plain = re.sub(r"[()\[\]]", " ", inner)
        if not (
            inner
            and _BRACKET_WORDS.match(plain)
            and re.search(
                rf"{_CURRENCY_SYMBOLS}|\b(?:{_CURRENCY_CODES})\b|(?i:\b(?:{_CURRENCY_NAMES})\b)",
                plain,
            )
        ):
            return end
        end = close


def measure_identifiers(
    text: str, money: bool = False, quantities: bool = False, durations: bool = False
) -> list[Identifier]:
    """Sums of money (`EUR 4,000`, `250,000 Swedish kronor (SEK)`, `£9`), quantities with a
    unit (`50 metres`, `26 km/h`, `15%`) and durations (`three years and nine months`,
    `eight days`, `a two-year contract`): rarely identifying in a focus group, so each is
    asked for by a setting."""
    found = []
    if money:
        end = 0
        for match in MONEY.finditer(text):
            if match.start() < end:
                continue  # the equivalent in brackets of the sum before
            end = _with_equivalent(text, match.end())
            value = text[match.start() : end]
            found.append(Identifier(match.start(), end, "amount", value, "pattern"))
    if quantities:
        found += [
            Identifier(m.start(), m.end(), "amount", m.group(), "pattern")
            for m in QUANTITY.finditer(text)
        ]
    if durations:
        found += [
            Identifier(m.start(), m.end(), "duration", m.group(), "pattern")
            for m in DURATION.finditer(text)
        ]
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


def _names_a_language(text: str, start: int, end: int, keep: frozenset[str]) -> bool:
    """Whether a nationality word names a language here ("we spoke Hungarian", "the German
    exam") or is one the project keeps."""
    value = text[start:end]
    return (
        (_kept(value, keep) and not (set(value.casefold().split()) & LANGUAGES))
        or " ".join(value.casefold().split()) in keep
        or (
            value.casefold() in LANGUAGES
            and bool(
                _LANGUAGE_USE.search(text[max(0, start - 20) : start])
                or _LANGUAGE_NOUNS.match(text, end)
            )
        )
    )


def entities(doc: Doc) -> list[Span]:
    """`doc.ents`, read from the doc's table of entity tags instead of token by token (which
    costs more than finding the entities in most turns, which have none)."""
    from spacy.attrs import ENT_IOB, ENT_TYPE
    from spacy.tokens import Span

    if not len(doc):
        return []
    table = doc.to_array([ENT_IOB, ENT_TYPE])
    tags, types = table[:, 0].tolist(), table[:, 1].tolist()
    found = []
    for start, tag in enumerate(tags):
        if tag != 3 or not types[start]:  # an entity begins (B) with a label
            continue
        end = start + 1
        while end < len(tags) and tags[end] == 1:  # inside (I)
            end += 1
        found.append(Span(doc, start, end, label=types[start]))
    return found


def ner_identifiers(
    doc: Doc, lists: Lists, labels: Iterable[str] = NER_KINDS, text: str = ""
) -> list[Identifier]:
    """Named entities worth masking, with titles joined to persons (`Dr. Fehér`)."""
    text = text or doc.text
    wanted = set(labels)
    found = []
    for ent in entities(doc):
        if ent.label_ not in wanted:
            continue
        kind = NER_KINDS[ent.label_]
        start, end = ent.start_char, ent.end_char
        value = text[start:end].rstrip()
        end = start + len(value)
        while value.endswith(("'s", "’s")):
            end -= 2
            value = text[start:end]
        if value[:4].casefold() == "the ":
            start += 4
            value = text[start:end]
        if not value:
            continue
        if kind == "group" or ("NORP" in wanted and value.casefold() in LANGUAGES):
            if _names_a_language(text, start, end, lists.keep):
                continue
            kind = "group"  # a nationality: "a Turkish national", "Kurdish", "I'm Hungarian"
        elif _kept(value, lists.keep):
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


def _mask_of(length: int, spans: Iterable[tuple[int, int]]) -> bytearray:
    covered = bytearray(length + 1)
    for start, end in spans:
        covered[start:end] = b"\x01" * (end - start)
    return covered


_INITIALS = re.compile(r"[A-Z]\.(?:-?[A-Z]\.)*")


def _run_word(token, covered: bytearray) -> bool:
    """A word that can be part of a run of proper nouns (initials too: `Mr A. Rönquist`)."""
    return (
        token.tag_ in PROPER_NOUN_TAGS
        and token.text[:1].isupper()
        and len(token.text) > 1
        and (not token.text.isupper() or bool(_INITIALS.fullmatch(token.text)))
        and not covered[token.idx]  # words already found; acronyms (NHS, ICU) are not names
    )


def _runs(doc: Doc, covered: bytearray) -> list[list]:
    """Maximal runs of proper nouns next to each other (`Busko-Zdrój District Court`).
    Only tokens tagged as proper nouns are looked at (the tags are read as one array)."""
    proper = {doc.vocab.strings[tag] for tag in PROPER_NOUN_TAGS}
    candidates = [i for i, tag in enumerate(doc.to_array("TAG").tolist()) if tag in proper]
    runs: list[list] = []
    for index in candidates:
        token = doc[index]
        if not _run_word(token, covered):
            continue
        if runs:
            last = runs[-1][-1]
            if last.i == index - 1 and last.whitespace_ == " ":
                runs[-1].append(token)
                continue
            if (
                last.i == index - 2
                and not last.whitespace_
                and doc[index - 1].text in ("-", "‑")
                and not doc[index - 1].whitespace_
            ):
                runs[-1] += [doc[index - 1], token]
                continue
        runs.append([token])
    return runs


_REFERENCE = re.compile(r"\s*(?:[Nn]o\.|[Nn]os\.|[Nn]r\.|§|\d)")


def proper_noun_identifiers(
    doc: Doc, taken: Sequence[Identifier], lists: Lists, text: str = ""
) -> list[Identifier]:
    """Capitalised proper nouns inside a sentence that no detector claimed, a run of them as
    one name: `the Brandenburg Regional Labour Court` is one span, not three persons.

    A run counts when one of its words would count alone: inside a sentence, not after a
    determiner ("the Convention"), not a word that names no one (KEEP_WORDS); a run followed
    by a number ("Article 25", "Protocol No. 11") or an eponym noun ("Krebs cycle") does not.
    """
    found = []
    full = text or doc.text  # Doc.text joins every token: compute it once
    covered = _mask_of(
        len(full),
        [(s.start, s.end) for s in taken]
        + [
            m.span()
            for phrase in lists.keep
            for m in re.finditer(re.escape(phrase), full, re.IGNORECASE)
        ],
    )

    def kept(word: str) -> bool:
        word = word.casefold()
        return (
            word in KEEP_WORDS
            or word in lists.keep
            or (word.endswith("s") and word[:-1] in KEEP_WORDS)  # "Four Tuesdays"
        )

    for run in _runs(doc, covered):
        words = [t for t in run if t.text not in ("-", "‑")]
        while words and kept(words[-1].text):
            words.pop()
        first = run[0]
        start = first.idx
        before = full[max(0, start - 40) : start].rstrip()
        previous = doc[first.i - 1] if first.i else None
        weak_first = (
            not before
            or before[-1] in '.!?\n:[("“]'
            or (previous is not None and previous.tag_ in ("DT", "PRP$", "WP$", "PDT"))
        )  # sentence-initial; "the Convention", "his Apgar score"
        if not any(
            not kept(t.text)
            and (t is not first or not weak_first)
            and t.text.casefold().rstrip(".") not in _TITLE_WORDS
            and not _INITIALS.fullmatch(t.text)
            for t in words
        ):
            continue  # "the Convention", a title or initials alone
        end = words[-1].idx + len(words[-1].text)
        following = doc[words[-1].i + 1] if words[-1].i + 1 < len(doc) else None
        if (following is not None and following.like_num) or _REFERENCE.match(full, end):
            continue  # "Article 25", "Rule 59", "Protocol No. 11"
        if _eponym(full, end):
            continue  # "Krebs cycle", "Parkinson's disease"
        value = full[start:end]
        while (
            " " in value and kept(value.split()[0]) and value.split()[0].casefold() not in LANGUAGES
        ):
            start += len(value.split()[0]) + 1  # "Teams Anna": not the app's name
            value = full[start:end]
        kind = (
            "organisation"
            if ORGANISATION_HEADS.search(value)
            else "place"
            if PLACE_HEADS.search(value)
            else "person"
        )
        found.append(Identifier(start, end, kind, value, "propn"))
    return found


# --- wider names ----------------------------------------------------------------------

_NAME_PARTICLES = frozenset(
    "de der den des di da do du la le van von und und- i w z y et für of and for the".split()
)
_COMPANY = re.compile(
    r",?\s(?:GmbH|AG|Ltd\.?|Limited|Inc\.?|plc|PLC|LLC|LLP|AB|SA|S\.A\.|NV|BV|Kft\.?|Zrt\.?"
    r"|Nyrt\.?|Bt\.?|Oy|ASA|SpA|Srl)(?!\w)"
)
_PLACE_OF = re.compile(
    r"(?:\b(?i:city|town|village|county|district|province|region|municipality|borough|canton)"
    r"|(?<![\w-])[A-Z][\w’'-]+)\s+of\s+(?:the\s+)?$"
)
_COMPASS = re.compile(
    r"(?<![\w-])(?i:(?:north|south|east|west)(?:ern)?(?:[\s-](?:east|west)(?:ern)?)?|central"
    r"|upper|lower)\s+$"
)
_NAME_WORD = r"[A-Z][\w’'-]*"
_OF_NAME = re.compile(  # "Court" + " of First Instance", "Ministry" + " for Foreign Affairs"
    rf"\s(?:of|for)\s(?:the\s)?{_NAME_WORD}(?:\s(?:(?:and|of|for)\s(?:the\s)?)?{_NAME_WORD})*"
)
_ACRONYM_BEFORE = re.compile(r"(?<![\w-])([A-Z][A-Z0-9&-]{1,9})\s?\(\s?(?:the\s+)?$")
_TITLE_WORDS = frozenset(t.rstrip(".") for t in TITLES)


def _joins_name(token, text: str) -> bool:
    """A capitalised word (or an ordinal) that belongs to the name after it."""
    word = token.text
    if not (word[:1].isupper() or re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)", word)):
        return False
    lowered = word.casefold().rstrip(".")
    if lowered in _TITLE_WORDS or (lowered in KEEP_WORDS and lowered not in LANGUAGES):
        return False
    if token.tag_ not in ("NNP", "NNPS", "JJ", "NN", "NNS", "CD"):
        return False
    return token.tag_ in PROPER_NOUN_TAGS or not _sentence_initial(text, token.idx)


class _TokenAt:
    """The token starting at a character offset, looked up without making every token."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.index = {idx: i for i, idx in enumerate(doc.to_array("IDX").tolist())}

    def get(self, char: int):
        i = self.index.get(char)
        return None if i is None else self.doc[i]


def _parenthesis(text: str, end: int, by_start: _TokenAt) -> int:
    """The end of an alternative name in brackets right after a name, `(Amtsgericht)`,
    `(Sąd Rejonowy w Lubaniu)`, `(“EAT”)`, or -1."""
    opening = re.match(r" ?\(", text[end : end + 2])
    if not opening:
        return -1
    inner_start = end + opening.end()
    close = text.find(")", inner_start, inner_start + 100)
    inner = text[inner_start:close] if close > 0 else ""
    words = inner.strip("“”\"'‘’ ").split()
    if not words or len(words) > 8 or re.search(r"[(:;]|\d", inner):
        return -1  # "(Rule 59)", "(CDOKP: hereinafter …)"
    first = by_start.get(inner_start + len(inner) - len(inner.lstrip("“\"'‘ ")))
    if first is None or not (
        first.tag_ in PROPER_NOUN_TAGS or (first.text.isupper() and len(first.text) > 1)
    ):
        return -1  # "(the “Government”)", "(I loved it)"
    lower = [w for w in words[1:] if not w[:1].isupper() and w.casefold() not in _NAME_PARTICLES]
    return close + 1 if len(lower) <= 2 else -1


def _up_to_head(after: str) -> int:
    """How far capitalised words after a name reach up to a head noun (`Tekirdağ` +
    ` F-Type Prison`, `Brandenburg` + ` Regional Labour Court`), or 0."""
    reach = position = 0
    word = re.compile(r"\s([A-Z][\w’'-]*)")
    for _ in range(4):
        match = word.match(after, position)
        if not match:
            break
        position = match.end()
        if ORGANISATION_HEADS.fullmatch(match.group(1)) or PLACE_HEADS.fullmatch(match.group(1)):
            reach = position
    return reach


def _widen(span: Identifier, text: str, by_start: _TokenAt, others: bytearray) -> list[Identifier]:
    """A name widened over the words that belong to it: hyphenated parts and a company form
    (`Jean-Michel`, `Robert Bosch GmbH`) for every name; for organisations, places and groups
    also capitalised words and ordinals before it, "Borough of", capitalised words up to a
    head noun, "of …" after a head noun, an alternative name in brackets; and an acronym
    that the name in brackets spells out (`PKK (the Kurdistan Workers' Party)`)."""
    start, end = span.start, span.end
    whole = span.kind in ("organisation", "place", "group")
    for _ in range(8):
        before = text[max(0, start - 60) : start]
        hyphen = re.search(r"(?<![\w-])(?:[A-Z][\w’']*|[A-Z0-9]+)[-‑]$", before)
        word = re.search(r"(?<![^\s(\[“‘\"])[^\s(\[“‘\"]+ $", before)
        token = by_start.get(start - len(word.group())) if word else None
        if token is not None and token.idx + len(token.text) != start - 1:
            token = None  # "Ifeoma, Lukas": a list, not one name
        place_of = _PLACE_OF.search(before) or _COMPASS.search(before)
        if hyphen and not others[start - len(hyphen.group())]:
            start -= len(hyphen.group())
        elif whole and token is not None and not others[token.idx] and _joins_name(token, text):
            start = token.idx
        elif span.kind == "place" and place_of and not others[start - len(place_of.group())]:
            start -= len(place_of.group())
        else:
            break
    for _ in range(8):
        after = text[end : end + 80]
        hyphen = re.match(r"[-‑][A-Z][\w’']*", after)
        company = _COMPANY.match(after)
        head = _up_to_head(after) if whole else 0
        of_name = (
            _OF_NAME.match(after)
            if span.kind == "organisation" and ORGANISATION_HEADS.search(text[start:end][-16:])
            else None
        )
        closing = _parenthesis(text, end, by_start) if whole else -1
        unclosed = re.match(r"[^()\d:;\n]{0,60}\)", after) if "(" in text[start:end] else None
        if hyphen:
            end += hyphen.end()
        elif company:
            end += company.end()
            span = replace(span, kind="organisation")
        elif head and not any(others[end : end + head]):
            end += head
        elif of_name and not any(others[end : end + of_name.end()]):
            end += of_name.end()
        elif closing > 0 and span.kind in ("organisation", "place"):
            end = closing
        elif unclosed and text.rfind(")", start, end) < text.rfind("(", start, end):
            end += unclosed.end()  # NER stopped inside the brackets: "(Landesgericht" für …)
        else:
            break
    value = text[start:end]
    kind = span.kind
    if kind == "place" and ORGANISATION_HEADS.search(value.split("(")[0]):
        kind = "organisation"  # "Tekirdağ F-Type Prison", "University of Pécs"
    spans = [Identifier(start, end, kind, value, span.detector, span.person)]
    acronym = _ACRONYM_BEFORE.search(text[max(0, start - 20) : start])
    if acronym and kind in ("organisation", "group") and text[end : end + 1] in (")", ","):
        a_start = start - len(acronym.group())
        a_end = a_start + len(acronym.group(1))
        if not others[a_start]:
            spans.append(Identifier(a_start, a_end, kind, acronym.group(1), span.detector))
    return spans


def alternative_names(name: str) -> list[str]:
    """The two names in `Name (Other Name)`: `Moers District Court (Amtsgericht)` →
    `Moers District Court`, `Amtsgericht`; `Employment Appeal Tribunal (“EAT”)` → … `EAT`."""
    match = re.fullmatch(r"(.+?)\s?\(([^()]+)\)", name)
    if not match:
        return []
    names = (match.group(1).strip(), match.group(2).strip("“”\"'‘’ "))
    return [n for n in names if len(n) > 2 and n.casefold() not in KEEP_WORDS]


def widen_names(doc: Doc, spans: Sequence[Identifier], text: str = "") -> list[Identifier]:
    """Every name that NER, the proper-noun runs or a pattern found, widened (`_widen`)."""
    names = [
        s
        for s in spans
        if s.kind in ("organisation", "place", "group", "person")
        and s.detector in ("ner", "propn", "pattern")
    ]
    if not names:
        return list(spans)
    by_start = _TokenAt(doc)
    text = text or doc.text
    # widened names may take in names of the same sort, never roster names, dates or numbers
    fixed = _mask_of(
        len(text),
        [
            (s.start, s.end)
            for s in spans
            if s.kind not in ("organisation", "place", "group", "person")
            or s.detector not in ("ner", "propn", "pattern")
        ],
    )
    wider = [w for s in names for w in _widen(s, text, by_start, fixed)]
    return merge_spans([*spans, *wider])


# --- merging --------------------------------------------------------------------------


def merge_spans(spans: Iterable[Identifier]) -> list[Identifier]:
    """Resolve overlaps: the longer span wins, then the more trusted detector."""
    ordered = sorted(
        spans, key=lambda s: (-(s.end - s.start), DETECTOR_PRIORITY.get(s.detector, 9), s.start)
    )
    kept: list[Identifier] = []
    taken = bytearray(max((s.end for s in ordered), default=0) + 1)
    for span in ordered:
        if span.end <= span.start or taken.find(1, span.start, span.end) >= 0:
            continue
        kept.append(span)
        taken[span.start : span.end] = b"\x01" * (span.end - span.start)
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
        doc = next(pipe_texts(nlp, [text]))
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
    durations: bool = False,
    text: str = "",
) -> list[Identifier]:
    """Every detector on one parsed text, merged; names of organisations, places and groups
    widened over the words that belong to them. Sums of money and quantities are found when
    `ner_labels` has MONEY and QUANTITY, durations when `durations` is true. `text` is the
    doc's text when the caller has it (spaCy spells it anew from the tokens)."""
    text = text or doc.text
    labels = set(ner_labels)
    spans = (
        roster_identifiers(text, transcript_id, names, doc)
        + list_identifiers(text, lists, doc)
        + pattern_identifiers(text)
        + measure_identifiers(text, "MONEY" in labels, "QUANTITY" in labels, durations)
        + ner_identifiers(doc, lists, labels, text)
    )
    if proper_nouns:
        spans += proper_noun_identifiers(doc, merge_spans(spans), lists, text)
    return widen_names(doc, merge_spans(spans), text)
