"""Readers on the sample study, on other encodings, and on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.labels import match_label

from .conftest import DATA, QMSUM, SAMPLE, SERDIF, needs_qmsum, needs_serdif

SAMPLE_TURNS = {"group1": 88, "group2": 97, "group3": 86, "group4": 91, "group5": 113}
SAMPLE_SPEAKERS = {
    "group1": ["MODERATOR", "Anna", "Gergő", "Will", "Zsófia", "Rose"],
    "group2": ["Dr. Varga", "Márton", "Hope", "Lea", "Priya", "Bence"],
    "group3": [
        "Eszter Varga",
        "Mark Olsen",
        "Ingrid Nilsen",
        "Ahmed Karimi",
        "Grace O'Connor",
        "Dóra Kiss",
        "Levente Farkas",
    ],
    "group4": [
        "Tom Hughes",
        "Anna-Lena Weber",
        "Bill Carter",
        "Faith Okafor",
        "Réka Molnár",
        "Daniel Kessler",
    ],
    "group5": ["MODERATOR", "SARA", "ÁDÁM", "NOOR", "PÉTER", "CHLOÉ"],
}


def by_id(transcripts: list[qc.Transcript]) -> dict[str, qc.Transcript]:
    return {t.id: t for t in transcripts}


def test_sample_folder_reads_every_format(sample_transcripts: list[qc.Transcript]) -> None:
    found = by_id(sample_transcripts)
    assert {Path(t.source).suffix for t in sample_transcripts} == {".txt", ".docx", ".vtt", ".srt"}
    assert {key: len(t.turns) for key, t in found.items()} == SAMPLE_TURNS
    assert {key: t.speakers for key, t in found.items()} == SAMPLE_SPEAKERS


def test_sample_roles_come_from_the_roster(sample_transcripts: list[qc.Transcript]) -> None:
    for transcript in sample_transcripts:
        moderators = {t.speaker for t in transcript.turns if t.role == "moderator"}
        participants = {t.speaker for t in transcript.turns if t.role == "participant"}
        assert len(moderators) == 1
        assert len(participants) in (5, 6)
    assert (
        sum(
            len({t.speaker for t in tr.turns if t.role == "participant"})
            for tr in sample_transcripts
        )
        == 26
    )


def test_inconsistent_labels_are_unified_through_the_roster(
    sample_transcripts: list[qc.Transcript],
) -> None:
    group1 = by_id(sample_transcripts)["group1"]
    anna_labels = {t.label for t in group1.turns if t.speaker == "Anna"}
    assert anna_labels == {"Anna", "ANNA", "Anna K."}


def test_colon_inside_a_turn_is_not_a_label(sample_transcripts: list[qc.Transcript]) -> None:
    group1 = by_id(sample_transcripts)["group1"]
    honestly = [t for t in group1.turns if "\nHonestly: no." in t.text]
    assert [t.speaker for t in honestly] == ["Gergő"]
    assert any("The problem was: nobody asked us" in t.text for t in group1.turns)


def test_front_matter_is_metadata(sample_transcripts: list[qc.Transcript]) -> None:
    group1 = by_id(sample_transcripts)["group1"]
    assert group1.metadata["group"] == "group1"
    assert group1.metadata["date"] == "2022-03-14"
    assert group1.metadata["session"] == "Focus group 1"
    assert group1.turns[0].line == 10


def test_docx_labels_with_times_and_unlabelled_paragraphs(
    sample_transcripts: list[qc.Transcript],
) -> None:
    group2 = by_id(sample_transcripts)["group2"]
    timed = [(t.speaker, t.start) for t in group2.turns if t.start is not None]
    assert timed == [("Bence", 872.0), ("Priya", 1668.0), ("Hope", 2465.0)]
    continued = [t for t in group2.turns if "\n" in t.text]
    assert len(continued) == 3


def test_teams_vtt_merges_cues_of_one_speaker(sample_transcripts: list[qc.Transcript]) -> None:
    group3 = by_id(sample_transcripts)["group3"]
    first = group3.turns[0]
    assert (first.speaker, first.start, first.end, first.line) == ("Eszter Varga", 4.607, 48.765, 5)
    assert "<v" not in first.text and "</v>" not in first.text
    assert all(turn.start is not None and turn.end is not None for turn in group3.turns)
    starts = [turn.start for turn in group3.turns]
    assert starts == sorted(starts)


def test_otter_headers_give_times(sample_transcripts: list[qc.Transcript]) -> None:
    group4 = by_id(sample_transcripts)["group4"]
    assert group4.turns[0].start == 3.0
    assert group4.turns[0].speaker == "Tom Hughes"
    assert all(turn.start is not None for turn in group4.turns)


def test_srt_unlabelled_cues_continue_the_speaker(
    sample_transcripts: list[qc.Transcript],
) -> None:
    group5 = by_id(sample_transcripts)["group5"]
    first, second = group5.turns[:2]
    assert first.text.startswith("Right, I think we can start. Um, thank you all for coming")
    assert first.text.endswith("how long you've been mentoring.")
    assert (first.start, first.end) == (1.2, 37.178)
    assert (second.speaker, second.start, second.line) == ("SARA", 37.859, 37)


def _label_free(line: str) -> str:
    found = match_label(line)
    return found.text if found else line.strip()


@pytest.mark.parametrize("name", ["group1.txt", "group4.txt"])
def test_text_readers_keep_every_line(name: str) -> None:
    transcript = qc.read_transcript(SAMPLE / name)
    joined = "\n".join(turn.text for turn in transcript.turns)
    body = (SAMPLE / name).read_text(encoding="utf-8").split("\n---\n", 1)[-1]
    for line in body.split("\n"):
        if line.strip():
            assert _label_free(line) in joined


def test_cue_readers_keep_every_word() -> None:
    for name in ("group3.vtt", "group5.srt"):
        transcript = qc.read_transcript(SAMPLE / name)
        words = " ".join(turn.text for turn in transcript.turns).split()
        raw = (SAMPLE / name).read_text(encoding="utf-8")
        raw = re.sub(r"</?v[^>]*>", " ", raw)
        spoken = [
            _label_free(line)
            for line in raw.split("\n")
            if line.strip()
            and "-->" not in line
            and not line.strip().isdigit()
            and line.strip() != "WEBVTT"
            and not re.match(r"^[0-9a-f-]{36}/", line.strip())
        ]
        assert " ".join(spoken).split() == words


@pytest.mark.parametrize(
    ("name", "encoding", "speakers", "needle"),
    [
        ("utf16_bom.txt", "utf-16", ["Anna", "Bence"], "Hi Anna."),
        ("utf8_bom_crlf.txt", "utf-8-sig", ["Anna", "Bence"], "Hi Anna."),
        ("old_mac_cr.txt", "utf-8", ["Anna", "Bence"], "Hi Anna."),
    ],
)
def test_unicode_encodings(name: str, encoding: str, speakers: list[str], needle: str) -> None:
    transcript = qc.read_transcript(DATA / "encodings" / name)
    assert transcript.encoding == encoding
    assert transcript.speakers == speakers
    assert transcript.turns[1].text == needle
    assert all("\r" not in turn.text and "\ufeff" not in turn.text for turn in transcript.turns)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("latin2.txt", "Őszintén? Önbizalmat - és türelmet."),
        ("cp1252.txt", "It’s “fine” – honestly, café talk."),
    ],
)
def test_legacy_encodings_are_detected_with_a_warning(name: str, needle: str) -> None:
    with pytest.warns(qc.QualcodeWarning, match=rf"{name}: not UTF-8; read as"):
        transcript = qc.read_transcript(DATA / "encodings" / name)
    assert needle in [turn.text for turn in transcript.turns]


BAD_INPUT = [
    ("empty.txt", r"^empty\.txt: the file is empty — "),
    ("whitespace.txt", r"^whitespace\.txt: the file is empty — "),
    ("image.txt", r"^image\.txt:1: this is a PNG image, not a text transcript — "),
    ("document.txt", r"^document\.txt:1: this is a PDF document, not a text transcript — "),
    ("no_labels.txt", r"^no_labels\.txt:1: no speaker labels found — "),
    ("interview.pages", r"^interview\.pages: unknown transcript format '\.pages' — use one of"),
    ("not_a_zip.docx", r"^not_a_zip\.docx: not a readable Word document .* — open it in Word"),
    ("no_header.vtt", r"^no_header\.vtt:1: the WEBVTT header is missing — "),
    ("broken_time.vtt", r"^broken_time\.vtt:4: the cue timing is not readable — "),
    ("no_text_column.csv", r"^no_text_column\.csv:1: no text column in the header — "),
    ("nul_bytes.txt", r"^nul_bytes\.txt:2: the file holds NUL bytes"),
]


@pytest.mark.parametrize(("name", "message"), BAD_INPUT)
def test_bad_input_raises_one_clear_error(name: str, message: str) -> None:
    with pytest.raises(qc.TranscriptFormatError) as raised:
        qc.read_transcript(DATA / "bad" / name)
    assert re.match(message, str(raised.value))
    assert "\n" not in str(raised.value)


def test_text_before_the_first_label_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s1.txt"
    path.write_text("Recording started late.\nAnna: Hi.\nAnna: Bye.\n", encoding="utf-8")
    with pytest.warns(qc.QualcodeWarning, match=r"s1\.txt:1: text before the first speaker"):
        transcript = qc.read_transcript(path)
    assert [(t.speaker, t.text) for t in transcript.turns] == [
        ("UNKNOWN", "Recording started late."),
        ("Anna", "Hi."),
        ("Anna", "Bye."),
    ]


def test_same_speaker_consecutive_turns_stay_separate(tmp_path: Path) -> None:
    path = tmp_path / "s2.txt"
    path.write_text("P1: One.\nP1: Two.\n\nP2: Three\ncontinued.\n", encoding="utf-8")
    transcript = qc.read_transcript(path)
    assert [(t.speaker, t.text, t.line) for t in transcript.turns] == [
        ("P1", "One.", 1),
        ("P1", "Two.", 2),
        ("P2", "Three\ncontinued.", 4),
    ]


def test_csv_and_xlsx_tables(tmp_path: Path) -> None:
    from openpyxl import Workbook

    csv_path = tmp_path / "t1.csv"
    csv_path.write_text(
        'Speaker;Text;Start;End\nModerator;"Welcome; all.";00:00:01.5;4\n'
        'Anna;"Two lines\nin one cell";5;9.25\n',
        encoding="utf-8",
    )
    table = qc.read_transcript(csv_path)
    assert [(t.speaker, t.role, t.text, t.start, t.end, t.line) for t in table.turns] == [
        ("Moderator", "moderator", "Welcome; all.", 1.5, 4.0, 2),
        ("Anna", "participant", "Two lines\nin one cell", 5.0, 9.25, 3),
    ]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["speaker", "text", "start"])
    sheet.append(["Interviewer", "How was it?", 12])
    sheet.append(["R1", "Good, mostly.", 15.5])
    workbook.save(tmp_path / "t2.xlsx")
    sheet_transcript = qc.read_transcript(tmp_path / "t2.xlsx")
    assert [(t.speaker, t.role, t.text, t.start, t.line) for t in sheet_transcript.turns] == [
        ("Interviewer", "moderator", "How was it?", 12.0, 2),
        ("R1", "participant", "Good, mostly.", 15.5, 3),
    ]


def test_docx_speaker_table(tmp_path: Path) -> None:
    from docx import Document

    document = Document()
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ["Time", "Speaker", "Transcript"], strict=True):
        cell.text = text
    for row in (
        ["00:00:04", "Facilitator", "Shall we begin?"],
        ["00:00:09", "Zsófia Tóth", "Yes [laughs]"],
    ):
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    document.save(tmp_path / "t3.docx")
    transcript = qc.read_transcript(tmp_path / "t3.docx")
    assert [(t.speaker, t.role, t.text, t.start) for t in transcript.turns] == [
        ("Facilitator", "moderator", "Shall we begin?", 4.0),
        ("Zsófia Tóth", "participant", "Yes [laughs]", 9.0),
    ]


def test_zoom_vtt_prefixes_and_several_voices_in_a_cue(tmp_path: Path) -> None:
    path = tmp_path / "zoom.vtt"
    path.write_text(
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nGergő Nagy: Hello &amp; welcome.\n\n"
        "2\n00:00:03.000 --> 00:00:05.000\nstill me.\n\n"
        "3\n00:00:05.000 --> 00:00:07.000\n<v Anna>Yes.</v>\n<v.loud Bence>No!</v>\n",
        encoding="utf-8",
    )
    transcript = qc.read_transcript(path)
    assert [(t.speaker, t.text, t.start, t.end) for t in transcript.turns] == [
        ("Gergő Nagy", "Hello & welcome. still me.", 1.0, 5.0),
        ("Anna", "Yes.", 5.0, 7.0),
        ("Bence", "No!", 5.0, 7.0),
    ]


def test_folder_reading_skips_readme_and_roster() -> None:
    files = qc.transcripts.transcript_files(SAMPLE)
    assert [f.name for f in files] == [
        "group1.txt",
        "group2.docx",
        "group3.vtt",
        "group4.txt",
        "group5.srt",
    ]


def render_meeting(meeting: Path) -> str:
    turns = json.loads(meeting.read_text(encoding="utf-8"))["meeting_transcripts"]
    return "\n\n".join(f"{t['speaker']}: {t['content']}" for t in turns) + "\n"


@needs_qmsum
@pytest.mark.parametrize(
    "name", ["Academic/all/Bmr014.json", "Product/all/ES2002a.json", "Committee/all/covid_0.json"]
)
def test_real_meetings_render_and_read_back(name: str, tmp_path: Path) -> None:
    meeting = QMSUM / name
    if not meeting.exists():
        pytest.skip(f"{name} is not in this copy of qmsum")
    source = json.loads(meeting.read_text(encoding="utf-8"))["meeting_transcripts"]
    path = tmp_path / f"{meeting.stem}.txt"
    path.write_text(render_meeting(meeting), encoding="utf-8")
    transcript = qc.read_transcript(path)
    expected = [(t["speaker"], " ".join(t["content"].split())) for t in source]
    got = [(t.speaker, " ".join(t.text.split())) for t in transcript.turns]
    assert got == expected


# --- OpenDocument text ------------------------------------------------------------------

ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
)


def write_odt(path: Path, body: str, *, prolog: str = "") -> Path:
    """An OpenDocument text as LibreOffice writes it: `mimetype` first, then content.xml."""
    import zipfile

    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<office:document-content {ODT_NS} '
        f'office:version="1.2"><office:body><office:text>{body}</office:text></office:body>'
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def test_odt_paragraphs_are_read_with_the_text_rules(tmp_path: Path) -> None:
    body = (
        '<text:sequence-decls><text:sequence-decl text:name="Table"/></text:sequence-decls>'
        "<text:h>Focus group 3</text:h>"
        '<text:p>Moderator: Welcome,<text:s text:c="2"/>everyone.</text:p>'
        "<text:p>Anna: I <text:span>really</text:span> liked\n   it."
        "<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>"
        "A footnote</text:p></text:note-body></text:note></text:p>"
        "<text:list><text:list-item><text:p>Bence: First line<text:line-break/>second "
        "line</text:p></text:list-item></text:list>"
        "<text:tracked-changes><text:changed-region><text:deletion><text:p>Deleted words"
        "</text:p></text:deletion></text:changed-region></text:tracked-changes>"
        "<text:section><text:p>Anna:<text:tab/>Yes.<office:annotation><text:p>a comment"
        "</text:p></office:annotation></text:p></text:section>"
        "<text:p><draw:frame><draw:text-box><text:p>caption</text:p></draw:text-box>"
        "</draw:frame></text:p>"
    )
    path = write_odt(tmp_path / "fg3.odt", body)
    with pytest.warns(qc.QualcodeWarning, match=r"fg3\.odt:1: text before the first speaker"):
        transcript = qc.read_transcript(path)
    assert [(t.speaker, t.role, t.text, t.line) for t in transcript.turns] == [
        ("UNKNOWN", "participant", "Focus group 3", 1),
        ("Moderator", "moderator", "Welcome,  everyone.", 2),
        ("Anna", "participant", "I really liked it.", 3),
        ("Bence", "participant", "First line\nsecond line", 4),
        ("Anna", "participant", "Yes.", 5),
    ]


def test_odt_speaker_table(tmp_path: Path) -> None:
    def row(*cells: str) -> str:
        return (
            "<table:table-row>"
            + "".join(f"<table:table-cell><text:p>{c}</text:p></table:table-cell>" for c in cells)
            + "</table:table-row>"
        )

    body = (
        "<table:table>"
        + row("Speaker", "Start", "Text")
        + row("Interviewer", "00:00:05", "How was it?")
        + row("R1", "00:00:09", "Good, mostly.")
        + "</table:table>"
    )
    transcript = qc.read_transcript(write_odt(tmp_path / "t4.odt", body))
    assert [(t.speaker, t.role, t.text, t.start) for t in transcript.turns] == [
        ("Interviewer", "moderator", "How was it?", 5.0),
        ("R1", "participant", "Good, mostly.", 9.0),
    ]


def test_odt_bad_input_raises_one_clear_error(tmp_path: Path) -> None:
    import zipfile

    not_zip = tmp_path / "not_zip.odt"
    not_zip.write_text("Anna: hello\n", encoding="utf-8")
    no_content = tmp_path / "no_content.odt"
    with zipfile.ZipFile(no_content, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    broken = write_odt(tmp_path / "broken.odt", "<text:p>Anna: unclosed")
    dtd = write_odt(
        tmp_path / "dtd.odt",
        "<text:p>Anna: &lol;</text:p>",
        prolog='<!DOCTYPE x [<!ENTITY lol "lol">]>',
    )
    empty = write_odt(tmp_path / "empty.odt", "<text:p> </text:p>")
    cases = [
        (not_zip, r"^not_zip\.odt: not a readable OpenDocument text \(BadZipFile\) — open it"),
        (no_content, r"^no_content\.odt: not an OpenDocument text \(no content\.xml\) — "),
        (broken, r"^broken\.odt: the document's XML is broken — "),
        (dtd, r"^dtd\.odt: content\.xml declares a DTD"),
        (empty, r"^empty\.odt: the document holds no text — "),
    ]
    for path, message in cases:
        with pytest.raises(qc.TranscriptFormatError) as raised:
            qc.read_transcript(path)
        assert re.match(message, str(raised.value)), str(raised.value)


def test_odt_zip_bomb_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bomb.odt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.xml", b"<a>" + b" " * (8 * 2**20) + b"</a>")
    with pytest.raises(qc.TranscriptFormatError, match="too large or a ZIP bomb"):
        qc.read_transcript(path)


@needs_serdif
def test_real_odt_transcripts_are_read() -> None:
    from qualcode.readers import odt_blocks

    path = SERDIF / "transcripts" / "P2_GMT20211119.odt"
    blocks = [b for b in odt_blocks(path) if isinstance(b, str) and b.strip()]
    assert len(blocks) > 150
    assert blocks[0].startswith("1 Read the")
    with pytest.warns(qc.QualcodeWarning, match="text before the first speaker label"):
        transcript = qc.read_transcript(path)  # paragraphs with `MODERATOR:` labels
    assert transcript.speakers == ["UNKNOWN", "MODERATOR"]
    words = sum(len(b.split()) for b in blocks)
    assert (
        sum(len(t.text.split()) for t in transcript.turns)
        + sum(len(t.label.split()) for t in transcript.turns if t.speaker == "MODERATOR")
        == words
    )
