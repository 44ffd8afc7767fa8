"""Rolling codings up into themes and subthemes, with counts and well-chosen quotes."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .agreement import Agreement
from .codebook import Codebook, Subtheme
from .coding import Coding, Codings, code_order
from .segments import Segment, Segments

if TYPE_CHECKING:
    import pandas as pd

MIN_QUOTE_WORDS = 10
MAX_QUOTE_WORDS = 80
QUOTES_PER_SUBTHEME = 4
NEAR_DUPLICATE = 0.6  # word-set overlap (Jaccard) above which two quotes say the same
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Quote:
    """A quote supporting a subtheme, attributed as `(<speaker>, <group>)`."""

    segment_id: str
    transcript_id: str
    speaker: str
    group: str
    text: str
    codes: tuple[str, ...]
    score: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Quote:
        return cls(
            data["segment_id"],
            data["transcript_id"],
            data["speaker"],
            data.get("group", ""),
            data["text"],
            tuple(data.get("codes", ())),
            float(data.get("score", 0.0)),
        )

    @property
    def attribution(self) -> str:
        return f"({self.speaker}, {self.group})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "transcript_id": self.transcript_id,
            "speaker": self.speaker,
            "group": self.group,
            "text": self.text,
            "codes": list(self.codes),
        }


@dataclass(frozen=True)
class Counts:
    """Coded segments, distinct participants and distinct groups."""

    segments: int = 0
    participants: int = 0
    groups: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"segments": self.segments, "participants": self.participants, "groups": self.groups}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        return cls(int(data["segments"]), int(data["participants"]), int(data["groups"]))


@dataclass(frozen=True)
class CodeSummary:
    id: str
    label: str
    counts: Counts

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, **self.counts.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeSummary:
        return cls(data["id"], data["label"], Counts.from_dict(data))


@dataclass(frozen=True)
class SubthemeSummary:
    id: str
    label: str
    description: str
    counts: Counts
    codes: tuple[CodeSummary, ...]
    quotes: tuple[Quote, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            **self.counts.to_dict(),
            "codes": [c.to_dict() for c in self.codes],
            "quotes": [q.to_dict() for q in self.quotes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubthemeSummary:
        return cls(
            data["id"],
            data["label"],
            data.get("description", ""),
            Counts.from_dict(data),
            tuple(CodeSummary.from_dict(c) for c in data.get("codes", ())),
            tuple(Quote.from_dict(q) for q in data.get("quotes", ())),
        )


@dataclass(frozen=True)
class ThemeSummary:
    id: str
    label: str
    description: str
    counts: Counts
    subthemes: tuple[SubthemeSummary, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            **self.counts.to_dict(),
            "subthemes": [s.to_dict() for s in self.subthemes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThemeSummary:
        return cls(
            data["id"],
            data["label"],
            data.get("description", ""),
            Counts.from_dict(data),
            tuple(SubthemeSummary.from_dict(s) for s in data.get("subthemes", ())),
        )


@dataclass(frozen=True)
class ThemeReport:
    """The theme roll-up: the `themes.json` content, as tables, Markdown or HTML."""

    codebook: dict[str, str]
    totals: dict[str, int]
    themes: tuple[ThemeSummary, ...]
    group_names: tuple[str, ...] = field(default=())
    codings: Codings | None = field(default=None, compare=False, repr=False)
    # participant attributes from the roster, by (transcript id, speaker as in the segments)
    attributes: dict[tuple[str, str], dict[str, str]] = field(
        default_factory=dict, compare=False, repr=False
    )
    saturation: Saturation | None = field(default=None, compare=False, repr=False)
    # agreement between coders (human and rule coders), as the run computed it
    agreements: tuple[Agreement, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        codings: Codings | None = None,
        attributes: dict[tuple[str, str], dict[str, str]] | None = None,
    ) -> ThemeReport:
        """A report read back from `themes.json` (with the codings, for the tables)."""
        groups = tuple(dict.fromkeys(s.group for s in codings.segments)) if codings else ()
        labels = {
            c["id"]: c["label"] for t in data["themes"] for s in t["subthemes"] for c in s["codes"]
        }
        return cls(
            dict(data["codebook"]),
            dict(data["totals"]),
            tuple(ThemeSummary.from_dict(t) for t in data["themes"]),
            groups,
            codings,
            attributes or {},
            Saturation.from_dict(data["saturation"]) if data.get("saturation") else None,
            tuple(Agreement.from_dict(a, labels) for a in data.get("agreement", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        """The `themes.json` content; with roster attributes, also the breakdowns (per
        attribute, subtheme and value: participants who raised it / participants)."""
        data: dict[str, Any] = {
            "codebook": dict(self.codebook),
            "totals": dict(self.totals),
            "themes": [t.to_dict() for t in self.themes],
        }
        breakdowns = attribute_breakdown(self)
        if breakdowns:
            data["breakdowns"] = {
                name: {
                    sub: dict(zip(frame.columns, row, strict=True))
                    for sub, row in zip(frame.index, frame.values.tolist(), strict=True)
                }
                for name, frame in breakdowns.items()
            }
        if self.codings is not None:
            data["co_occurrence"] = co_occurring_pairs(self.codings)
        if self.saturation is not None:
            data["saturation"] = self.saturation.to_dict()
        if self.agreements:
            data["agreement"] = [a.to_dict() for a in self.agreements]
        return data

    def to_frame(self) -> pd.DataFrame:
        """One row a code: theme, subtheme and code with their counts."""
        import pandas as pd

        rows = []
        for theme in self.themes:
            for sub in theme.subthemes:
                for code in sub.codes:
                    rows.append(
                        {
                            "theme_id": theme.id,
                            "theme": theme.label,
                            "subtheme_id": sub.id,
                            "subtheme": sub.label,
                            "code_id": code.id,
                            "code": code.label,
                            **code.counts.to_dict(),
                        }
                    )
        return pd.DataFrame(rows)

    def to_markdown(self) -> str:
        from .reports import theme_report_markdown

        return theme_report_markdown(self)

    def _repr_html_(self) -> str:
        groups = self.totals.get("groups", 0)
        parts = [
            f"<h3>{html.escape(self.codebook.get('name', 'Themes'))}</h3>",
            f"<p>{self.totals['coded_segments']} of {self.totals['segments']} segments "
            f"coded; {self.totals['participants']} participants in "
            f"{self.totals['transcripts']} transcripts.</p>",
            "<table>",
            "<tr><th>Theme / subtheme</th><th>Segments</th><th>Participants</th>"
            "<th>Groups</th></tr>",
        ]
        for theme in self.themes:
            parts.append(
                f"<tr><td><b>{html.escape(theme.label)}</b></td>"
                f"<td>{theme.counts.segments}</td><td>{theme.counts.participants}</td>"
                f"<td>{theme.counts.groups}/{groups}</td></tr>"
            )
            for sub in theme.subthemes:
                quote = (
                    f"<br><i>“{html.escape(sub.quotes[0].text)}” "
                    f"{html.escape(sub.quotes[0].attribution)}</i>"
                    if sub.quotes
                    else ""
                )
                parts.append(
                    f"<tr><td>&nbsp;&nbsp;{html.escape(sub.label)}{quote}</td>"
                    f"<td>{sub.counts.segments}</td><td>{sub.counts.participants}</td>"
                    f"<td>{sub.counts.groups}/{groups}</td></tr>"
                )
        parts.append("</table>")
        return "".join(parts)


def _counts(codings: Iterable[Coding], segments: Segments) -> Counts:
    seg_ids = {c.segment_id for c in codings}
    found = [segments.get(i) for i in seg_ids]
    found = [s for s in found if s is not None]
    return Counts(
        segments=len(seg_ids),
        participants=len({(s.transcript_id, s.speaker) for s in found if s.role == "participant"}),
        groups=len({s.group for s in found}),
    )


def build_themes(
    codings: Codings,
    codebook: Codebook | None = None,
    attributes: dict[tuple[str, str], dict[str, str]] | None = None,
    *,
    order: Sequence[str] | None = None,
    agreements: Sequence[Agreement] = (),
) -> ThemeReport:
    """Roll codings up into themes and subthemes with counts and quotes; `attributes`
    (participant attributes by transcript and speaker) add breakdowns to the reports,
    `order` (transcript ids in the order the groups were run) the saturation view, and
    `agreements` (from `qualcode.agreement`) the agreement section."""
    codebook = codebook or codings.codebook
    if codebook is None:
        raise ValueError("build_themes needs the codebook (codings carry none)")
    segments = codings.segments
    by_code: dict[str, list[Coding]] = {}
    for coding in codings:
        by_code.setdefault(coding.code_id, []).append(coding)
    themes = []
    for theme in codebook.themes:
        groups_of_theme: list[Coding] = [
            c for code in theme.all_codes for c in by_code.get(code.id, [])
        ]
        subthemes = list(theme.subthemes)
        if theme.codes:  # codes directly under a theme form a subtheme of their own
            subthemes.insert(
                0, Subtheme(theme.id, theme.label, theme.id, theme.description, theme.codes)
            )
        summaries = []
        for sub in subthemes:
            sub_codings = [c for code in sub.codes for c in by_code.get(code.id, [])]
            summaries.append(
                SubthemeSummary(
                    sub.id,
                    sub.label,
                    sub.description,
                    _counts(sub_codings, segments),
                    tuple(
                        CodeSummary(
                            code.id, code.label, _counts(by_code.get(code.id, []), segments)
                        )
                        for code in sub.codes
                    ),
                    tuple(choose_quotes(sub_codings, segments)),
                )
            )
        themes.append(
            ThemeSummary(
                theme.id,
                theme.label,
                theme.description,
                _counts(groups_of_theme, segments),
                tuple(summaries),
            )
        )
    participants = {(s.transcript_id, s.speaker) for s in segments if s.role == "participant"}
    group_names = tuple(dict.fromkeys(s.group for s in segments))
    totals = {
        "transcripts": len({s.transcript_id for s in segments}),
        "groups": len(group_names),
        "participants": len(participants),
        "segments": len(segments),
        "coded_segments": len({c.segment_id for c in codings}),
    }
    info = {"name": codebook.name, "version": codebook.version, "sha256": codebook.sha256}
    return ThemeReport(
        info,
        totals,
        tuple(themes),
        group_names,
        codings,
        attributes or {},
        saturation(codings, order),
        tuple(agreements),
    )


# --- quotes ---------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


def _turn_segments(segments: Segments) -> dict[tuple[str, int], list[Segment]]:
    turns: dict[tuple[str, int], list[Segment]] = {}
    for segment in segments:
        turns.setdefault((segment.transcript_id, segment.turn), []).append(segment)
    return turns


def quote_text(segment: Segment, turn: list[Segment], evidence_start: int | None = None) -> str:
    """A readable quote around a coded segment: widened with neighbouring sentences of the
    same turn to about 10 words, or trimmed at sentence boundaries (with `…`) to 80."""
    if len(_words(segment.text)) > MAX_QUOTE_WORDS:
        return _trim(segment, evidence_start)
    index = turn.index(segment)
    first = last = index
    count = len(_words(segment.text))
    while count < MIN_QUOTE_WORDS:
        if last + 1 < len(turn) and count + len(_words(turn[last + 1].text)) <= MAX_QUOTE_WORDS:
            last += 1
            count += len(_words(turn[last].text))
        elif first > 0 and count + len(_words(turn[first - 1].text)) <= MAX_QUOTE_WORDS:
            first -= 1
            count += len(_words(turn[first].text))
        else:
            break
    return " ".join(" ".join(s.text.split()) for s in turn[first : last + 1])


def _trim(segment: Segment, evidence_start: int | None) -> str:
    sentences = [s for s in _SENTENCE_END.split(segment.text) if s.strip()]
    offsets, position = [], 0
    for sentence in sentences:
        position = segment.text.index(sentence, position)
        offsets.append(segment.start + position)
        position += len(sentence)
    target = evidence_start if evidence_start is not None else segment.start
    centre = max((i for i, o in enumerate(offsets) if o <= target), default=0)
    first = last = centre
    count = len(_words(sentences[centre]))
    while True:
        grown = False
        if (
            last + 1 < len(sentences)
            and count + len(_words(sentences[last + 1])) <= MAX_QUOTE_WORDS
        ):
            last += 1
            count += len(_words(sentences[last]))
            grown = True
        if (
            count < MIN_QUOTE_WORDS * 4
            and first > 0
            and count + len(_words(sentences[first - 1])) <= MAX_QUOTE_WORDS
        ):
            first -= 1
            count += len(_words(sentences[first]))
            grown = True
        if not grown:
            break
    text = " ".join(" ".join(s.split()) for s in sentences[first : last + 1])
    if len(_words(text)) > MAX_QUOTE_WORDS:
        text = " ".join(_words(text)[:MAX_QUOTE_WORDS])
        last = len(sentences)  # force the closing ellipsis
    return ("… " if first > 0 else "") + text + (" …" if last < len(sentences) - 1 else "")


def _similar(a: str, b: str) -> bool:
    left = {w.casefold().strip(".,!?…\"'") for w in a.split()}
    right = {w.casefold().strip(".,!?…\"'") for w in b.split()}
    return bool(left and right) and len(left & right) / len(left | right) > NEAR_DUPLICATE


def _same_turn(a: Quote, b: Quote) -> bool:
    return a.segment_id.rsplit(":", 1)[0] == b.segment_id.rsplit(":", 1)[0]


def choose_quotes(
    codings: list[Coding], segments: Segments, limit: int = QUOTES_PER_SUBTHEME
) -> list[Quote]:
    """Quotes as a researcher picks them: participants only, readable length, strongest
    evidence first, new speakers and groups before repeats, no near-duplicates."""
    per_segment: dict[str, list[Coding]] = {}
    for coding in codings:
        per_segment.setdefault(coding.segment_id, []).append(coding)
    turns = _turn_segments(segments)
    candidates = []
    for segment_id, found in per_segment.items():
        segment = segments.get(segment_id)
        if segment is None or segment.role != "participant":
            continue
        starts = [e.start for c in found for e in c.evidence if e.start >= 0]
        text = quote_text(
            segment, turns[(segment.transcript_id, segment.turn)], min(starts) if starts else None
        )
        words = len(_words(text))
        if words < 4:
            continue
        score = sum(c.score for c in found)
        length_penalty = 0 if MIN_QUOTE_WORDS <= words <= MAX_QUOTE_WORDS else 1
        candidates.append(
            (
                (length_penalty, -score, abs(words - 35), segment.id),
                Quote(
                    segment.id,
                    segment.transcript_id,
                    segment.speaker,
                    segment.group,
                    text,
                    tuple(sorted({c.code_id for c in found})),
                    score,
                ),
            )
        )
    candidates.sort(key=lambda item: item[0])
    chosen: list[Quote] = []
    for strict_speaker, strict_group in ((True, True), (True, False), (False, False)):
        for _, quote in candidates:
            if len(chosen) >= limit:
                return chosen
            if quote in chosen or any(
                _similar(quote.text, q.text) or _same_turn(quote, q) for q in chosen
            ):
                continue
            if strict_speaker and any(
                (q.transcript_id, q.speaker) == (quote.transcript_id, quote.speaker) for q in chosen
            ):
                continue
            if strict_group and any(q.group == quote.group for q in chosen):
                continue
            chosen.append(quote)
    return chosen


# --- matrices -------------------------------------------------------------------------


def code_by_group(codings: Codings) -> pd.DataFrame:
    """Coded segments per code (rows, codebook order) and group (columns)."""
    import pandas as pd

    groups = list(dict.fromkeys(s.group for s in codings.segments))
    codes = code_order(codings.codebook, codings)
    group_of = {s.id: s.group for s in codings.segments}
    counts = {(c, g): set() for c in codes for g in groups}
    for coding in codings:
        counts[(coding.code_id, group_of.get(coding.segment_id, ""))].add(coding.segment_id)
    return pd.DataFrame(
        [[len(counts.get((c, g), ())) for g in groups] for c in codes],
        index=pd.Index(codes, name="code_id"),
        columns=groups,
    )


def co_occurrence(
    codings: Codings, *, within: str = "segment", measure: str = "count"
) -> pd.DataFrame:
    """Codes found together in the same segment (`within="segment"`) or the same turn
    (`"turn"`): a symmetric matrix of counts (the diagonal is each code's count) or of
    Jaccard indices (units with both / units with either)."""
    import pandas as pd

    if within not in ("segment", "turn") or measure not in ("count", "jaccard"):
        raise ValueError("within is 'segment' or 'turn'; measure is 'count' or 'jaccard'")
    codes = code_order(codings.codebook, codings)
    turn_of = {s.id: (s.transcript_id, s.turn) for s in codings.segments}
    by_unit: dict[object, set[str]] = {}
    for coding in codings:
        unit = coding.segment_id if within == "segment" else turn_of.get(coding.segment_id)
        by_unit.setdefault(unit, set()).add(coding.code_id)
    index = {code: i for i, code in enumerate(codes)}
    matrix = [[0] * len(codes) for _ in codes]
    for found in by_unit.values():
        for a in found:
            for b in found:
                matrix[index[a]][index[b]] += 1
    if measure == "jaccard":
        matrix = [
            [
                matrix[i][j] / (matrix[i][i] + matrix[j][j] - matrix[i][j])
                if matrix[i][i] + matrix[j][j] - matrix[i][j]
                else 0.0
                for j in range(len(codes))
            ]
            for i in range(len(codes))
        ]
    return pd.DataFrame(matrix, index=pd.Index(codes, name="code_id"), columns=codes)


def co_occurring_pairs(codings: Codings) -> list[dict[str, Any]]:
    """Every pair of codes found together, most frequent first: segments and turns with
    both, and the Jaccard index on segments."""
    segment_counts = co_occurrence(codings)
    turn_counts = co_occurrence(codings, within="turn")
    jaccard = co_occurrence(codings, measure="jaccard")
    codes = list(segment_counts.index)
    segments, turns, jaccards = (
        m.loc[codes, codes].to_numpy() for m in (segment_counts, turn_counts, jaccard)
    )
    pairs = []
    for i, j in zip(*turns.nonzero(), strict=True):  # pairs found in the same turn at least
        if i < j:
            pairs.append(
                {
                    "code_a": codes[i],
                    "code_b": codes[j],
                    "segments": int(segments[i, j]),
                    "turns": int(turns[i, j]),
                    "jaccard": round(float(jaccards[i, j]), 4),
                }
            )
    pairs.sort(key=lambda p: (-p["segments"], -p["turns"], p["code_a"], p["code_b"]))
    return pairs


# --- saturation -----------------------------------------------------------------------


@dataclass(frozen=True)
class SaturationStep:
    """One transcript in the order the groups were run: its codes and which were new."""

    transcript_id: str
    codes: int
    new_codes: tuple[str, ...]
    cumulative: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "transcript_id": self.transcript_id,
            "codes": self.codes,
            "new_codes": list(self.new_codes),
            "cumulative": self.cumulative,
        }


@dataclass(frozen=True)
class SaturationRun:
    """A run of successive transcripts after the base: new codes relative to the base."""

    transcripts: tuple[str, ...]
    new_codes: int
    ratio: float


@dataclass(frozen=True)
class Saturation:
    """New codes per successive group and the new-information threshold view (Guest, Namey
    & Chen 2020): codes new in each run of `run` groups as a share of the codes in the first
    `base` groups; saturation is reached at the first run at or below `threshold`."""

    steps: tuple[SaturationStep, ...]
    base: int
    run: int
    threshold: float
    runs: tuple[SaturationRun, ...]

    @property
    def base_codes(self) -> int:
        return self.steps[self.base - 1].cumulative if self.steps and self.base else 0

    @property
    def reached_at(self) -> str | None:
        """The last transcript of the first run at or below the threshold, if any."""
        for run in self.runs:
            if run.ratio <= self.threshold:
                return run.transcripts[-1]
        return None

    def to_frame(self) -> pd.DataFrame:
        """One row a transcript in order: its codes, new codes and the cumulative count."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "order": i,
                    "transcript_id": step.transcript_id,
                    "codes": step.codes,
                    "new": len(step.new_codes),
                    "cumulative": step.cumulative,
                    "new_codes": ", ".join(step.new_codes),
                }
                for i, step in enumerate(self.steps, start=1)
            ]
        )

    def summary(self) -> str:
        if not self.steps:
            return "No codings, so no saturation view."
        text = (
            f"The first {self.base} groups gave {self.base_codes} codes; "
            f"all {len(self.steps)} gave {self.steps[-1].cumulative}."
        )
        if self.runs:
            shares = ", ".join(
                f"{'+'.join(r.transcripts)}: {r.new_codes} new ({r.ratio:.0%})" for r in self.runs
            )
            reached = self.reached_at
            text += f" New information in runs of {self.run} after the base: {shares}. " + (
                f"Saturation (≤ {self.threshold:.0%} new) was reached at {reached}."
                if reached
                else f"No run reached the {self.threshold:.0%} threshold."
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "run": self.run,
            "threshold": self.threshold,
            "base_codes": self.base_codes,
            "reached_at": self.reached_at,
            "steps": [step.to_dict() for step in self.steps],
            "runs": [
                {"transcripts": list(r.transcripts), "new_codes": r.new_codes, "ratio": r.ratio}
                for r in self.runs
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Saturation:
        return cls(
            tuple(
                SaturationStep(
                    s["transcript_id"], s["codes"], tuple(s["new_codes"]), s["cumulative"]
                )
                for s in data["steps"]
            ),
            data["base"],
            data["run"],
            data["threshold"],
            tuple(
                SaturationRun(tuple(r["transcripts"]), r["new_codes"], r["ratio"])
                for r in data["runs"]
            ),
        )


def saturation(
    codings: Codings,
    order: Sequence[str] | None = None,
    *,
    base: int | None = None,
    run: int | None = None,
    threshold: float = 0.05,
) -> Saturation:
    """Saturation over the transcripts in the order the groups were run (`order`, transcript
    ids; default the order of the segments). `base` defaults to half the groups (at most 4),
    `run` to 2 groups where at least two runs fit after the base, else 1."""
    transcripts = list(order) if order is not None else []
    if not transcripts:
        transcripts = list(dict.fromkeys(s.transcript_id for s in codings.segments))
    found: dict[str, set[str]] = {t: set() for t in transcripts}
    for coding in codings:
        if coding.transcript_id in found:
            found[coding.transcript_id].add(coding.code_id)
    code_rank = {code: i for i, code in enumerate(code_order(codings.codebook, codings))}
    steps, seen = [], set()
    for transcript_id in transcripts:
        new = sorted(found[transcript_id] - seen, key=lambda c: code_rank.get(c, 0))
        seen |= found[transcript_id]
        steps.append(
            SaturationStep(transcript_id, len(found[transcript_id]), tuple(new), len(seen))
        )
    count = len(transcripts)
    base = base if base is not None else min(4, max(1, math.ceil(count / 2)))
    base = max(0, min(base, count))
    run = run if run is not None else (2 if count - base >= 3 else 1)
    base_codes = steps[base - 1].cumulative if base else 0
    runs = []
    for first in range(base, count - run + 1):
        window = transcripts[first : first + run]
        before = set().union(*(found[t] for t in transcripts[:first]))
        new = set().union(*(found[t] for t in window)) - before
        ratio = len(new) / base_codes if base_codes else (0.0 if not new else 1.0)
        runs.append(SaturationRun(tuple(window), len(new), ratio))
    return Saturation(tuple(steps), base, run, threshold, tuple(runs))


def attribute_breakdown(report: ThemeReport) -> dict[str, pd.DataFrame]:
    """For each participant attribute of the roster (gender, year, …): per subtheme, how many
    of the participants with each value raised it, as "k/n"."""
    import pandas as pd

    codings = report.codings
    if codings is None or not report.attributes:
        return {}
    people = {key: values for key, values in report.attributes.items()}
    names = list(dict.fromkeys(name for values in people.values() for name in values))
    segment_of = {s.id: s for s in codings.segments}
    code_to_sub = {c.id: s.label for t in report.themes for s in t.subthemes for c in s.codes}
    raised: dict[str, set[tuple[str, str]]] = {}
    for coding in codings:
        segment = segment_of.get(coding.segment_id)
        if segment is not None and segment.role == "participant" and coding.code_id in code_to_sub:
            raised.setdefault(code_to_sub[coding.code_id], set()).add(
                (segment.transcript_id, segment.speaker)
            )
    tables = {}
    subthemes = [s.label for t in report.themes for s in t.subthemes]
    for name in names:
        values = sorted(
            {v.get(name, "") for v in people.values() if v.get(name, "")}, key=lambda v: (len(v), v)
        )
        if not values:
            continue
        totals = {v: {p for p, attrs in people.items() if attrs.get(name) == v} for v in values}
        rows = [
            [f"{len(raised.get(sub, set()) & totals[v])}/{len(totals[v])}" for v in values]
            for sub in subthemes
        ]
        tables[name] = pd.DataFrame(
            rows,
            index=pd.Index(subthemes, name="subtheme"),
            columns=[f"{name} = {v}" for v in values],
        )
    return tables
