"""Each detector on its own: BEFORE text → the identifiers it finds."""

from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.identifiers import (
    Identifier,
    Lists,
    detect_identifiers,
    merge_spans,
    pattern_identifiers,
)

from .conftest import DATA

ROSTER = qc.read_roster(DATA / "anon" / "participants.csv")


def found(
    nlp,
    text: str,
    transcript_id: str = "s1",
    lists: Lists | None = None,
    roster: qc.Roster | None = ROSTER,
) -> list[tuple[str, str]]:
    spans = detect_identifiers(text, roster, transcript_id=transcript_id, lists=lists, nlp=nlp)
    return [(s.text, s.kind) for s in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I asked Anna about it.", [("Anna", "participant")]),
        ("anna was late again.", [("anna", "participant")]),  # lower-case names
        ("Anna's mentee came.", [("Anna", "participant")]),  # possessive outside the span
        ("Annie was brilliant.", [("Annie", "participant")]),  # nickname from the aliases
        ("Ask Kovács.", [("Kovács", "participant")]),  # surname alone
        ("Gergo was there too.", [("Gergo", "participant")]),  # without diacritics
        ("Then Anna Kovács spoke.", [("Anna Kovács", "participant")]),
        ("Thank you, Dr. Ilona Szabó.", [("Dr. Ilona Szabó", "moderator")]),
    ],
)
def test_roster_detector(nlp, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(nlp, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I will ask him.", []),
        ("Will, what do you think?", [("Will", "participant")]),  # a vocative
        ("I told Will yesterday.", [("Will", "participant")]),  # capitalised mid-sentence
        ("Will and I did the training.", [("Will", "participant")]),
        ("Will you come?", []),
        ("The will to go on.", []),
    ],
)
def test_names_that_are_ordinary_words(nlp, text: str, expected) -> None:
    assert found(nlp, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail me at judit.kardos@uni.example please.", [("judit.kardos@uni.example", "email")]),
        ("Call +36 72 555 0142 today.", [("+36 72 555 0142", "phone")]),
        ("It's plus 36 72 555 0142.", [("plus 36 72 555 0142", "phone")]),
        ("Ring 020 7946 0018 now.", [("020 7946 0018", "phone")]),
        (
            "See https://mentoring.example/apply, thanks.",
            [("https://mentoring.example/apply", "url")],
        ),
        ("We live at SW1A 1AA.", [("SW1A 1AA", "postcode")]),
        ("It was on the 14th of March 2022.", [("14th of March 2022", "date")]),
        ("Born on 2001-05-17.", [("2001-05-17", "date")]),
        ("I'm 23 and fine.", [("23", "age")]),
        ("She is 19 years old.", [("19 years old", "age")]),
        ("when I was like 17", [("17", "age")]),
        ("I was 20 minutes late.", []),
        ("My Neptun code is AB12CD.", [("AB12CD", "id")]),
        ("my Swedish postcode, 981 45, went", [("981 45", "postcode")]),
        ("Application no. 36110/97 was lodged.", [("36110/97", "id")]),
    ],
)
def test_pattern_detector(nlp, text: str, expected) -> None:
    assert [
        (t, k)
        for t, k in found(nlp, text, roster=None)
        if k not in ("person", "organisation", "place")
    ] == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Yesterday I met Professor Lakatos in the corridor.", "person"),
        ("She works at St. Ladislaus Teaching Hospital now.", "organisation"),
        ("My parents moved to Debrecen last year.", "place"),
    ],
)
def test_ner_detector(nlp, text: str, kind: str) -> None:
    kinds = [k for _, k in found(nlp, text, roster=None)]
    assert kind in kinds


@pytest.mark.parametrize(
    "text",
    [
        "We learned the Krebs cycle on Monday.",
        "The Teams call and the Moodle quiz were in March.",
        "We spoke Hungarian in the anatomy practical.",
        "The Moderator asked again.",
        "Parkinson's disease came up in pharmacology.",
    ],
)
def test_words_that_name_no_one_are_kept(nlp, text: str) -> None:
    assert found(nlp, text, roster=None) == []


def test_project_lists(nlp) -> None:
    lists = Lists(
        mask={"Ward 4B": "place", "PeerMed": "organisation"},
        keep=frozenset({"pannonia university"}),
    )
    text = "On Ward 4B the PeerMed people from Pannonia University helped."
    assert found(nlp, text, lists=lists, roster=None) == [
        ("Ward 4B", "place"),
        ("PeerMed", "organisation"),
    ]


def test_merge_prefers_longer_then_trusted() -> None:
    spans = [
        Identifier(0, 4, "person", "Anna", "ner"),
        Identifier(0, 4, "participant", "Anna", "roster"),
        Identifier(0, 11, "person", "Anna Kovács", "ner"),
        Identifier(20, 24, "age", "23", "pattern"),
    ]
    assert [(s.text, s.detector) for s in merge_spans(spans)] == [
        ("Anna Kovács", "ner"),
        ("23", "pattern"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Marika néni from the kitchen", [("Marika néni", "person")]),
        ("My daughter is Oliwia, she", [("Oliwia", "person")]),
        ("my mentee is called Ben Smith.", [("Ben Smith", "person")]),
        ("my friend is Hungarian", []),
        ("My son is very tall", []),
    ],
)
def test_person_cues(text: str, expected) -> None:
    assert [(s.text, s.kind) for s in pattern_identifiers(text)] == expected
