"""Agreement coefficients pinned on worked examples from the literature and on the reference
libraries (scikit-learn, krippendorff, NLTK), and agreement on the sample's two coders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import qualcode as qc
from qualcode.agreement import (
    agreement,
    agreement_among,
    binary_alpha,
    cohen_kappa,
    consensus,
    gwet_ac1,
    masi_distance,
    percent_agreement,
    set_alpha,
)
from qualcode.coding import Coding, Codings
from qualcode.segments import Segment, Segments

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "transcripts_sample"


# --- worked examples ------------------------------------------------------------------


def test_cohen_kappa_worked_example() -> None:
    # 50 grant proposals, two readers: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no:
    # p_o = 0.7, p_e = 0.5·0.6 + 0.5·0.4 = 0.5, kappa = 0.4
    assert cohen_kappa(20, 5, 10, 15) == pytest.approx(0.4, abs=1e-12)
    assert percent_agreement(20, 5, 10, 15) == pytest.approx(0.7)


def test_krippendorff_alpha_worked_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", binary data,
    # two observers, ten units: A = 0 1 0 0 0 0 0 0 1 0, B = 1 1 1 0 0 1 0 0 0 0 → α = 0.095
    a = np.array([0, 1, 0, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    b = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0], dtype=bool)
    cells = (np.sum(a & b), np.sum(a & ~b), np.sum(~a & b), np.sum(~a & ~b))
    assert binary_alpha(*cells) == pytest.approx(1 - 76 / 84, abs=1e-12)
    assert round(float(binary_alpha(*cells)), 3) == 0.095


def test_gwet_ac1_stays_high_where_kappa_collapses() -> None:
    # Gwet (2008): 125 subjects, 118 rated positive by both, 5 and 2 split, none negative by
    # both: agreement 94.4% but kappa −0.02 (the kappa paradox); AC1 0.94.
    assert percent_agreement(118, 5, 2, 0) == pytest.approx(0.944)
    assert cohen_kappa(118, 5, 2, 0) == pytest.approx(-0.0234, abs=5e-4)
    prevalence = (2 * 118 + 5 + 2) / 250
    chance = 2 * prevalence * (1 - prevalence)
    assert gwet_ac1(118, 5, 2, 0) == pytest.approx((0.944 - chance) / (1 - chance), abs=1e-12)
    assert round(float(gwet_ac1(118, 5, 2, 0)), 2) == 0.94


def test_masi_distance_follows_passonneau() -> None:
    a, ab, bc, c = frozenset("a"), frozenset("ab"), frozenset("bc"), frozenset("c")
    assert masi_distance(a, a) == 0
    assert masi_distance(a, ab) == pytest.approx(1 - 0.5 * 2 / 3)  # subset
    assert masi_distance(ab, bc) == pytest.approx(1 - (1 / 3) * (1 / 3))  # overlap
    assert masi_distance(a, c) == 1
    assert masi_distance(frozenset(), frozenset()) == 0


# --- edge cases -----------------------------------------------------------------------


def test_a_code_nobody_used() -> None:
    assert percent_agreement(0, 0, 0, 30) == 1
    assert math.isnan(cohen_kappa(0, 0, 0, 30))
    assert math.isnan(binary_alpha(0, 0, 0, 30))
    assert gwet_ac1(0, 0, 0, 30) == 1


def test_a_code_everyone_used() -> None:
    assert math.isnan(cohen_kappa(30, 0, 0, 0))
    assert math.isnan(binary_alpha(30, 0, 0, 0))
    assert gwet_ac1(30, 0, 0, 0) == 1


def test_one_segment() -> None:
    assert percent_agreement(1, 0, 0, 0) == 1
    assert math.isnan(cohen_kappa(1, 0, 0, 0))
    assert percent_agreement(0, 1, 0, 0) == 0
    assert math.isnan(binary_alpha(0, 0, 0, 0))


# --- against the reference libraries on random data -----------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_kappa_and_alpha_match_the_reference_libraries(seed: int) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    a = rng.random(n) < rng.uniform(0.05, 0.6)
    b = np.where(rng.random(n) < 0.7, a, rng.random(n) < 0.3)
    if len(set(a) | set(b)) < 2:
        a[0], b[0] = True, False
    cells = (np.sum(a & b), np.sum(a & ~b), np.sum(~a & b), np.sum(~a & ~b))
    assert float(cohen_kappa(*cells)) == pytest.approx(metrics.cohen_kappa_score(a, b), abs=1e-9)
    reference = krippendorff.alpha(
        reliability_data=np.stack([a, b]).astype(float), level_of_measurement="nominal"
    )
    assert float(binary_alpha(*cells)) == pytest.approx(reference, abs=1e-9)


@pytest.mark.parametrize("coders", [2, 3, 4])
def test_set_alpha_matches_nltk_masi_alpha(coders: int) -> None:
    agreement_module = pytest.importorskip("nltk.metrics.agreement")
    distance = pytest.importorskip("nltk.metrics.distance")
    rng = np.random.default_rng(coders)
    data, units = [], []
    for item in range(60):
        values = []
        for coder in range(coders):
            chosen = frozenset(c for c in "abcde" if rng.random() < 0.35) or frozenset("a")
            data.append((f"c{coder}", item, chosen))
            values.append(chosen)
        units.append(values)
    task = agreement_module.AnnotationTask(data=data, distance=distance.masi_distance)
    assert set_alpha(units) == pytest.approx(task.alpha(), abs=1e-9)


# --- agreement on codings -------------------------------------------------------------


def _segments(count: int) -> Segments:
    return Segments(
        [
            Segment(f"t:{i}:0", "t", "t", f"P{i % 3}", "participant", i, 10 * i, 10 * i + 9, "x")
            for i in range(count)
        ]
    )


def _codings(segments: Segments, pairs: list[tuple[int, str]], coder: str) -> Codings:
    return Codings(
        [
            Coding(f"t:{i}:0", "t", f"P{i % 3}", code, "", "", 1.0, (), "human", coder)
            for i, code in pairs
        ],
        segments,
    )


def test_agreement_counts_and_coefficients_per_code() -> None:
    segments = _segments(10)
    a = _codings(segments, [(0, "x"), (1, "x"), (2, "x"), (3, "y")], "ann")
    b = _codings(segments, [(0, "x"), (1, "x"), (4, "x"), (3, "y"), (3, "x")], "ben")
    result = agreement(a, b, segments, bootstrap=200)
    assert (result.coder_a, result.coder_b) == ("ann", "ben")
    x, y = result.codes
    assert (x.code_id, x.both, x.only_a, x.only_b, x.neither) == ("x", 2, 1, 2, 5)
    assert x.kappa == pytest.approx(float(cohen_kappa(2, 1, 2, 5)))
    assert x.precision == pytest.approx(2 / 4) and x.recall == pytest.approx(2 / 3)
    assert (y.both, y.only_a, y.only_b, y.neither) == (1, 0, 0, 9)
    assert y.kappa == pytest.approx(1.0)
    overall = result.overall
    assert (overall.both, overall.only_a, overall.only_b, overall.neither) == (3, 1, 2, 14)
    assert [d.segment_id for d in result.disagreements] == ["t:2:0", "t:3:0", "t:4:0"]
    assert result.disagreements[1].only_b == ("x",)


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate() -> None:
    segments = _segments(80)
    rng = np.random.default_rng(3)
    a = _codings(segments, [(i, "x") for i in range(80) if rng.random() < 0.4], "a")
    b = _codings(segments, [(i, "x") for i in range(80) if rng.random() < 0.4], "b")
    first = agreement(a, b, segments, seed=7)
    again = agreement(a, b, segments, seed=7)
    other = agreement(a, b, segments, seed=8)
    row = first.codes[0]
    assert (row.kappa_low, row.kappa_high) == (again.codes[0].kappa_low, again.codes[0].kappa_high)
    assert (row.kappa_low, row.kappa_high) != (other.codes[0].kappa_low, other.codes[0].kappa_high)
    assert row.kappa_low <= row.kappa <= row.kappa_high
    assert row.ac1_low <= row.ac1 <= row.ac1_high


def test_moderator_segments_are_units_only_where_coded() -> None:
    segments = Segments(
        [
            Segment("t:0:0", "t", "t", "Moderator", "moderator", 0, 0, 5, "Hello"),
            Segment("t:1:0", "t", "t", "P1", "participant", 1, 6, 10, "Hi"),
            Segment("t:2:0", "t", "t", "Moderator", "moderator", 2, 11, 15, "So"),
        ]
    )
    a = _codings(segments, [], "a")
    b = Codings([Coding("t:2:0", "t", "Moderator", "x", "", "", source="human")], segments)
    result = agreement(a, b, segments, bootstrap=0)
    assert result.overall.segments == 2


def test_round_trip_through_dict() -> None:
    segments = _segments(12)
    a = _codings(segments, [(0, "x"), (1, "x")], "a")
    b = _codings(segments, [(0, "x"), (2, "y")], "b")
    result = agreement(a, b, segments, bootstrap=50)
    again = type(result).from_dict(result.to_dict())
    assert again.to_dict() == result.to_dict()  # NaN (undefined) kept as None
    assert again.disagreements == result.disagreements


def test_consensus_keeps_what_every_coder_applied() -> None:
    segments = _segments(6)
    a = _codings(segments, [(0, "x"), (1, "x"), (2, "y")], "a")
    b = _codings(segments, [(0, "x"), (2, "y"), (3, "y")], "b")
    both = consensus(a, b)
    assert [(c.segment_id, c.code_id) for c in both] == [("t:0:0", "x"), ("t:2:0", "y")]
    assert {c.coder for c in both} == {"consensus"}


# --- the sample's two human coders -----------------------------------------------------


@pytest.fixture(scope="module")
def sample_codings(sample_run: Path):
    out = sample_run / "out"
    segments = qc.read_segments(out / "segments.csv")
    codebook = qc.load_codebook(out / "codebook.yaml")
    from qualcode.sheets import load_codings

    a = load_codings(SAMPLE / "coding_coder_a.csv", segments, codebook)
    b = load_codings(SAMPLE / "coding_coder_b.csv", segments, codebook)
    return segments, codebook, a, b


def test_the_sample_coders_refer_to_the_sample_segments(sample_codings) -> None:
    segments, _, a, b = sample_codings
    roles = {s.id: s.role for s in segments}
    for codings in (a, b):
        assert len(codings) > 100
        assert all(roles[c.segment_id] == "participant" for c in codings)
        assert {c.source for c in codings} == {"human"}
    assert {c.coder for c in a} == {"coder_a"} and {c.coder for c in b} == {"coder_b"}


def test_the_sample_coders_agree_substantially_but_not_fully(sample_codings) -> None:
    segments, codebook, a, b = sample_codings
    result = agreement(a, b, segments, codebook)
    assert 0.4 < result.overall.kappa < 0.95
    assert result.overall.kappa_low < result.overall.kappa < result.overall.kappa_high
    assert len(result.codes) == len(codebook.codes)
    assert 50 < len(result.disagreements) < len(segments)


def test_three_coders_pairwise_and_alpha_over_all(sample_codings) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    segments, codebook, a, b = sample_codings
    c = consensus(a, b, coder="consensus")
    many = agreement_among({"a": a, "b": b, "c": c}, segments, codebook, bootstrap=100)
    assert [(p.coder_a, p.coder_b) for p in many.pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    code = "setting_boundaries"
    from qualcode.agreement import _presence, coding_units

    units = coding_units(segments, a, b, c)
    data = np.stack([_presence(x, units, [code])[:, 0] for x in (a, b, c)]).astype(float)
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert many.alpha[code] == pytest.approx(reference, abs=1e-9)
    frame = many.to_frame()
    assert list(frame.columns[:2]) == ["code_id", "alpha_all"]
