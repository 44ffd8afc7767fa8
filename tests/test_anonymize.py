"""Anonymisation: BEFORE/AFTER pairs, consistency, the key, the review list, the leak check."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qualcode as qc
from qualcode.anonymize import (
    AnonymizeSettings,
    LeakError,
    age_band,
    anonymize,
    check_leaks,
    generalise_date,
    read_key,
)
from qualcode.transcripts import Transcript, Turn

from .conftest import DATA

ANON = DATA / "anon"
ROSTER = qc.read_roster(ANON / "participants.csv")


def run(nlp, *names: str, key=None, settings: AnonymizeSettings | None = None):
    transcripts = qc.read_transcripts([ANON / n for n in names], roster=ROSTER)
    return anonymize(transcripts, ROSTER, settings, key=key, nlp=nlp)


def test_before_after(nlp) -> None:
    result = run(nlp, "s1.txt", "s2.txt")
    assert [t.text for t in result.transcripts] == [
        "Moderator: Welcome. Let's start with names.\n\n"
        "P01: I'm P01, fifth year. P02 and I did the training together in [Place 1].\n\n"
        "P02: Yes. I will say it was useful. P01 was brilliant. P03 wasn't there.\n\n"
        "P03: I was, P02! [laughs] I came late. P01's mentee [Person A] was with me.\n\n"
        "Moderator: Thank you, P03.\n",
        "Moderator: Hello again. Sophie, you start?\n\n"
        "Sophie: I hope so. My stress rose and rose in March. [Person A] from P01's group "
        "helped.\n\n"
        "P04: I paid the bill. P04 is what my mum calls me. Sophie is right, honestly.\n",
    ]


def test_key_and_review(nlp, tmp_path: Path) -> None:
    result = run(nlp, "s1.txt", "s2.txt")
    key = {(k.original, k.pseudonym, k.kind): k.transcripts for k in result.key}
    assert key[("Kristóf", "[Person A]", "person")] == ("s1", "s2")
    assert key[("Rose", "Sophie", "participant")] == ("s2",)
    assert key[("Facilitator", "Moderator", "moderator")] == ("s1", "s2")
    originals = [
        render
        for render in (
            t.text for t in qc.read_transcripts([ANON / "s1.txt", ANON / "s2.txt"], roster=ROSTER)
        )
    ]
    by_id = {"s1": originals[0], "s2": originals[1]}
    for row in result.review:
        assert by_id[row.transcript_id][row.start : row.end] == row.original
        assert row.original in row.context
    paths = result.write_private(tmp_path / "private")
    assert stat.S_IMODE(os.stat(tmp_path / "private").st_mode) == 0o700
    for path in paths:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_key(tmp_path / "private" / "key.csv") == result.key


def test_pseudonyms_stay_when_a_transcript_is_added(nlp, tmp_path: Path) -> None:
    first = run(nlp, "s1.txt", "s2.txt")
    first.write_private(tmp_path)
    second = run(nlp, "s1.txt", "s2.txt", "s3.txt", key=tmp_path / "key.csv")
    assert [t.text for t in second.transcripts[:2]] == [t.text for t in first.transcripts]
    s3 = second.transcripts[2].text
    assert s3 == (
        "Moderator: A new group, for the follow-up.\n\nP01: Me again! [Person A] says hi.\n"
    )


def test_same_input_same_output(nlp) -> None:
    assert [t.text for t in run(nlp, "s1.txt", "s2.txt").transcripts] == [
        t.text for t in run(nlp, "s1.txt", "s2.txt").transcripts
    ]


@pytest.mark.parametrize(
    ("text", "precision", "expected"),
    [
        ("the 14th of March 2022", "month", "[March 2022]"),
        ("14 March", "month", "[March]"),
        ("2022-03-14", "month", "[March 2022]"),
        ("14/03/2022", "month", "[March 2022]"),
        ("the 14th of March 2022", "year", "[2022]"),
        ("the 14th of March 2022", "mask", "[date]"),
    ],
)
def test_dates_are_generalised(text: str, precision: str, expected: str) -> None:
    assert generalise_date(text, precision) == expected


@pytest.mark.parametrize(
    ("text", "precision", "expected"),
    [
        ("14 and 27 July 1999", "month", "[July 1999]"),
        ("February and March 2001", "month", "[February and March 2001]"),
        ("1943 and 1939", "month", "[1943 and 1939]"),
        ("1943 and 1939", "year", "[1943 and 1939]"),
    ],
)
def test_lists_of_dates_keep_every_month_and_year(text: str, precision: str, expected) -> None:
    assert generalise_date(text, precision) == expected


@pytest.mark.parametrize(
    ("age", "band"), [(19, "[age 15–19]"), (23, "[age 20–24]"), (45, "[age 45–49]")]
)
def test_age_bands(age: int, band: str) -> None:
    assert age_band(age) == band


def test_propagation_masks_every_occurrence(nlp) -> None:
    turns = (
        Turn(0, "Anna", "I met Dr. Fehér on Monday.", "participant"),
        Turn(1, "Bence", "Fehér was kind, said Lakatos.", "participant"),
    )
    result = anonymize([Transcript("p", turns)], nlp=nlp)
    text = result.transcripts[0].text
    assert "Fehér" not in text
    assert "Monday" in text


words = st.sampled_from(
    [
        "Anna",
        "went",
        "to",
        "Győr",
        "on",
        "Monday",
        "and",
        "I",
        "will",
        "call",
        "+36 72 555 0142",
        "Kristóf",
        "the",
        "bill",
        ".",
        ",",
        "hope",
        "so",
        "mentor",
        "[laughs]",
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(words, min_size=1, max_size=14).map(" ".join), min_size=1, max_size=4))
def test_text_outside_the_spans_is_unchanged(nlp, texts: list[str]) -> None:
    turns = tuple(
        Turn(i, "Anna" if i % 2 else "Gergő", text.strip(), "participant")
        for i, text in enumerate(texts)
    )
    transcript = Transcript("s1", turns)
    result = anonymize([transcript], ROSTER, nlp=nlp)
    rows = sorted(
        (r for r in result.review if r.detector != "speaker label"), key=lambda r: r.start
    )
    original = transcript.text
    rebuilt, position = [], 0
    for row in rows:
        rebuilt += [original[position : row.start], row.replacement]
        position = row.end
    rebuilt.append(original[position:])
    expected = "".join(rebuilt)
    anonymised = result.transcripts[0].text
    # speaker labels are replaced too: compare the turn texts only
    for turn in result.transcripts[0].turns:
        assert turn.text in expected
    assert anonymised.count("\n\n") == original.count("\n\n")
    assert anonymize([transcript], ROSTER, nlp=nlp).transcripts[0].text == anonymised


def test_leak_check_fails_on_a_planted_leak(nlp, tmp_path: Path) -> None:
    result = run(nlp, "s1.txt", "s2.txt")
    out = tmp_path / "out"
    out.mkdir()
    (out / "clean.txt").write_text(result.transcripts[0].text, encoding="utf-8")
    check_leaks(out, result.key)  # nothing leaks
    (out / "report.md").write_text("As Kristóf put it: fine.", encoding="utf-8")
    with pytest.raises(LeakError) as raised:
        check_leaks(out, result.key)
    message = str(raised.value)
    assert message.startswith("report.md: an original person identifier is still in the output")
    assert "Kristóf" not in message
    assert not (out / "report.md").exists()
    assert (out / "clean.txt").exists()


def test_leak_check_treats_ordinary_word_names_like_detection(nlp, tmp_path: Path) -> None:
    result = run(nlp, "s1.txt", "s2.txt")
    (tmp_path / "a.txt").write_text("I will go. Will you? I hope the bill rose.", "utf-8")
    check_leaks(tmp_path, result.key)
    (tmp_path / "b.txt").write_text("Then I told Will about it.", "utf-8")
    with pytest.raises(LeakError, match="participant"):
        check_leaks(tmp_path, result.key)


def one_transcript(nlp, *texts: str, **settings) -> list[str]:
    turns = tuple(
        Turn(i, "Anna" if i % 2 else "Bence", text, "participant") for i, text in enumerate(texts)
    )
    result = anonymize(
        [Transcript("c", turns)], settings=AnonymizeSettings.from_dict(settings), nlp=nlp
    )
    return [turn.text for turn in result.transcripts[0].turns]


def test_dates_in_lists_are_masked_whole(nlp) -> None:
    # BEFORE: "On 14 and [July 1999] we met, in February and [March 2001] too."
    assert one_transcript(
        nlp, "On 14 and 27 July 1999 we met, in February and March 2001 too."
    ) == ["On [July 1999] we met, in [February and March 2001] too."]


def test_money_nationalities_and_durations_when_asked(nlp) -> None:
    texts = (
        "He was fined EUR 4,000 and sentenced to three years’ imprisonment.",
        "A Turkish national, he paid 250,000 Swedish kronor (SEK).",
    )
    assert one_transcript(nlp, *texts) == list(texts)  # the defaults keep them
    labels = ["PERSON", "GPE", "LOC", "FAC", "ORG", "DATE", "NORP", "MONEY", "QUANTITY"]
    assert one_transcript(nlp, *texts, durations="mask", ner_labels=labels) == [
        "He was fined [amount] and sentenced to [duration] imprisonment.",
        "A [Group 1] national, he paid [amount].",
    ]


def test_common_nouns_with_a_capital_are_not_names(nlp) -> None:
    # BEFORE: "The [Organisation 1] held a hearing …", and every "Court" after it masked
    texts = (
        "The Court held a hearing on 3 May 2004. The Court then asked the Government.",
        "Under Article 6 the Government replied to the Court.",
    )
    assert one_transcript(nlp, *texts) == [
        "The Court held a hearing on [May 2004]. The Court then asked the Government.",
        "Under Article 6 the Government replied to the Court.",
    ]


def test_a_name_and_its_acronym_share_a_pseudonym(nlp) -> None:
    # BEFORE: "She appealed to the [Organisation 1] (“EAT”) …", "The EAT dismissed …"
    assert one_transcript(
        nlp,
        "She appealed to the Employment Appeal Tribunal (“EAT”) in London.",
        "The EAT dismissed the appeal in 2003.",
    ) == [
        "She appealed to the [Organisation 1] in [Place 1].",
        "The [Organisation 1] dismissed the appeal in [2003].",
    ]


def test_settings_are_validated() -> None:
    with pytest.raises(qc.QualcodeError, match="unknown date precision 'day'"):
        AnonymizeSettings.from_dict({"dates": "day"})
    with pytest.raises(qc.QualcodeError, match="unknown entity label 'ANIMAL'"):
        AnonymizeSettings.from_dict({"ner_labels": ["ANIMAL"]})
    with pytest.raises(qc.QualcodeError, match="unknown durations setting 'hide'"):
        AnonymizeSettings.from_dict({"durations": "hide"})
    assert AnonymizeSettings.from_dict({"durations": "mask"}).durations == "mask"


# --- meeting transcripts without a roster, and what the leak check reads ----------------


def test_function_words_and_lower_case_words_are_not_names() -> None:
    from collections import Counter

    from qualcode.anonymize import _mostly_lower_case
    from qualcode.identifiers import Identifier

    capitalised = Counter({"so": 40, "next": 5, "morgan": 6, "source": 3})
    lower = Counter({"so": 900, "next": 80, "source": 60})

    def flagged(text: str, detector: str = "ner", kind: str = "person") -> bool:
        return _mostly_lower_case(
            Identifier(0, len(text), kind, text, detector), capitalised, lower
        )

    assert flagged("So")  # a function word
    assert flagged("Next")  # a stop word as well
    assert flagged("I'm") and flagged("We’ve")  # a pronoun with a clitic
    assert flagged("Source", kind="organisation")  # written in lower case 20 times as often
    assert flagged("hhh")  # spaCy found it in lower case
    assert not flagged("Morgan")  # never written in lower case: a name
    assert not flagged("So", detector="roster")  # the roster decides for its own names
    assert not flagged("Will")  # names that are words have rules of their own
    assert not flagged("Morgan Smith")


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_leak_check_reads_content_not_tags_or_style_sheets(tmp_path: Path) -> None:
    from qualcode.anonymize import KeyEntry, find_leaks

    key = [
        KeyEntry("University", "[University 1]", "organisation"),
        KeyEntry("Source", "[Person A]", "person"),
        KeyEntry("City Hall", "[Place 1]", "place"),
        KeyEntry("Anna Kovács", "P01", "participant"),
        KeyEntry("ildiko", "[Person B]", "person"),
    ]
    clean = tmp_path / "clean"
    _write(clean, "a.txt", "She works at [University 1] near the city hall, ildiko said.")
    _write(
        clean,
        "report.html",
        '<style>body { font-family: "Source Serif Pro"; }</style><p>[Person A] agreed.</p>',
    )
    assert find_leaks(clean, key) == []
    for name, text, kind in [
        ("b.txt", "They met at the University.", "organisation"),
        ("c.txt", "Meet me at City Hall.", "place"),
        ("d.txt", "and then anna   kovács said", "participant"),
        ("e.html", "<p>Source agreed.</p>", "person"),
    ]:
        leaking = tmp_path / name
        _write(leaking, name, text)
        assert find_leaks(leaking, key) == [(leaking / name, kind)]


def test_files_checked_as_written_are_not_searched_again(tmp_path: Path) -> None:
    from qualcode.anonymize import KeyEntry, LeakCheck, find_leaks

    key = [KeyEntry("Anna Kovács", "P01", "participant"), KeyEntry("Rose", "[Person A]", "person")]
    check = LeakCheck(key, authored="Codes: in the Rose garden")  # the codebook's own words
    _write(tmp_path, "a.txt", "P01 and [Person A] met in the Rose garden.")
    _write(tmp_path, "b.txt", "and then Anna Kovács said")
    check(tmp_path / "a.txt")  # clean: "Rose" is the codebook's word
    with pytest.raises(LeakError, match="participant") as raised:
        check(tmp_path / "b.txt")
    assert raised.value.file == tmp_path / "b.txt" and not (tmp_path / "b.txt").exists()
    _write(tmp_path, "b.txt", "and then Anna Kovács said")
    _write(tmp_path / "sub", "c.txt", "Anna Kovács")
    assert find_leaks(tmp_path, key) == [
        (tmp_path / "a.txt", "person"),  # without the codebook's text
        (tmp_path / "b.txt", "participant"),
        (tmp_path / "sub" / "c.txt", "participant"),
    ]
    assert find_leaks(tmp_path, key, checked=[tmp_path / "a.txt", tmp_path / "b.txt"]) == [
        (tmp_path / "sub" / "c.txt", "participant")
    ]


@pytest.mark.parametrize("where", [0.05, 0.3, 0.7, 0.95])
def test_a_file_larger_than_half_is_split_between_processes(tmp_path: Path, where) -> None:
    """Above `LEAK_PARALLEL_BYTES`, the largest file is searched in shares of its pieces on
    two processes: an original in any piece is found, once."""
    from qualcode.anonymize import LEAK_PARALLEL_BYTES, LEAK_PIECE_CHARS, KeyEntry, find_leaks

    key = [KeyEntry("Anna Kovács", "P01", "participant"), KeyEntry("Zsófi", "P02", "participant")]
    filler = "and then P01 said that it went well. " * (5 * LEAK_PIECE_CHARS // 38)
    assert len(filler) > LEAK_PARALLEL_BYTES
    at = int(len(filler) * where)
    _write(tmp_path, "big.txt", filler[:at] + " Anna Kovács " + filler[at:])
    _write(tmp_path, "small.txt", "Zsófi agreed.")
    assert find_leaks(tmp_path, key) == [
        (tmp_path / "big.txt", "participant"),
        (tmp_path / "small.txt", "participant"),
    ]
    _write(tmp_path, "big.txt", filler)
    assert find_leaks(tmp_path, key) == [(tmp_path / "small.txt", "participant")]


def test_leak_check_finds_phrases_wherever_they_are(tmp_path: Path) -> None:
    """Originals of several words or with signs are found across line breaks, at the very
    end of a long file, beside a letter that folds to two, and not inside longer words."""
    from qualcode.anonymize import KeyEntry, find_leaks

    key = [
        KeyEntry("City Hall", "[Place 1]", "place"),
        KeyEntry("anna.kovacs@example.org", "[e-mail]", "email"),
        KeyEntry("+36 30 123 4567", "[phone]", "phone"),
        KeyEntry("Anna Kovács", "P01", "participant"),
    ]
    filler = "the city hall and City Halls are not it. " * 5_000
    clean = tmp_path / "clean"
    _write(clean, "a.txt", filler + "Write to janna.kovacs@example.org or call +36 30 123 45678")
    assert find_leaks(clean, key) == []
    for name, text, kind in [
        ("b.txt", filler + "Meet me at City\nHall", "place"),
        ("c.txt", filler + "Mail anna.kovacs@example.org, please.", "email"),
        ("d.txt", "Call +36 30 123 4567 today. " + filler, "phone"),
        ("e.txt", "Straße. " + filler + "ANNA KOVÁCS said", "participant"),
    ]:
        leaking = tmp_path / name
        _write(leaking, name, text)
        assert find_leaks(leaking, key) == [(leaking / name, kind)], name


def test_leak_check_searches_large_files_in_pieces_without_missing_a_cut(
    tmp_path: Path,
) -> None:
    """A file of millions of characters is searched in overlapping pieces: an original
    that a cut would split is still found, and no word is cut into a false hit."""
    from qualcode.anonymize import LEAK_PIECE_CHARS, KeyEntry, _pieces_of, find_leaks

    key = [
        KeyEntry("Old City Hall Annex", "[Place 1]", "place"),
        KeyEntry("Anna", "P01", "participant"),
    ]
    filler = "the hall of the city, said Johanna. " * (LEAK_PIECE_CHARS // 36 + 1)
    clean = tmp_path / "clean"
    _write(clean, "a.txt", filler * 2)
    assert find_leaks(clean, key) == []  # "Johanna" holds "anna" but is not "Anna"
    for shift in (-18, -12, -6, -1, 0, 3):  # the original across the first piece's end
        at = LEAK_PIECE_CHARS + shift
        text = filler[:at] + " Old City\nHall Annex " + filler[at:] + filler
        leaking = tmp_path / f"leak{shift}"
        _write(leaking, "b.txt", text)
        assert find_leaks(leaking, key) == [(leaking / "b.txt", "place")], shift
    text = "word " * 500_000  # 2.5 million characters
    pieces = list(_pieces_of([text], size=100_000))
    assert len(pieces) > 25 and pieces[0].startswith("word") and text.endswith(pieces[-1])
    assert all(p.startswith("word") and p.rstrip().endswith("word") for p in pieces)
    assert sum(len(p) for p in pieces) < 1.05 * len(text)
    unbroken = "x" * 250_000  # no white space at all: cut anyway, and the loop ends
    assert "".join(_pieces_of([unbroken], size=100_000)).count("x") >= len(unbroken)


def test_leak_check_lets_the_codebook_use_a_word_taken_for_a_name(tmp_path: Path) -> None:
    """A word the detectors took for a name in a transcript ("Pride") stays where the
    codebook, which the reports copy, uses it; a roster name never does."""
    from qualcode.anonymize import KeyEntry, in_authored_text

    key = [
        KeyEntry("Pride", "[Person C]", "person"),
        KeyEntry("Kristóf", "P01", "participant"),
        KeyEntry("Semmelweis Clinic", "[Hospital 1]", "organisation"),
    ]
    codebook = "Pride and satisfaction\nKristóf said he was proud"
    assert in_authored_text(key, codebook) == [key[0]]
    (tmp_path / "report.md").write_text("## Pride and satisfaction\n", encoding="utf-8")
    check_leaks(tmp_path, key, codebook)
    with pytest.raises(LeakError, match="person"):
        check_leaks(tmp_path, key)
    (tmp_path / "report.md").write_text("Pride, said Kristóf.", encoding="utf-8")
    with pytest.raises(LeakError, match="participant"):
        check_leaks(tmp_path, key, codebook)


def test_sharing_preset_masks_what_court_texts_need(nlp) -> None:
    sharing = AnonymizeSettings.from_dict({"preset": "sharing"})
    assert (sharing.dates, sharing.durations) == ("mask", "mask")
    assert {"NORP", "MONEY", "QUANTITY"} <= set(sharing.ner_labels)
    assert AnonymizeSettings.from_dict({"preset": "sharing", "dates": "year"}).dates == "year"
    with pytest.raises(qc.QualcodeError, match="preset"):
        AnonymizeSettings.from_dict({"preset": "paranoid"})
    # BEFORE: "A Turkish national, he stayed three years and paid EUR 4,000 on 3 May 2021."
    # AFTER:  "A [Group 1] national, he stayed [duration] and paid [amount] on [date]."
    text = "A Turkish national, he stayed three years and paid EUR 4,000 on 3 May 2021."
    assert one_transcript(nlp, text, preset="sharing") == [
        "A [Group 1] national, he stayed [duration] and paid [amount] on [date]."
    ]


def test_role_labels_are_in_the_key_but_not_names_to_look_for(nlp, tmp_path: Path) -> None:
    """Meetings labelled by role ("Project Manager:") speak of roles in the text too ("our
    project manager"): the label is replaced, kept in the key, and not a leak."""
    turns = (
        Turn(0, "Project Manager", "Let us start. I spoke to our project manager.", "participant"),
        Turn(1, "Marketing", "Marketing research says people want it simple.", "participant"),
        Turn(2, "Ildikó", "I agree with the marketing people.", "participant"),
    )
    result = anonymize([Transcript("m", turns)], nlp=nlp)
    kinds = {e.original: e.kind for e in result.key}
    assert kinds["Project Manager"] == "role label" and kinds["Marketing"] == "role label"
    assert kinds["Ildikó"] == "participant"
    assert [t.speaker for t in result.transcripts[0].turns] == ["P01", "P02", "P03"]
    (tmp_path / "t.txt").write_text(result.transcripts[0].text, encoding="utf-8")
    check_leaks(tmp_path, result.key)
    (tmp_path / "t.txt").write_text("as ildikó said", encoding="utf-8")
    with pytest.raises(LeakError, match="participant"):
        check_leaks(tmp_path, result.key)


def test_a_title_run_together_with_a_name_is_masked_and_backchannels_are_words(
    nlp, tmp_path: Path
) -> None:
    # BEFORE: "Thank you, Mr.Kovács." / AFTER: "Thank you, Mr.[Person A]."
    assert one_transcript(nlp, "Thank you, Mr. Kovács.", "Thank you, Mr.Kovács.") == [
        "Thank you, [Person A].",
        "Thank you, Mr.[Person A].",
    ]
    from qualcode.anonymize import KeyEntry

    key = [KeyEntry("Mm-hmm", "[Person B]", "person")]  # spaCy once took it for a name
    (tmp_path / "t.txt").write_text("Yeah, mm-hmm.", encoding="utf-8")
    check_leaks(tmp_path, key)
    (tmp_path / "t.txt").write_text("Mm-hmm, said she.", encoding="utf-8")
    with pytest.raises(LeakError):
        check_leaks(tmp_path, key)


def test_a_name_glued_to_a_full_stop_is_masked_everywhere(nlp) -> None:
    # BEFORE: "I asked Kovács about it.Kovács said no." (a transcription without a space)
    # AFTER:  "I asked [Person A] about it.[Person A] said no."
    assert one_transcript(nlp, "I asked Kovács about it.Kovács said no.") == [
        "I asked [Person A] about it.[Person A] said no."
    ]


@pytest.mark.parametrize("parallel_bytes", [10**12, 0])
def test_leak_check_on_two_processes_finds_the_same_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel_bytes: int
) -> None:
    """A large output is searched on two processes, each taking some files: every leaking
    file is still reported, in file order, and the clean ones are not."""
    import importlib

    from qualcode.anonymize import KeyEntry, find_leaks

    module = importlib.import_module("qualcode.anonymize")  # the package's name is the function
    monkeypatch.setattr(module, "LEAK_PARALLEL_BYTES", parallel_bytes)
    key = [KeyEntry("City Hall", "[Place 1]", "place"), KeyEntry("Anna", "P01", "participant")]
    filler = "the meeting went on. " * 2_000
    files = {
        "a.txt": filler,
        "b.txt": filler + "Meet me at City Hall.",
        "c.txt": "short and clean",
        "d/e.txt": "anna said " + filler * 3,
        "f.txt": filler * 2,
    }
    for name, text in files.items():
        _write(tmp_path / Path(name).parent, Path(name).name, text)
    assert find_leaks(tmp_path, key) == [
        (tmp_path / "b.txt", "place"),
        (tmp_path / "d/e.txt", "participant"),
    ]
