"""REFI-QDA exchange: `.qdc` codebooks and `.qdpx` projects, out and back in, from real tools'
layouts (NVivo's UTF-16 positions, BOMs, CRLF, `Sources/`), and hostile files."""

from __future__ import annotations

import csv
import re
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.codebook import load_codebook, write_codebook
from qualcode.coding import RULE_CODER, read_codings
from qualcode.exchange import (
    CODEBOOK_NS,
    PALETTE,
    PROJECT_NS,
    guid,
    import_qdpx,
    layout,
    parse_layout,
    read_qdc_notes,
    read_qdpx,
    write_qdc,
)
from qualcode.roster import read_roster
from qualcode.segments import read_segments

from .conftest import DATA, ROOT, SHARED

REFI = DATA / "refi"
SCHEMAS = SHARED / "refi-qda"
CODEBOOKS = [ROOT / "codebooks" / "near_peer_mentoring.yaml", ROOT / "codebooks" / "meetings.yaml"]
runner = CliRunner()
P = f"{{{PROJECT_NS}}}"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session")
def schema():
    """XSD validation of a `.qdc` or `.qde`: returns the errors (empty when valid)."""
    if not (SCHEMAS / "Project.xsd").is_file():
        pytest.skip("../shared/refi-qda is not present (the schemas are in the team's workspace)")
    schemas = {
        "CodeBook": etree.XMLSchema(file=str(SCHEMAS / "Codebook.xsd")),
        "Project": etree.XMLSchema(file=str(SCHEMAS / "Project.xsd")),
    }

    def errors(data: bytes) -> list[str]:
        document = etree.fromstring(data)
        checker = schemas[etree.QName(document).localname]
        return [] if checker.validate(document) else [str(e) for e in checker.error_log]

    return errors


def zip_folder(folder: Path, path: Path) -> Path:
    """A `.qdpx` made from a folder of hand-built files, as a tool would zip them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and file.name != ".gitattributes":
                archive.write(file, file.relative_to(folder).as_posix())
    return path


def qde_of(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read("project.qde"))


# --- the Description layout -------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"Definition": "One line."},
        {"Definition": "Two\nlines", "ID": "a_b"},
        {"Definition": "A paragraph.\n\nAnother after a blank line.\n  indented", "ID": "x"},
        {"Include": ["first", "second: with a colon", "multi\nline item"], "ID": "x"},
        {"Match": ["keyword: figure out", 'pattern: [{"LEMMA": "help"}]', r"regex: \bvisa\b"]},
    ],
)
def test_layout_reads_back_exactly(fields: dict) -> None:
    text = layout(list(fields.items()))
    known = frozenset({"Definition", "Include", "Match", "ID"})
    assert parse_layout(text, known) == fields
    assert parse_layout(text.replace("\n  \n", "\n\n"), known) == fields  # trailing spaces cut


def _plain(text: str) -> str:
    """Text as a codebook field holds it: stripped, whitespace-only lines empty."""
    lines = [line if line.strip() else "" for line in text.split("\n")]
    return "\n".join(lines).strip()


_TEXT = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r") | st.just("\n"),
        min_size=1,
    )
    .map(_plain)
    .filter(bool)
)


@settings(max_examples=200, deadline=None)
@given(definition=_TEXT, items=st.lists(_TEXT, max_size=4))
def test_any_field_text_reads_back_exactly(definition: str, items: list[str]) -> None:
    fields = {"Definition": definition, "Include": items, "ID": "x"}
    parsed = parse_layout(layout(list(fields.items())), frozenset(fields))
    assert parsed == {k: v for k, v in fields.items() if v}


@pytest.mark.parametrize(
    "text",
    [
        "Mentors describing how they solved problems.",
        "Definition:no space after the colon",
        "Include: items may not follow on the line",
        "Definition: fine\nbut this line is not indented",
        "  starts indented",
        "Unknown field: x",
    ],
)
def test_free_text_is_not_taken_for_the_layout(text: str) -> None:
    assert parse_layout(text, frozenset({"Definition", "Include"})) is None


# --- codebooks (.qdc) ---------------------------------------------------------------------


@pytest.mark.parametrize("source", CODEBOOKS, ids=lambda p: p.stem)
def test_codebook_round_trips_through_qdc(tmp_path: Path, source: Path) -> None:
    book = load_codebook(source)
    qdc = write_qdc(book, tmp_path / "book.qdc")
    again, notes = read_qdc_notes(qdc)
    assert notes == []
    assert again.themes == book.themes
    assert (again.name, again.version, again.language, again.unit, again.speakers) == (
        book.name,
        book.version,
        book.language,
        book.unit,
        book.speakers,
    )
    first = write_codebook(book, tmp_path / "first.yaml").read_bytes()
    second = write_codebook(load_codebook(qdc), tmp_path / "second.yaml").read_bytes()
    assert first == second


def test_qdc_layout_is_readable_and_guids_are_stable(tmp_path: Path) -> None:
    book = load_codebook(CODEBOOKS[0])
    data = write_qdc(book, tmp_path / "a.qdc").read_bytes()
    assert write_qdc(book, tmp_path / "b.qdc").read_bytes() == data  # same codebook, same file
    root = etree.fromstring(data)
    assert root.tag == f"{{{CODEBOOK_NS}}}CodeBook"
    themes = root.findall(f"{{{CODEBOOK_NS}}}Codes/{{{CODEBOOK_NS}}}Code")
    assert [t.get("isCodable") for t in themes] == ["false"] * len(book.themes)
    assert [t.get("color") for t in themes] == list(PALETTE[: len(book.themes)])
    code = book.code("solving_practical_problems")
    node = root.find(f".//{{{CODEBOOK_NS}}}Code[@guid='{guid('code', code.id)}']")
    assert node.get("isCodable") == "true" and node.get("name") == code.label
    text = node.findtext(f"{{{CODEBOOK_NS}}}Description")
    assert text.startswith("Definition: The mentor describes helping a mentee")
    assert "\n\nInclude:\n- Helping with administration" in text
    assert "\n\nMatch:\n- keyword: sort out\n" in text
    assert text.endswith("\n\nID: solving_practical_problems")
    # a GUID depends on the id alone: another codebook with that code gives the same GUID
    assert guid("code", code.id) == guid("code", "solving_practical_problems")


def test_theme_colour_is_carried(tmp_path: Path) -> None:
    source = tmp_path / "coloured.yaml"
    text = (DATA / "codebooks" / "small.yaml").read_text(encoding="utf-8")
    source.write_text(
        text.replace("label: Reflections", 'label: Reflections\n    color: "#AA3377"')
    )
    book = load_codebook(source)
    assert [t.color for t in book.themes] == ["", "#AA3377"]
    qdc = write_qdc(book, tmp_path / "coloured.qdc")
    colours = [c.get("color") for c in etree.parse(str(qdc)).getroot()[0]]
    assert colours == [PALETTE[0], "#AA3377"]
    assert load_codebook(qdc).themes == book.themes
    for suffix in (".csv", ".xlsx"):
        assert load_codebook(write_codebook(book, tmp_path / f"t{suffix}")).themes == book.themes


def test_bad_theme_colour_is_a_codebook_problem(tmp_path: Path) -> None:
    source = tmp_path / "bad.yaml"
    text = (DATA / "codebooks" / "small.yaml").read_text(encoding="utf-8")
    source.write_text(text.replace("label: Growth", "label: Growth\n    color: blue"))
    with pytest.raises(qc.CodebookError, match="bad colour 'blue'"):
        load_codebook(source)


def test_deep_nvivo_codebook_is_folded_with_notes() -> None:
    with pytest.warns(qc.QualcodeWarning, match="gathered under the theme 'Ungrouped codes'"):
        book = load_codebook(REFI / "nvivo_deep.qdc")
    wellbeing, ungrouped = book.themes
    assert (wellbeing.id, wellbeing.color) == ("wellbeing", "#9C27B0")
    assert wellbeing.description == "How mentoring affected the mentors' wellbeing."
    assert [s.id for s in wellbeing.subthemes] == ["stress"]
    assert [c.label for c in wellbeing.subthemes[0].codes] == [
        "Workload",
        "Workload › Exam period",
        "Workload › Exam period › Night shifts",
    ]
    assert wellbeing.subthemes[0].codes[0].definition.startswith("Too much to do")
    belonging = book.code("belonging")  # free text that looks like a field stays free text
    assert (belonging.definition, belonging.speakers) == (
        "Speakers: mostly the older mentors",
        None,
    )
    assert [c.id for c in ungrouped.codes] == ["money", "mentoring_first_contact"]
    assert all(c.manual_only for c in book.codes)
    _, notes = read_qdc_notes(REFI / "nvivo_deep.qdc")
    said = " | ".join(str(n) for n in notes)
    assert "dropped: the set 'Negative experiences'" in said
    assert "codes below the third level" in said and "own colours" in said


def test_cli_converts_to_qdc_and_checks_it(tmp_path: Path) -> None:
    result = invoke("codebook", "convert", CODEBOOKS[1], "--to", "qdc", "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.qdc").is_file()
    result = invoke("codebook", "check", tmp_path / "m.qdc")
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout


# --- projects: qualcode → qdpx → qualcode -----------------------------------------------


def _coded(out: Path):
    segments = read_segments(out / "segments.csv")
    codings = read_codings(out / "codings.csv", segments, load_codebook(out / "codebook.yaml"))
    coded = {c.segment_id for c in codings}
    return [s for s in segments if s.id in coded], codings


def _key(coding):
    return (coding.segment_id, coding.code_id, coding.coder)


def test_run_exports_an_exact_project(sample_run: Path, tmp_path: Path) -> None:
    out = sample_run / "out"
    result = invoke("export", "qdpx", out, "-o", tmp_path / "study.qdpx")
    assert result.exit_code == 0, result.output
    path = tmp_path / "study.qdpx"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        qde = archive.read("project.qde")
        sources = {n: archive.read(n) for n in names if n != "project.qde"}
    root = etree.fromstring(qde)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (out / "transcripts").glob("*.txt")}
    assert len(sources) == len(texts) == 5
    assert all(re.fullmatch(r"sources/[0-9a-f-]{36}\.txt", n) for n in sources)
    assert not any(data.startswith(b"\xef\xbb\xbf") for data in sources.values())

    segments, codings = _coded(out)
    by_id = {s.id: s for s in segments}
    selections = 0
    for source in root.iter(f"{P}TextSource"):
        path_in_zip = "sources/" + source.get("plainTextPath").removeprefix("internal://")
        text = sources[path_in_zip].decode("utf-8")
        assert text == texts[source.get("name")]
        for selection in source.iter(f"{P}PlainTextSelection"):
            segment = by_id[selection.get("name")]
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert text[start:end] == segment.text  # code points from 0, end exclusive
            selections += 1
    assert selections == len(segments)
    users = [u.get("name") for u in root.iter(f"{P}User")]
    assert users[0] == RULE_CODER
    assert {c.get("name") for c in root.iter(f"{P}Case")} == {
        s.speaker for s in read_segments(out / "segments.csv") if s.role == "participant"
    }
    assert any(v.tag == f"{P}IntegerValue" for v in root.iter())  # year as a number
    description = root.find(f".//{P}PlainTextSelection/{P}Description").text
    assert re.match(
        r".+ \[[a-z_]+\] by qualcode \(rule\), score \d+: \w+ .+ → \".+\" @\d+-\d+", description
    )

    imported = import_qdpx(path, tmp_path / "back")
    back = tmp_path / "back"
    for tid, text in texts.items():
        assert (back / "transcripts" / f"{tid}.txt").read_text(encoding="utf-8") == text
    assert list(imported.segments) == segments  # ids, speakers, roles, turns, offsets, texts
    assert sorted(imported.codings, key=_key) == sorted(codings, key=_key)  # with evidence
    assert read_segments(back / "segments.csv") == imported.segments
    assert (back / "attributes.csv").read_text() == (out / "attributes.csv").read_text()
    assert [n for n in imported.notes if n.kind != "checked"] == []
    assert (
        load_codebook(back / "codebook.yaml").themes == load_codebook(out / "codebook.yaml").themes
    )
    roster = read_roster(back / "participants.csv")
    assert {e.role for e in roster.entries} == {"participant", "moderator"}
    result = invoke("report", back, "--format", "md,xlsx")
    assert result.exit_code == 0, result.output
    assert "## Repaired\n\nNothing." in (back / "import-report.md").read_text(encoding="utf-8")


TRANSCRIPT = """---
group: Emoji group
---
Moderator: How confident do you feel now? 🙂

Zoë: I feel confident 💪🏽 now, honestly.
We figured out the registration together 🎉 in the first week.

Ádám: I'm not confident at all 😬 but I sort out paperwork.
"""


def test_run_writes_project_qdpx_in_code_points(tmp_path: Path, nlp) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "emoji.txt").write_text(TRANSCRIPT, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(
        "run",
        tmp_path / "in",
        "--codebook",
        DATA / "codebooks" / "small.yaml",
        "--out",
        out,
        "--private",
        tmp_path / "private",
        "--no-anonymize",
        "--format",
        "md,qdpx",
    )
    assert result.exit_code == 0, result.output
    text = (out / "transcripts" / "emoji.txt").read_text(encoding="utf-8")
    root = qde_of(out / "project.qdpx")
    spans = [
        (int(s.get("startPosition")), int(s.get("endPosition")))
        for s in root.iter(f"{P}PlainTextSelection")
    ]
    assert "We figured out the registration together 🎉 in the first week." in [
        text[a:b] for a, b in spans
    ]
    imported = read_qdpx(out / "project.qdpx")
    segments, codings = _coded(out)
    assert list(imported.segments) == segments
    assert sorted(imported.codings, key=_key) == sorted(codings, key=_key)
    assert imported.texts == {"emoji": text}
    # `qualcode report --format qdpx` writes it again from the output folder
    (out / "project.qdpx").unlink()
    assert invoke("report", out, "--format", "qdpx").exit_code == 0
    assert (out / "project.qdpx").is_file()


def test_export_adds_human_coders(sample_run: Path, tmp_path: Path) -> None:
    out = sample_run / "out"
    segments = read_segments(out / "segments.csv")
    picked = [s for s in segments if s.role == "participant"][:3]
    human = tmp_path / "coder_eva.csv"
    human.write_text(
        "segment_id,code_id\n" + "".join(f"{s.id},solving_practical_problems\n" for s in picked),
        encoding="utf-8",
    )
    path = qc.export_qdpx(out, tmp_path / "two.qdpx", codings=[human])
    assert [u.get("name") for u in qde_of(path).iter(f"{P}User")] == [RULE_CODER, "coder_eva"]
    imported = read_qdpx(path)
    eva = [c for c in imported.codings if c.coder == "coder_eva"]
    assert sorted(c.segment_id for c in eva) == sorted(s.id for s in picked)
    assert {c.source for c in eva} == {"human"}


def test_export_refuses_an_inconsistent_folder(sample_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(sample_run / "out", out)
    (out / "codebook.yaml").unlink()
    with pytest.raises(qc.QualcodeError, match=r"no codebook\.yaml"):
        qc.export_qdpx(out, tmp_path / "x.qdpx")
    transcript = out / "transcripts" / "group1.txt"
    transcript.write_text("Moderator: changed\n", encoding="utf-8")
    result = invoke(
        "export",
        "qdpx",
        out,
        "-o",
        tmp_path / "x",
        "--codebook",
        ROOT / "codebooks" / "near_peer_mentoring.yaml",
    )
    assert result.exit_code == 1
    assert re.fullmatch(r"Error: segment group1:\S+ does not match .*— .*\n", result.stderr)


# --- projects from other tools ----------------------------------------------------------------


def test_nvivo_utf16_positions_bom_crlf_and_names(tmp_path: Path) -> None:
    path = zip_folder(REFI / "nvivo_utf16", tmp_path / "nvivo.qdpx")
    result = import_qdpx(path, tmp_path / "in")
    tid = "Interview Zsófia"
    text = (tmp_path / "in" / "transcripts" / f"{tid}.txt").read_text(encoding="utf-8")
    assert "\r" not in text and not text.startswith("\ufeff")
    assert [(s.id, s.speaker, s.role, s.text) for s in result.segments] == [
        (f"{tid}:1:0", "Zsófia", "participant", "Honestly 😅 at first I was lost."),
        (
            f"{tid}:1:1",
            "Zsófia",
            "participant",
            "The first-years asked about the Neptun registration and I had no idea 🤷\u200d♀️.",
        ),
        (f"{tid}:3:0", "Zsófia", "participant", "Later I felt confident 💪 explaining anatomy"),
        (f"{tid}:3:1", "Zsófia", "participant", "Gergő said I'm a natural teacher."),
        (
            f"{tid}:3:2",
            "Zsófia",
            "participant",
            "Crème brûlée after the exam 🎉 was our tradition.",
        ),
    ]
    assert all(text[s.start : s.end] == s.text for s in result.segments)
    assert sorted((c.code_id, c.coder) for c in result.codings) == [
        ("explaining_feedback_from_mentees", "Bence"),
        ("feeling_confident", "Anna Kovács"),
        ("feeling_confident", "Bence"),
        ("personal_growth_general", "Bence"),
        ("practical_problems", "Anna Kovács"),
        ("traditions", "Anna Kovács"),
    ]
    assert {c.source for c in result.codings} == {"human"}
    report = (tmp_path / "in" / "import-report.md").read_text(encoding="utf-8")
    for said in (
        "named 'Mentoring study.qde'",
        "read from 'Sources/",
        "utf-8 byte-order mark removed",
        "CR LF line breaks written as LF",
        "UTF-16 code units with CR LF line breaks (as NVivo does); 6 of 6",
        "'Personal growth (general)'",
        "'Explaining › Feedback from mentees'",
        "own colours of subthemes and codes",
    ):
        assert said in report
    result = invoke(
        "agree",
        tmp_path / "in" / "codings_anna_kovacs.csv",
        tmp_path / "in" / "codings_bence.csv",
        "--bootstrap",
        "0",
    )
    assert result.exit_code == 0, result.output
    assert "Bence against Anna Kovács" in result.stdout
    roster = read_roster(tmp_path / "in" / "participants.csv")
    assert [(e.transcript, e.speaker, e.role, e.attributes) for e in roster.entries] == [
        (tid, "Zsófia", "participant", {"gender": "female", "year": "5"}),
        (tid, "Interviewer", "moderator", {"gender": "", "year": ""}),
    ]


def test_atlas_crlf_counted_once_and_capitalised_folder(tmp_path: Path) -> None:
    result = read_qdpx(zip_folder(REFI / "atlas_crlf", tmp_path / "atlas.qdpx"))
    assert [(s.speaker, s.text) for s in result.segments] == [
        ("P1", "I learned to explain the Krebs cycle in simple words."),
        ("P1", "It made me a better student too."),
        ("P2", "teaching is learning twice."),
    ]
    book = result.codebook
    assert [(t.id, t.color, [s.id for s in t.subthemes]) for t in book.themes] == [
        ("professional_growth", "#4E79A7", ["teaching_skills"])
    ]
    said = " | ".join(str(n) for n in result.notes)
    assert "CR LF line breaks written as LF" in said and "positions counted" not in said
    assert {c.coder for c in result.codings} == {"Hanna"}


def test_maxqda_flat_codebook_memos_pdf_and_repairs(tmp_path: Path) -> None:
    result = import_qdpx(zip_folder(REFI / "maxqda_flat", tmp_path / "m.qdpx"), tmp_path / "in")
    assert [(s.transcript_id, s.speaker, s.text) for s in result.segments] == [
        ("Interview B1", "B1", "We filled in the forms together."),  # trailing " \n" trimmed
        ("Interview B1", "B1", "The cafe\u0301 near the dorm became our office"),
        ("Field notes", "UNKNOWN", "walked the student to the immigration office"),
    ]
    assert sorted((c.segment_id, c.coder) for c in result.codings) == [
        ("Field notes:0:0", "c2"),
        ("Interview B1:1:0", "Coder One"),  # two coders' selections of one range: one segment
        ("Interview B1:1:0", "c2"),
        ("Interview B1:3:0", "Coder One"),
    ]
    assert [t.label for t in result.codebook.themes] == ["Ungrouped codes"]
    report = (tmp_path / "in" / "import-report.md").read_text(encoding="utf-8")
    for said in (
        "PDF area selections (qualcode reads text only): 1",
        "the set 'Admin codes'",
        "selections trimmed of spaces and line breaks at their ends: 1",
        "selections with the same range as another, made one segment: 1",
        "selections without a coding: 1",
        "codings of codes that are not in the codebook: 1",
        "variable values of sources (qualcode reads text only): 1",
        "links (qualcode has none): 1",
        "### Memo: paperwork (code 'Paperwork')",
        "Check with the international office whether permits changed in 2023.",
    ):
        assert said in report
    roster = read_roster(tmp_path / "in" / "participants.csv")
    assert roster.find("Interview B1", "B1").attributes == {"studiengang": "Humanmedizin"}
    assert roster.find("Interview B1", "Interviewer").role == "moderator"


@pytest.mark.parametrize("folder", ["nvivo_utf16", "maxqda_flat", "atlas_crlf"])
def test_imports_feed_the_reports_and_export_again(tmp_path: Path, folder: str) -> None:
    out = tmp_path / "in"
    import_qdpx(zip_folder(REFI / folder, tmp_path / "p.qdpx"), out)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (out / "transcripts").glob("*.txt")}
    for segment in read_segments(out / "segments.csv"):
        assert texts[segment.transcript_id][segment.start : segment.end] == segment.text
    result = invoke("report", out, "--format", "md")
    assert result.exit_code == 0, result.output
    again = qc.export_qdpx(out, tmp_path / "again.qdpx")
    first, second = read_qdpx(tmp_path / "p.qdpx"), read_qdpx(again)
    assert list(second.segments) == list(first.segments)
    assert sorted(second.codings, key=_key) == sorted(first.codings, key=_key)


def test_every_file_written_is_valid_qda_xml(sample_run: Path, tmp_path: Path, schema) -> None:
    """Each kind of `.qdc` and `.qde` qualcode writes, and the hand-built exports, against the
    QDA-XML 1.0 schemas."""
    written: dict[str, bytes] = {}
    for source in CODEBOOKS:
        written[source.name] = write_qdc(load_codebook(source), tmp_path / "c.qdc").read_bytes()
    out = sample_run / "out"
    human = tmp_path / "coding_eva.csv"
    first = read_segments(out / "segments.csv")[5]
    human.write_text(f"segment_id,code_id\n{first.id},solving_practical_problems\n")
    for name, extra in (("sample run", []), ("sample run with a human coder", [human])):
        path = qc.export_qdpx(out, tmp_path / "p.qdpx", codings=extra)
        written[name] = zipfile.ZipFile(path).read("project.qde")
    for folder in ("nvivo_utf16", "maxqda_flat", "atlas_crlf"):
        imported = tmp_path / folder
        import_qdpx(zip_folder(REFI / folder, tmp_path / f"{folder}.qdpx"), imported)
        again = qc.export_qdpx(imported, tmp_path / "again.qdpx")
        written[f"{folder} imported and exported"] = zipfile.ZipFile(again).read("project.qde")
    for name, data in written.items():
        assert schema(data) == [], name
    for qde in REFI.rglob("*.qde"):
        assert schema(qde.read_bytes()) == [], qde
    assert schema((REFI / "nvivo_deep.qdc").read_bytes()) == []


# --- hostile and broken files ---------------------------------------------------------------

QDE_HEAD = f'<?xml version="1.0"?>\n<Project xmlns="{PROJECT_NS}" name="x">'
CODES = (
    '<CodeBook><Codes><Code guid="00000000-0000-4000-8000-000000000001" name="C" '
    'isCodable="true"/></Codes></CodeBook>'
)


def project(members: dict[str, bytes | str], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def source_with(start: int, end: int, text: str = "Anna: hello there\n") -> dict[str, str]:
    qde = (
        f"{QDE_HEAD}{CODES}<Sources><TextSource guid='00000000-0000-4000-8000-000000000002' "
        "name='s' plainTextPath='internal://s.txt'><PlainTextSelection "
        f"guid='00000000-0000-4000-8000-000000000003' startPosition='{start}' "
        f"endPosition='{end}'><Coding guid='00000000-0000-4000-8000-000000000004'><CodeRef "
        "targetGUID='00000000-0000-4000-8000-000000000001'/></Coding></PlainTextSelection>"
        "</TextSource></Sources></Project>"
    )
    return {"project.qde": qde, "sources/s.txt": text}


def lying_sizes(path: Path) -> Path:
    """A member that says it is 100 bytes and unpacks to 5 MiB."""
    project({"project.qde": b" " * (5 * 2**20)}, path)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 22, 100)  # local header: uncompressed size
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 100)  # central directory
    path.write_bytes(bytes(data))
    return path


def huge_declared(path: Path) -> Path:
    project({"project.qde": b"<Project/>"}, path)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 3 * 2**30)
    path.write_bytes(bytes(data))
    return path


XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    f'<Project xmlns="{PROJECT_NS}" name="&xxe;">{CODES}<Description>&xxe;</Description></Project>'
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi"))
    + f']>\n<Project xmlns="{PROJECT_NS}" name="x"><Description>&i;</Description></Project>'
)
HOSTILE = {
    "external entity": (lambda p: project({"project.qde": XXE}, p), r"external entity|DTD"),
    "billion laughs": (lambda p: project({"project.qde": LAUGHS}, p), r"DTD|amplification"),
    "path traversal": (
        lambda p: project({"project.qde": "<Project/>", "../../evil.txt": "x"}, p),
        r"a member's path escapes the project folder \('\.\./\.\./evil\.txt'\)",
    ),
    "absolute member": (
        lambda p: project({"project.qde": "<Project/>", "/etc/cron.d/x": "x"}, p),
        r"escapes the project folder",
    ),
    "traversal in plainTextPath": (
        lambda p: project(
            {
                "project.qde": source_with(0, 5)["project.qde"].replace(
                    "internal://s.txt", "internal://../../../etc/passwd"
                )
            },
            p,
        ),
        r"escapes the project folder",
    ),
    "zip bomb (ratio)": (
        lambda p: project({"project.qde": "<Project/>", "sources/a.txt": b"\0" * 2**26}, p),
        r"unpacks to 67,108,864 bytes .*ZIP bomb",
    ),
    "zip bomb (declared size)": (huge_declared, r"unpacks to 3,221,225,472 bytes"),
    "zip bomb (lying size)": (lying_sizes, r"damaged or unpacks to more than it declares"),
    "offsets past the end": (
        lambda p: project(source_with(6, 400), p),
        r"a selection in source 's' ends at 400, past the end of its text \(18 characters\)",
    ),
    "end before start": (lambda p: project(source_with(9, 3), p), r"runs from 9 to 3"),
    "position not a number": (
        lambda p: project({k: v.replace("'5'", "'five'") for k, v in source_with(0, 5).items()}, p),
        r"endPosition='five', not a number",
    ),
    "not a zip": (lambda p: (p.write_text("hello"), p)[1], r"not a \.qdpx project"),
    "no qde": (lambda p: project({"sources/a.txt": "x"}, p), r"no project\.qde"),
    "not xml": (lambda p: project({"project.qde": "<Project"}, p), r"not well-formed XML"),
    "wrong root": (
        lambda p: project({"project.qde": f'<CodeBook xmlns="{CODEBOOK_NS}"/>'}, p),
        r"not a REFI-QDA project \(the root element is 'CodeBook'\)",
    ),
    "no codebook": (lambda p: project({"project.qde": f"{QDE_HEAD}</Project>"}, p), "no codebook"),
    "source not utf-8": (
        lambda p: project(source_with(0, 4) | {"sources/s.txt": "Anna: é".encode("latin-1")}, p),
        r"the text of source 's' is not UTF-8",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_projects_give_one_clear_error(tmp_path: Path, case: str) -> None:
    make, message = HOSTILE[case]
    path = make(tmp_path / "bad.qdpx")
    with pytest.raises(qc.QualcodeError, match=message) as raised:
        read_qdpx(path)
    assert "\n" not in str(raised.value) and "root:" not in str(raised.value)
    result = invoke("import", "qdpx", path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (XXE.replace("Project", "CodeBook"), r"external entity|DTD"),
        (LAUGHS.replace("Project", "CodeBook"), r"DTD|amplification"),
        ("<CodeBook", "not well-formed XML"),
        (f'<CodeBook xmlns="{CODEBOOK_NS}"><Codes/></CodeBook>', "the codebook has no codes"),
        (f'<Project xmlns="{PROJECT_NS}" name="x"/>', "not a REFI-QDA codebook"),
    ],
)
def test_hostile_codebooks_give_one_clear_error(
    tmp_path: Path, document: str, message: str
) -> None:
    path = tmp_path / "bad.qdc"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(qc.QualcodeError, match=message):
        load_codebook(path)
    result = invoke("codebook", "check", path)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: bad.qdc") and result.stderr.count("\n") == 1


def test_imported_codings_csv_has_the_coder_column(tmp_path: Path) -> None:
    import_qdpx(zip_folder(REFI / "atlas_crlf", tmp_path / "a.qdpx"), tmp_path / "in")
    with open(tmp_path / "in" / "codings.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["source"], r["coder"]) for r in rows} == {("human", "Hanna")}
