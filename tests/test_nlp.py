"""One pass of the pipeline: worker processes, docs respelled after anonymisation, segment docs."""

from __future__ import annotations

import itertools

import pytest

import qualcode as qc
from qualcode.anonymize import anonymize
from qualcode.codebook import CodebookProblems
from qualcode.coding import apply_codebook
from qualcode.errors import CodebookError
from qualcode.nlp import TAGGING, pipe_in_processes, pipe_texts, respelled

from .conftest import SAMPLE

TEXTS = [
    "Anna told me that she was listening more.",
    "We met Dr Kovács at the Semmelweis clinic on 3 May 2022.",
    "I sorted it out.\nThen the matching felt random.",
    "",
]


def annotations(doc) -> list[tuple[str, str, str, str, str]]:
    return [(t.text_with_ws, t.tag_, t.pos_, t.lemma_, t.ent_type_) for t in doc]


def test_worker_processes_give_the_docs_spacy_gives(nlp) -> None:
    components = [c for c in nlp.pipe_names if c in (*TAGGING, "ner")]
    with nlp.select_pipes(enable=components):
        expected = [annotations(doc) for doc in nlp.pipe(TEXTS * 3)]
        mine = [annotations(doc) for doc in pipe_in_processes(nlp, TEXTS * 3, 2, batch_size=4)]
        through = [
            annotations(doc) for doc in pipe_texts(nlp, TEXTS * 3, n_process=2, batch_size=5)
        ]
    assert mine == expected
    assert through == expected


def test_respelled_keeps_tags_outside_the_replacements(nlp) -> None:
    # BEFORE: "Anna told me that she was listening more."
    # AFTER:  "[Person A] told me that she was listening more."
    doc = nlp(TEXTS[0])
    text = "[Person A] told me that she was listening more."
    new = respelled(doc, text, [(0, 4, 0, 10)], nlp)
    assert new is not None and new.text == text
    assert [t.text for t in new[:4]] == ["[", "Person", "A", "]"]
    assert [t.tag_ for t in new[:4]] == ["-LRB-", "NNP", "NNP", "-RRB-"]
    assert annotations(new)[4:] == annotations(doc)[1:]


def test_respelled_joins_and_shortens(nlp) -> None:
    # BEFORE: "We met Dr Kovács at the Semmelweis clinic on 3 May 2022."
    # AFTER:  "We met Dr P03 at the [Hospital 1] on [May 2022]."
    doc = nlp(TEXTS[1])
    original = TEXTS[1]
    text = "We met Dr P03 at the [Hospital 1] on [May 2022]."
    regions = []
    shift = 0
    for old, new in (
        ("Kovács", "P03"),
        ("Semmelweis clinic", "[Hospital 1]"),
        ("3 May 2022", "[May 2022]"),
    ):
        start = original.index(old)
        regions.append((start, start + len(old), start + shift, start + shift + len(new)))
        shift += len(new) - len(old)
    result = respelled(doc, text, regions, nlp)
    assert result is not None and result.text == text
    assert [t.lemma_ for t in result[:3]] == [t.lemma_ for t in doc[:3]]


def test_one_pass_codes_as_two_passes(nlp) -> None:
    """The tagged turns of the anonymiser give the coder the same codings as tagging the
    anonymised segments anew."""
    transcripts = qc.read_transcripts(SAMPLE)
    result = anonymize(transcripts, SAMPLE / "participants.csv", nlp=nlp, tag=True)
    assert result.docs is not None and len(result.docs) == sum(len(t.turns) for t in transcripts)
    for transcript in result.transcripts[:1]:
        for turn in transcript.turns:
            offset, doc = result.docs.turn_doc(transcript.id, turn.index)
            assert doc.text == turn.text
            assert transcript.text[offset : offset + len(turn.text)] == turn.text
    segments = qc.segment(result.transcripts, nlp=nlp)
    book = qc.load_codebook(SAMPLE.parent / "codebooks" / "near_peer_mentoring.yaml")
    one = apply_codebook(segments, book, nlp=nlp, docs=result.docs, processes=1)
    two = apply_codebook(segments, book, nlp=nlp)
    assert len(one) > 200
    assert [c.to_dict() for c in one] == [c.to_dict() for c in two]
    # on two processes, whole transcripts each: the same codings in the same order
    parallel = apply_codebook(segments, book, nlp=nlp, docs=result.docs, processes=2)
    assert [c.to_dict() for c in parallel] == [c.to_dict() for c in one]
    # a doc cut from a turn carries the turn's tags, lemmas and morphology, as Span.as_doc
    for segment in segments[:300]:
        offset, turn = result.docs.turn_doc(segment.transcript_id, segment.turn)
        cut = result.docs.segment_doc(
            segment.transcript_id, segment.turn, segment.start, segment.end
        )
        whole = turn.char_span(segment.start - offset, segment.end - offset).as_doc()
        assert [(t.text_with_ws, t.tag_, t.pos_, t.lemma_, str(t.morph)) for t in cut] == [
            (t.text_with_ws, t.tag_, t.pos_, t.lemma_, str(t.morph)) for t in whole
        ]


def test_segments_split_into_whole_transcripts_of_similar_length(sample_segments) -> None:
    from qualcode.coding import transcript_chunks

    segments = sample_segments
    assert transcript_chunks(segments, 1) == [(0, len(segments))]
    for parts in (2, 3):
        chunks = transcript_chunks(segments, parts)
        assert len(chunks) == parts
        assert chunks[0][0] == 0 and chunks[-1][1] == len(segments)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
        for first, _end in chunks[1:]:  # a chunk starts where a transcript starts
            assert segments[first].transcript_id != segments[first - 1].transcript_id
        sizes = [sum(len(s.text) for s in segments[a:b]) for a, b in chunks]
        assert max(sizes) < 2.5 * min(sizes)


def test_segment_docs_fall_back_when_the_turn_is_unknown(nlp) -> None:
    transcript = qc.Transcript("t", (qc.Turn(0, "Anna", "I sorted it out.", "participant"),))
    result = anonymize([transcript], nlp=nlp, tag=True)
    assert result.docs is not None
    segment = qc.segment(result.transcripts, nlp=nlp)[0]
    doc = result.docs.segment_doc(segment.transcript_id, segment.turn, segment.start, segment.end)
    assert doc is not None and doc.text == "I sorted it out."
    assert result.docs.segment_doc("other", 0, 0, 3) is None


def test_packed_docs_give_back_what_was_added(nlp) -> None:
    from qualcode.nlp import DETECTION_ATTRS, PackedDocs

    with nlp.select_pipes(enable=[c for c in nlp.pipe_names if c in (*TAGGING, "ner")]):
        docs = list(nlp.pipe(TEXTS))
    packed, kept = PackedDocs(DETECTION_ATTRS), PackedDocs(DETECTION_ATTRS, pack=False)
    for store in (packed, kept):
        for group, doc in zip((0, 0, 2, 2), docs, strict=True):
            store.add(group, doc)
        assert [annotations(d) for d in store.docs(0)] == [annotations(d) for d in docs[:2]]
        assert [str(t.morph) for t in store.docs(2)[0]] == [str(t.morph) for t in docs[2]]
        assert [annotations(d) for d in store.docs(2)] == [annotations(d) for d in docs[2:]]
        assert store.docs(1) == [] and len(store) == 2
        try:
            store.add(0, docs[0])  # a group is added in one go
        except ValueError as error:
            assert "closed" in str(error)
        else:
            raise AssertionError("adding to a closed group went through")
    assert packed.packs and not kept.packs


def _packed_in_a_worker(word: str):
    """In a worker: a doc spelling a word this process's pipeline never saw, packed."""
    from qualcode.nlp import PackedDocs, load_pipeline

    store = PackedDocs()
    store.add(0, load_pipeline().make_doc(f"Hello {word}."))
    return store.stored(0)


def test_packed_docs_travel_between_processes(nlp) -> None:
    import uuid

    from qualcode.nlp import PackedDocs, map_in_processes

    words = [f"Zq{uuid.uuid4().hex}", f"Zq{uuid.uuid4().hex}"]
    stored = map_in_processes(_packed_in_a_worker, words, 2)
    assert all(word not in nlp.vocab.strings for word in words)
    store = PackedDocs()
    store.put(5, stored[0], nlp.vocab)
    with pytest.raises(KeyError):
        store.docs(5)  # its words' strings are only in the worker's string store
    for word in words:
        nlp.vocab.strings.add(word)
    store.put(6, stored[1], nlp.vocab)
    assert [d.text for d in store.docs(5) + store.docs(6)] == [f"Hello {w}." for w in words]
    with pytest.raises(ValueError):
        store.put(6, stored[1], nlp.vocab)


def test_the_pipeline_is_loaded_once(nlp) -> None:
    assert qc.load_pipeline() is qc.load_pipeline(None) is nlp


def test_large_projects_anonymise_as_small_ones(nlp, monkeypatch) -> None:
    """Above `PARALLEL_WORDS` the text is tagged, names propagated and sentences found on two
    processes, and each transcript's docs are packed between detection, propagation and
    rewriting: the same result as below."""
    from qualcode import nlp as nlp_module

    transcripts = qc.read_transcripts(SAMPLE)
    roster = SAMPLE / "participants.csv"
    small = anonymize(transcripts, roster, nlp=nlp, tag=True)
    small_segments = qc.segment(small.transcripts, nlp=nlp)
    monkeypatch.setattr(nlp_module, "PARALLEL_WORDS", 1_000)
    large = anonymize(transcripts, roster, nlp=nlp, tag=True)
    assert list(qc.segment(large.transcripts, nlp=nlp)) == list(small_segments)  # two processes
    assert large.docs is not None and small.docs is not None
    assert large.docs._docs.packs and not small.docs._docs.packs
    assert [t.text for t in large.transcripts] == [t.text for t in small.transcripts]
    assert large.key == small.key
    assert large.review == small.review and large.misses == small.misses

    def tagged(docs, transcript_id, turn):  # what the coder reads
        offset, doc = docs.turn_doc(transcript_id, turn)
        return offset, [(t.text_with_ws, t.tag_, t.pos_, t.lemma_, str(t.morph)) for t in doc]

    for transcript in large.transcripts:
        for turn in transcript.turns:
            assert tagged(large.docs, transcript.id, turn.index) == tagged(
                small.docs, transcript.id, turn.index
            )


def _fails_on_odd(number: int) -> int:
    if number % 2:
        raise CodebookProblems([CodebookError("bad rule", file="book.yaml", line=number, fix="x")])
    return number * 10


def test_a_worker_process_error_reaches_the_caller_whole() -> None:
    """An error raised in a forked worker arrives as the same error, with its file, line and
    fix (what the CLI prints as one line), and its parts."""
    from qualcode.nlp import map_in_processes

    assert map_in_processes(_fails_on_odd, [2, 4], 2) == [20, 40]
    with pytest.raises(CodebookProblems) as raised:
        map_in_processes(_fails_on_odd, [2, 3], 2)
    assert str(raised.value) == "book.yaml:3: bad rule — x"
    assert raised.value.line == 3 and [p.line for p in raised.value.problems] == [3]
