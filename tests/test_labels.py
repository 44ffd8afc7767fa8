from __future__ import annotations

import pytest

from qualcode.labels import find_labels, is_moderator_label, match_label, parse_time

LABELS = [
    # line, label, text, start seconds
    ("Anna: I think so.", "Anna", "I think so.", None),
    ("ANNA: Yes.", "ANNA", "Yes.", None),
    ("Anna K.: Well, um.", "Anna K.", "Well, um.", None),
    ("Zsófia: Igen, yes.", "Zsófia", "Igen, yes.", None),
    ("Gergő Nagy: Hi.", "Gergő Nagy", "Hi.", None),
    ("Dr. Kovács: Welcome.", "Dr. Kovács", "Welcome.", None),
    ("P3: It was hard.", "P3", "It was hard.", None),
    ("MODERATOR: Let's start.", "MODERATOR", "Let's start.", None),
    ("[00:01:23] Anna: Okay.", "Anna", "Okay.", 83.0),
    ("Anna [00:01:23]: Okay.", "Anna", "Okay.", 83.0),
    ("Anna (00:01:23): Okay.", "Anna", "Okay.", 83.0),
    ("Speaker 1 (01:02:03):", "Speaker 1", "", 3723.0),
    ("Anna-Lena Weber  0:41", "Anna-Lena Weber", "", 41.0),
    ("Bill Carter 00:12:03", "Bill Carter", "", 723.0),
    ("Grace O'Connor: Right.", "Grace O'Connor", "Right.", None),
    ("**Anna:** Bold label.", "Anna", "Bold label.", None),
    ("**Anna**: Bold name.", "Anna", "Bold name.", None),
    (
        "Mr. Don Davies (Vancouver Kingsway, NDP): Thank you.",
        "Mr. Don Davies (Vancouver Kingsway, NDP)",
        "Thank you.",
        None,
    ),
    ("Ludwig van Beethoven: Da-da-da.", "Ludwig van Beethoven", "Da-da-da.", None),
    ("Interviewer:", "Interviewer", "", None),
]


@pytest.mark.parametrize(("line", "label", "text", "start"), LABELS)
def test_label_lines(line: str, label: str, text: str, start: float | None) -> None:
    found = match_label(line)
    assert found is not None
    assert (found.label, found.text, found.start) == (label, text, start)


NOT_LABELS = [
    "the problem was: time",
    "And then Anna said: okay, fine.",
    "Honestly: no.",
    "See https://example.org for details.",
    "We met at 10:30 in the library.",
    "Note: the recording stopped here.",
    "",
    "   ",
    ": nothing before the colon",
]


@pytest.mark.parametrize("line", NOT_LABELS)
def test_not_labels(line: str) -> None:
    assert find_labels([line, line]) == [None, None]


def test_single_word_used_once_counts_only_where_a_turn_can_start() -> None:
    compact = ["Anna: Hi.", "and more.", "Kristóf: Sorry I'm late.", "Anna: Bye."]
    assert [f and f.label for f in find_labels(compact)] == ["Anna", None, None, "Anna"]
    assert [f and f.label for f in find_labels(compact, known=["Kristóf"])] == [
        "Anna",
        None,
        "Kristóf",
        "Anna",
    ]
    after_label = ["Anna: Hi.", "Kristóf: Sorry I'm late.", "Anna: Bye."]
    assert [f and f.label for f in find_labels(after_label)] == ["Anna", "Kristóf", "Anna"]
    blank_layout = [
        "Anna: Hi.",
        "Kristóf: within Anna's turn.",
        "",
        "Anna: Bye.",
        "",
        "Bence: Hello.",
        "",
        "Bence: Again.",
    ]
    assert [f and f.label for f in find_labels(blank_layout)] == [
        "Anna",
        None,
        None,
        "Anna",
        None,
        "Bence",
        None,
        "Bence",
    ]


@pytest.mark.parametrize(
    ("label", "moderator"),
    [
        ("Moderator", True),
        ("MODERATOR", True),
        ("Facilitator", True),
        ("Interviewer", True),
        ("M", True),
        ("Mod", True),
        ("Moderator 2", True),
        ("Co-facilitator", True),
        ("Anna", False),
        ("Mark", False),
        ("P1", False),
    ],
)
def test_moderator_words(label: str, moderator: bool) -> None:
    assert is_moderator_label(label) is moderator


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0:03", 3.0), ("1:02:03", 3723.0), ("00:00:01,500", 1.5), ("12:03.25", 723.25), (None, None)],
)
def test_parse_time(text: str | None, seconds: float | None) -> None:
    assert parse_time(text) == seconds
