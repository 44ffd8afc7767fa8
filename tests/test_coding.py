"""The coder's semantics, pinned with small hand-made segments."""

from __future__ import annotations

from pathlib import Path

import pytest

import qualcode as qc
from qualcode.codebook import load_codebook
from qualcode.coding import apply_codebook, parse_evidence, read_codings, write_codings
from qualcode.transcripts import Transcript, Turn

from .conftest import DATA

SMALL = load_codebook(DATA / "codebooks" / "small.yaml")


def code(nlp, text: str, role: str = "participant") -> set[str]:
    transcript = Transcript("t", (Turn(0, "Anna" if role == "participant" else "Mod", text, role),))
    segments = qc.segment([transcript], "turn", nlp=nlp)
    return {c.code_id for c in apply_codebook(segments, SMALL, nlp=nlp)}


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        # keywords on lemmas, multiword keywords at most 3 tokens apart
        ("We figured it out in the end.", {"figuring_out"}),
        ("I sorted the whole thing out for her.", {"figuring_out"}),
        ("We figured that we would eventually go out.", set()),  # 5 tokens apart
        ("Figuring out the bus was hard.", {"figuring_out"}),
        # regex, and unless vetoing it
        ("I helped him register for courses.", {"registration"}),
        ("She had to register her homework online.", set()),
        # negation: skip drops negated hits, keep does not
        ("I felt confident after that.", {"confident", "confident_any"}),
        ("I never felt confident.", {"confident_any"}),
        ("I didn't feel confident at all.", {"confident_any"}),
        ("Not confident, honestly.", {"confident_any"}),
        ("It gave me so much confidence.", {"confident"}),
        # min_matches counts distinct entries
        ("They write to me at night.", set()),
        ("They write to me at night, so I learned to say no.", {"boundaries"}),
        ("At night, at night, always at night.", set()),
        ("I had to set some boundaries and say no.", {"boundaries"}),
        # phrases are exact lower-cased word sequences
        ("I can SAY NO now at night.", {"boundaries"}),
        ("Nothing relevant here.", set()),
    ],
)
def test_rule_semantics(nlp, text: str, codes: set[str]) -> None:
    assert code(nlp, text) == codes


def test_speaker_filters(nlp) -> None:
    assert code(nlp, "What was the benefit for you?", role="moderator") == {"moderator_prompt"}
    assert code(nlp, "I felt confident.", role="moderator") == set()
    assert code(nlp, "The benefit was clear.") == set()


def test_evidence_carries_rule_words_and_offsets(nlp) -> None:
    turns = (
        Turn(0, "Mod", "Tell us.", "moderator"),
        Turn(1, "Anna", "Well. We figured it out, and I learned to say no at night."),
    )
    transcript = Transcript("t", turns)
    segments = qc.segment([transcript], "sentence", nlp=nlp)
    codings = apply_codebook(segments, SMALL, nlp=nlp)
    by_code = {c.code_id: c for c in codings}
    figuring = by_code["figuring_out"]
    assert figuring.segment_id == "t:1:1"
    [hit] = figuring.evidence
    assert (hit.kind, hit.rule, hit.text) == ("keyword", "'figure out'", "figured it out")
    assert transcript.text[hit.start : hit.end] == "figured it out"
    boundaries = by_code["boundaries"]
    assert boundaries.score == 2.0
    assert [(e.kind, e.text) for e in boundaries.evidence] == [
        ("phrase", "say no"),
        ("phrase", "at night"),
    ]
    assert parse_evidence(boundaries.evidence_text) == boundaries.evidence


def test_manual_only_codes_never_fire(sample_segments, nlp) -> None:
    codings = apply_codebook(sample_segments, SMALL, nlp=nlp)
    assert "critical_incident" not in {c.code_id for c in codings}


def test_codings_csv_round_trip(sample_segments, nlp, tmp_path: Path) -> None:
    codings = apply_codebook(sample_segments, SMALL, nlp=nlp)
    assert len(codings) > 10
    path = write_codings(codings, tmp_path / "codings.csv")
    again = read_codings(path, sample_segments, SMALL)
    assert again.items == codings.items
    frame = codings.to_frame()
    assert {"segment_id", "code_id", "evidence", "source", "text", "group"} <= set(frame.columns)


def test_coding_is_deterministic(sample_segments, nlp) -> None:
    assert apply_codebook(sample_segments, SMALL, nlp=nlp) == apply_codebook(
        sample_segments, SMALL, nlp=nlp
    )


@pytest.mark.parametrize(
    "text",
    [
        "For me it's more listening.",  # read as a noun
        "I was listening to her.",  # read as a verb
        "Listening, mostly.",
    ],
)
def test_a_keyword_finds_its_ing_form_however_it_is_tagged(nlp, text: str, tmp_path: Path) -> None:
    path = tmp_path / "listen.yaml"
    path.write_text(
        "name: c\nthemes:\n  - id: t\n    label: T\n    codes:\n"
        "      - id: listen\n        label: Listening\n        match:\n"
        "          keywords: [listen]\n",
        encoding="utf-8",
    )
    transcript = Transcript("t", (Turn(0, "Anna", text, "participant"),))
    segments = qc.segment([transcript], "turn", nlp=nlp)
    assert [c.code_id for c in apply_codebook(segments, load_codebook(path), nlp=nlp)] == ["listen"]


def test_verb_lemmas(nlp) -> None:
    from qualcode.coding import verb_lemmas

    lemma = verb_lemmas(nlp)
    assert [lemma(w) for w in ("listening", "worried", "running", "morning", "thing")] == [
        "listen",
        "worry",
        "run",
        "",
        "",
    ]


def _code_one(transcript: Transcript) -> qc.Codings:
    book = load_codebook(Path(__file__).parents[1] / "codebooks" / "near_peer_mentoring.yaml")
    return apply_codebook(qc.segment([transcript]), book)


def test_transcripts_coded_apart_roll_up_as_one_project(sample_transcripts, nlp) -> None:
    """The recipe of docs/scaling.md: code each transcript on its own (here in two worker
    processes), combine, roll up: the themes of coding the project at once."""
    from concurrent.futures import ProcessPoolExecutor

    book = load_codebook(Path(__file__).parents[1] / "codebooks" / "near_peer_mentoring.yaml")
    whole = apply_codebook(qc.segment(sample_transcripts, nlp=nlp), book, nlp=nlp)
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_code_one, sample_transcripts))
    combined = qc.Codings.combine(parts)
    assert combined == whole and combined.segments == whole.segments
    assert qc.build_themes(combined, book).to_dict() == qc.build_themes(whole, book).to_dict()
    with pytest.raises(qc.QualcodeError, match="two parts"):
        qc.Codings.combine([parts[0], parts[0]])


@pytest.mark.parametrize(
    ("pattern", "anchor"),
    [
        ([{"LOWER": "felt"}, {"LOWER": {"IN": ["more", "less"]}}], ("LOWER", {"felt"})),
        ([{"lemma": {"IN": ["help", "aid"]}}, {"POS": "PRON"}], ("LEMMA", {"help", "aid"})),
        ([{"TEXT": "I"}, {"LOWER": "really", "OP": "?"}], ("ORTH", {"I"})),
        ([{"LOWER": "really", "OP": "*"}, {"LOWER": "not", "OP": "!"}], None),
        ([{"LOWER": {"REGEX": "^conf"}}, {"LOWER": "x", "OP": "{2}"}], ("LOWER", {"x"})),
        ([{"LOWER": "x", "OP": "{0,2}"}, {"POS": "VERB"}], None),
        (
            [{"LOWER": {"IN": ["a", "b"]}, "OP": "+"}, {"NORM": {"IN": ["c", "d", "e"]}}],
            ("LOWER", {"a", "b"}),
        ),
    ],
)
def test_pattern_anchor_is_a_word_the_pattern_needs(pattern, anchor) -> None:
    from qualcode.coding import pattern_anchor

    found = pattern_anchor(pattern)
    assert (found and (found[0], set(found[1]))) == (anchor or None)


def test_token_patterns_find_what_one_matcher_finds(nlp) -> None:
    """Indexed by anchor words, the patterns find exactly the matches of one spaCy Matcher
    holding them all, a pattern shared by two rules reported under both."""
    from spacy.matcher import Matcher

    from qualcode.coding import TokenPatterns

    rules = {
        "a": [{"LOWER": "felt"}, {"LOWER": {"IN": ["more", "less"]}}],
        "b": [{"LEMMA": "help"}, {"POS": "PRON", "OP": "?"}],
        "c": [{"POS": "ADJ"}, {"LOWER": "students"}],
        "d": [{"LOWER": {"REGEX": "^confiden"}}],  # no word to index by: always tried
        "e": [{"LOWER": "felt"}, {"LOWER": {"IN": ["more", "less"]}}],  # the same as "a"
        "f": [{"LOWER": "unheard"}],
    }
    patterns = TokenPatterns(nlp.vocab)
    everything = Matcher(nlp.vocab)
    for key, pattern in rules.items():
        patterns.add(key, pattern)
        everything.add(key, [pattern])
    assert len(patterns) == 5
    doc = nlp(
        "I felt more confident once I helped them. Helping first-year students, I felt "
        "less alone, and new students felt confidence too."
    )
    expected = sorted((nlp.vocab.strings[i], s, e) for i, s, e in everything(doc))
    assert sorted(patterns.matches(doc)) == expected
    assert {key for key, _s, _e in expected} == {"a", "b", "c", "d", "e"}
    assert patterns.matches(nlp("")) == [] and TokenPatterns(nlp.vocab).matches(doc) == []


def test_token_patterns_run_around_anchor_words_find_every_match(nlp) -> None:
    """Bounded patterns run only on windows around their anchor words: matches at a window's
    edge, optional tokens on either side and anchors close together are all still found."""
    from spacy.matcher import Matcher

    from qualcode.coding import TokenPatterns, pattern_length

    rules = {
        "edge": [{"OP": "?"}, {"LOWER": "mentor"}, {"OP": "?"}, {"OP": "?"}],
        "pair": [{"LOWER": "mentor"}, {"LOWER": {"IN": ["and", "or"]}}, {"LOWER": "mentee"}],
        "repeat": [{"LOWER": "very", "OP": "{1,3}"}, {"LOWER": "good"}],
        "open": [{"LOWER": "mentor"}, {"OP": "*"}, {"LOWER": "mentee"}],  # unbounded
        "not": [{"LOWER": "mentor"}, {"LOWER": "and", "OP": "!"}],
    }
    assert [pattern_length(p) for p in rules.values()] == [4, 3, 4, None, 2]
    patterns, everything = TokenPatterns(nlp.vocab), Matcher(nlp.vocab)
    for key, pattern in rules.items():
        patterns.add(key, pattern)
        everything.add(key, [pattern])
    for text in (
        "mentor",
        "Mentor and mentee met, and the mentor said it was very very very good",
        "a b c d e f g h mentor i j k l m n mentor mentor or mentee very good",
    ):
        doc = nlp.make_doc(text)
        expected = sorted((nlp.vocab.strings[i], s, e) for i, s, e in everything(doc))
        assert sorted(patterns.matches(doc)) == expected, text


REGEXES = [
    r"\bregist(er|ered|ering|ration)\b",
    r"\b(exam|course|class)?\s?timetables?\b",
    r"\bself[- ]?(confiden(t|ce)|assured|assurance)\b",
    r"\b(same|similar|different)\b[^.?!]{0,30}\bpatients?\b",
    r"(?x) kick \s+ off",
    r"kick\s+off",
    r"(?-i:Ask) me",
    r"stra(ss|ß)e",
    r"(?:sk)+i",
    r"\p{Lu}\w+",  # beyond Python's own parser: always run
]


@pytest.mark.parametrize("pattern", REGEXES)
def test_a_regex_never_matches_without_a_word_it_needs(pattern: str) -> None:
    from qualcode.codebook import compile_regex
    from qualcode.coding import fold_for_needs, regex_needs

    texts = [
        "I REGISTERED for the course timetable.",
        "Self-Confidence grew; SELF ASSURED now.",
        "the same as with patients",
        "KICK   off",
        "ſkiing",  # long s
        "\u212aICK off",  # Kelvin sign
        "fİx kİck off",  # dotted capital I
        "Ask me, ask ME",
        "STRASSE",
        "nothing at all here",
    ]
    regex, needs = compile_regex(pattern), regex_needs(pattern)
    assert (needs is None) == pattern.startswith(r"\p")
    for text in texts:
        if needs is not None and regex.search(text):
            folded = fold_for_needs(text)
            assert any(word in folded for word in needs), f"{pattern} on {text}"
    assert regex_needs(r"\bregist(er|ered)\b") == {"regist"}
    assert regex_needs(r"\bself[- ]?(confiden(t|ce)|assured)\b") == {"confiden", "assured"}
    assert regex_needs("a*|b") is None
