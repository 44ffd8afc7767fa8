from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qualcode as qc
from qualcode.transcripts import Transcript, Turn


def covered_exactly(transcripts: list[Transcript], segments: qc.Segments) -> None:
    """Every non-space character of every turn lies in exactly one segment of that turn."""
    by_turn: dict[tuple[str, int], list[qc.Segment]] = {}
    for seg in segments:
        by_turn.setdefault((seg.transcript_id, seg.turn), []).append(seg)
    for transcript in transcripts:
        text = transcript.text
        for turn, offset in zip(transcript.turns, transcript.turn_offsets(), strict=True):
            segs = by_turn.get((transcript.id, turn.index), [])
            for seg in segs:
                assert text[seg.start : seg.end] == seg.text
                assert offset <= seg.start < seg.end <= offset + len(turn.text)
                assert seg.text == seg.text.strip()
            for a, b in itertools.pairwise(segs):
                assert a.end <= b.start
            covered = set()
            for seg in segs:
                covered.update(range(seg.start, seg.end))
            for i, char in enumerate(turn.text):
                assert char.isspace() or offset + i in covered


def test_sample_segments_cover_every_turn(sample_transcripts, sample_segments) -> None:
    covered_exactly(sample_transcripts, sample_segments)
    assert 1500 < len(sample_segments) < 2000


def test_segment_ids_and_fields(sample_transcripts, sample_segments) -> None:
    first = sample_segments[0]
    assert first.id == "group1:0:0"
    assert (first.transcript_id, first.group, first.speaker, first.role, first.turn) == (
        "group1",
        "group1",
        "MODERATOR",
        "moderator",
        0,
    )
    ids = [s.id for s in sample_segments]
    assert len(ids) == len(set(ids))
    for seg in sample_segments:
        transcript_id, turn, _n = seg.id.split(":")
        assert (transcript_id, int(turn)) == (seg.transcript_id, seg.turn)


def test_segmentation_is_stable(sample_transcripts, sample_segments, nlp) -> None:
    assert qc.segment(sample_transcripts, nlp=nlp) == sample_segments


def test_notation_stays_with_its_sentence(nlp) -> None:
    turn = Turn(0, "Anna", "I was so surprised. [laughs] And then -- well. (pause) Okay.")
    segments = qc.segment([Transcript("t", (turn,))], nlp=nlp)
    assert [s.text for s in segments] == [
        "I was so surprised. [laughs]",
        "And then -- well. (pause)",
        "Okay.",
    ]


def test_line_breaks_end_sentences(nlp) -> None:
    turn = Turn(0, "Anna", "first paragraph without a stop\nsecond one")
    segments = qc.segment([Transcript("t", (turn,))], nlp=nlp)
    assert [s.text for s in segments] == ["first paragraph without a stop", "second one"]


def test_turn_unit(sample_transcripts, nlp) -> None:
    segments = qc.segment(sample_transcripts, "turn", nlp=nlp)
    assert len(segments) == sum(1 for t in sample_transcripts for turn in t.turns if turn.text)
    covered_exactly(sample_transcripts, segments)
    assert all(s.id.endswith(":0") for s in segments)


def test_unknown_unit() -> None:
    with pytest.raises(qc.QualcodeError, match="unknown unit 'paragraph' — use one of"):
        qc.segment([], "paragraph")


def test_frame_and_csv_round_trip(sample_segments, tmp_path: Path) -> None:
    frame = sample_segments.to_frame()
    assert list(frame.columns) == [
        "segment_id",
        "transcript_id",
        "group",
        "speaker",
        "role",
        "turn",
        "start",
        "end",
        "text",
    ]
    assert len(frame) == len(sample_segments)
    path = qc.write_segments(sample_segments, tmp_path / "segments.csv")
    assert qc.read_segments(path) == sample_segments
    assert qc.Segment.from_dict(sample_segments[5].to_dict()) == sample_segments[5]


turn_text = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Yeah.",
                "[laughs]",
                "(pause)",
                "--",
                "Um,",
                "I- I think so.",
                "Zsófi, right?",
                "\n",
                "  ",
                "Dr. Fehér said no.",
                "[inaudible 00:12:03]",
            ]
        ),
        st.text(min_size=1, max_size=30),
    ),
    min_size=1,
    max_size=12,
).map(" ".join)


@settings(max_examples=80, deadline=None)
@given(st.lists(turn_text, min_size=1, max_size=5), st.sampled_from(["sentence", "turn"]))
def test_segments_cover_any_text(nlp, texts, unit) -> None:
    turns = tuple(Turn(i, f"P{i % 2}", text.strip()) for i, text in enumerate(texts))
    transcript = Transcript("h", turns, {"group": "G"})
    segments = qc.segment([transcript], unit, nlp=nlp)
    covered_exactly([transcript], segments)
