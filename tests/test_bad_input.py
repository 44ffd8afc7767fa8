"""The bad-input corpus (`tests/data/bad/expected.csv`): every file through the real command
line, each giving one clear line and writing nothing; the readable ones a warning at most."""

from __future__ import annotations

import csv
import re
import shlex
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

from .conftest import DATA

BAD = DATA / "bad"
ERROR_LINE = re.compile(r"^Error: (?P<file>[^:]+?)(?::(?P<line>\d+))?: (?P<what>.+) — (?P<fix>.+)$")


def cases() -> list[dict[str, str]]:
    with (BAD / "expected.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> dict[str, Path]:
    """The two cases too big for the repository, written once."""
    import sys

    sys.path.insert(0, str(BAD))
    try:
        from make import huge_files
    finally:
        sys.path.remove(str(BAD))
    return huge_files(tmp_path_factory.mktemp("huge"))


def invoke(command: str, file: Path, out: Path):
    args = [part.format(file=file, out=out, bad=BAD) for part in shlex.split(command, posix=True)]
    return CliRunner().invoke(app, args)


def test_the_corpus_is_complete() -> None:
    listed = {case["file"] for case in cases()}
    helpers = {"expected.csv", "make.py", "ok_session.txt", "ok_backtrack.txt", "cb_ok.yaml"}
    kept = {p.name for p in BAD.iterdir() if p.is_file()} - helpers
    assert kept <= listed, kept - listed
    assert len([c for c in cases() if c["exit"] == "1"]) >= 40


@pytest.mark.parametrize("case", cases(), ids=[c["file"] for c in cases()])
def test_bad_input(case: dict[str, str], tmp_path: Path, huge: dict[str, Path], nlp) -> None:
    file = huge.get(case["file"]) or BAD / case["file"]
    before = sorted(p.name for p in BAD.iterdir())
    out = tmp_path / "out"
    clock = time.perf_counter()
    result = invoke(case["command"], file, out)
    seconds = time.perf_counter() - clock
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == int(case["exit"]), result.stderr
    assert seconds < 30, f"took {seconds:.0f} s"
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    if case["exit"] == "1":
        assert len(errors) == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        shape = ERROR_LINE.match(errors[0])
        assert shape, errors[0]
        assert shape["file"] == (case["where"] or file.name)
        assert (shape["line"] or "") == case["line"], errors[0]
        assert re.search(case["message"], shape["what"] + " — " + shape["fix"]), errors[0]
        assert not out.exists()
    else:
        assert not errors
        warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
        if case["message"]:
            assert any(re.match(case["message"], line) for line in warnings), result.stderr
        else:
            assert not warnings, result.stderr
        assert (out / "run.json").is_file()
    assert not list(tmp_path.glob(".qualcode-staging-*"))
    assert sorted(p.name for p in BAD.iterdir()) == before


def test_quoted_line_breaks_in_a_csv_cell_are_read() -> None:
    transcript = qc.read_transcript(BAD / "quoted_newlines.csv")
    assert [t.text for t in transcript.turns] == [
        "First line of the turn\nsecond line, with a comma",
        'He said "fine"',
    ]


def test_overlapping_cues_are_crosstalk_not_an_error() -> None:
    transcript = qc.read_transcript(BAD / "overlapping.vtt")
    assert [(t.speaker, t.start, t.end) for t in transcript.turns] == [
        ("Anna", 1.0, 6.0),
        ("Bence", 4.0, 7.0),
        ("Anna", 6.5, 9.0),
    ]


def test_unmarked_utf16_and_code_pages_keep_every_letter() -> None:
    with pytest.warns(qc.QualcodeWarning, match="utf-16-le"):
        utf16 = qc.read_transcript(BAD / "utf16_nobom.txt")
    with pytest.warns(qc.QualcodeWarning, match="cp1250"):
        latin2 = qc.read_transcript(BAD / "latin2.txt")
    assert utf16.turns == latin2.turns
    assert "Gergő és Zsófia" in utf16.turns[0].text and "Őszintén" in utf16.turns[1].text
    with pytest.warns(qc.QualcodeWarning, match="cp1252"):
        western = qc.read_transcript(BAD / "cp1252.txt")
    assert "“no” – and the mentee’s café" in western.turns[0].text


def test_a_turn_longer_than_spacys_limit_is_read_segmented_coded_and_anonymised(nlp) -> None:
    """spaCy refuses texts over `nlp.max_length`; long turns are processed in pieces."""
    from qualcode.nlp import pipe_texts

    words = "Anna told me that the exam timetable was confusing, so I sorted it out. "
    text = words * 40
    docs = list(pipe_texts(nlp, [text, "Short."], chunk=500))
    assert docs[0].text == text and docs[1].text == "Short."
    assert len(list(docs[0].sents)) >= 30
    saved = nlp.max_length
    nlp.max_length = 1000  # as if this turn were longer than a million characters
    try:
        transcript = qc.Transcript("s1", (qc.Turn(0, "Bence", text, "participant"),))
        segments = qc.segment([transcript], "turn", nlp=nlp)
        assert [s.text for s in segments] == [text.strip()]
        book = qc.load_codebook(BAD / "cb_ok.yaml")
        codings = qc.apply_codebook(segments, book, nlp=nlp)
        assert {c.code_id for c in codings} == {"exams"}
        assert len(codings[0].evidence) == 40
        result = qc.anonymize([transcript], nlp=nlp)
        assert "Anna" not in result.transcripts[0].text
    finally:
        nlp.max_length = saved
