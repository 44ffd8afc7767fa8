"""`qualcode run`, `anonymize`, `code` and `codebook` through the CLI, with the golden report."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode.anonymize import read_key, searchable_text
from qualcode.cli import app

from .conftest import DATA, QMSUM, ROOT, SAMPLE, needs_qmsum

runner = CliRunner()
EXPECTED = DATA / "expected"
REGENERATE = os.environ.get("QUALCODE_REGENERATE") == "1"


def invoke(*args: object, cwd: Path | None = None):
    if cwd is None:
        return runner.invoke(app, [str(a) for a in args])
    here = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, [str(a) for a in args])
    finally:
        os.chdir(here)


def test_run_writes_every_output(sample_run: Path) -> None:
    out = sample_run / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "agreement.csv",
        "agreement_rules.csv",
        "attributes.csv",
        "codebook.yaml",
        "codings.csv",
        "disagreements.csv",
        "disagreements_rules.csv",
        "project.qdpx",
        "report.docx",
        "report.html",
        "report.md",
        "report.xlsx",
        "run.json",
        "segments.csv",
        "themes.json",
        "transcripts",
    ]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["settings"]["anonymize"] is True
    assert run["counts"]["participants"] == 26
    assert run["codebook"]["codes"] == 32
    assert run["anonymization"]["replacements"] > 500
    themes = json.loads((out / "themes.json").read_text(encoding="utf-8"))
    assert [t["id"] for t in themes["themes"]] == [
        "professional_growth",
        "personal_growth",
        "reflections",
    ]
    assert themes["totals"]["participants"] == 26
    assert [h["coder"] for h in run["human_codings"]] == ["coder_a", "coder_b"]
    assert [(a["coder_a"], a["coder_b"]) for a in themes["agreement"]] == [
        ("coder_a", "coder_b"),
        ("consensus of coder_a and coder_b", "rules"),
    ]
    assert themes["saturation"]["steps"][0]["transcript_id"] == "group1"


def test_sessions_are_ordered_by_date(tmp_path: Path) -> None:
    from qualcode.pipeline import session_order
    from qualcode.transcripts import Transcript

    dated = [
        Transcript("a", (), {"date": "2022-05-02"}),
        Transcript("b", (), {"date": "2022-03-14"}),
        Transcript("c", (), {"date": "2022-04-01"}),
    ]
    assert session_order(dated) == ["b", "c", "a"]
    undated = [*dated, Transcript("d", (), {})]
    assert session_order(undated) == ["a", "b", "c", "d"]


def test_human_codings_merge_into_the_themes(sample_run: Path, tmp_path: Path, nlp) -> None:
    import shutil

    for name in ("transcripts_sample", "codebooks"):
        shutil.copytree(sample_run / name, tmp_path / name)
    config = (sample_run / "qualcode.yaml").read_text(encoding="utf-8")
    (tmp_path / "qualcode.yaml").write_text(config + "merge_human: add\n", encoding="utf-8")
    result = invoke("run", "--format", "md", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    codings = (tmp_path / "out" / "codings.csv").read_text(encoding="utf-8")
    assert ",human,coder_a" in codings and ",rule,qualcode" in codings
    merged = json.loads((tmp_path / "out" / "themes.json").read_text(encoding="utf-8"))
    plain = json.loads((sample_run / "out" / "themes.json").read_text(encoding="utf-8"))
    assert merged["totals"]["coded_segments"] > plain["totals"]["coded_segments"]


def test_private_files_are_apart_and_owner_only(sample_run: Path) -> None:
    private = sample_run / "private"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o700
    assert sorted(p.name for p in private.iterdir()) == ["key.csv", "review.csv"]
    for path in private.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_no_original_name_in_the_output(sample_run: Path) -> None:
    key = read_key(sample_run / "private" / "key.csv")
    names = {
        k.original
        for k in key
        if k.kind in ("participant", "moderator")
        and len(k.original) > 3
        and k.original.casefold()
        not in ("will", "rose", "hope", "bill", "grace", "faith", "mark", "moderator")
    }
    assert len(names) > 40
    for path in (sample_run / "out").rglob("*"):
        if path.is_file():
            text = searchable_text(path)
            for name in names:
                assert not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE), (
                    path.name
                )


@pytest.mark.parametrize("name", ["report.md", "themes.json"])
def test_golden_report(sample_run: Path, name: str) -> None:
    report = (sample_run / "out" / name).read_text(encoding="utf-8")
    golden = EXPECTED / name
    if REGENERATE:
        golden.write_text(report, encoding="utf-8")
    assert report == golden.read_text(encoding="utf-8")


def test_report_command_rerenders_without_the_analysis(sample_run: Path) -> None:
    out = sample_run / "out"
    before = (out / "report.md").read_text(encoding="utf-8")
    (out / "report.md").unlink()
    result = invoke("report", out, "--format", "md,xlsx", cwd=sample_run)
    assert result.exit_code == 0, result.output
    assert (out / "report.md").read_text(encoding="utf-8") == before


def test_spreadsheet_report(sample_run: Path) -> None:
    import csv

    from openpyxl import load_workbook

    out = sample_run / "out"
    workbook = load_workbook(out / "report.xlsx", read_only=True)
    assert workbook.sheetnames == [
        "themes",
        "codes",
        "codings",
        "segments",
        "quotes",
        "code x group",
        "co-occurrence",
        "by gender",
        "by year",
        "by mentor_semesters",
        "co-occurring pairs",
        "agreement",
        "disagreements",
        "saturation",
        "codebook",
    ]
    with open(out / "codings.csv", encoding="utf-8", newline="") as handle:
        codings = list(csv.DictReader(handle))
    rows = list(workbook["codings"].iter_rows(values_only=True))
    assert len(rows) == len(codings) + 1
    assert {"segment_id", "code_id", "evidence", "text"} <= set(rows[0])
    assert len(list(workbook["segments"].iter_rows())) == 1693
    assert len(list(workbook["codebook"].iter_rows())) == 33
    groups = list(workbook["code x group"].iter_rows(values_only=True))
    assert groups[0] == ("code_id", "group1", "group2", "group3", "group4", "group5")
    workbook.close()


def test_report_command_needs_a_run(tmp_path: Path) -> None:
    result = invoke("report", tmp_path)
    assert result.exit_code == 1
    assert "not the output folder of a run" in result.stderr


def test_rerun_keeps_the_pseudonyms(sample_run: Path) -> None:
    before = (sample_run / "out" / "transcripts" / "group3.txt").read_text(encoding="utf-8")
    result = invoke("run", cwd=sample_run)
    assert result.exit_code == 0, result.output
    assert (sample_run / "out" / "transcripts" / "group3.txt").read_text("utf-8") == before


def test_run_without_anonymisation_and_options(tmp_path: Path, nlp) -> None:
    result = invoke(
        "run",
        SAMPLE / "group4.txt",
        "--codebook",
        ROOT / "codebooks" / "near_peer_mentoring.yaml",
        "--out",
        tmp_path / "o",
        "--no-anonymize",
        "--unit",
        "turn",
        "--format",
        "md",
    )
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert run["settings"] == {
        "unit": "turn",
        "anonymize": False,
        "formats": ["md"],
        "codebook": "near_peer_mentoring.yaml",
    }
    assert run["counts"]["segments"] == 91
    assert not (tmp_path / "private").exists()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["run", SAMPLE, "--out", "{tmp}/o"], r"Error: no codebook given — "),
        (["run", "--config", DATA / "bad" / "empty.txt"], r"Error: no transcripts given — "),
        (
            ["run", SAMPLE, "--codebook", DATA / "codebooks" / "tabs.yaml", "--out", "{tmp}/o"],
            r"Error: tabs\.yaml:3: a tab indents this line",
        ),
        (
            [
                "run",
                SAMPLE,
                "--codebook",
                ROOT / "codebooks" / "meetings.yaml",
                "--out",
                "{tmp}/o",
                "--format",
                "pdf",
            ],
            r"Error: unknown format 'pdf'",
        ),
        (
            [
                "run",
                SAMPLE,
                "--codebook",
                ROOT / "codebooks" / "meetings.yaml",
                "--out",
                "{tmp}/o",
                "--private",
                "{tmp}/o/private",
            ],
            r"Error: private: the private folder is inside the output folder",
        ),
        (
            ["codebook", "check", DATA / "codebooks" / "many_problems.yaml"],
            r"Error: many_problems\.yaml:14: figuring_out: unknown key 'keyword'",
        ),
    ],
)
def test_bad_runs(tmp_path: Path, args: list, error: str) -> None:
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in args]
    result = invoke(*args)
    assert result.exit_code == 1
    assert re.match(error, result.stderr.splitlines()[0]), result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_config_typo(tmp_path: Path) -> None:
    config = tmp_path / "qualcode.yaml"
    config.write_text("transcript: [x]\n", encoding="utf-8")
    result = invoke("run", "--config", config)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: qualcode.yaml: unknown setting 'transcript' — did you mean 'transcripts'?"
    )


def test_every_codebook_problem_is_one_error_line() -> None:
    result = invoke("codebook", "check", DATA / "codebooks" / "many_problems.yaml")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 8 and all(line.startswith("Error: many_problems.yaml:") for line in lines)


def test_anonymize_command(tmp_path: Path, nlp) -> None:
    result = invoke(
        "anonymize",
        DATA / "anon" / "s1.txt",
        DATA / "anon" / "s2.txt",
        "--roster",
        DATA / "anon" / "participants.csv",
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "transcripts" / "s1.txt").read_text(encoding="utf-8")
    assert text.startswith("Moderator: Welcome.")
    assert "Anna" not in text and "Kristóf" not in text
    assert (tmp_path / "private" / "key.csv").is_file()
    assert "Kristóf" not in result.output


def test_code_command_never_anonymises(tmp_path: Path, nlp) -> None:
    result = invoke(
        "code",
        DATA / "anon" / "s1.txt",
        "--codebook",
        DATA / "codebooks" / "small.yaml",
        "--out",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "Anna" in (tmp_path / "transcripts" / "s1.txt").read_text(encoding="utf-8")
    assert (
        (tmp_path / "codings.csv")
        .read_text(encoding="utf-8")
        .startswith("segment_id,transcript_id,speaker,code_id")
    )


def test_codebook_convert(tmp_path: Path) -> None:
    result = invoke(
        "codebook",
        "convert",
        ROOT / "codebooks" / "near_peer_mentoring.yaml",
        "--to",
        "xlsx",
        "-o",
        tmp_path / "cb.xlsx",
    )
    assert result.exit_code == 0, result.output
    check = invoke("codebook", "check", tmp_path / "cb.xlsx")
    assert check.exit_code == 0
    assert "32 codes" in check.output


@needs_qmsum
def test_meetings_codebook_on_real_meetings(tmp_path: Path, nlp) -> None:
    from .test_readers import render_meeting

    for name in ("Product/all/ES2002a.json", "Academic/all/Bmr014.json"):
        meeting = QMSUM / name
        (tmp_path / f"{meeting.stem}.txt").write_text(render_meeting(meeting), "utf-8")
    result = invoke(
        "run",
        tmp_path,
        "--codebook",
        ROOT / "codebooks" / "meetings.yaml",
        "--out",
        tmp_path / "out",
        "--no-anonymize",
    )
    assert result.exit_code == 0, result.output
    themes = json.loads((tmp_path / "out" / "themes.json").read_text(encoding="utf-8"))
    counts = {s["id"]: s["segments"] for t in themes["themes"] for s in t["subthemes"]}
    assert all(count > 0 for count in counts.values()), counts
    assert themes["totals"]["transcripts"] == 2


def test_outputs_written_side_by_side_are_those_of_one_process(
    tmp_path: Path, sample_transcripts, sample_segments, nlp
) -> None:
    import qualcode as qc
    from qualcode.config import FORMATS
    from qualcode.pipeline import write_analysis

    codebook = qc.load_codebook(ROOT / "codebooks" / "near_peer_mentoring.yaml")
    codings = qc.apply_codebook(sample_segments, codebook, nlp=nlp)
    themes = qc.build_themes(codings, codebook)
    written = {}
    for processes in (1, 2):
        out = tmp_path / str(processes) / "project"  # the REFI-QDA project takes its name
        paths = write_analysis(
            out,
            sample_transcripts,
            sample_segments,
            codings,
            themes,
            FORMATS,
            processes=processes,
        )
        written[processes] = [p.relative_to(out) for p in paths]
        assert sorted(written[processes]) == sorted(
            p.relative_to(out) for p in out.rglob("*") if p.is_file()
        )
    assert written[1] == written[2]  # the same files, in the same order
    assert written[1][0].parts[0] == "transcripts"
    for relative in written[1]:
        one, two = (tmp_path / n / "project" / relative for n in "12")
        assert one.read_bytes() == two.read_bytes(), relative


@pytest.mark.parametrize("large", [False, True])
def test_each_output_is_checked_once_as_it_is_written(
    tmp_path: Path, sample_transcripts, sample_segments, nlp, monkeypatch, large: bool
) -> None:
    """`write_analysis` calls the check on every file it writes, in the worker process that
    wrote it, but for a workbook large enough to be searched on two processes after."""
    import qualcode as qc
    from qualcode.config import FORMATS
    from qualcode.pipeline import checked_after, write_analysis

    if large:
        monkeypatch.setattr("qualcode.pipeline.LEAK_PARALLEL_BYTES", 0)
    codebook = qc.load_codebook(ROOT / "codebooks" / "near_peer_mentoring.yaml")
    codings = qc.apply_codebook(sample_segments, codebook, nlp=nlp)
    themes = qc.build_themes(codings, codebook)
    log = tmp_path / "checked.txt"

    def check(path: Path) -> None:  # runs in forked processes: a file keeps the record
        with log.open("a", encoding="utf-8") as file:
            file.write(f"{path.name}\n")

    out = tmp_path / "out"
    paths = write_analysis(
        out, sample_transcripts, sample_segments, codings, themes, FORMATS, check=check
    )
    checked = log.read_text(encoding="utf-8").split()
    assert sorted(checked) == sorted(p.name for p in paths if not checked_after(p))
    assert ("report.xlsx" in checked) is not large


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_writing_groups_keep_the_project_after_the_files_it_reads(processes: int) -> None:
    from qualcode.pipeline import _writing_groups

    jobs = ["analysis", "md", "html", "docx", "xlsx", "qdpx"]
    groups = _writing_groups(jobs, processes)
    assert sorted(job for group in groups for job in group) == sorted(jobs)
    assert len(groups) == min(processes, 4)
    holding = next(group for group in groups if "analysis" in group)
    assert holding.index("qdpx") == holding.index("analysis") + 1
    if processes == 2:
        workbook = next(group for group in groups if "xlsx" in group)
        assert "analysis" not in workbook and "qdpx" not in workbook  # beside the rest
    assert _writing_groups(["qdpx", "md"], 2) == [["qdpx"], ["md"]]


def test_a_leak_in_any_output_stops_the_run(tmp_path: Path, nlp, monkeypatch) -> None:
    import dataclasses
    import shutil

    import qualcode.pipeline

    real_anonymize = qualcode.pipeline.anonymize

    def leaking(transcripts, *args, **kwargs):  # the anonymised turns, but the original names
        result = real_anonymize(transcripts, *args, **kwargs)
        names = {t.id: {turn.index: turn for turn in t.turns} for t in transcripts}
        return dataclasses.replace(
            result,
            transcripts=[
                dataclasses.replace(
                    t,
                    turns=tuple(
                        dataclasses.replace(turn, speaker=names[t.id][turn.index].speaker)
                        for turn in t.turns
                    ),
                )
                for t in result.transcripts
            ],
        )

    monkeypatch.setattr("qualcode.pipeline.anonymize", leaking)
    shutil.copytree(SAMPLE, tmp_path / "transcripts")
    out = tmp_path / "out"
    result = invoke(
        "run",
        tmp_path / "transcripts",
        "--codebook",
        ROOT / "codebooks" / "near_peer_mentoring.yaml",
        "--out",
        out,
        "--private",
        tmp_path / "private",
    )
    assert result.exit_code == 1, result.output
    assert "still in the output" in result.output and "Traceback" not in result.output
    assert not out.exists()  # nothing half-written
    assert not (tmp_path / "private" / "key.csv").exists()
    assert not list(tmp_path.glob(".qualcode-staging-*/*"))
