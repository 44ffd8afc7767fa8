from __future__ import annotations

import re
from pathlib import Path

import pytest

from qualcode.codebook import CodebookProblems, load_codebook, write_codebook
from qualcode.errors import CodebookError

from .conftest import DATA, ROOT

CODEBOOKS = DATA / "codebooks"
SAMPLE_CODEBOOK = ROOT / "codebooks" / "near_peer_mentoring.yaml"


def test_sample_codebook_is_complete() -> None:
    book = load_codebook(SAMPLE_CODEBOOK)
    summary = book.summary()
    assert summary["themes"] == 3
    assert summary["subthemes"] >= 9
    assert summary["codes"] >= 25
    assert [t.id for t in book.themes] == ["professional_growth", "personal_growth", "reflections"]
    for code in book.codes:
        assert code.definition and code.label
        assert len(code.examples) >= 2, code.id
        assert code.include and code.exclude, code.id
    assert len(book.sha256) == 64


def test_small_codebook_structure() -> None:
    book = load_codebook(CODEBOOKS / "small.yaml")
    assert [c.id for c in book.codes] == [
        "figuring_out",
        "registration",
        "confident",
        "confident_any",
        "boundaries",
        "moderator_prompt",
        "critical_incident",
    ]
    code = book.code("figuring_out")
    assert (code.theme_id, code.subtheme_id) == ("growth", "problems")
    assert code.match.keywords == ("figure out", "sort out")
    assert book.code("boundaries").subtheme_id == ""
    assert book.code("critical_incident").manual_only
    assert book.code("registration").unless.keywords == ("homework",)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(CodebookProblems) as raised:
        load_codebook(CODEBOOKS / "many_problems.yaml")
    messages = [str(p) for p in raised.value.problems]
    expected = [
        r"many_problems\.yaml:14: figuring_out: unknown key 'keyword' in 'match' — did you mean "
        r"'keywords'\?",
        r"many_problems\.yaml:1: unknown unit 'paragraph' — use one of: sentence, turn",
        r"many_problems\.yaml:15: Bad Id: bad code id — .* e\.g\. 'bad_id'",
        r"many_problems\.yaml:19: figuring_out: duplicate id",
        r"many_problems\.yaml:19: figuring_out: the code has an empty label",
        r"many_problems\.yaml:24: empty_theme: the theme has no codes",
        r"many_problems\.yaml:15: Bad Id: invalid regex '\(unclosed'",
        r"many_problems\.yaml:19: figuring_out: invalid spaCy pattern .*LEMA",
    ]
    assert len(messages) == len(expected)
    for pattern in expected:
        assert any(re.match(pattern, m) for m in messages), pattern


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("syntax_error.yaml", r"syntax_error\.yaml:\d+: not valid YAML"),
        ("tabs.yaml", r"tabs\.yaml:3: a tab indents this line — indent YAML with spaces only"),
        (
            "duplicate_keys.yaml",
            r"duplicate_keys\.yaml:5: not valid YAML \(duplicate key 'label'\)",
        ),
        ("alias_bomb.yaml", r"alias_bomb\.yaml: the YAML expands to an enormous document"),
    ],
)
def test_unreadable_yaml(name: str, message: str) -> None:
    with pytest.raises(CodebookError) as raised:
        load_codebook(CODEBOOKS / name)
    assert re.match(message, str(raised.value))


def test_ids_that_collide_after_lower_casing(tmp_path: Path) -> None:
    path = tmp_path / "cb.yaml"
    path.write_text(
        "name: x\nthemes:\n  - id: t\n    label: T\n    codes:\n"
        "      - {id: self-care, label: A, match: {keywords: [rest]}}\n"
        "      - {id: Self-care, label: B, match: {keywords: [sleep]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(CodebookProblems) as raised:
        load_codebook(path)
    assert any(
        "collides with 'self-care' after lower-casing" in str(p) for p in raised.value.problems
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".yaml"])
def test_conversion_round_trips(tmp_path: Path, suffix: str) -> None:
    book = load_codebook(SAMPLE_CODEBOOK)
    path = write_codebook(book, tmp_path / f"codebook{suffix}")
    again = load_codebook(path)
    assert again.themes == book.themes
    assert again.codes == book.codes


def test_csv_codebook_written_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    path.write_text(
        "Theme,Subtheme,Code,Label,Definition,Keywords,Phrases,Regex,Unless\n"
        "growth,problems,sorting,Sorting things out,Practical help,sort out;figure out,"
        "practical problem,\\bvisa\\b,{keywords: [homework]}\n",
        encoding="utf-8",
    )
    book = load_codebook(path)
    code = book.code("sorting")
    assert code.match.keywords == ("sort out", "figure out")
    assert code.match.phrases == ("practical problem",)
    assert code.match.regex == (r"\bvisa\b",)
    assert code.unless.keywords == ("homework",)


def test_csv_unknown_column(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    path.write_text("theme_id,code_id,label,keyword\ng,c,C,x\n", encoding="utf-8")
    with pytest.raises(
        CodebookError,
        match=r"cb\.csv:1: unknown column 'keyword' — did you "
        r"mean 'keywords'\?",
    ):
        load_codebook(path)
