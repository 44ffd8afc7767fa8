"""Coding sheets filled in by hand, read back as human codings, and merged with rule codings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

import qualcode as qc
from qualcode.errors import QualcodeError
from qualcode.sheets import (
    default_coder_name,
    load_codings,
    merge_codings,
    read_coding_sheet,
    write_coding_sheet,
)
from qualcode.transcripts import transcript_files


@pytest.fixture(scope="module")
def run_files(sample_run: Path):
    out = sample_run / "out"
    segments = qc.read_segments(out / "segments.csv")
    codebook = qc.load_codebook(out / "codebook.yaml")
    rules = qc.read_codings(out / "codings.csv", segments, codebook)
    return segments, codebook, rules


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_sheet_with_a_column_per_code_round_trips(run_files, tmp_path: Path) -> None:
    segments, codebook, rules = run_files
    path = write_coding_sheet(segments, codebook, tmp_path / "sheet_ann.csv", suggestions=rules)
    rows = _rows(path)
    participants = [s for s in segments if s.role == "participant"]
    assert len(rows) == len(participants)  # moderators left out
    assert list(rows[0])[:4] == ["segment_id", "transcript_id", "speaker", "text"]
    assert list(rows[0])[4:] == [c.id for c in codebook.codes]
    suggested = sum(v == "suggested" for row in rows for v in row.values())
    assert suggested == len({(c.segment_id, c.code_id) for c in rules})
    # a coder accepts one suggestion, marks one new code and leaves the rest
    accepted = next(row for row in rows if "suggested" in row.values())
    code = next(k for k, v in accepted.items() if v == "suggested")
    accepted[code] = "1"
    rows[5]["confidence_gain"] = "x"
    _write_rows(path, rows)
    human = read_coding_sheet(path, segments, codebook)
    assert sorted((c.segment_id, c.code_id) for c in human) == sorted(
        [(accepted["segment_id"], code), (rows[5]["segment_id"], "confidence_gain")]
    )
    assert {c.coder for c in human} == {"ann"} and {c.source for c in human} == {"human"}
    theme = {c.id: c.theme_id for c in codebook.codes}
    assert all(c.theme_id == theme[c.code_id] for c in human)


def test_a_sheet_with_a_codes_column_in_excel(run_files, tmp_path: Path) -> None:
    segments, codebook, _ = run_files
    path = write_coding_sheet(segments, codebook, tmp_path / "list.xlsx", layout="list")
    workbook = load_workbook(path)
    sheet = workbook["coding"]
    assert [c.value for c in sheet[1]] == [
        "segment_id",
        "transcript_id",
        "speaker",
        "text",
        "codes",
    ]
    assert workbook["codes"].max_row == len(codebook.codes) + 1  # a legend of the codes
    sheet["E2"] = "confidence_gain; self_doubt"
    sheet["E3"] = "setting_boundaries?"  # still a suggestion
    workbook.save(path)
    human = read_coding_sheet(path, segments, codebook, coder="ben")
    assert [(c.segment_id, c.code_id) for c in human] == [
        (sheet["A2"].value, "confidence_gain"),
        (sheet["A2"].value, "self_doubt"),
    ]
    assert {c.coder for c in human} == {"ben"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"segment_id": "group9:99:9"}, "unknown segment id"),
        ({"confidence_gain": "maybe"}, "cannot read the mark"),
    ],
)
def test_bad_cells_name_the_line(run_files, tmp_path: Path, change, message) -> None:
    segments, codebook, _ = run_files
    path = write_coding_sheet(segments, codebook, tmp_path / "sheet.csv")
    rows = _rows(path)
    rows[2].update(change)
    _write_rows(path, rows)
    with pytest.raises(QualcodeError) as error:
        read_coding_sheet(path, segments, codebook)
    assert message in str(error.value) and ":4:" in str(error.value)


def test_an_unknown_code_column_is_refused(run_files, tmp_path: Path) -> None:
    segments, codebook, _ = run_files
    path = tmp_path / "sheet.csv"
    path.write_text(f"segment_id,confidance_gain\n{segments[0].id},1\n", encoding="utf-8")
    with pytest.raises(QualcodeError, match="unknown code column 'confidance_gain'"):
        read_coding_sheet(path, segments, codebook)


def test_codings_files_keep_their_coder_column(run_files, tmp_path: Path) -> None:
    segments, codebook, rules = run_files
    path = qc.write_codings(rules[:5], tmp_path / "codings_rules.csv")
    loaded = load_codings(path, segments, codebook)
    assert {c.coder for c in loaded} == {"qualcode"}
    renamed = load_codings(path, segments, codebook, coder="ann")
    assert {c.coder for c in renamed} == {"ann"}


def test_coder_names_come_from_file_names() -> None:
    assert default_coder_name(Path("coding_coder_a.csv")) == "coder_a"
    assert default_coder_name(Path("codings_Eva.xlsx")) == "Eva"
    assert default_coder_name(Path("eva.csv")) == "eva"


def test_merging_human_and_rule_codings(run_files) -> None:
    segments, codebook, rules = run_files
    first = rules[0]
    other = next(s for s in segments if s.role == "participant" and s.id != first.segment_id)
    human = qc.Codings(
        [
            qc.Coding(
                first.segment_id,
                first.transcript_id,
                first.speaker,
                "self_doubt",
                "",
                "",
                source="human",
                coder="ann",
            ),
            qc.Coding(
                other.id,
                other.transcript_id,
                other.speaker,
                first.code_id,
                "",
                "",
                source="human",
                coder="ann",
            ),
        ],
        segments,
        codebook,
    )
    added = merge_codings(rules, human)
    assert len(added) == len(rules) + 2
    overridden = merge_codings(rules, human, human_overrides=True)
    on_first = [c for c in overridden if c.segment_id == first.segment_id]
    assert [(c.code_id, c.source) for c in on_first] == [("self_doubt", "human")]
    order = {s.id: i for i, s in enumerate(segments)}
    assert [order[c.segment_id] for c in overridden] == sorted(
        order[c.segment_id] for c in overridden
    )


def test_codings_beside_the_transcripts_are_not_transcripts(tmp_path: Path) -> None:
    (tmp_path / "group1.txt").write_text("Anna: Hello there.\n", encoding="utf-8")
    (tmp_path / "coding_eva.csv").write_text("segment_id,code_id\ng:0:0,x\n", encoding="utf-8")
    (tmp_path / "group2.csv").write_text("speaker,text\nAnna,Hi\n", encoding="utf-8")
    assert [p.name for p in transcript_files(tmp_path)] == ["group1.txt", "group2.csv"]


def test_codings_follow_their_text_when_segment_ids_shift(run_files, tmp_path: Path) -> None:
    segments, codebook, _ = run_files
    turn = [s for s in segments if s.transcript_id == "group2" and s.role == "participant"]
    target, neighbour = turn[3], turn[4]
    # coded on an older run where this sentence had the neighbour's id, and its pseudonym
    # tags were numbered differently
    old_text = target.text.replace("[", "[Old ")
    path = tmp_path / "coding_eva.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["segment_id", "code_id", "text"])
        writer.writerow([neighbour.id, "self_doubt", old_text])
    (coding,) = load_codings(path, segments, codebook)
    assert coding.segment_id == target.id
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["segment_id", "code_id", "text"])
        writer.writerow([neighbour.id, "self_doubt", "A sentence nobody said."])
    with pytest.raises(QualcodeError, match="not the text that was coded"):
        load_codings(path, segments, codebook)
