"""Agreement between coders on the segment unit: percent agreement, Cohen's kappa,
Krippendorff's alpha, Gwet's AC1, precision/recall/F1, bootstrap intervals, and the list of
disagreements a consensus meeting works through.

Each code is a presence/absence decision per segment. The units are the participant segments
(moderators' segments only where a coder coded them); a segment a coder did not code counts
as "code absent" for that coder. The overall row pools every (segment, code) decision for the
counts, percent, kappa, AC1 and precision/recall/F1; its alpha is Krippendorff's alpha over
each segment's set of codes with the MASI distance (Passonneau 2006), the multi-valued alpha
across codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from .coding import Codings, code_order
from .segments import Segment, Segments

if TYPE_CHECKING:
    import pandas as pd

    from .codebook import Codebook

OVERALL = "overall"
CSV_COLUMNS = (
    "code_id",
    "segments",
    "both",
    "only_a",
    "only_b",
    "neither",
    "percent",
    "kappa",
    "kappa_low",
    "kappa_high",
    "alpha",
    "ac1",
    "precision",
    "recall",
    "f1",
)
DISAGREEMENT_COLUMNS = (
    "segment_id",
    "transcript_id",
    "speaker",
    "text",
    "coder_a",
    "codes_a",
    "coder_b",
    "codes_b",
    "only_a",
    "only_b",
)


# --- coefficients on 2×2 tables -------------------------------------------------------
# Each takes the four cells (both coded, only A, only B, neither) as numbers or numpy arrays
# (one table per bootstrap draw) and returns NaN where the coefficient is undefined.


def _divide(numerator: Any, denominator: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.true_divide(numerator, denominator)
    return np.where(np.asarray(denominator) == 0, np.nan, result)


def _floats(*cells: Any) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(cell, dtype=float) for cell in cells)


def percent_agreement(both: Any, only_a: Any, only_b: Any, neither: Any) -> Any:
    """Share of units on which the two coders made the same decision."""
    n = np.asarray(both) + only_a + only_b + neither
    return _divide(np.asarray(both) + neither, n)


def cohen_kappa(both: Any, only_a: Any, only_b: Any, neither: Any) -> Any:
    """Cohen's kappa (1960): (p_o − p_e) / (1 − p_e), chance from each coder's own margins.
    Undefined (NaN) when both coders used one category only (p_e = 1)."""
    both, only_a, only_b, neither = _floats(both, only_a, only_b, neither)
    n = both + only_a + only_b + neither
    p_o = _divide(both + neither, n)
    a_yes, b_yes = _divide(both + only_a, n), _divide(both + only_b, n)
    p_e = a_yes * b_yes + (1 - a_yes) * (1 - b_yes)
    kappa = _divide(p_o - p_e, 1 - p_e)
    return np.where(np.isclose(p_e, 1.0), np.nan, kappa)


def binary_alpha(both: Any, only_a: Any, only_b: Any, neither: Any) -> Any:
    """Krippendorff's alpha, nominal, two coders, no missing values: 1 − (n − 1)·D / (n₀·n₁)
    with n = 2N pairable values, D the disagreeing units and n₀, n₁ the values of each kind.
    Undefined (NaN) when only one value occurs."""
    both, only_a, only_b, neither = _floats(both, only_a, only_b, neither)
    n = 2 * (both + only_a + only_b + neither)
    disagreeing = only_a + only_b
    n_yes = 2 * both + disagreeing
    n_no = 2 * neither + disagreeing
    return 1 - _divide((n - 1) * disagreeing, n_yes * n_no)


def gwet_ac1(both: Any, only_a: Any, only_b: Any, neither: Any) -> Any:
    """Gwet's AC1 (2008), stable for rare codes: chance is 2π(1 − π) with π the mean share
    of "present" over both coders."""
    both, only_a, only_b, neither = _floats(both, only_a, only_b, neither)
    n = both + only_a + only_b + neither
    p_o = _divide(both + neither, n)
    prevalence = _divide(2 * both + only_a + only_b, 2 * n)
    p_e = 2 * prevalence * (1 - prevalence)
    return _divide(p_o - p_e, 1 - p_e)


def precision_recall_f1(both: Any, only_a: Any, only_b: Any) -> tuple[Any, Any, Any]:
    """Coder B judged against coder A as the reference."""
    precision = _divide(np.asarray(both, dtype=float), np.asarray(both) + only_b)
    recall = _divide(np.asarray(both, dtype=float), np.asarray(both) + only_a)
    f1 = _divide(2 * np.asarray(both, dtype=float), 2 * np.asarray(both) + only_a + only_b)
    return precision, recall, f1


# --- alpha over code sets and over many coders ----------------------------------------


def masi_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """MASI distance between two sets of codes (Passonneau 2006): 1 − Jaccard × monotonicity."""
    if not a and not b:
        return 0.0
    jaccard = len(a & b) / len(a | b)
    if a == b:
        monotonicity = 1.0
    elif a <= b or b <= a:
        monotonicity = 2 / 3
    elif a & b:
        monotonicity = 1 / 3
    else:
        monotonicity = 0.0
    return 1 - jaccard * monotonicity


def set_alpha(units: Sequence[Sequence[frozenset[str] | None]], distance=masi_distance) -> float:
    """Krippendorff's alpha over units whose values are sets of codes (None = not coded by
    that coder), with a set distance (MASI by default): 1 − D_o / D_e."""
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [values for values in pairable if len(values) >= 2]
    values: dict[frozenset[str], int] = {}
    observed = 0.0
    for unit in pairable:
        m = len(unit)
        pairs = (distance(x, y) for i, x in enumerate(unit) for j, y in enumerate(unit) if i != j)
        observed += sum(pairs) / (m - 1)
        for value in unit:
            values[value] = values.get(value, 0) + 1
    n = sum(values.values())
    if n < 2:
        return math.nan
    kinds = list(values)
    expected = sum(
        values[x] * values[y] * distance(x, y) for x in kinds for y in kinds if x != y
    ) / (n * (n - 1))
    if expected == 0:
        return math.nan
    return 1 - (observed / n) / expected


def nominal_alpha(reliability: np.ndarray) -> float:
    """Krippendorff's alpha, nominal, for coders × units (NaN = missing), by the
    `krippendorff` package; NaN when fewer than two values occur."""
    import krippendorff

    data = np.asarray(reliability, dtype=float)
    present = data[~np.isnan(data)]
    if len(np.unique(present)) < 2:
        return math.nan
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeAgreement:
    """Agreement of two coders on one code (or `overall`), with 95% bootstrap intervals."""

    code_id: str
    segments: int
    both: int
    only_a: int
    only_b: int
    neither: int
    percent: float
    kappa: float
    kappa_low: float
    kappa_high: float
    alpha: float
    ac1: float
    precision: float
    recall: float
    f1: float
    alpha_low: float = math.nan
    alpha_high: float = math.nan
    ac1_low: float = math.nan
    ac1_high: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            name: (None if isinstance(value, float) and math.isnan(value) else value)
            for name, value in self.__dict__.items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CodeAgreement:
        return cls(
            **{
                name: (math.nan if value is None else value)
                for name, value in data.items()
                if name in cls.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class Disagreement:
    """A segment the two coders coded differently."""

    segment_id: str
    transcript_id: str
    speaker: str
    text: str
    codes_a: tuple[str, ...]
    codes_b: tuple[str, ...]

    @property
    def only_a(self) -> tuple[str, ...]:
        return tuple(c for c in self.codes_a if c not in self.codes_b)

    @property
    def only_b(self) -> tuple[str, ...]:
        return tuple(c for c in self.codes_b if c not in self.codes_a)

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "transcript_id": self.transcript_id,
            "speaker": self.speaker,
            "text": self.text,
            "codes_a": list(self.codes_a),
            "codes_b": list(self.codes_b),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Disagreement:
        return cls(
            data["segment_id"],
            data["transcript_id"],
            data["speaker"],
            data["text"],
            tuple(data["codes_a"]),
            tuple(data["codes_b"]),
        )


@dataclass(frozen=True)
class Agreement:
    """How far coder B agrees with coder A: one row a code and an overall row."""

    coder_a: str
    coder_b: str
    codes: tuple[CodeAgreement, ...]
    overall: CodeAgreement
    disagreements: tuple[Disagreement, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    bootstrap: int = 1000
    seed: int = 0

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows of `agreement.csv` (empty cells where a coefficient is undefined)."""
        return [
            tuple(_cell(getattr(row, name)) for name in CSV_COLUMNS)
            for row in (*self.codes, self.overall)
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row a code and a final `overall` row, with every coefficient and interval."""
        import pandas as pd

        frame = pd.DataFrame([row.__dict__ for row in (*self.codes, self.overall)])
        frame.insert(1, "label", [self.labels.get(c, c) for c in frame["code_id"]])
        return frame

    def disagreements_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.disagreement_rows(), columns=list(DISAGREEMENT_COLUMNS))

    def disagreement_rows(self) -> list[tuple[str, ...]]:
        """The rows of `disagreements.csv`, in transcript order."""
        return [
            (
                d.segment_id,
                d.transcript_id,
                d.speaker,
                d.text,
                self.coder_a,
                "; ".join(d.codes_a),
                self.coder_b,
                "; ".join(d.codes_b),
                "; ".join(d.only_a),
                "; ".join(d.only_b),
            )
            for d in self.disagreements
        ]

    def summary(self) -> str:
        """One sentence for a methods section."""
        o = self.overall
        return (
            f"{self.coder_b} against {self.coder_a} on {o.segments:,} segments and "
            f"{len(self.codes)} codes: agreement {o.percent:.1%}, pooled Cohen's kappa "
            f"{_number(o.kappa)} (95% CI {_number(o.kappa_low)}–{_number(o.kappa_high)}), "
            f"Krippendorff's alpha over code sets {_number(o.alpha)}, Gwet's AC1 "
            f"{_number(o.ac1)}, F1 {_number(o.f1)}; {len(self.disagreements)} segments "
            "coded differently."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "coder_a": self.coder_a,
            "coder_b": self.coder_b,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "overall": self.overall.to_dict(),
            "codes": [row.to_dict() for row in self.codes],
            "disagreements": [d.to_dict() for d in self.disagreements],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], labels: dict[str, str] | None = None) -> Agreement:
        return cls(
            data["coder_a"],
            data["coder_b"],
            tuple(CodeAgreement.from_dict(row) for row in data["codes"]),
            CodeAgreement.from_dict(data["overall"]),
            tuple(Disagreement.from_dict(d) for d in data.get("disagreements", ())),
            labels or {},
            int(data.get("bootstrap", 1000)),
            int(data.get("seed", 0)),
        )

    def to_markdown(self) -> str:
        header = (
            "| code | segments | both | only A | only B | % | kappa (95% CI) | alpha | AC1 | F1 |"
        )
        lines = [
            f"Coder A: {self.coder_a}; coder B: {self.coder_b}.",
            "",
            header,
            "| --- | " + " | ".join(["---:"] * 9) + " |",
        ]
        for row in (*self.codes, self.overall):
            label = self.labels.get(row.code_id, row.code_id)
            if row.code_id == OVERALL:
                label = "**overall**"
            lines.append(
                f"| {label} | {row.segments} | {row.both} | {row.only_a} | {row.only_b} | "
                f"{_number(row.percent * 100, 1)} | {_number(row.kappa)} "
                f"({_number(row.kappa_low)}–{_number(row.kappa_high)}) | {_number(row.alpha)} | "
                f"{_number(row.ac1)} | {_number(row.f1)} |"
            )
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="—")


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 6) + 0.0  # no "-0.0"
    return value


def _number(value: float, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


# --- computing agreement --------------------------------------------------------------


def coding_units(segments: Segments, *codings: Codings) -> list[Segment]:
    """The segments agreement is computed on: participants' segments, and moderators'
    segments where some coder coded them, in transcript order."""
    coded = {c.segment_id for each in codings for c in each}
    return [s for s in segments if s.role != "moderator" or s.id in coded]


def _presence(codings: Codings, units: list[Segment], codes: list[str]) -> np.ndarray:
    row = {s.id: i for i, s in enumerate(units)}
    column = {c: j for j, c in enumerate(codes)}
    matrix = np.zeros((len(units), len(codes)), dtype=bool)
    for coding in codings:
        i, j = row.get(coding.segment_id), column.get(coding.code_id)
        if i is not None and j is not None:
            matrix[i, j] = True
    return matrix


def _code_set(codes: list[str], present: np.ndarray) -> frozenset[str]:
    return frozenset(code for code, flag in zip(codes, present) if flag)


def _coder_name(codings: Codings, default: str) -> str:
    names = {c.coder for c in codings if c.coder}
    return names.pop() if len(names) == 1 else default


def _interval(draws: np.ndarray) -> tuple[float, float]:
    finite = draws[~np.isnan(draws)]
    if len(finite) == 0:
        return math.nan, math.nan
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def agreement(
    codings_a: Codings,
    codings_b: Codings,
    segments: Segments | None = None,
    codebook: Codebook | None = None,
    *,
    coder_a: str | None = None,
    coder_b: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> Agreement:
    """Per-code and overall agreement of coder B with coder A on the segment unit, with 95%
    percentile intervals from `bootstrap` resamples of the segments (seeded: the same input
    gives the same intervals)."""
    segments = segments if segments is not None else codings_a.segments
    codebook = codebook or codings_a.codebook or codings_b.codebook
    units = coding_units(segments, codings_a, codings_b)
    codes = code_order(codebook, codings_a, codings_b)
    a = _presence(codings_a, units, codes)
    b = _presence(codings_b, units, codes)
    cells = np.stack([(a & b), (a & ~b), (~a & b), (~a & ~b)]).astype(float)  # 4 × N × K
    counts = cells.sum(axis=1)  # 4 × K

    weights = np.zeros((bootstrap, len(units)), dtype=float)
    if bootstrap and units:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, len(units), size=(bootstrap, len(units)))
        np.add.at(weights, (np.arange(bootstrap)[:, None], draws), 1.0)
    n_codes = len(codes)
    flat = cells.transpose(1, 0, 2).reshape(len(units), 4 * n_codes)  # N × 4K
    resampled = (weights @ flat).reshape(bootstrap, 4, n_codes).transpose(1, 0, 2)  # 4 × B × K

    def row(code_id: str, table: np.ndarray, draws: np.ndarray, alpha: float) -> CodeAgreement:
        both, only_a, only_b, neither = (float(x) for x in table)
        precision, recall, f1 = precision_recall_f1(both, only_a, only_b)
        kappa_low, kappa_high = _interval(cohen_kappa(*draws))
        ac1_low, ac1_high = _interval(gwet_ac1(*draws))
        alpha_low, alpha_high = (
            _interval(binary_alpha(*draws)) if code_id != OVERALL else (math.nan, math.nan)
        )
        return CodeAgreement(
            code_id,
            len(units),
            int(both),
            int(only_a),
            int(only_b),
            int(neither),
            float(percent_agreement(both, only_a, only_b, neither)),
            float(cohen_kappa(both, only_a, only_b, neither)),
            kappa_low,
            kappa_high,
            alpha,
            float(gwet_ac1(both, only_a, only_b, neither)),
            float(precision),
            float(recall),
            float(f1),
            alpha_low,
            alpha_high,
            ac1_low,
            ac1_high,
        )

    rows = tuple(
        row(
            code,
            counts[:, k],
            resampled[:, :, k],
            float(binary_alpha(*counts[:, k])),
        )
        for k, code in enumerate(codes)
    )
    sets_a = [_code_set(codes, line) for line in a]
    sets_b = [_code_set(codes, line) for line in b]
    overall = row(
        OVERALL,
        counts.sum(axis=1),
        resampled.sum(axis=2),
        set_alpha(list(zip(sets_a, sets_b))),
    )
    disagreements = tuple(
        Disagreement(
            unit.id,
            unit.transcript_id,
            unit.speaker,
            unit.text,
            tuple(c for c in codes if c in set_a),
            tuple(c for c in codes if c in set_b),
        )
        for unit, set_a, set_b in zip(units, sets_a, sets_b)
        if set_a != set_b
    )
    labels = {code.id: code.label for code in codebook.codes} if codebook else {}
    return Agreement(
        coder_a or _coder_name(codings_a, "A"),
        coder_b or _coder_name(codings_b, "B"),
        rows,
        overall,
        disagreements,
        labels,
        bootstrap,
        seed,
    )


@dataclass(frozen=True)
class ManyCoders:
    """Agreement among more than two coders: every pair, and Krippendorff's alpha over all."""

    coders: tuple[str, ...]
    pairs: tuple[Agreement, ...]
    alpha: dict[str, float]  # per code, and `overall` (MASI alpha over code sets)

    def to_frame(self) -> pd.DataFrame:
        """One row a code and `overall`: alpha over all coders, then each pair's kappa."""
        import pandas as pd

        frame = pd.DataFrame({"code_id": list(self.alpha), "alpha_all": list(self.alpha.values())})
        for pair in self.pairs:
            kappas = {row.code_id: row.kappa for row in (*pair.codes, pair.overall)}
            column = f"kappa {pair.coder_a}–{pair.coder_b}"
            frame[column] = [kappas.get(c) for c in frame["code_id"]]
        return frame


def agreement_among(
    codings: Mapping[str, Codings],
    segments: Segments | None = None,
    codebook: Codebook | None = None,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> ManyCoders:
    """Pairwise agreement for every pair of coders and Krippendorff's alpha over all of them."""
    if len(codings) < 2:
        raise ValueError("agreement needs at least two coders")
    names = list(codings)
    first = codings[names[0]]
    segments = segments if segments is not None else first.segments
    codebook = codebook or first.codebook
    pairs = tuple(
        agreement(
            codings[x],
            codings[y],
            segments,
            codebook,
            coder_a=x,
            coder_b=y,
            bootstrap=bootstrap,
            seed=seed,
        )
        for x, y in combinations(names, 2)
    )
    all_codings = list(codings.values())
    units = coding_units(segments, *all_codings)
    codes = code_order(codebook, *all_codings)
    presence = np.stack([_presence(c, units, codes) for c in all_codings])  # coders × N × K
    alpha = {code: nominal_alpha(presence[:, :, k].astype(float)) for k, code in enumerate(codes)}
    sets = [
        [_code_set(codes, presence[m, i]) for m in range(len(names))] for i in range(len(units))
    ]
    alpha[OVERALL] = set_alpha(sets)
    return ManyCoders(tuple(names), pairs, alpha)


def consensus(*codings: Codings, coder: str = "consensus") -> Codings:
    """The codings every coder applied (same segment and code), as human codings."""
    if not codings:
        raise ValueError("consensus needs at least one set of codings")
    keys = [{(c.segment_id, c.code_id) for c in each} for each in codings]
    shared = set.intersection(*keys)
    first = codings[0]
    seen: set[tuple[str, str]] = set()
    items = []
    for coding in first:
        key = (coding.segment_id, coding.code_id)
        if key in shared and key not in seen:
            seen.add(key)
            items.append(_replace_coder(coding, coder))
    return Codings(items, first.segments, first.codebook)


def _replace_coder(coding: Any, coder: str) -> Any:
    from dataclasses import replace

    return replace(coding, source="human", coder=coder, evidence=())
