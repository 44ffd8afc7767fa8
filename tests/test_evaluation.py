"""The anonymisation scorer (TAB's entity recall and token precision) and its readers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.anonymize import AnonymizeSettings, anonymize
from qualcode.evaluation import (
    GoldDocument,
    GoldEntity,
    entity_recall,
    masked_part,
    overmasked_tokens,
    parse_labelled,
    read_labelled,
    read_tab,
    review_spans,
    score,
    token_precision,
    unprotected_mentions,
)

from .conftest import DATA, SHARED

TINY = DATA / "evaluation"
LABELLED = DATA / "anonymisation"
TAB = SHARED / "eval" / "tab" / "tab_devtrain.json"


def spans_of(text: str, *words: str) -> list[tuple[int, int]]:
    """The spans of the first occurrence of each word."""
    return [(text.index(w), text.index(w) + len(w)) for w in words]


def entity(text: str, *mentions: str, kind: str = "person", type_: str = "DIRECT") -> GoldEntity:
    found, position = [], 0
    for mention in mentions:
        start = text.index(mention, position)
        found.append((start, start + len(mention)))
        position = start + len(mention)
    return GoldEntity(f"{kind}:{mentions[0]}", kind, type_, tuple(found))


# --- entity recall --------------------------------------------------------------------


def test_an_entity_is_protected_only_when_every_mention_is_masked() -> None:
    text = "Anna came late. Later Anna left."
    anna = entity(text, "Anna", "Anna")
    first, second = anna.mentions
    assert entity_recall([anna], [first], text, "DIRECT") == 0.0
    assert entity_recall([anna], [first, second], text, "DIRECT") == 1.0
    assert entity_recall([anna], [first, second], text, "QUASI") is None


def test_a_mention_partly_masked_is_not_protected() -> None:
    text = "She works at St. Ladislaus Hospital now."
    hospital = entity(text, "St. Ladislaus Hospital", kind="organisation", type_="QUASI")
    assert entity_recall([hospital], spans_of(text, "St. Ladislaus"), text, "QUASI") == 0.0
    assert entity_recall([hospital], spans_of(text, "Ladisl"), text, "QUASI") == 0.0


def test_visible_function_words_and_punctuation_are_forgiven() -> None:
    text = "He studied at the University of Pécs, said Mr Smith's sister, in 2020."
    university = entity(text, "the University of Pécs", kind="organisation", type_="QUASI")
    smith = entity(text, "Mr Smith's")
    masked = spans_of(text, "University", "Pécs", "Smith")
    assert entity_recall([university], masked, text, "QUASI") == 1.0
    assert entity_recall([smith], masked, text, "DIRECT") == 1.0  # "Mr", "'s" visible
    sister = entity(text, "Smith's sister")
    assert entity_recall([sister], masked, text, "DIRECT") == 0.0  # "sister" is a content word


def test_recall_counts_only_the_asked_identifier_type() -> None:
    text = "Anna lives in Szeged."
    anna = entity(text, "Anna")
    szeged = entity(text, "Szeged", kind="place", type_="QUASI")
    masked = spans_of(text, "Anna")
    assert entity_recall([anna, szeged], masked, text, "DIRECT") == 1.0
    assert entity_recall([anna, szeged], masked, text, "QUASI") == 0.0


# --- token precision ------------------------------------------------------------------


def test_precision_counts_masked_word_tokens_inside_gold_mentions() -> None:
    text = "Anna Kovács met the Court on Monday."
    gold = [
        entity(text, "Anna Kovács"),
        entity(text, "Court", kind="ORG", type_="NO_MASK"),
    ]
    # 4 masked tokens (Anna, Kovács, Court, Monday); only the two names should be masked
    masked = spans_of(text, "Anna Kovács", "Court", "Monday")
    assert token_precision(gold, masked, text) == 0.5
    assert token_precision(gold, spans_of(text, "Anna Kovács"), text) == 1.0
    assert token_precision(gold, [], text) is None
    # a token partly masked counts once, as masked; spaces and punctuation are not tokens
    assert token_precision(gold, [(0, 2), (4, 5), (34, 36)], text) == 0.5
    assert [text[s:e] for s, e in overmasked_tokens(gold, masked, text)] == ["Court", "Monday"]


# --- score ----------------------------------------------------------------------------


def test_score_over_documents() -> None:
    one = "Anna met Bence in Szeged on 14 March 2022."
    two = "Case 36110/97 was heard."
    docs = [
        GoldDocument(
            "one",
            one,
            (
                entity(one, "Anna", kind="participant"),
                entity(one, "Bence", kind="participant"),
                entity(one, "Szeged", kind="place", type_="QUASI"),
                entity(one, "14 March 2022", kind="date", type_="QUASI"),
            ),
        ),
        GoldDocument("two", two, (entity(two, "36110/97", kind="id"),)),
    ]
    result = score({"one": spans_of(one, "Anna", "Szeged", "14 March 2022")}, docs)
    assert result.er_direct == pytest.approx(1 / 3)  # "two" has no spans: its ID is missed
    assert result.er_quasi == 1.0
    assert result.token_precision == 1.0
    assert result.per_kind == {"date": 1.0, "id": 0.0, "participant": 0.5, "place": 1.0}
    assert result.recall_of("participant", "id") == pytest.approx(1 / 3)
    assert result.recall_of("moderator") is None
    assert (result.entities_direct, result.entities_quasi, result.masked_tokens) == (3, 2, 5)
    missed = unprotected_mentions(docs[0].entities, spans_of(one, "Anna"), one)
    assert [one[s:e] for _, s, e in missed] == ["Bence", "Szeged", "14 March 2022"]
    assert json.loads(json.dumps(result.to_dict()))["counts"]["participant"] == [1, 2]


# --- readers --------------------------------------------------------------------------


def test_parse_labelled_strips_markup_and_groups_mentions() -> None:
    doc = parse_labelled(
        "[[ANNA|participant]]: I'm [[Anna|participant]] from [[Szeged|place]], "
        "[[anna|person]] too.",
        "x",
    )
    assert doc.text == "ANNA: I'm Anna from Szeged, anna too."
    by_id = {e.entity_id: e for e in doc.entities}
    anna = by_id["x:participant:anna"]
    assert [doc.text[s:e] for s, e in anna.mentions] == ["ANNA", "Anna"]
    assert anna.identifier_type == "DIRECT"
    assert by_id["x:place:szeged"].identifier_type == "QUASI"
    assert by_id["x:person:anna"].mentions == ((28, 32),)  # another kind: another entity


def test_read_labelled_folder() -> None:
    (doc,) = read_labelled(TINY)
    assert doc.doc_id == "fg_tiny"
    assert "[[" not in doc.text
    kinds = {e.kind for e in doc.entities}
    assert kinds == {"participant", "age", "organisation", "place", "person", "date", "email"}
    for gold in doc.entities:
        for start, end in gold.mentions:
            assert doc.text[start:end].strip() == doc.text[start:end]


def test_read_tab(tmp_path: Path) -> None:
    text = "Mr John Smith (no. 36110/97) of Ankara v. the Republic of Turkey."

    def mention(span: str, entity_id: str, kind: str, identifier: str) -> dict[str, object]:
        start = text.index(span)
        return {
            "entity_type": kind,
            "start_offset": start,
            "end_offset": start + len(span),
            "span_text": span,
            "identifier_type": identifier,
            "entity_id": entity_id,
        }

    first = [
        mention("Mr John Smith", "e1", "PERSON", "DIRECT"),
        mention("36110/97", "e2", "CODE", "DIRECT"),
        mention("Ankara", "e3", "LOC", "QUASI"),
        mention("Republic of Turkey", "e4", "ORG", "NO_MASK"),
        mention("Smith", "e1", "PERSON", "NO_MASK"),
    ]
    data = [
        {
            "doc_id": "d1",
            "text": text,
            "dataset_type": "train",
            "annotations": {"annotator1": {"entity_mentions": first}, "annotator2": {}},
        }
    ]
    path = tmp_path / "tab.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    ((doc_id, read_text, entities),) = read_tab(path)
    assert (doc_id, read_text) == ("d1", text)
    by_id = {e.entity_id: e for e in entities}
    assert by_id["e1"].identifier_type == "DIRECT"
    assert len(by_id["e1"].mentions) == 1  # its NO_MASK mention need not be masked
    assert by_id["e3"].identifier_type == "QUASI"
    assert by_id["e4"].identifier_type == "NO_MASK"
    assert by_id["e2"].kind == "CODE"


@pytest.mark.skipif(not TAB.is_file(), reason="../shared/eval/tab is not present")
def test_read_the_tab_corpus() -> None:
    docs = read_tab(TAB)
    assert docs
    raw = {d["doc_id"]: d for d in json.loads(TAB.read_text(encoding="utf-8"))}
    for doc in docs[:10]:
        spans = {
            (m["start_offset"], m["end_offset"]): m["span_text"]
            for m in next(iter(raw[doc.doc_id]["annotations"].values()))["entity_mentions"]
        }
        for gold in doc.entities:
            for start, end in gold.mentions:
                assert doc.text[start:end] == spans[(start, end)]


# --- qualcode's review rows -----------------------------------------------------------


def test_masked_part_of_generalised_values() -> None:
    assert masked_part("14 March 2022", "[March 2022]", 10) == [(10, 12)]
    assert masked_part("3 Mar 2022", "[March 2022]", 0) == [(0, 1)]
    assert masked_part("MODERATOR", "Moderator 3", 0) == []
    assert masked_part("Dr. Okoye", "Moderator 2", 5) == [(5, 7), (9, 14)]
    assert masked_part("14 March 2022", "[date]", 0) == [(0, 2), (3, 8), (9, 13)]
    assert masked_part("Szeged", "[Place 1]", 7, generalised=False) == [(7, 13)]


def anonymised_spans(folder: Path, nlp, settings: AnonymizeSettings, tmp_path: Path):
    """qualcode on a labelled folder with its roster: gold documents and masked spans."""
    docs = read_labelled(folder)
    for doc in docs:
        (tmp_path / f"{doc.doc_id}.txt").write_text(doc.text, encoding="utf-8")
    roster = None
    if (folder / "participants.csv").is_file():
        roster = tmp_path / "participants.csv"
        shutil.copy(folder / "participants.csv", roster)
    transcripts = qc.read_transcripts(tmp_path)
    result = anonymize(transcripts, roster, settings, nlp=nlp)
    texts = {doc.doc_id: doc.text for doc in docs}
    spans = {t.id: review_spans(t, texts[t.id], result.review) for t in transcripts}
    return docs, spans


def test_qualcode_on_the_tiny_labelled_file(nlp, tmp_path: Path) -> None:
    docs, spans = anonymised_spans(TINY, nlp, AnonymizeSettings(dates="mask"), tmp_path)
    (doc,) = docs
    masked = {doc.text[s:e] for s, e in spans["fg_tiny"]}
    assert {"ANNA", "BENCE", "Anna Kovács", "bence@example.org"} <= masked
    assert "MODERATOR" not in masked  # relabelled "Moderator": nothing hidden
    result = score(spans, docs)
    assert result.recall_of("participant") == 1.0
    assert result.per_kind["email"] == 1.0
    assert result.token_precision is not None and result.token_precision > 0.5


def test_generalised_dates_do_not_count_as_masked(nlp, tmp_path: Path) -> None:
    docs, spans = anonymised_spans(TINY, nlp, AnonymizeSettings(dates="month"), tmp_path)
    assert score(spans, docs).per_kind["date"] == 0.0  # "[March 2022]" keeps March 2022


@pytest.mark.skipif(
    not LABELLED.is_dir() or not any(LABELLED.glob("*.txt")),
    reason="tests/data/anonymisation (the labelled focus groups) is not there yet",
)
def test_qualcode_on_the_labelled_set(nlp, tmp_path: Path) -> None:
    docs, spans = anonymised_spans(LABELLED, nlp, AnonymizeSettings(), tmp_path)
    result = score(spans, docs)
    figures = [
        result.er_direct,
        result.er_quasi,
        result.token_precision,
        result.recall_of("participant", "moderator"),
        *result.per_kind.values(),
    ]
    assert all(f is not None and 0.0 <= f <= 1.0 for f in figures)
    assert result.entities_direct > 0 and result.entities_quasi > 0
