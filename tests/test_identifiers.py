"""Each detector on its own: BEFORE text → the identifiers it finds."""

from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.identifiers import (
    Identifier,
    Lists,
    detect_identifiers,
    detect_in_doc,
    measure_identifiers,
    merge_spans,
    ner_pipeline,
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lists and ranges of days, months and years are one date
        ("On 14 and 27 July 1999 they met.", [("14 and 27 July 1999", "date")]),
        ("In February and March 2001 it rained.", [("February and March 2001", "date")]),
        ("They were born in 1943 and 1939.", [("1943 and 1939", "date")]),
        # ages said another way
        ("He was less than eighteen years of age.", [("eighteen years of age", "age")]),
        ("His age is 49, he says.", [("49", "age")]),
        # land and homes
        ("Plots nos. 260, 268 and 425 were hers.", [("Plots nos. 260, 268 and 425", "id")]),
        ("We live in flat 3 upstairs.", [("flat 3", "id")]),
        ("the house 2 doors down", []),
    ],
)
def test_pattern_detector_lists_ages_and_plots(text: str, expected) -> None:
    assert [(s.text, s.kind) for s in pattern_identifiers(text)] == expected


@pytest.mark.parametrize(
    ("text", "setting", "expected"),
    [
        ("a fine of EUR 4,000 was paid", "money", ["EUR 4,000"]),
        ("it cost 250,000 Swedish kronor (SEK) then", "money", ["250,000 Swedish kronor (SEK)"]),
        (
            "about 100,000 Turkish liras (TRY) (approximately 50,000 euros (EUR) at the time)",
            "money",
            ["100,000 Turkish liras (TRY)", "approximately 50,000 euros (EUR)"],
        ),
        ("PLN 552.21 [approx. EUR 138] a month", "money", ["PLN 552.21 [approx. EUR 138]"]),
        ("the parking was nine pounds a day", "money", ["nine pounds"]),
        ("I got 5 marks on it", "money", []),
        ("speeding by 26 km/h on a 50% slope", "quantities", ["26 km/h", "50%"]),
        ("a 50 to 79% disability rating", "quantities", ["50 to 79%"]),
        (
            "sentenced to three years and nine months’ imprisonment",
            "durations",
            ["three years and nine months’"],
        ),
        (
            "a two-year contract, then two and a half years abroad",
            "durations",
            ["two-year", "two and a half years"],
        ),
        ("in second year, for a year", "durations", []),
    ],
)
def test_money_quantities_and_durations(text: str, setting: str, expected) -> None:
    assert [s.text for s in measure_identifiers(text, **{setting: True})] == expected
    assert measure_identifiers(text) == []  # nothing unless a setting asks


def test_money_and_durations_only_when_asked(nlp) -> None:
    text = "We paid EUR 400 for two weeks."
    assert found(nlp, text, roster=None) == []
    spans = detect_identifiers(text, nlp=nlp)
    assert spans == []
    with nlp.select_pipes(enable=ner_pipeline(nlp)):
        doc = nlp(text)
    asked = detect_in_doc(doc, [], "s1", Lists(), ("MONEY",), durations=True)
    assert [(s.text, s.kind) for s in asked] == [("EUR 400", "amount"), ("two weeks", "duration")]


@pytest.mark.parametrize(
    ("text", "with_norp", "without"),
    [
        ("The applicant, a Turkish national, lives there.", [("Turkish", "group")], []),
        ("I'm Hungarian, she is Polish.", [("Hungarian", "group"), ("Polish", "group")], []),
        ("We spoke Hungarian in the anatomy practical.", [], []),  # a language, not a nationality
        ("Sorry, my Hungarian is very bad.", [], []),
    ],
)
def test_nationalities_only_with_norp(nlp, text: str, with_norp, without) -> None:
    with nlp.select_pipes(enable=ner_pipeline(nlp)):
        doc = nlp(text)
    labels = ("PERSON", "GPE", "LOC", "FAC", "ORG", "DATE")
    spans = detect_in_doc(doc, [], "s1", Lists(), (*labels, "NORP"))
    assert [(s.text, s.kind) for s in spans] == with_norp
    assert [(s.text, s.kind) for s in detect_in_doc(doc, [], "s1", Lists(), labels)] == without


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # BEFORE: "the Brandenburg [Person A] [Person B] [Person C]"
        (
            "On 13 May 1998 the Brandenburg Regional Labour Court quashed it.",
            [("13 May 1998", "date"), ("Brandenburg Regional Labour Court", "organisation")],
        ),
        # BEFORE: "[Person A] A. Rönquist"
        (
            "They were represented by their Agent, Mr A. Rönquist, in Stockholm.",
            [("Mr A. Rönquist", "person"), ("Stockholm", "place")],
        ),
        ("It was lodged under Article 25 and Protocol No. 11 of the Convention.", []),
    ],
)
def test_runs_of_proper_nouns_are_one_name(nlp, text: str, expected) -> None:
    assert found(nlp, text, roster=None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # BEFORE: "[Person A] GmbH"
        (
            "The shares were held by the company Robert Bosch GmbH.",
            [("Robert Bosch GmbH", "organisation")],
        ),
        # BEFORE: "[Organisation 1]-[Person A] (EWE)"
        (
            "She danced for the Erich-Weinert-Ensemble (EWE), a national company.",
            [("Erich-Weinert-Ensemble (EWE)", "organisation")],
        ),
        # BEFORE: "[Organisation 1] (Amtsgericht)"
        (
            "He applied to the Moers District Court (Amtsgericht) against the landlord.",
            [("Moers District Court (Amtsgericht)", "organisation")],
        ),
        # the acronym that the name in brackets spells out
        (
            "He was a member of the PKK (the Kurdistan Workers' Party), a party.",
            [("PKK", "organisation"), ("Kurdistan Workers' Party", "organisation")],
        ),
        # BEFORE: "the municipality of [Place 1]"
        (
            "The villages are in the municipality of Härjedalen, far away.",
            [("municipality of Härjedalen", "place")],
        ),
        # a list stays a list of names
        (
            "My mentees are Ifeoma, Lukas and Clara.",
            [("Ifeoma,", "organisation"), ("Lukas", "place"), ("Clara", "place")],
        ),
    ],
)
def test_names_widened_over_their_words(nlp, text: str, expected) -> None:
    assert found(nlp, text, roster=None) == expected


def test_name_matcher_finds_what_one_alternation_of_the_names_finds() -> None:
    """The look-up per word gives the matches of one regex alternating every name (longest
    first), in both case modes, on names with diacritics, apostrophes, several words and
    signs, in text with possessives, glued full stops, e-mail addresses and line breaks."""
    import re

    from qualcode.identifiers import _NAME_END, _NAME_START, _loose, name_matcher

    names = [
        (name, "person", "")
        for name in (
            "Anna", "Anna Kovács", "Zsófi", "O'Brien", "Mary-Jane", "Dr. Fehér", "Ann",
            "Łukasz", "EAT", "(EAT)", "Kovács Anna", "Straße", "Bo", "Will",
        )
    ]  # fmt: skip
    text = (
        "Anna Kovács met anna kovacs and Zsofi, zsófi's friend, O’Brien and Mary-Jane.\n"
        "Dr. Fehér said now.Anna was late; anna@example.org is Anna's. Annabel, Ann, Anne.\n"
        "LUKASZ, Łukasz and łukasz; (EAT) and EAT; Kovács\nAnna; STRASSE, Straße; Bo-Bo, Will."
    )
    for case_sensitive in (False, True):
        ordered = sorted(names, key=lambda n: -len(n[0]))
        branches = "|".join(_loose(n if case_sensitive else n.casefold()) for n, _, _ in ordered)
        flags = 0 if case_sensitive else re.IGNORECASE
        reference = re.compile(f"{_NAME_START}({branches}){_NAME_END}", flags)
        expected = [(m.start(1), m.end(1)) for m in reference.finditer(text)]
        found = [(m.start(1), m.end(1)) for m in name_matcher(names, case_sensitive).finditer(text)]
        assert found == expected, case_sensitive
        assert len(found) > 15


def test_entities_are_the_docs_entities(nlp, sample_transcripts) -> None:
    """Read from the table of entity tags, the entities are spaCy's own, label for label,
    also where an entity ends at the doc's end or one follows another directly."""
    from spacy.tokens import Span

    from qualcode.identifiers import entities

    texts = [turn.text for t in sample_transcripts for turn in t.turns]
    texts += ["I met Anna Kovács", "Paris London Berlin", "", "   "]
    seen = 0
    for doc in nlp.pipe(texts):
        assert [(e.start, e.end, e.label_) for e in entities(doc)] == [
            (e.start, e.end, e.label_) for e in doc.ents
        ]
        seen += len(doc.ents)
    doc = nlp.make_doc("Anna and Bea met in Pécs")
    doc.ents = [Span(doc, 0, 1, "PERSON"), Span(doc, 2, 3, "PERSON"), Span(doc, 5, 6, "GPE")]
    assert [(e.start, e.end, e.label_) for e in entities(doc)] == [
        (0, 1, "PERSON"),
        (2, 3, "PERSON"),
        (5, 6, "GPE"),
    ]
    assert seen > 50


@pytest.mark.parametrize(
    ("pattern", "needed"),
    [
        (r"\d{4}-\d{2}", True),
        (r"[0-9]+x", True),
        (r"(?=[A-Z0-9]*\d)[A-Z0-9]{6}", True),
        (r"\b(?:19|20)\d{2}|\d+/\d+", True),
        (r"[^0-9]+", False),
        (r"plot (?:\d+|[A-Z])", False),
        (r"\d?x", False),
        (r"[\d,.]+", False),
        (r"(?!\d)\w+", False),
    ],
)
def test_needs_digit(pattern: str, needed: bool) -> None:
    import re

    from qualcode.identifiers import needs_digit

    assert needs_digit(re.compile(pattern)) is needed


def test_the_shortcuts_change_no_finding(monkeypatch, sample_transcripts) -> None:
    """Patterns that need a digit are skipped on text without one, the age pattern on text
    without a digit or a number word: the findings are those of trying every pattern, on
    digit-free text and on text with digits."""
    import importlib

    from qualcode.identifiers import _NEEDS_DIGIT, PATTERNS, pattern_identifiers

    module = importlib.import_module("qualcode.identifiers")
    texts = [
        "Call me on plus three six, or at 06 30 123 4567, born in 1987, 3rd of May",
        "I turned twenty-one in May and live at 12 Kossuth utca, H-1052, plot A",
        "no digits here, only May and June, Bed A, Kossuth utca, post code AB CD",
        *(turn.text for t in sample_transcripts for turn in t.turns),
    ]
    texts += [  # ages in words, as `re` matches them ignoring case
        "She was Twenty-Two then, aged ſixteen",
        "my son is fıve, the girl of fİve",
        "He's like seven now, turned NINETEEN",
    ]
    assert any(_NEEDS_DIGIT) and not all(_NEEDS_DIGIT)
    quick = [pattern_identifiers(text) for text in texts]
    monkeypatch.setattr(module, "_NEEDS_DIGIT", [False] * len(PATTERNS))
    monkeypatch.setattr(module, "_NEEDS_NUMBER", [False] * len(PATTERNS))
    assert quick == [pattern_identifiers(text) for text in texts]
    assert sum(map(len, quick)) >= 5
    assert sum(i.kind == "age" for i in quick[-1] + quick[-2] + quick[-3]) >= 6
