from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.codebook import load_codebook
from qualcode.coding import apply_codebook
from qualcode.themes import MAX_QUOTE_WORDS, build_themes, quote_text
from qualcode.transcripts import Transcript, Turn

from .conftest import ROOT


@pytest.fixture(scope="module")
def sample_codebook():
    return load_codebook(ROOT / "codebooks" / "near_peer_mentoring.yaml")


@pytest.fixture(scope="module")
def sample_codings(sample_segments, sample_codebook, nlp):
    return apply_codebook(sample_segments, sample_codebook, nlp=nlp)


@pytest.fixture(scope="module")
def report(sample_codings, sample_codebook):
    return build_themes(sample_codings, sample_codebook)


def test_counts_add_up(report, sample_codings, sample_segments) -> None:
    assert report.totals["transcripts"] == 5
    assert report.totals["participants"] == 26
    assert report.totals["segments"] == len(sample_segments)
    assert report.totals["coded_segments"] == len({c.segment_id for c in sample_codings})
    for theme in report.themes:
        assert theme.counts.groups <= 5
        for sub in theme.subthemes:
            assert sub.counts.segments <= theme.counts.segments
            assert sub.counts.participants <= theme.counts.participants
            for code in sub.codes:
                assert code.counts.segments <= sub.counts.segments
                expected = {c.segment_id for c in sample_codings if c.code_id == code.id}
                assert code.counts.segments == len(expected)


def test_participant_counts_exclude_moderators(sample_codebook, nlp) -> None:
    from qualcode.codebook import codebook_from_dict

    data = {
        "name": "x",
        "speakers": "all",
        "themes": [
            {
                "id": "t",
                "label": "T",
                "codes": [
                    {"id": "c", "label": "C", "match": {"keywords": ["mentor", "mentoring"]}}
                ],
            }
        ],
    }
    book = codebook_from_dict(data, ROOT / "x.yaml")
    turns = (
        Turn(0, "Mod", "Tell me about mentoring.", "moderator"),
        Turn(1, "Anna", "Mentoring was fine.", "participant"),
        Turn(2, "Bence", "I mentor three people.", "participant"),
    )
    segments = qc.segment([Transcript("t1", turns)], nlp=nlp)
    report = build_themes(apply_codebook(segments, book, nlp=nlp), book)
    counts = report.themes[0].counts
    assert (counts.segments, counts.participants, counts.groups) == (3, 2, 1)
    quotes = report.themes[0].subthemes[0].quotes
    assert all(q.speaker != "Mod" for q in quotes)


def test_quotes_are_readable_varied_and_deterministic(
    report, sample_codings, sample_codebook
) -> None:
    total = 0
    for theme in report.themes:
        for sub in theme.subthemes:
            quotes = sub.quotes
            total += len(quotes)
            assert len(quotes) <= 4
            speakers = [(q.transcript_id, q.speaker) for q in quotes]
            assert len(set(speakers)) == len(speakers)
            for quote in quotes:
                assert len(quote.text.split()) <= MAX_QUOTE_WORDS + 2
                assert quote.attribution.startswith(f"({quote.speaker}, ")
    assert total >= 30
    assert build_themes(sample_codings, sample_codebook) == report


def test_short_sentences_are_widened_within_the_turn(nlp) -> None:
    turn = Turn(
        0,
        "Anna",
        "Yes. I felt confident. Because the mentees trusted me with their "
        "problems and I could actually help them.",
    )
    segments = qc.segment([Transcript("t", (turn,))], nlp=nlp)
    middle = segments[1]
    text = quote_text(middle, list(segments))
    assert text.startswith("I felt confident. Because the mentees")
    assert len(text.split()) >= 10


def test_long_turns_are_trimmed_with_an_ellipsis(nlp) -> None:
    sentences = [
        f"This is sentence number {i} of a very long turn about mentoring." for i in range(20)
    ]
    turn = Turn(0, "Anna", " ".join(sentences))
    segments = qc.segment([Transcript("t", (turn,))], "turn", nlp=nlp)
    start = segments[0].start + turn.text.index("number 10")
    text = quote_text(segments[0], list(segments), start)
    assert "number 10" in text
    assert text.startswith("… ") and text.endswith(" …")
    assert len(text.split()) <= MAX_QUOTE_WORDS + 2


def test_to_dict_has_the_themes_json_shape(report) -> None:
    data = report.to_dict()
    assert set(data) == {"codebook", "totals", "themes"}
    assert set(data["codebook"]) == {"name", "version", "sha256"}
    theme = data["themes"][0]
    assert {"id", "label", "description", "segments", "participants", "groups", "subthemes"} <= set(
        theme
    )
    sub = theme["subthemes"][0]
    assert {"id", "label", "segments", "participants", "groups", "codes", "quotes"} <= set(sub)
    assert {"segment_id", "transcript_id", "speaker", "text", "codes"} <= set(sub["quotes"][0])


def test_frame_and_notebook_views(report, sample_codebook) -> None:
    frame = report.to_frame()
    assert len(frame) == len(sample_codebook.codes)
    assert list(frame.columns[:6]) == [
        "theme_id",
        "theme",
        "subtheme_id",
        "subtheme",
        "code_id",
        "code",
    ]
    html = report._repr_html_()
    assert "<table>" in html and "Professional growth" in html
    markdown = report.to_markdown()
    assert markdown.startswith("# Themes — Near-peer mentoring")
