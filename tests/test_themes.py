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
    assert {"codebook", "totals", "themes"} <= set(data)
    assert set(data) <= {"codebook", "totals", "themes", "co_occurrence", "saturation"}
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


def _toy_codings(found: dict[str, list[set[str]]]) -> qc.Codings:
    """Codings on invented segments: per transcript, a list of turns, each a set of codes
    (one segment a code, all in that turn)."""
    segments, items = [], []
    for tid, turns in found.items():
        for turn, codes in enumerate(turns):
            for index, code in enumerate(sorted(codes)):
                sid = f"{tid}:{turn}:{index}"
                segments.append(qc.Segment(sid, tid, tid, "P1", "participant", turn, 0, 1, "x"))
                items.append(qc.Coding(sid, tid, "P1", code, "", ""))
    return qc.Codings(items, qc.Segments(segments))


def test_saturation_counts_new_codes_in_session_order() -> None:
    from qualcode.themes import saturation

    codings = _toy_codings(
        {
            "g1": [{"a", "b"}, {"c"}],
            "g2": [{"a", "d"}],
            "g3": [{"b", "e"}],
            "g4": [{"a"}],
            "g5": [{"c", "f"}],
        }
    )
    view = saturation(codings)
    assert [len(s.new_codes) for s in view.steps] == [3, 1, 1, 0, 1]
    assert [s.cumulative for s in view.steps] == [3, 4, 5, 5, 6]
    assert view.base == 3 and view.run == 1 and view.base_codes == 5
    assert [(r.transcripts, r.new_codes) for r in view.runs] == [(("g4",), 0), (("g5",), 1)]
    assert view.reached_at == "g4"
    reordered = saturation(codings, ["g5", "g4", "g3", "g2", "g1"], base=2, run=2)
    assert reordered.steps[0].transcript_id == "g5"
    assert [r.transcripts for r in reordered.runs] == [("g3", "g2"), ("g2", "g1")]
    assert reordered.runs[0].ratio == pytest.approx(3 / 3)  # b, e, d new against a, c, f
    frame = view.to_frame()
    assert list(frame["new"]) == [3, 1, 1, 0, 1]
    assert type(view).from_dict(view.to_dict()) == view


def test_co_occurrence_in_segments_and_turns_with_jaccard() -> None:
    from qualcode.themes import co_occurrence, co_occurring_pairs

    codings = _toy_codings({"g1": [{"a", "b"}, {"a"}, {"b", "c"}]})
    # each code sits on its own segment, so nothing co-occurs within a segment ...
    by_segment = co_occurrence(codings)
    assert by_segment.loc["a", "b"] == 0 and by_segment.loc["a", "a"] == 2
    # ... but a and b share turn 0, b and c turn 2
    by_turn = co_occurrence(codings, within="turn")
    assert by_turn.loc["a", "b"] == 1 and by_turn.loc["b", "c"] == 1 and by_turn.loc["a", "c"] == 0
    jaccard = co_occurrence(codings, within="turn", measure="jaccard")
    assert jaccard.loc["a", "b"] == pytest.approx(1 / 3)  # turns {0} of {0, 1, 2}
    pairs = co_occurring_pairs(codings)
    assert [(p["code_a"], p["code_b"], p["turns"]) for p in pairs] == [
        ("a", "b", 1),
        ("b", "c", 1),
    ]
    with pytest.raises(ValueError):
        co_occurrence(codings, within="group")


def test_the_sample_report_carries_saturation_and_co_occurrence(report) -> None:
    data = report.to_dict()
    assert [s["transcript_id"] for s in data["saturation"]["steps"]] == [
        "group1",
        "group2",
        "group3",
        "group4",
        "group5",
    ]
    assert data["co_occurrence"] and {"code_a", "code_b", "segments", "turns", "jaccard"} == set(
        data["co_occurrence"][0]
    )
