"""Applying a codebook to segments: a transparent rule coder whose every coding has evidence."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .codebook import Code, Codebook, compile_regex
from .errors import CodebookError, QualcodeError
from .files import atomic_write_text, csv_text
from .nlp import (
    TAGGING,
    TurnDocs,
    balanced_runs,
    load_pipeline,
    map_in_processes,
    pipe_options,
    pipe_texts,
)
from .segments import Segment, Segments

if TYPE_CHECKING:
    import pandas as pd
    from spacy.language import Language
    from spacy.tokens import Doc, Span

SOURCES = ("rule", "human", "model")
CSV_COLUMNS = (
    "segment_id",
    "transcript_id",
    "speaker",
    "code_id",
    "subtheme_id",
    "theme_id",
    "score",
    "evidence",
    "source",
    "coder",
)
RULE_CODER = "qualcode"
NEGATORS = frozenset(
    {
        "not",
        "n't",
        "never",
        "no",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "hardly",
        "barely",
        "none",
        "nowhere",
        "cannot",
    }
)
_MAX_GAP = 3  # words of a multiword keyword may be at most this many tokens apart


@dataclass(frozen=True)
class Evidence:
    """One rule hit: which rule, the words it matched and their offsets in the transcript."""

    kind: str
    rule: str
    text: str
    start: int
    end: int

    def __str__(self) -> str:
        return f'{self.kind} {self.rule} → "{self.text}" @{self.start}-{self.end}'

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rule": self.rule,
            "text": self.text,
            "start": self.start,
            "end": self.end,
        }


_EVIDENCE = re.compile(
    r'^(?P<kind>\S+) (?P<rule>.*?) → "(?P<text>.*)" @(?P<start>\d+)-(?P<end>\d+)$'
)


def parse_evidence(text: str) -> tuple[Evidence, ...]:
    """Evidence from the readable `codings.csv` form (`str(evidence)` joined by ` | `)."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(" | "))):
        match = _EVIDENCE.match(part)
        if match:
            found.append(
                Evidence(
                    match["kind"],
                    match["rule"],
                    match["text"],
                    int(match["start"]),
                    int(match["end"]),
                )
            )
        else:
            found.append(Evidence("note", "", part, -1, -1))
    return tuple(found)


@dataclass(frozen=True)
class Coding:
    """A code applied to a segment, by a rule, a human or a model, with its evidence."""

    segment_id: str
    transcript_id: str
    speaker: str
    code_id: str
    subtheme_id: str
    theme_id: str
    score: float = 1.0
    evidence: tuple[Evidence, ...] = ()
    source: str = "rule"
    coder: str = ""

    @property
    def evidence_text(self) -> str:
        return " | ".join(str(e) for e in self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "transcript_id": self.transcript_id,
            "speaker": self.speaker,
            "code_id": self.code_id,
            "subtheme_id": self.subtheme_id,
            "theme_id": self.theme_id,
            "score": self.score,
            "evidence": [e.to_dict() for e in self.evidence],
            "source": self.source,
            "coder": self.coder,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Coding:
        evidence = tuple(Evidence(**e) for e in data.get("evidence", ()))
        return cls(
            data["segment_id"],
            data["transcript_id"],
            data["speaker"],
            data["code_id"],
            data["subtheme_id"],
            data["theme_id"],
            float(data.get("score", 1.0)),
            evidence,
            data.get("source", "rule"),
            data.get("coder", ""),
        )


class Codings(Sequence[Coding]):
    """The codings of a project, with the segments they refer to."""

    def __init__(
        self, items: Iterable[Coding], segments: Segments, codebook: Codebook | None = None
    ) -> None:
        self.items: tuple[Coding, ...] = tuple(items)
        self.segments = segments
        self.codebook = codebook

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Coding]:
        return iter(self.items)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return Codings(self.items[index], self.segments, self.codebook)
        return self.items[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Codings) and self.items == other.items

    def __repr__(self) -> str:
        coded = len({c.segment_id for c in self.items})
        return (
            f"<Codings: {len(self)} codings of {len({c.code_id for c in self.items})} codes "
            f"on {coded} of {len(self.segments)} segments>"
        )

    def for_code(self, code_id: str) -> list[Coding]:
        return [c for c in self.items if c.code_id == code_id]

    @classmethod
    def combine(cls, parts: Iterable[Codings]) -> Codings:
        """One project's codings from the codings of its parts (transcripts coded apart, on
        other processes or machines), in the order given; `build_themes` of the result is the
        roll-up of the whole project."""
        parts = list(parts)
        units = {part.segments.unit for part in parts}
        if len(units) > 1:
            raise QualcodeError(
                f"the parts were cut into different units ({', '.join(sorted(units))})",
                fix="segment every transcript with the same unit",
            )
        segments = Segments(
            (s for part in parts for s in part.segments), units.pop() if units else "sentence"
        )
        if len(segments.items) != len({s.id for s in segments.items}):
            raise QualcodeError(
                "a segment id occurs in two parts", fix="give each transcript to one part only"
            )
        codebook = next((part.codebook for part in parts if part.codebook is not None), None)
        return cls((c for part in parts for c in part.items), segments, codebook)

    def rows(self) -> list[tuple[Any, ...]]:
        return [
            (
                c.segment_id,
                c.transcript_id,
                c.speaker,
                c.code_id,
                c.subtheme_id,
                c.theme_id,
                c.score,
                c.evidence_text,
                c.source,
                c.coder,
            )
            for c in self.items
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row a coding (the columns of `codings.csv`) with the segment's text and group."""
        import pandas as pd

        frame = pd.DataFrame(self.rows(), columns=list(CSV_COLUMNS))
        texts = {s.id: (s.group, s.role, s.text) for s in self.segments}
        frame.insert(2, "group", [texts.get(i, ("", "", ""))[0] for i in frame["segment_id"]])
        frame["text"] = [texts.get(i, ("", "", ""))[2] for i in frame["segment_id"]]
        return frame


# --- the rule coder -------------------------------------------------------------------


def _no_verb_lemma(word: str) -> str:
    return ""


_WORD_ATTRS = ("ORTH", "TEXT", "LOWER", "LEMMA", "NORM")  # token attributes a word list tests
_REQUIRED_OP = re.compile(r"1|\+|\{[1-9]\d*(,\d*)?\}")  # a token that must be there


def pattern_anchor(pattern: Sequence[dict[str, Any]]) -> tuple[str, frozenset[str]] | None:
    """The words a token pattern cannot match without: (attribute, its allowed values) of the
    required token with the fewest allowed words, or None when every token is optional or
    tested otherwise than by a word or word list (part of speech, a regex, a length)."""
    best: tuple[str, frozenset[str]] | None = None
    for token in pattern:
        op = token.get("OP")
        if op is not None and not _REQUIRED_OP.fullmatch(str(op)):
            continue
        for attr, value in token.items():
            name = "ORTH" if attr.upper() == "TEXT" else attr.upper()
            if name not in _WORD_ATTRS:
                continue
            if isinstance(value, str):
                values = frozenset([value])
            elif (
                isinstance(value, dict)
                and set(value) == {"IN"}
                and all(isinstance(v, str) for v in value["IN"])
            ):
                values = frozenset(value["IN"])
            else:
                continue
            if best is None or len(values) < len(best[1]):
                best = (name, values)
    return best


def pattern_length(pattern: Sequence[dict[str, Any]]) -> int | None:
    """The most tokens a match of a token pattern can span, None when unbounded."""
    total = 0
    for token in pattern:
        op = str(token.get("OP", "1"))
        if op in ("*", "+"):
            return None
        repeat = re.fullmatch(r"\{(\d*)(,?)(\d*)\}", op)
        if repeat is None:
            total += 1  # one token, optional or not ("1", "?", "!")
        elif repeat[2] and not repeat[3]:
            return None  # {n,}
        else:
            total += int(repeat[3] or repeat[1] or 0)
    return total


class TokenPatterns:
    """A codebook's token patterns, each distinct pattern in a `Matcher` of its own, indexed
    by the words it cannot match without (`pattern_anchor`). A segment runs only the
    patterns whose words it contains, and a pattern of bounded length only on the tokens
    around those words, so that the cost of a segment follows its words, not the number of
    patterns in the codebook."""

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._matchers: list[Any] = []
        self._keys: list[list[str]] = []  # each distinct pattern's rule keys
        self._lengths: list[int | None] = []  # each distinct pattern's longest match
        self._distinct: dict[str, int] = {}
        self._index: dict[int, dict[int, list[int]]] = {}  # attribute → word hash → patterns
        self._unanchored: list[int] = []

    def add(self, key: str, pattern: Sequence[dict[str, Any]]) -> None:
        from spacy.attrs import IDS
        from spacy.matcher import Matcher

        tokens = [dict(token) for token in pattern]
        canonical = json.dumps(tokens, sort_keys=True, ensure_ascii=False)
        if canonical in self._distinct:
            self._keys[self._distinct[canonical]].append(key)
            return
        number = len(self._matchers)
        self._distinct[canonical] = number
        matcher = Matcher(self._vocab)
        matcher.add(key, [tokens])
        self._matchers.append(matcher)
        self._keys.append([key])
        self._lengths.append(pattern_length(tokens))
        anchor = pattern_anchor(tokens)
        if anchor is None:
            self._unanchored.append(number)
            return
        attr, words = anchor
        by_word = self._index.setdefault(IDS[attr], {})
        for word in words:
            by_word.setdefault(self._vocab.strings.add(word), []).append(number)

    def __len__(self) -> int:
        return len(self._matchers)

    def _anchors(self, doc: Doc) -> dict[int, list[int]]:
        """Pattern → token positions of its anchor words in `doc`."""
        found: dict[int, list[int]] = defaultdict(list)
        if not self._index or not len(doc):
            return found
        attrs = list(self._index)
        table = doc.to_array(attrs)
        if table.ndim == 1:
            table = table.reshape(-1, 1)
        for column, attr in enumerate(attrs):
            by_word = self._index[attr]
            words = table[:, column].tolist()
            present = by_word.keys() & set(words)
            if not present:
                continue
            for position, word in enumerate(words):
                if word in present:
                    for number in by_word[word]:
                        found[number].append(position)
        return found

    def matches(self, doc: Doc) -> list[tuple[str, int, int]]:
        """(rule key, start, end) of every match in `doc`, as one `Matcher` holding every
        pattern would give them."""
        if not self._matchers:
            return []
        wanted: dict[int, list[int] | None] = dict.fromkeys(self._unanchored)
        wanted.update(self._anchors(doc))
        size = len(doc)
        found = []
        for number in sorted(wanted):
            matcher, keys, length = (
                self._matchers[number],
                self._keys[number],
                self._lengths[number],
            )
            positions = wanted[number]
            windows = [(0, size)]
            if positions is not None and length is not None:
                windows = _merged_windows(positions, length, size)
            for start, end in windows:
                spans = matcher(doc if (start, end) == (0, size) else doc[start:end])
                found += [(key, start + s, start + e) for _id, s, e in spans for key in keys]
        return found


def _merged_windows(positions: list[int], length: int, size: int) -> list[tuple[int, int]]:
    """The token ranges holding every match of `length` tokens or fewer that contains one of
    `positions`, overlapping ranges merged."""
    windows: list[tuple[int, int]] = []
    for position in sorted(set(positions)):
        start, end = max(0, position - length + 1), min(size, position + length)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


@dataclass
class _CompiledCodebook:
    """Matchers for every rule entry of every code, keyed `<code>|<match|unless>|<kind>|<n>`."""

    patterns: TokenPatterns
    phrase_matcher: Any
    keywords: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    regexes: dict[str, tuple[Any, list[str]]] = field(default_factory=dict)  # regex.Pattern
    regex_needs: dict[str, frozenset[str] | None] = field(default_factory=dict)
    regex_words: frozenset[str] = frozenset()  # every word some regex needs
    codes: tuple[Code, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)  # key → readable rule
    verb_lemma: Callable[[str], str] = field(default=_no_verb_lemma)


def verb_lemmas(nlp: Language) -> Callable[[str], str]:
    """A function giving the verb lemma of an -ing or -ed word ("listening" → "listen",
    "worried" → "worry"), or "" when it is none, from the pipeline's lemmatizer tables. The
    tagger reads such words as nouns or adjectives in one context and as verbs in another
    ("more listening", "I was worried"); with this, a keyword 'listen' finds them either way."""
    if "lemmatizer" not in nlp.pipe_names:
        return _no_verb_lemma
    lookups = nlp.get_pipe("lemmatizer").lookups
    try:
        rules = lookups.get_table("lemma_rules")["verb"]
        index = set(lookups.get_table("lemma_index")["verb"])
        exceptions = lookups.get_table("lemma_exc")["verb"]
    except (KeyError, ValueError):
        return _no_verb_lemma

    @functools.lru_cache(maxsize=65536)
    def verb_lemma(word: str) -> str:
        if not word.endswith(("ing", "ed")):
            return ""
        if word in exceptions:
            return exceptions[word][0]
        for old, new in rules:
            if old in ("ing", "ed") and word.endswith(old):
                candidate = word[: len(word) - len(old)] + new
                if candidate in index:
                    return candidate
        return ""

    return verb_lemma


def regex_needs(pattern: str) -> frozenset[str] | None:
    """Words (casefolded, ASCII) of which a text must contain one for a codebook regex to
    match it — the longest literal the regex cannot match without, or alternatives of one —
    or None when there is no such word or the pattern is beyond Python's regex parser.
    Compare with `fold_for_needs(text)`."""
    from re import _constants as sre  # the parser's opcodes
    from re import _parser

    def needs(items: Any) -> frozenset[str] | None:
        candidates: list[frozenset[str]] = []
        run = ""
        for op, value in items:
            if op is sre.LITERAL and chr(value).isascii():
                run += chr(value).casefold()
                continue
            if run:
                candidates.append(frozenset([run]))
                run = ""
            found: frozenset[str] | None = None
            if op is sre.SUBPATTERN:
                found = needs(value[3])
            elif op is sre.ATOMIC_GROUP:
                found = needs(value)
            elif op is sre.BRANCH:
                branches = [needs(branch) for branch in value[1]]
                if all(branches):
                    found = frozenset().union(*branches)  # type: ignore[arg-type]
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and value[0] >= 1:
                found = needs(value[2])
            if found:
                candidates.append(found)
        if run:
            candidates.append(frozenset([run]))
        if not candidates:
            return None
        return max(candidates, key=lambda words: min(len(word) for word in words))

    try:
        return needs(_parser.parse(pattern, re.IGNORECASE))
    except Exception:  # re's parser is private and stricter than `regex`: no prefilter
        return None


_FOLD_FIXES = str.maketrans({"\u0130": "i"})  # İ matches i case-insensitively


def fold_for_needs(text: str) -> str:
    """`text` casefolded as `regex_needs` words are: every character a case-insensitive
    regex matches with an ASCII letter becomes that letter."""
    return text.translate(_FOLD_FIXES).casefold()


def _key(code_index: int, part: str, kind: str, index: int) -> str:
    return f"{code_index}|{part}|{kind}|{index}"


def _token_forms(token: Any, verb_lemma: Callable[[str], str]) -> tuple[str, str, str]:
    lemma, lower = token.lemma_.casefold(), token.lower_
    return lemma, lower, verb_lemma(lower) if lemma == lower else ""


def keyword_matches(
    doc: Doc,
    keywords: dict[str, list[tuple[str, tuple[str, ...]]]],
    verb_lemma: Callable[[str], str] | None = None,
) -> Iterator[tuple[str, int, int]]:
    """(key, start, end) token spans where a keyword's words occur in order, each compared
    with the token's lemma, its written form and the verb lemma of an -ing or -ed word that
    was not read as a verb, at most `_MAX_GAP` tokens apart. A look-up per token: the cost
    does not grow with the number of keywords."""
    verb_lemma = verb_lemma or _no_verb_lemma
    forms = [_token_forms(token, verb_lemma) for token in doc]
    for i, three in enumerate(forms):
        for first in set(three) - {""}:
            for key, words in keywords.get(first, ()):
                end = _rest_of_keyword(forms, i + 1, words[1:])
                if end is not None:
                    yield key, i, end


def _rest_of_keyword(
    forms: list[tuple[str, str, str]], start: int, words: tuple[str, ...]
) -> int | None:
    """The end of a multiword keyword whose later words follow from `start`, or None."""
    position = start
    for word in words:
        for j in range(position, min(position + _MAX_GAP + 1, len(forms))):
            if word in forms[j]:
                position = j + 1
                break
        else:
            return None
    return position


def compile_codebook(codebook: Codebook, nlp: Language) -> _CompiledCodebook:
    """Build the token patterns (`TokenPatterns`), one `PhraseMatcher` for all codes, and
    compile the regexes."""
    from spacy.matcher import PhraseMatcher

    compiled = _CompiledCodebook(
        TokenPatterns(nlp.vocab),
        PhraseMatcher(nlp.vocab, attr="LOWER"),
        verb_lemma=verb_lemmas(nlp),
    )
    for code_index, code in enumerate(codebook.codes):
        for part, rules in (("match", code.match), ("unless", code.unless)):
            for kind, index, entry in rules.entries():
                key = _key(code_index, part, kind, index)
                if kind == "keywords":
                    words = tuple(entry.split())
                    compiled.keywords.setdefault(words[0], []).append((key, words))
                    compiled.labels[key] = f"'{entry}'"
                elif kind == "phrases":
                    compiled.phrase_matcher.add(key, [nlp.make_doc(entry)])
                    compiled.labels[key] = f"'{entry}'"
                elif kind == "patterns":
                    compiled.patterns.add(key, entry)
                    compiled.labels[key] = json.dumps([dict(t) for t in entry], ensure_ascii=False)
                else:
                    _pattern, keys = compiled.regexes.setdefault(  # each distinct regex once
                        entry, (compile_regex(entry), [])
                    )
                    keys.append(key)
                    compiled.regex_needs[entry] = regex_needs(entry)
                    compiled.labels[key] = f"/{entry}/"
    compiled.codes = codebook.codes
    compiled.regex_words = frozenset().union(*(w for w in compiled.regex_needs.values() if w))
    return compiled


def is_negated(span: Span) -> bool:
    """Whether a matched span is negated: a negation attached to its words, or to the verb
    they complete ("I never felt confident", "I didn't want to be confident"), or a negator
    right before it ("not really confident"). A negation elsewhere in the sentence
    ("I didn't expect it, but I became confident") does not count."""
    doc = span.doc
    candidates = set(span)
    for token in span:
        node = token
        for _ in range(3):
            if node.dep_ not in _COMPLEMENTS or node.head is node:
                break
            node = node.head
            candidates.add(node)
    for token in candidates:
        for child in token.children:
            if child.dep_ == "neg" or (
                child.lower_ in NEGATORS and child.dep_ in ("det", "advmod", "neg", "preconj")
            ):
                return True
    window = doc[max(span.start - 2, 0) : span.start]
    return any(token.lower_ in ("not", "n't", "never") for token in window)


_COMPLEMENTS = frozenset(
    {
        "acomp",
        "xcomp",
        "attr",
        "dobj",
        "oprd",
        "amod",
        "compound",
        "pobj",
        "prep",
        "advmod",
        "npadvmod",
    }
)


def _speaker_allowed(segment: Segment, code: Code, codebook: Codebook) -> bool:
    speakers = code.speakers or codebook.speakers
    if speakers == "all":
        return True
    if speakers == "moderators":
        return segment.role == "moderator"
    return segment.role == "participant"


@dataclass
class _SegmentHits:
    """What a segment's rule entries hit: character spans and matched spans per rule key,
    and the codes that may apply (a match hit, no `unless` hit, an allowed speaker) with
    their match keys."""

    spans: dict[str, list[tuple[int, int, str]]]
    matched: dict[str, list[Span | None]]
    candidates: list[tuple[Code, list[str]]]

    @property
    def needs_parse(self) -> bool:
        """Whether a candidate code drops negated hits, which takes the dependency parse."""
        return any(code.negation == "skip" for code, _keys in self.candidates)


def _segment_hits(
    doc: Doc, segment: Segment, codebook: Codebook, compiled: _CompiledCodebook
) -> _SegmentHits:
    """Every rule entry's hits in one segment."""
    vocab_strings = compiled.phrase_matcher.vocab.strings  # its keys, if `doc` has another
    spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)  # key → char spans
    matched: dict[str, list[Span | None]] = defaultdict(list)
    matches = compiled.patterns.matches(doc)
    if len(compiled.phrase_matcher):
        matches += [
            (vocab_strings[i], start, end) for i, start, end in compiled.phrase_matcher(doc)
        ]
    matches += keyword_matches(doc, compiled.keywords, compiled.verb_lemma)
    for key, start, end in matches:
        span = doc[start:end]
        spans[key].append((span.start_char, span.end_char, span.text))
        matched[key].append(span)
    if compiled.regexes:
        folded = fold_for_needs(segment.text)
        present = {word for word in compiled.regex_words if word in folded}
        for entry, (pattern, keys) in compiled.regexes.items():
            needs = compiled.regex_needs[entry]
            if needs is not None and needs.isdisjoint(present):
                continue  # the regex cannot match without one of these words
            for found in _regex_hits(pattern, keys, segment, codebook):
                if found.end() > found.start():
                    span = doc.char_span(found.start(), found.end(), alignment_mode="expand")
                    for key in keys:
                        spans[key].append((found.start(), found.end(), found.group()))
                        matched[key].append(span)
    by_code: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for key in spans:
        code_index, part, _, _ = key.split("|")
        by_code[int(code_index)][part].append(key)
    candidates = []
    for code_index, parts in sorted(by_code.items()):
        code = compiled.codes[code_index]
        allowed = _speaker_allowed(segment, code, codebook)
        if parts.get("match") and not parts.get("unless") and allowed:
            candidates.append((code, sorted(parts["match"], key=_entry_order)))
    return _SegmentHits(spans, matched, candidates)


def _segment_codings(
    found: _SegmentHits, segment: Segment, compiled: _CompiledCodebook
) -> list[Coding]:
    """The codings of a segment from its hits: a code's negated hits dropped for `negation:
    skip` (read from the parse when the doc has one), then `min_matches` entries needed."""
    codings = []
    for code, keys in found.candidates:
        evidence: list[Evidence] = []
        entries = set()
        for key in keys:
            kept = [
                (start, end, text)
                for (start, end, text), span in zip(
                    found.spans[key], found.matched[key], strict=True
                )
                if code.negation != "skip" or span is None or not is_negated(span)
            ]
            if not kept:
                continue
            entries.add(key)
            kind = key.split("|")[2]
            for start, end, text in _shortest_first(kept):
                evidence.append(
                    Evidence(
                        kind.rstrip("s") if kind != "regex" else "regex",
                        compiled.labels[key],
                        text,
                        segment.start + start,
                        segment.start + end,
                    )
                )
        if len(entries) >= code.min_matches:
            codings.append(
                Coding(
                    segment.id,
                    segment.transcript_id,
                    segment.speaker,
                    code.id,
                    code.subtheme_id,
                    code.theme_id,
                    float(len(entries)),
                    tuple(sorted(evidence, key=lambda e: (e.start, e.end))),
                    "rule",
                    RULE_CODER,
                )
            )
    return codings


REGEX_TIMEOUT = 1.0  # seconds a codebook regex may take on one segment


def _regex_hits(pattern: Any, keys: list[str], segment: Segment, codebook: Codebook) -> list[Any]:
    """The matches of a codebook regex in a segment, time-limited: a pattern that
    backtracks catastrophically stops the run with an error naming the code, not a hang."""
    try:
        return list(pattern.finditer(segment.text, timeout=REGEX_TIMEOUT))
    except TimeoutError:
        code = codebook.codes[int(keys[0].split("|")[0])]
        raise CodebookError(
            f"{code.id}: the regex '{pattern.pattern}' takes longer than {REGEX_TIMEOUT:g} s on "
            "one segment (catastrophic backtracking)",
            file=codebook.source or None,
            line=code.line,
            fix="rewrite it without nested or overlapping repeats such as (a+)+ or (a|aa)+",
        ) from None


def _entry_order(key: str) -> tuple[int, int]:
    _, _, kind, index = key.split("|")
    return ("keywords", "phrases", "patterns", "regex").index(kind), int(index)


def _shortest_first(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Drop hits that contain another hit of the same rule (a matcher's overlapping spans)."""
    kept: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (s[1] - s[0], s[0])):
        if not any(k[0] >= span[0] and k[1] <= span[1] for k in kept):
            kept.append(span)
    return sorted(kept)


def _components(nlp: Language, codebook: Codebook) -> list[str]:
    """Components every segment needs; the parser only when patterns use the parse (for
    negation it runs later, on the few segments with a hit of a `negation: skip` code)."""
    wanted = list(TAGGING)
    if any(
        any(
            key in ("DEP", "HEAD")
            for p in code.match.patterns + code.unless.patterns
            for token in p
            for key in token
        )
        for code in codebook.codes
    ):
        wanted.append("parser")
    if any(
        any("ENT_TYPE" in token or "ENT_IOB" in token for p in code.match.patterns for token in p)
        for code in codebook.codes
    ):
        wanted.append("ner")
    return [name for name in wanted if name in nlp.pipe_names]


CODING_BATCH = 256  # segments whose hits are found before the ones needing it are parsed


def _consume(docs: Iterable[Doc]) -> None:
    for _doc in docs:
        pass


def apply_codebook(
    segments: Segments,
    codebook: Codebook,
    *,
    nlp: Language | None = None,
    model: str | None = None,
    docs: TurnDocs | None = None,
    processes: int | None = None,
) -> Codings:
    """Code every segment with every code's rules.

    A code applies when at least `min_matches` distinct match entries hit (negated hits are
    dropped for `negation: skip`), no `unless` entry hits, and the speaker's role is allowed
    (`speakers`, by default participants only). Each coding's evidence lists every hit.
    `docs` are the tagged turns from `anonymize(..., tag=True)`: segments are then cut from
    them instead of going through the pipeline again (unless the codebook's patterns read the
    parse or entities), on `processes` forked processes, whole transcripts each (by default
    two on a machine with two cores when there is enough text to pay for them).
    """
    nlp = nlp or load_pipeline(model)
    compiled = compile_codebook(codebook, nlp)
    components = _components(nlp, codebook)
    if docs is not None and not set(components) <= set(TAGGING):
        docs = None
    tok2vec = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None
    parser = nlp.get_pipe("parser") if "parser" in nlp.pipe_names else None

    def code(pairs: list[tuple[Doc, Segment]]) -> list[list[Coding]]:
        """Codings of a batch of segments, parsing together those whose negation counts."""
        found = [_segment_hits(doc, segment, codebook, compiled) for doc, segment in pairs]
        if parser is not None:
            unparsed = [
                doc
                for (doc, _segment), hits in zip(pairs, found, strict=True)
                if hits.needs_parse and not doc.has_annotation("DEP")
            ]
            untagged = [doc for doc in unparsed if doc.tensor.size == 0]
            if untagged and tok2vec is not None:  # a doc cut from a tagged turn has no tensor
                _consume(tok2vec.pipe(untagged))
            _consume(parser.pipe(unparsed))
        return [
            _segment_codings(hits, segment, compiled)
            for (_doc, segment), hits in zip(pairs, found, strict=True)
        ]

    by_segment: list[list[Coding]] = [[] for _ in segments]
    missing: list[int] = []  # segments to tag here: all of them without `docs`
    if docs is None:
        missing = list(range(len(segments)))
    else:

        def code_from_docs(bounds: tuple[int, int]) -> list[list[Coding] | None]:
            found: list[list[Coding] | None] = []
            for first in range(bounds[0], bounds[1], CODING_BATCH):
                batch = [
                    (
                        docs.segment_doc(
                            segments[index].transcript_id,
                            segments[index].turn,
                            segments[index].start,
                            segments[index].end,
                        ),
                        segments[index],
                    )
                    for index in range(first, min(first + CODING_BATCH, bounds[1]))
                ]
                cut = iter(code([(doc, segment) for doc, segment in batch if doc is not None]))
                found += [None if doc is None else next(cut) for doc, _segment in batch]
            return found

        if processes is None:
            processes = pipe_options([segment.text for segment in segments])["n_process"]
        chunks = transcript_chunks(segments, processes)
        results = map_in_processes(code_from_docs, chunks, processes)
        for (first, _last), found in zip(chunks, results, strict=True):
            for index, codings in enumerate(found, start=first):
                if codings is None:
                    missing.append(index)
                else:
                    by_segment[index] = codings
    texts = [segments[index].text for index in missing]
    with nlp.select_pipes(enable=components):
        tagged = pipe_texts(nlp, texts, **pipe_options(texts))
        for first in range(0, len(missing), CODING_BATCH):
            indexes = missing[first : first + CODING_BATCH]
            pairs = [(next(tagged), segments[index]) for index in indexes]
            for index, codings in zip(indexes, code(pairs), strict=True):
                by_segment[index] = codings
    codings = [coding for found in by_segment for coding in found]
    return Codings(codings, segments, codebook)


def transcript_chunks(segments: Segments, parts: int) -> list[tuple[int, int]]:
    """(first, end) index ranges that split the segments into about `parts` runs of similar
    length in characters, each made of whole transcripts (a worker then unpacks only the
    docs of its own transcripts)."""
    sizes = [len(segment.text) for segment in segments]
    return balanced_runs(sizes, [segment.transcript_id for segment in segments], parts)


def code_order(codebook: Codebook | None, *codings: Codings) -> list[str]:
    """The codes used in these codings, in codebook order (every codebook code, then codes
    outside the codebook); sorted when there is no codebook."""
    used = list(dict.fromkeys(c.code_id for each in codings for c in each))
    if codebook is None:
        return sorted(used)
    order = [code.id for code in codebook.codes]
    return order + [c for c in used if c not in order]


# --- files ----------------------------------------------------------------------------


_TAG = re.compile(r"\[[^\[\]]*\]")


def comparable_text(text: str) -> str:
    """Segment text for matching across runs: tags such as `[Person B]` and spacing ignored
    (a later anonymisation may number pseudonyms differently)."""
    return " ".join(_TAG.sub("[]", text).split()).casefold()


def anchor_segment(segments: Segments, segment_id: str, text: str | None) -> Segment | None:
    """The segment a coding refers to. Without `text`, the segment with that id. With the
    text that was coded, the segment with that id if its text matches, else the one segment
    of the same transcript with that text (segmentation changed since), else None."""
    segment = segments.get(segment_id)
    if not text:
        return segment
    wanted = comparable_text(text)
    if segment is not None and comparable_text(segment.text) == wanted:
        return segment
    transcript_id = segment.transcript_id if segment else segment_id.split(":")[0]
    matches = [
        s
        for s in segments
        if s.transcript_id == transcript_id and comparable_text(s.text) == wanted
    ]
    return matches[0] if len(matches) == 1 else None


def write_codings(codings: Codings, path: str | Path) -> Path:
    """Write `codings.csv` atomically."""
    path = Path(path)
    atomic_write_text(path, csv_text(CSV_COLUMNS, codings.rows()))
    return path


def read_codings(
    path: str | Path,
    segments: Segments,
    codebook: Codebook | None = None,
    source: str | None = None,
) -> Codings:
    """Read a `codings.csv` (qualcode's own, or one a human filled in)."""
    path = Path(path)
    if not path.is_file():
        raise QualcodeError("the codings file does not exist", file=path, fix="check the path")
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    missing = [c for c in ("segment_id", "code_id") if c not in (reader.fieldnames or [])]
    if missing:
        raise QualcodeError(
            f"missing column {', '.join(missing)}",
            file=path,
            line=1,
            fix=f"the columns are {', '.join(CSV_COLUMNS)}",
        )
    known = {code.id: code for code in codebook.codes} if codebook else {}
    items = []
    for row in reader:
        segment = anchor_segment(segments, row["segment_id"], row.get("text"))
        if segment is None:
            raise QualcodeError(
                "unknown segment id"
                if segments.get(row["segment_id"]) is None
                else "the segment's text is not the text that was coded",
                file=path,
                line=reader.line_num,
                fix="use the segment ids of the segments.csv the codings were made on",
            )
        code = known.get(row["code_id"])
        if codebook is not None and code is None:
            raise QualcodeError(
                f"unknown code id '{row['code_id']}'",
                file=path,
                line=reader.line_num,
                fix="use the code ids of the codebook",
            )
        items.append(
            Coding(
                segment.id,
                segment.transcript_id,
                segment.speaker,
                row["code_id"],
                code.subtheme_id if code else row.get("subtheme_id", ""),
                code.theme_id if code else row.get("theme_id", ""),
                float(row.get("score") or 1.0),
                parse_evidence(row.get("evidence") or ""),
                source or row.get("source") or "human",
                row.get("coder") or "",
            )
        )
    return Codings(items, segments, codebook)
