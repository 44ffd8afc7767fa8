"""Coding from examples: training on the sample's hand coding, suggestions, thresholds, the
model card, the split by transcript, the model folder and the commands."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.learning import (
    NEVER,
    LearnSettings,
    choose_threshold,
    predict,
    scores,
    transcript_folds,
)

QUICK = LearnSettings(seed=0, repeats=1)
CHEAP = LearnSettings(seed=0, repeats=1, fractions=(), folds=3)


@pytest.fixture(scope="module")
def study(sample_run: Path) -> dict:
    out = sample_run / "out"
    segments = qc.read_segments(out / "segments.csv")
    codebook = qc.load_codebook(out / "codebook.yaml")
    coders = sample_run / "transcripts_sample"
    return {
        "out": out,
        "segments": segments,
        "codebook": codebook,
        "a": qc.load_codings(coders / "coding_coder_a.csv", segments, codebook),
        "b": qc.load_codings(coders / "coding_coder_b.csv", segments, codebook),
        "coders": coders,
    }


@pytest.fixture(scope="module")
def model(study: dict, nlp) -> qc.CodingModel:
    return qc.learn(study["a"], study["segments"], study["codebook"], settings=QUICK, nlp=nlp)


@pytest.fixture(scope="module")
def partial(study: dict, nlp) -> qc.CodingModel:
    """A model of coder A's coding of the first two groups only."""
    segments = study["segments"]
    first = qc.Codings([c for c in study["a"] if c.transcript_id in ("group1", "group2")], segments)
    return qc.learn(first, segments, study["codebook"], settings=CHEAP, nlp=nlp)


def test_learns_every_code_from_the_sample_coding(study: dict, model: qc.CodingModel) -> None:
    card = model.card
    assert model.codes == tuple(c.id for c in study["codebook"].codes)
    participants = [s for s in study["segments"] if s.role == "participant"]
    assert card.training["transcripts"] == 5
    assert card.training["segments"] == len(participants) == len(model.trained_on)
    assert card.training["codings"] == len(study["a"])
    assert card.training["coders"] == ["coder_a"]
    assert card.training["examples"] == sum(len(c.examples) for c in study["codebook"].codes)
    assert [c.coded for c in card.codes] == [
        len({x.segment_id for x in study["a"].for_code(c.id)}) for c in study["codebook"].codes
    ]
    # held out by transcript, the model agrees with coder A far better than the rules do
    assert 0.4 < card.macro.kappa < 0.7
    assert all(0 < c.threshold < 1 or c.threshold == NEVER for c in card.codes)


def test_suggestions_are_model_codings_with_probabilities(
    study: dict, model: qc.CodingModel, nlp
) -> None:
    segments = study["segments"]
    found = predict(model, segments, nlp=nlp)
    codings = qc.suggest(model, segments, nlp=nlp, predictions=found)
    assert len(codings) > 500
    assert {c.source for c in codings} == {"model"}
    assert {c.coder for c in codings} == {"qualcode-model"}
    row = {s.id: i for i, s in enumerate(found.units)}
    expected = int((found.values >= model.thresholds).sum())
    assert len(codings) == expected
    for coding in codings:
        k = model.codes.index(coding.code_id)
        assert coding.score == pytest.approx(found.values[row[coding.segment_id], k], abs=1e-4)
        assert coding.score >= model.thresholds[k] - 1e-4
        segment = segments.get(coding.segment_id)
        assert segment.role == "participant"
        for evidence in coding.evidence:  # the segment's own words, at their offsets
            assert evidence.kind == "model"
            assert segment.start <= evidence.start < evidence.end <= segment.end
            assert segment.text[evidence.start - segment.start :].startswith(evidence.text)
    stricter = qc.suggest(model, segments, nlp=nlp, threshold=0.9, predictions=found)
    assert 0 < len(stricter) < len(codings)
    assert all(c.score >= 0.9 for c in stricter)


def test_training_is_deterministic_with_a_seed(study: dict, nlp) -> None:
    first = qc.learn(study["b"], study["segments"], study["codebook"], settings=CHEAP, nlp=nlp)
    second = qc.learn(study["b"], study["segments"], study["codebook"], settings=CHEAP, nlp=nlp)
    assert first.vocabulary == second.vocabulary
    assert np.array_equal(first.coef, second.coef)
    assert np.array_equal(first.thresholds, second.thresholds)
    assert first.card.to_dict() == second.card.to_dict()
    other = qc.learn(
        study["b"], study["segments"], study["codebook"], settings=replace(CHEAP, seed=1), nlp=nlp
    )
    assert other.card.to_dict() != first.card.to_dict()  # other folds, other held-out figures


def test_card_figures_are_qualcodes_agreement_coefficients(study: dict) -> None:
    """`scores` (used for every figure of the card) agrees with `qc.agreement`."""
    segments, codebook, a, b = study["segments"], study["codebook"], study["a"], study["b"]
    result = qc.agreement(a, b, segments, codebook, bootstrap=0)
    units = [s for s in segments if s.role == "participant"]
    for row in result.codes:
        truth = np.array(
            [(s.id, row.code_id) in {(c.segment_id, c.code_id) for c in a} for s in units]
        )
        found = np.array(
            [(s.id, row.code_id) in {(c.segment_id, c.code_id) for c in b} for s in units]
        )
        mine = scores(truth, found)
        for name in ("precision", "recall", "f1", "kappa"):
            assert mine.__dict__[name] == pytest.approx(getattr(row, name), nan_ok=True)


THRESHOLDS = [
    # probabilities, human coding, target precision → threshold, target met
    ([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0], 0.6, 0.5, True),
    ([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0], 0.8, 0.8, True),
    ([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0], 1.0, 0.8, True),
    ([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0], None, 0.6, True),  # best F1
    ([0.9] * 29 + [0.1], [0] * 29 + [1], None, NEVER, False),
    ([0.7, 0.7, 0.2], [1, 0, 0], 0.6, 0.7, False),  # ties are cut together
    ([0.9, 0.3, 0.2], [0, 0, 0], 0.6, 0.5, False),  # nothing coded
    ([0.9] * 29 + [0.1], [0] * 29 + [1], 0.6, NEVER, False),  # no threshold separates it
]


@pytest.mark.parametrize(("p", "truth", "target", "threshold", "met"), THRESHOLDS)
def test_thresholds_are_chosen_for_a_target_precision(
    p: list[float], truth: list[int], target: float | None, threshold: float, met: bool
) -> None:
    assert choose_threshold(np.array(p), np.array(truth), target) == (threshold, met)


def test_target_precision_trades_recall_for_precision(study: dict, model, nlp) -> None:
    strict = qc.learn(
        study["a"],
        study["segments"],
        study["codebook"],
        settings=replace(QUICK, precision=0.8, fractions=()),
        nlp=nlp,
    )
    loose = model  # the same folds, thresholds at the best F1
    assert strict.card.macro.precision > loose.card.macro.precision
    assert strict.card.macro.recall < loose.card.macro.recall
    assert sum(c.target_met for c in strict.card.codes) >= 20


def test_split_is_by_transcript_never_by_segment(study: dict, nlp) -> None:
    groups = np.array([s.transcript_id for s in study["segments"]])
    folds = transcript_folds(groups.tolist(), 3, seed=0)
    assert sorted(t for fold in folds for t in fold) == sorted(set(groups.tolist()))
    assert folds == transcript_folds(reversed(groups.tolist()), 3, seed=0)
    assert transcript_folds(groups.tolist(), 3, seed=1) != folds
    # a code that one coder gave to every segment of one transcript only: held out by
    # transcript, no model ever saw it coded in the transcript it is tested on
    segments, codebook = study["segments"], study["codebook"]
    code = codebook.codes[0]
    only = qc.Codings(
        [
            qc.Coding(s.id, s.transcript_id, s.speaker, code.id, code.subtheme_id, code.theme_id)
            for s in segments
            if s.transcript_id == "group2" and s.role == "participant"
        ]
        + [c for c in study["a"] if c.transcript_id != "group2" and c.code_id != code.id],
        segments,
        codebook,
    )
    result = qc.learn(only, segments, codebook, settings=replace(CHEAP, examples=False), nlp=nlp)
    assert result.card.codes[0].scores.recall < 0.2


def test_learning_curve_draws_whole_transcripts(model: qc.CodingModel) -> None:
    points = model.card.curve
    assert [(p.fraction, p.transcripts) for p in points] == [
        (0.1, 1),
        (0.25, 1),
        (0.5, 2),
        (0.75, 4),
    ]


def test_model_card(model: qc.CodingModel) -> None:
    card = model.card
    data = card.to_dict()
    assert qc.ModelCard.from_dict(json.loads(json.dumps(data))).to_dict() == data
    assert data["method"].startswith("one logistic regression per code")
    assert data["codebook"]["sha256"] == model.codebook.sha256
    assert [p["fraction"] for p in data["learning_curve"]] == [0.1, 0.25, 0.5, 0.75]
    for point in card.curve:
        assert point.draws == 1
        assert point.kappa_low <= point.kappa <= point.kappa_high
    assert card.curve[-1].kappa > card.curve[0].kappa  # more coded transcripts, better
    text = card.to_markdown()
    assert "## Learning curve" in text and "| 50% (2) | 1 |" in text
    for code in card.codes:
        assert f"(`{code.code_id}`)" in text


def test_model_folder_round_trip(study: dict, model, tmp_path: Path, nlp) -> None:
    folder = qc.save_model(model, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["model.json", "weights.npz", "codebook.yaml", "card.json", "card.md"]
    )
    with np.load(folder / "weights.npz", allow_pickle=False) as weights:
        assert weights["coef"].shape == (len(model.codes), len(model.vocabulary))
    loaded = qc.load_model(folder)
    assert loaded.card.to_dict() == model.card.to_dict()
    assert loaded.vocabulary == model.vocabulary
    assert qc.suggest(loaded, study["segments"], nlp=nlp) == qc.suggest(
        model, study["segments"], nlp=nlp
    )
    # no sentence of the transcripts is stored: features are words and word pairs
    stored = " ".join(
        (folder / name).read_text(encoding="utf-8") for name in ("model.json", "card.json")
    )
    sentences = [s.text for s in study["segments"] if len(s.text.split()) >= 5]
    assert not [s for s in sentences if s in stored]
    assert all(len(f.split()) <= 2 for f in loaded.vocabulary)


def test_model_folder_errors(study: dict, model, tmp_path: Path) -> None:
    with pytest.raises(qc.QualcodeError, match="this folder holds a run's output"):
        qc.save_model(model, study["out"])
    with pytest.raises(qc.QualcodeError, match="not a qualcode model folder"):
        qc.load_model(tmp_path)
    folder = qc.save_model(model, tmp_path / "m")
    (folder / "model.json").write_text("{", encoding="utf-8")
    with pytest.raises(qc.QualcodeError, match=r"the model folder is damaged \(JSONDecodeError\)"):
        qc.load_model(folder)


def test_next_picks_uncertain_uncoded_segments(study: dict, partial, nlp) -> None:
    segments = study["segments"]
    chosen = qc.next_to_code(partial, segments, 25, nlp=nlp)
    assert len(chosen) == 25
    assert {s.transcript_id for s in chosen} <= {"group3", "group4", "group5"}
    assert [s.id for s in chosen] == [s.id for s in segments if s.id in {c.id for c in chosen}]
    assert not set(partial.trained_on) & {s.id for s in chosen}
    again = qc.next_to_code(partial, segments, 25, exclude=[s.id for s in chosen[:5]], nlp=nlp)
    assert not {s.id for s in chosen[:5]} & {s.id for s in again}


def test_cli_learn_suggest_next(study: dict, tmp_path: Path) -> None:
    runner = CliRunner()
    segments = str(study["out"] / "segments.csv")
    coder_a = str(study["coders"] / "coding_coder_a.csv")
    sheet = tmp_path / "sheet_coder_c.csv"  # a coder who coded only group1 in a sheet
    qc.write_coding_sheet(
        qc.Segments([s for s in study["segments"] if s.transcript_id == "group1"]),
        study["codebook"],
        sheet,
    )
    rows = sheet.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    column = header.index("setting_boundaries")
    marked = rows[1].split(",")
    marked[column] = "1"
    sheet.write_text("\n".join([rows[0], ",".join(marked), *rows[2:]]) + "\n", encoding="utf-8")

    result = runner.invoke(
        app,
        [
            "learn",
            coder_a,
            str(sheet),
            "--segments",
            segments,
            "-o",
            str(tmp_path / "m"),
            "--repeats",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert re.search(
        r"32 codes learned from \d+ codings on \d+ segments; held-out macro", result.output
    )
    result = runner.invoke(
        app, ["suggest", str(tmp_path / "m"), "--segments", segments, "-o", str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 0, result.output
    suggested = qc.read_codings(tmp_path / "s.csv", study["segments"], study["codebook"])
    assert {c.source for c in suggested} == {"model"}
    result = runner.invoke(
        app, ["suggest", str(tmp_path), "--segments", segments, "-o", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "not a qualcode model folder" in result.output
    result = runner.invoke(
        app,
        ["learn", coder_a, "--segments", segments, "-o", str(tmp_path / "m2"), "--combine", "x"],
    )
    assert result.exit_code == 1 and "Error: unknown combine 'x'" in result.output


def test_cli_next_writes_a_sheet_with_suggestions(study: dict, partial, tmp_path: Path) -> None:
    segments, codebook = study["segments"], study["codebook"]
    qc.save_model(partial, tmp_path / "m")
    sheet = tmp_path / "next.csv"
    result = CliRunner().invoke(
        app,
        [
            "next",
            str(tmp_path / "m"),
            "--segments",
            str(study["out"] / "segments.csv"),
            "-o",
            str(sheet),
            "-n",
            "12",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "12 segments to code next" in result.output
    text = sheet.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 13 and "suggested" in text
    assert len(qc.read_coding_sheet(sheet, segments, codebook)) == 0  # nothing accepted yet
