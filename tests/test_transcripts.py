from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import qualcode as qc
from qualcode.transcripts import render


def test_render_offsets_point_at_each_turn(sample_transcripts: list[qc.Transcript]) -> None:
    for transcript in sample_transcripts:
        text, offsets = render(transcript)
        for turn, offset in zip(transcript.turns, offsets, strict=True):
            assert text[offset : offset + len(turn.text)] == turn.text
            assert text[:offset].endswith(f"{turn.speaker}: ") or not turn.text


def test_written_transcript_reads_back_the_same(
    sample_transcripts: list[qc.Transcript], tmp_path: Path
) -> None:
    for transcript in sample_transcripts:
        path = qc.write_transcript(transcript, tmp_path)
        again = qc.read_transcript(path)
        assert again.metadata == transcript.metadata
        assert [(t.speaker, t.text) for t in again.turns] == [
            (t.speaker, t.text) for t in transcript.turns
        ]
        assert path.read_bytes().decode("utf-8") == transcript.text


def test_dict_round_trip(sample_transcripts: list[qc.Transcript]) -> None:
    for transcript in sample_transcripts:
        assert qc.Transcript.from_dict(transcript.to_dict()) == transcript


names = st.sampled_from(["Anna", "Gergő Nagy", "P3", "Dr. Kovács", "MODERATOR", "Zsófia"])
line_text = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(names, st.lists(line_text, min_size=1, max_size=3)), min_size=1, max_size=8)
)
def test_every_line_survives_a_round_trip(tmp_path_factory, turns) -> None:
    folder = tmp_path_factory.mktemp("rt")
    source = "\n\n".join(f"{name}: " + "\n".join(lines) for name, lines in turns) + "\n"
    path = folder / "t.txt"
    path.write_text(source, encoding="utf-8")
    transcript = qc.read_transcript(path)
    joined = "\n".join(t.text for t in transcript.turns)
    for _, lines in turns:
        for line in lines:
            assert line in joined or line.split(":", 1)[-1].strip() in joined
