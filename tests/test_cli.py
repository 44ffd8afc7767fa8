from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode.cli import app

from .conftest import DATA, ROOT, SAMPLE

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_segments_command_writes_the_reader_check(tmp_path: Path, nlp) -> None:
    out = tmp_path / "check"
    result = invoke("segments", SAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "transcripts").iterdir()) == [
        f"group{i}.txt" for i in range(1, 6)
    ]
    with open(out / "segments.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["segment_id"] == "group1:0:0"
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (out / "transcripts").iterdir()}
    for row in rows:
        assert texts[row["transcript_id"]][int(row["start"]) : int(row["end"])] == row["text"]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["counts"]["transcripts"] == 5
    assert run["counts"]["segments"] == len(rows)
    assert run["pipeline"]["version"] == "3.8.0"
    assert {i["file"] for i in run["inputs"]} >= {"group1.txt", "participants.csv"}
    assert not list(out.rglob("*.tmp"))


def test_turn_unit_option(tmp_path: Path, nlp) -> None:
    result = invoke("segments", SAMPLE / "group4.txt", "--out", tmp_path, "--unit", "turn")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run.json").read_text())["counts"]["segments"] == 91


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["segments", DATA / "bad" / "empty.txt"], r"Error: empty\.txt: the file is empty — "),
        (["segments", DATA / "bad" / "image.txt"], r"Error: image\.txt:1: this is a PNG image"),
        (
            ["segments", DATA / "bad" / "no_labels.txt"],
            r"Error: no_labels\.txt:1: no speaker labels found — ",
        ),
        (
            ["segments", DATA / "bad" / "interview.pages"],
            r"Error: interview\.pages: unknown transcript format",
        ),
        (
            ["segments", SAMPLE, "--roster", DATA / "bad" / "roster_duplicate.csv"],
            r"Error: roster_duplicate\.csv:4: duplicate row",
        ),
        (
            ["segments", SAMPLE, "--roster", DATA / "bad" / "roster_no_speaker.csv"],
            r"Error: roster_no_speaker\.csv:1: missing column",
        ),
        (["segments", SAMPLE, "--unit", "paragraph"], r"Error: unknown unit 'paragraph'"),
    ],
)
def test_bad_input_gives_one_error_line(tmp_path: Path, args: list, error: str) -> None:
    out = tmp_path / "out"
    result = invoke(*args, "--out", out)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(error, lines[0]), result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_output_folder_may_not_be_the_input_folder(tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    shutil.copytree(SAMPLE, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = invoke("segments", folder, "--out", folder)
    assert result.exit_code == 1
    assert "the output folder is the transcripts' folder" in result.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_raw_transcripts_are_never_overwritten(tmp_path: Path) -> None:
    raw = tmp_path / "out" / "transcripts"
    raw.mkdir(parents=True)
    shutil.copy(SAMPLE / "group1.txt", raw / "group1.txt")
    result = invoke("segments", raw / "group1.txt", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "would overwrite a raw transcript" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert invoke("segments").exit_code == 2
    assert invoke("no-such-command").exit_code == 2


def commands() -> list[str]:
    import typer.main

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help_and_is_documented(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "--out" in result.output or "Usage" in result.output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"qualcode {command}" in readme


def test_agree_writes_the_agreement_table_and_disagreements(sample_run: Path, tmp_path) -> None:
    out = sample_run / "out"
    result = invoke(
        "agree",
        SAMPLE / "coding_coder_a.csv",
        SAMPLE / "coding_coder_b.csv",
        "--segments",
        out / "segments.csv",
        "--out",
        tmp_path,
        "--bootstrap",
        "200",
    )
    assert result.exit_code == 0, result.output
    assert "coder_b against coder_a" in result.stdout and "overall" in result.stdout
    with (tmp_path / "agreement.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
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
    ]
    assert rows[-1]["code_id"] == "overall" and len(rows) == 33
    assert float(rows[-1]["kappa_low"]) < float(rows[-1]["kappa"]) < float(rows[-1]["kappa_high"])
    with (tmp_path / "disagreements.csv").open(encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    assert listed and listed[0]["coder_a"] == "coder_a" and listed[0]["text"]


def test_agree_with_three_coders_and_the_rules(sample_run: Path, tmp_path) -> None:
    out = sample_run / "out"
    result = invoke(
        "agree",
        out / "codings.csv",
        SAMPLE / "coding_coder_a.csv",
        SAMPLE / "coding_coder_b.csv",
        "--out",
        tmp_path,
        "--bootstrap",
        "50",
    )
    assert result.exit_code == 0, result.output
    assert "alpha over all coders" in result.stdout
    assert (tmp_path / "agreement_all.csv").is_file()
    assert (tmp_path / "agreement.csv").is_file()  # the first pair
    assert (tmp_path / "agreement_qualcode_coder_b.csv").is_file()


def test_agree_reports_a_bad_segment_id_in_one_line(sample_run: Path, tmp_path) -> None:
    bad = tmp_path / "coding_eva.csv"
    bad.write_text("segment_id,code_id\ngroup9:1:1,self_doubt\n", encoding="utf-8")
    result = invoke(
        "agree", SAMPLE / "coding_coder_a.csv", bad, "--segments", sample_run / "out/segments.csv"
    )
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "coding_eva.csv:2: unknown segment id" in result.stderr


def test_sheet_writes_a_coding_sheet_with_suggestions(sample_run: Path, tmp_path) -> None:
    path = tmp_path / "sheet.csv"
    result = invoke("sheet", sample_run / "out", "-o", path, "--suggest")
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert any("suggested" in row.values() for row in rows)
    # read back untouched, a sheet of suggestions holds no human codings
    again = invoke(
        "agree",
        path,
        SAMPLE / "coding_coder_a.csv",
        "--bootstrap",
        "0",
        "--segments",
        sample_run / "out/segments.csv",
    )
    assert again.exit_code == 0, again.output
