"""Measuring anonymisation against gold annotations, following TAB (Pilán et al. 2022).

Two measures, both over characters of the original text that a system masked:

- **Entity recall** (ER_di for direct identifiers, ER_qi for quasi identifiers): an entity is
  protected only when every one of its mentions is fully masked; characters left visible are
  forgiven only when they are spaces, punctuation or function words (determiners,
  prepositions, particles, conjunctions, and the titles Mr/Mrs/Ms that TAB's script forgives).
- **Token precision:** the share of masked word tokens that lie inside gold mentions of
  entities that should be masked (DIRECT or QUASI).

Gold comes from the TAB corpus (`read_tab`) or from the project's labelled transcripts with
inline markup `[[text|kind]]` (`read_labelled`). Masked spans are `(start, end)` offsets into
the gold text.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .anonymize import Replacement
    from .transcripts import Transcript

MASKED_TYPES = ("DIRECT", "QUASI")
IDENTIFIER_TYPES = (*MASKED_TYPES, "NO_MASK")
DIRECT_KINDS = frozenset({"participant", "moderator", "person", "email", "phone", "url", "id"})
MARKUP = re.compile(r"\[\[([^\]|]+)\|([a-z]+)\]\]")
WORD = re.compile(r"\w+")

# Words a mention may leave visible and still count as masked: determiners, prepositions,
# conjunctions, the possessive `'s` (see `_forgiven`), and the titles and abbreviations that
# TAB's own evaluation script also forgives (Mr, Mrs, Ms, no, nr).
FUNCTION_WORDS = frozenset(
    """
a an the no this that these those and or nor but from until to about after as at before
between by during for in into of on over since with without under upon via mr mrs ms nr
""".split()
)


@dataclass(frozen=True)
class GoldEntity:
    """One entity of a gold document: its kind, whether to mask it and where it is said."""

    entity_id: str
    kind: str
    identifier_type: str  # DIRECT | QUASI | NO_MASK
    mentions: tuple[tuple[int, int], ...]


class GoldDocument(NamedTuple):
    """A gold document: `(doc_id, text, entities)`."""

    doc_id: str
    text: str
    entities: tuple[GoldEntity, ...]


@dataclass(frozen=True)
class Score:
    """Entity recall (direct, quasi), token precision and recall per kind.

    A figure is None when there was nothing to measure (no entity of that type, no masked
    token). `counts` holds (protected, total) per kind so that kinds can be combined.
    """

    er_direct: float | None
    er_quasi: float | None
    token_precision: float | None
    per_kind: dict[str, float] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    entities_direct: int = 0
    entities_quasi: int = 0
    masked_tokens: int = 0

    def recall_of(self, *kinds: str) -> float | None:
        """Entity recall over the entities of the given kinds taken together."""
        protected = sum(self.counts.get(kind, (0, 0))[0] for kind in kinds)
        total = sum(self.counts.get(kind, (0, 0))[1] for kind in kinds)
        return protected / total if total else None

    def to_dict(self) -> dict[str, object]:
        return {
            "er_direct": self.er_direct,
            "er_quasi": self.er_quasi,
            "token_precision": self.token_precision,
            "per_kind": dict(self.per_kind),
            "counts": {kind: list(pair) for kind, pair in self.counts.items()},
            "entities_direct": self.entities_direct,
            "entities_quasi": self.entities_quasi,
            "masked_tokens": self.masked_tokens,
        }


# --- masks ----------------------------------------------------------------------------


def mask_of(text: str, masked_spans: Iterable[tuple[int, int]]) -> bytearray:
    """One byte per character of `text`: 1 where some span masks it."""
    mask = bytearray(len(text))
    for start, end in masked_spans:
        start, end = max(0, start), min(len(text), end)
        if end > start:
            mask[start:end] = b"\x01" * (end - start)
    return mask


def _as_mask(text: str, masked: Iterable[tuple[int, int]] | bytearray) -> bytearray:
    return masked if isinstance(masked, bytearray) else mask_of(text, masked)


def _forgiven(text: str, match: re.Match[str]) -> bool:
    """A visible word that gives nothing away: a function word or a possessive `s`."""
    word = match.group().casefold()
    if word in FUNCTION_WORDS:
        return True
    return word == "s" and match.start() > 0 and text[match.start() - 1] in "'’"


def mention_masked(text: str, start: int, end: int, mask: bytearray) -> bool:
    """Whether a mention is masked, forgiving visible spaces, punctuation and function words."""
    if all(mask[start:end]):
        return True
    for match in WORD.finditer(text, start, end):
        if not all(mask[match.start() : match.end()]) and not _forgiven(text, match):
            return False
    return True


def entity_protected(entity: GoldEntity, text: str, mask: bytearray) -> bool:
    """An entity is protected only when every one of its mentions is masked."""
    return all(mention_masked(text, start, end, mask) for start, end in entity.mentions)


# --- measures -------------------------------------------------------------------------


def _recall_counts(
    gold_entities: Iterable[GoldEntity], mask: bytearray, text: str, identifier_type: str
) -> tuple[int, int]:
    entities = [e for e in gold_entities if e.identifier_type == identifier_type]
    return sum(entity_protected(e, text, mask) for e in entities), len(entities)


def entity_recall(
    gold_entities: Iterable[GoldEntity],
    masked_spans: Iterable[tuple[int, int]] | bytearray,
    text: str,
    identifier_type: str,
) -> float | None:
    """Share of the entities of one identifier type (DIRECT, QUASI) that are protected."""
    protected, total = _recall_counts(
        gold_entities, _as_mask(text, masked_spans), text, identifier_type
    )
    return protected / total if total else None


def _gold_mask(gold_entities: Iterable[GoldEntity], text: str) -> bytearray:
    return mask_of(
        text,
        (m for e in gold_entities if e.identifier_type in MASKED_TYPES for m in e.mentions),
    )


def _precision_counts(
    gold_entities: Iterable[GoldEntity], mask: bytearray, text: str
) -> tuple[int, int]:
    gold = _gold_mask(gold_entities, text)
    correct = masked = 0
    for match in WORD.finditer(text):
        if any(mask[match.start() : match.end()]):
            masked += 1
            correct += all(gold[match.start() : match.end()])
    return correct, masked


def token_precision(
    gold_entities: Iterable[GoldEntity],
    masked_spans: Iterable[tuple[int, int]] | bytearray,
    text: str,
) -> float | None:
    """Share of masked word tokens that lie inside gold mentions of DIRECT or QUASI entities.

    Word tokens are runs of letters and digits (`36110/97` is two); a token counts as masked
    when any of its characters is masked.
    """
    correct, masked = _precision_counts(gold_entities, _as_mask(text, masked_spans), text)
    return correct / masked if masked else None


def score(
    system_spans_per_doc: Mapping[str, Iterable[tuple[int, int]]],
    gold_per_doc: Iterable[GoldDocument],
) -> Score:
    """Entity recall and token precision over a corpus (micro-averaged over entities and
    tokens). Documents the system has no spans for count as masking nothing."""
    protected: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    correct = masked = 0
    for doc_id, text, entities in gold_per_doc:
        mask = mask_of(text, system_spans_per_doc.get(doc_id, ()))
        for entity in entities:
            if entity.identifier_type not in MASKED_TYPES:
                continue
            safe = entity_protected(entity, text, mask)
            protected[entity.identifier_type] += safe
            total[entity.identifier_type] += 1
            kinds[entity.kind][0] += safe
            kinds[entity.kind][1] += 1
        doc_correct, doc_masked = _precision_counts(entities, mask, text)
        correct += doc_correct
        masked += doc_masked

    def ratio(kind: str) -> float | None:
        return protected[kind] / total[kind] if total[kind] else None

    return Score(
        er_direct=ratio("DIRECT"),
        er_quasi=ratio("QUASI"),
        token_precision=correct / masked if masked else None,
        per_kind={kind: safe / n for kind, (safe, n) in sorted(kinds.items())},
        counts={kind: (safe, n) for kind, (safe, n) in sorted(kinds.items())},
        entities_direct=total["DIRECT"],
        entities_quasi=total["QUASI"],
        masked_tokens=masked,
    )


def unprotected_mentions(
    gold_entities: Iterable[GoldEntity], masked_spans: Iterable[tuple[int, int]], text: str
) -> list[tuple[GoldEntity, int, int]]:
    """(entity, start, end) of every DIRECT or QUASI mention left (partly) visible."""
    mask = mask_of(text, masked_spans)
    return [
        (entity, start, end)
        for entity in gold_entities
        if entity.identifier_type in MASKED_TYPES
        for start, end in entity.mentions
        if not mention_masked(text, start, end, mask)
    ]


def overmasked_tokens(
    gold_entities: Iterable[GoldEntity], masked_spans: Iterable[tuple[int, int]], text: str
) -> list[tuple[int, int]]:
    """(start, end) of masked word tokens outside every gold mention to mask."""
    mask = mask_of(text, masked_spans)
    gold = _gold_mask(gold_entities, text)
    return [
        (m.start(), m.end())
        for m in WORD.finditer(text)
        if any(mask[m.start() : m.end()]) and not all(gold[m.start() : m.end()])
    ]


# --- qualcode's review rows as masked spans --------------------------------------------


def masked_part(
    original: str, replacement: str, start: int, generalised: bool = True
) -> list[tuple[int, int]]:
    """The characters a replacement hides. A generalised value (a date, a speaker label)
    hides only the words its replacement does not repeat: `14 Mar 2022` → `[March 2022]`
    hides `14`, `MODERATOR` → `Moderator 3` hides nothing."""
    if not generalised:
        return [(start, start + len(original))]
    kept = {w.casefold() for w in WORD.findall(replacement)}
    return [
        (start + match.start(), start + match.end())
        for match in WORD.finditer(original)
        if not _repeated(match.group().casefold(), kept)
    ]


def _repeated(word: str, kept: set[str]) -> bool:
    """A word the replacement repeats, or abbreviates (`Mar` for `March`)."""
    return word in kept or (
        word.isalpha() and len(word) >= 3 and any(k.startswith(word) for k in kept)
    )


def review_spans(
    transcript: Transcript, text: str, review: Iterable[Replacement]
) -> list[tuple[int, int]]:
    """Masked spans in a document's own text from `anonymize()`'s review rows for one
    transcript read from (or built on) that text.

    Review offsets are into the rendered transcript: each turn's text is found in `text` in
    order, and a replaced speaker label masks the label before the turn's colon; rows outside
    the turns (front matter) are left out. Dates and labels count as masked only where the
    replacement does not repeat them (`masked_part`).
    """
    from .transcripts import render

    _rendered, offsets = render(transcript)
    places: list[tuple[int, int, int]] = []  # (offset in rendered, offset in text, length)
    labels: dict[int, tuple[int, int]] = {}
    cursor = 0
    for turn, offset in zip(transcript.turns, offsets, strict=True):
        found = text.find(turn.text, cursor)
        if found < 0:
            continue
        places.append((offset, found, len(turn.text)))
        line = text.rfind("\n", 0, found) + 1
        colon = text.rfind(":", line, found)
        if colon > line:
            labels[offset - len(turn.speaker) - (2 if turn.text else 1)] = (line, colon)
        cursor = found + len(turn.text)
    spans: list[tuple[int, int]] = []
    for row in review:
        if row.transcript_id != transcript.id or row.start < 0:
            continue
        if row.detector == "speaker label":
            if row.start in labels:
                start, end = labels[row.start]
                spans += masked_part(text[start:end], row.replacement, start)
            continue
        for offset, found, length in places:
            if offset <= row.start and row.end <= offset + length:
                start = found + row.start - offset
                spans += masked_part(row.original, row.replacement, start, row.kind == "date")
                break
    return spans


# --- readers --------------------------------------------------------------------------


def read_tab(path: str | Path) -> list[GoldDocument]:
    """The TAB corpus (json): each document with the first annotator's entities.

    An entity is DIRECT if any of its mentions is, else QUASI if any is, else NO_MASK; as in
    TAB's evaluation script, the NO_MASK mentions of an entity to mask are left out.
    """
    documents = []
    for item in json.loads(Path(path).read_text(encoding="utf-8")):
        annotations = item.get("annotations") or {}
        first = next(iter(annotations.values()), {})
        mentions: dict[str, list[dict[str, object]]] = defaultdict(list)
        for mention in first.get("entity_mentions", []):
            mentions[str(mention["entity_id"])].append(mention)
        entities = []
        for entity_id, items in mentions.items():
            types = {str(m["identifier_type"]) for m in items}
            identifier_type = next((t for t in IDENTIFIER_TYPES if t in types), "NO_MASK")
            entities.append(
                GoldEntity(
                    entity_id,
                    str(items[0]["entity_type"]),
                    identifier_type,
                    tuple(
                        sorted(
                            (int(m["start_offset"]), int(m["end_offset"]))
                            for m in items
                            if identifier_type == "NO_MASK" or m["identifier_type"] != "NO_MASK"
                        )
                    ),
                )
            )
        documents.append(GoldDocument(str(item["doc_id"]), item["text"], tuple(entities)))
    return documents


def parse_labelled(text: str, doc_id: str = "") -> GoldDocument:
    """Strip `[[text|kind]]` markup: the plain text and its entities.

    Each marked mention is its own entity, except that mentions with the same text
    (case-insensitive) and kind form one entity. Participants, moderators, persons, emails,
    phones, URLs and IDs are DIRECT identifiers, the rest QUASI.
    """
    plain: list[str] = []
    position = length = 0
    groups: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for match in MARKUP.finditer(text):
        before = text[position : match.start()]
        plain.append(before)
        length += len(before)
        value, kind = match.group(1), match.group(2)
        groups[(kind, " ".join(value.casefold().split()))].append((length, length + len(value)))
        plain.append(value)
        length += len(value)
        position = match.end()
    plain.append(text[position:])
    entities = tuple(
        GoldEntity(
            f"{doc_id}:{kind}:{value}",
            kind,
            "DIRECT" if kind in DIRECT_KINDS else "QUASI",
            tuple(mentions),
        )
        for (kind, value), mentions in groups.items()
    )
    return GoldDocument(doc_id, "".join(plain), entities)


def read_labelled(folder: str | Path) -> list[GoldDocument]:
    """The project's labelled transcripts: every `.txt` file in `folder`, markup stripped."""
    return [
        parse_labelled(path.read_text(encoding="utf-8"), path.stem)
        for path in sorted(Path(folder).glob("*.txt"))
    ]


def words(documents: Sequence[GoldDocument]) -> int:
    """Whitespace-separated words in the documents' texts."""
    return sum(len(doc.text.split()) for doc in documents)
