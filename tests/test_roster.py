from __future__ import annotations

import re
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.roster import role_for_label

from .conftest import DATA, SAMPLE


@pytest.fixture(scope="module")
def roster() -> qc.Roster:
    return qc.read_roster(SAMPLE / "participants.csv")


def test_sample_roster(roster: qc.Roster) -> None:
    assert len(roster.entries) == 31
    assert sum(e.role == "participant" for e in roster.entries) == 26
    assert roster.attribute_names == ["gender", "year", "mentor_semesters"]
    anna = roster.find("group1", "Anna")
    assert anna is not None
    assert anna.aliases == ("Anna Kovács", "Anna K.", "Annie", "Kovács")
    assert anna.attributes == {"gender": "female", "year": "5", "mentor_semesters": "4"}
    assert anna.line == 3


@pytest.mark.parametrize(
    ("transcript", "label", "speaker"),
    [
        ("group1", "ANNA", "Anna"),
        ("group1", "Anna K.", "Anna"),
        ("group1", "anna kovács", "Anna"),
        ("group1", "Zsófi", "Zsófia"),
        ("group3", "Mark", "Mark Olsen"),
        ("group3", "Dóri", "Dóra Kiss"),
        ("group3", "Grace O’Connor", "Grace O'Connor"),
        ("group4", "Anna-Lena", "Anna-Lena Weber"),
        ("group5", "Ádám", "ÁDÁM"),
        ("group5", "Sara L.", "SARA"),
        ("group1", "Mark", None),  # Mark is in group 3, not group 1
        ("group1", "Kristóf", None),
    ],
)
def test_labels_are_unified(
    roster: qc.Roster, transcript: str, label: str, speaker: str | None
) -> None:
    entry = roster.find(transcript, label)
    assert (entry.speaker if entry else None) == speaker


def test_project_wide_rows_apply_to_every_transcript(tmp_path: Path) -> None:
    path = tmp_path / "participants.csv"
    path.write_text(
        "transcript,speaker,role,pseudonym,aliases\n,Interviewer,moderator,,\n"
        "s1,R,participant,P01,Respondent\n",
        encoding="utf-8",
    )
    roster = qc.read_roster(path)
    assert roster.find("s1", "INTERVIEWER").role == "moderator"
    assert roster.find("s2", "Interviewer").role == "moderator"
    assert roster.find("s1", "Respondent").pseudonym == "P01"
    assert roster.find("s2", "R") is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("roster_no_speaker.csv", r"^roster_no_speaker\.csv:1: missing columns?: speaker — "),
        (
            "roster_duplicate.csv",
            r"^roster_duplicate\.csv:4: duplicate row \(same transcript and speaker as line 2\) — ",
        ),
        (
            "roster_bad_role.csv",
            r"^roster_bad_role\.csv:2: unknown role 'interviewee' — use one "
            r"of: moderator, participant, observer",
        ),
    ],
)
def test_bad_rosters(name: str, message: str) -> None:
    with pytest.raises(qc.RosterError) as raised:
        qc.read_roster(DATA / "bad" / name)
    assert re.match(message, str(raised.value))
    assert "Anna" not in str(raised.value)


def test_missing_roster_file(tmp_path: Path) -> None:
    with pytest.raises(qc.RosterError, match="does not exist"):
        qc.read_roster(tmp_path / "nope.csv")


def test_labels_missing_from_the_roster_warn_without_naming_them(tmp_path: Path) -> None:
    (tmp_path / "s1.txt").write_text(
        "Moderator: Hi.\n\nKristóf: Hello.\n\nKristóf: Bye.\n", encoding="utf-8"
    )
    (tmp_path / "participants.csv").write_text(
        "transcript,speaker,role\ns1,Moderator,moderator\ns1,Bence,participant\n", encoding="utf-8"
    )
    with pytest.warns(qc.QualcodeWarning) as caught:
        transcripts = qc.read_transcripts(tmp_path)
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("s1.txt:3: a speaker label is not in the roster") for m in messages)
    assert any(
        m.startswith("participants.csv:3: this roster speaker does not speak") for m in messages
    )
    assert not any("Kristóf" in m or "Bence" in m for m in messages)
    assert [t.role for t in transcripts[0].turns] == ["moderator", "participant", "participant"]


@pytest.mark.parametrize(("label", "role"), [("Facilitator", "moderator"), ("P2", "participant")])
def test_role_without_roster(label: str, role: str) -> None:
    assert role_for_label(label) == role
