"""Reports a supervisor reads: the theme report as Markdown, JSON, HTML, Word and Excel."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import QualcodeError
from .files import atomic_write_bytes, atomic_write_text, reproducible_zip, xlsx_bytes
from .themes import attribute_breakdown

if TYPE_CHECKING:
    import pandas as pd

    from .themes import Counts, ThemeReport


def _groups(counts: Counts, total: int) -> str:
    return f"{counts.groups}/{total}"


def _row(label: str, counts: Counts, groups: int, bold: bool = False) -> str:
    """A table row: label, coded segments, participants, groups as "4/5"."""
    cells = [str(counts.segments), str(counts.participants), _groups(counts, groups)]
    if bold:
        cells = [f"**{cell}**" for cell in cells]
    return f"| {label} | " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


# --- rigour: agreement, co-occurrence, saturation (shared by every format) -------------

DISAGREEMENTS_SHOWN = 40
PAIRS_SHOWN = 15


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    """A report section with paragraphs and tables, rendered alike in every format."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _interval(row: Any) -> str:
    return f"{_number(row.kappa)} ({_number(row.kappa_low)} to {_number(row.kappa_high)})"


def rigour_sections(report: ThemeReport) -> list[Section]:
    """Agreement between coders, the disagreement list, co-occurrence and saturation."""
    from .themes import co_occurring_pairs

    sections = []
    labels = {c.id: c.label for t in report.themes for s in t.subthemes for c in s.codes}
    if report.agreements:
        first = report.agreements[0]
        section = Section(
            "agreement",
            "Agreement between coders",
            [
                f"Coders compared on {first.overall.segments:,} participant segments; a segment a "
                "coder did not code counts as the code being absent. Per code: percent "
                "agreement, Cohen's kappa with a 95% bootstrap interval "
                f"({first.bootstrap:,} resamples of the segments, seed {first.seed}), "
                "Krippendorff's alpha (nominal), Gwet's AC1 (stable where a code is rare) and "
                "F1 of the second coder against the first. The overall row pools every segment "
                "and code; its alpha is Krippendorff's alpha over each segment's set of codes "
                "(MASI distance).",
                *(a.summary() for a in report.agreements),
            ],
        )
        section.tables.append(
            Table(
                "Overall agreement",
                [
                    "Comparison",
                    "Agreement %",
                    "Kappa (95% CI)",
                    "Alpha",
                    "AC1",
                    "F1",
                    "Segments coded differently",
                ],
                [
                    [
                        f"{a.coder_b} vs {a.coder_a}",
                        _number(a.overall.percent * 100, 1),
                        _interval(a.overall),
                        _number(a.overall.alpha),
                        _number(a.overall.ac1),
                        _number(a.overall.f1),
                        str(len(a.disagreements)),
                    ]
                    for a in report.agreements
                ],
            )
        )
        for result in report.agreements:
            used = [r for r in result.codes if r.both + r.only_a + r.only_b]
            section.tables.append(
                Table(
                    f"Per code: {result.coder_b} against {result.coder_a}"
                    + (
                        f" ({len(result.codes) - len(used)} codes used by neither are left out)"
                        if len(used) < len(result.codes)
                        else ""
                    ),
                    [
                        "Code",
                        "Both",
                        f"Only {result.coder_a}",
                        f"Only {result.coder_b}",
                        "Kappa (95% CI)",
                        "Alpha",
                        "AC1",
                        "F1",
                    ],
                    [
                        [
                            labels.get(r.code_id, r.code_id),
                            str(r.both),
                            str(r.only_a),
                            str(r.only_b),
                            _interval(r),
                            _number(r.alpha),
                            _number(r.ac1),
                            _number(r.f1),
                        ]
                        for r in used
                    ],
                )
            )
        shown = first.disagreements[:DISAGREEMENTS_SHOWN]
        section.tables.append(
            Table(
                f"Disagreements between {first.coder_a} and {first.coder_b}, in transcript "
                "order, for the consensus meeting",
                ["Segment", "Speaker", "Text", f"Only {first.coder_a}", f"Only {first.coder_b}"],
                [
                    [
                        d.segment_id,
                        d.speaker,
                        d.text,
                        ", ".join(labels.get(c, c) for c in d.only_a) or "—",
                        ", ".join(labels.get(c, c) for c in d.only_b) or "—",
                    ]
                    for d in shown
                ],
            )
        )
        if len(first.disagreements) > len(shown):
            section.notes.append(
                f"The first {len(shown)} of {len(first.disagreements)} segments coded "
                "differently; disagreements.csv lists them all, with every code each coder gave."
            )
        sections.append(section)
    if report.codings is not None:
        pairs = co_occurring_pairs(report.codings)
        if pairs:
            sections.append(
                Section(
                    "co-occurrence",
                    "Code co-occurrence",
                    [
                        "Pairs of codes applied to the same segment or within the same turn, "
                        "most frequent first; the Jaccard index is segments with both codes "
                        "over segments with either."
                    ],
                    [
                        Table(
                            f"The {min(PAIRS_SHOWN, len(pairs))} most frequent pairs",
                            ["Code", "Code", "Segments", "Turns", "Jaccard"],
                            [
                                [
                                    labels.get(p["code_a"], p["code_a"]),
                                    labels.get(p["code_b"], p["code_b"]),
                                    str(p["segments"]),
                                    str(p["turns"]),
                                    f"{p['jaccard']:.2f}",
                                ]
                                for p in pairs[:PAIRS_SHOWN]
                            ],
                        )
                    ],
                )
            )
    if report.saturation is not None and report.saturation.steps:
        saturation = report.saturation
        sections.append(
            Section(
                "saturation",
                "Saturation",
                [
                    "Codes found in each group, in the order the groups were held, and how many "
                    "had not been found in an earlier group (new information threshold: new "
                    "codes in each run of groups as a share of the codes of the first groups, "
                    "Guest, Namey & Chen 2020).",
                    saturation.summary(),
                ],
                [
                    Table(
                        "New codes per successive group",
                        ["Order", "Group", "Codes", "New", "Cumulative"],
                        [
                            [
                                str(i),
                                step.transcript_id,
                                str(step.codes),
                                str(len(step.new_codes)),
                                str(step.cumulative),
                            ]
                            for i, step in enumerate(saturation.steps, start=1)
                        ],
                    )
                ],
            )
        )
    return sections


def _markdown_sections(sections: list[Section]) -> list[str]:
    lines: list[str] = []
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for table in section.tables:
            lines += [f"*{table.caption}*", ""]
            lines.append("| " + " | ".join(_cell(h) for h in table.header) + " |")
            lines.append("| --- |" + " ---: |" * (len(table.header) - 1))
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
            lines.append("")
        lines += [note for note in section.notes]
    return lines


def theme_report_markdown(report: ThemeReport) -> str:
    """The theme report as the results section of a qualitative paper, in Markdown."""
    totals = report.totals
    groups = totals.get("groups", totals["transcripts"])
    name = report.codebook.get("name", "Codebook")
    version = report.codebook.get("version")
    share = (100 * totals["coded_segments"] / totals["segments"]) if totals["segments"] else 0
    lines = [
        f"# Themes — {name}" + (f" (version {version})" if version else ""),
        "",
        f"{totals['transcripts']} transcripts ({groups} groups) with {totals['participants']} "
        f"participants were cut into {totals['segments']:,} segments, of which "
        f"{totals['coded_segments']:,} ({share:.0f}%) were coded. Counts give coded segments, "
        "distinct participants and the groups in which a subtheme was raised; moderators' "
        "speech is not counted.",
        "",
        "| Theme | Subtheme | Segments | Participants | Groups |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for theme in report.themes:
        lines.append(_row(f"**{_cell(theme.label)}** |", theme.counts, groups, bold=True))
        lines += [_row(f"| {_cell(sub.label)}", sub.counts, groups) for sub in theme.subthemes]
    for number, theme in enumerate(report.themes, start=1):
        lines += ["", f"## {number}. {theme.label}", ""]
        if theme.description:
            lines += [theme.description, ""]
        lines += ["| Subtheme | Segments | Participants | Groups |", "| --- | ---: | ---: | ---: |"]
        lines += [_row(_cell(sub.label), sub.counts, groups) for sub in theme.subthemes]
        for sub_number, sub in enumerate(theme.subthemes, start=1):
            lines += ["", f"### {number}.{sub_number} {sub.label}", ""]
            if sub.description:
                lines += [sub.description, ""]
            codes = ", ".join(f"{c.label} ({c.counts.segments})" for c in sub.codes)
            lines += [f"*Codes:* {codes}.", ""]
            if not sub.quotes:
                lines.append("*No participant quote was coded for this subtheme.*")
            for quote in sub.quotes:
                lines += [f"> “{quote.text}” {quote.attribution}", ""]
    breakdowns = attribute_breakdown(report)
    if breakdowns:
        lines += [
            "",
            "## Breakdown by participant attributes",
            "",
            "Participants with each value who raised the subtheme.",
        ]
        for name, frame in breakdowns.items():
            lines += [
                "",
                f"### {name}",
                "",
                "| Subtheme | " + " | ".join(frame.columns) + " |",
                "| --- |" + " ---: |" * len(frame.columns),
            ]
            lines += [
                "| " + _cell(sub) + " | " + " | ".join(row) + " |"
                for sub, row in zip(frame.index, frame.values.tolist(), strict=True)
            ]
    lines += _markdown_sections(rigour_sections(report))
    return "\n".join(lines).rstrip() + "\n"


def methods_paragraphs(report: ThemeReport, info: dict[str, Any] | None = None) -> list[str]:
    """A methods section generated from the run, as text a researcher can adapt."""
    info = info or {}
    totals = report.totals
    settings = info.get("settings", {})
    pipeline = info.get("pipeline", {})
    codebook = report.codings.codebook if report.codings is not None else None
    unit = settings.get("unit") or (codebook.unit if codebook else "sentence")
    paragraphs = [
        f"{totals['transcripts']} transcripts ({totals.get('groups', totals['transcripts'])} "
        f"groups, {totals['participants']} participants) were analysed with qualcode "
        f"{info.get('qualcode', '')} following a deductive, semantic thematic analysis "
        "(Braun & Clarke). Transcripts were read verbatim, with speakers, times and verbatim "
        "notation kept, and speakers matched to the participant roster.".replace("  ", " "),
    ]
    if settings.get("anonymize", True):
        paragraphs.append(
            "Before analysis, the transcripts were pseudonymised: participants and moderators "
            "received consistent pseudonyms, people they mentioned, places and organisations "
            "were replaced by typed tags, dates and ages were generalised, and contact details "
            "and identification numbers were removed. The re-identification key and a review "
            "list of every replacement were kept apart from the analysis files, and the outputs "
            "were checked for any remaining original name."
        )
    model = " ".join(str(pipeline.get(k, "")) for k in ("package", "version")).strip()
    spacy_version = pipeline.get("spacy_version", "")
    paragraphs.append(
        (
            "Each speaker turn"
            if unit == "turn"
            else "Each turn was cut into sentences, and each sentence"
        )
        + f" was treated as a coding unit ({totals['segments']:,} segments)"
        + (f", using spaCy {spacy_version} with the {model} pipeline" if model else "")
        + "."
    )
    if codebook is not None:
        summary = codebook.summary()
        paragraphs.append(
            f"The codebook “{codebook.name}”"
            + (f" (version {codebook.version})" if codebook.version else "")
            + f" defines {summary['themes']} themes, {summary['subthemes']} subthemes and "
            f"{summary['codes']} codes, each with a definition, inclusion and exclusion criteria "
            "and examples (Appendix). Codes were applied by transparent rules (base forms of "
            "keywords, phrases, token patterns and regular expressions, with exclusion rules "
            "and, where marked, negated statements left out); every coding records the words "
            "that caused it. "
            + (
                f"{summary['manual_only']} code(s) are applied by hand only. "
                if summary["manual_only"]
                else ""
            )
            + "Moderators' speech was not coded."
        )
    if report.agreements:
        paragraphs.append(
            "Agreement was measured on the segment unit, per code and overall, with percent "
            "agreement, Cohen's kappa (95% bootstrap intervals over segments), Krippendorff's "
            "alpha and Gwet's AC1. " + " ".join(a.summary() for a in report.agreements)
        )
    if report.saturation is not None and report.saturation.steps:
        paragraphs.append(report.saturation.summary())
    paragraphs.append(
        f"{totals['coded_segments']:,} segments were coded. For each theme, subtheme and code "
        "the number of coded segments, of distinct participants and of groups is reported; "
        "quotes were chosen from participants' words, strongest evidence first and across "
        "speakers and groups, and are attributed by pseudonym and group."
        + (
            f" Codebook SHA-256: {report.codebook.get('sha256', '')[:16]}…"
            if report.codebook.get("sha256")
            else ""
        )
    )
    return paragraphs


def theme_report_html(report: ThemeReport, info: dict[str, Any] | None = None) -> str:
    """One self-contained HTML page (CSS and SVG figures inline) that also prints on A4."""
    import jinja2

    from . import figures

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("qualcode", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["zip"] = zip
    environment.globals["numeric"] = _numeric
    drawn = []
    if report.codings is not None:
        for name in figures.available(report):
            svg = figures.render(name, report, "svg").decode("utf-8")
            drawn.append({"svg": svg[svg.index("<svg") :], "caption": figures.caption(name)})
    codebook = report.codings.codebook if report.codings is not None else None
    name = report.codebook.get("name", "Themes")
    return environment.get_template("report.html.j2").render(
        title=f"Themes — {name}",
        report=report,
        totals=report.totals,
        figures=drawn,
        methods=methods_paragraphs(report, info),
        codebook=codebook or _no_codebook(),
        breakdowns=attribute_breakdown(report),
        sections=rigour_sections(report),
    )


def theme_report_docx(report: ThemeReport, info: dict[str, Any] | None = None) -> bytes:
    """The report as a Word document: real headings (navigation pane), styled tables, quotes
    in the Quote style, figures as images."""
    import io

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    from . import figures

    document = Document()
    document.core_properties.title = f"Themes — {report.codebook.get('name', '')}"
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    totals = report.totals
    groups = totals.get("groups", totals["transcripts"])
    document.add_heading(f"Themes — {report.codebook.get('name', '')}", level=0)
    if report.codebook.get("version"):
        document.add_paragraph(f"Codebook version {report.codebook['version']}")

    def table(
        header: list[str],
        rows: list[list[object]],
        bold_rows: set[int] = frozenset(),
        indents: list[int] | None = None,
    ) -> None:
        """A table with a wide first column and narrow number columns."""
        grid = document.add_table(rows=1, cols=len(header))
        grid.style = "Light List Accent 1"
        grid.autofit = False
        narrow = Cm(min(2.7 if len(header) > 3 else 2.5, 12.0 / max(len(header) - 1, 1)))
        lengths = [
            sum(len(str(row[i])) for row in rows) + len(header[i]) for i in range(len(header))
        ]
        wide = lengths.index(max(lengths)) if rows else 0  # the text column gets the room
        widths = [narrow] * len(header)
        widths[wide] = Cm(16.5) - narrow * (len(header) - 1)
        for cell, text in zip(grid.rows[0].cells, header, strict=True):
            cell.text = text
        for index, row in enumerate(rows):
            cells = grid.add_row().cells
            for column, (cell, value) in enumerate(zip(cells, row, strict=True)):
                cell.text = str(value)
                paragraph = cell.paragraphs[0]
                if column and (isinstance(value, (int, float)) or _numeric(value)):
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                elif indents:
                    paragraph.paragraph_format.left_indent = Cm(0.5 * indents[index])
                if index in bold_rows:
                    for run in paragraph.runs:
                        run.bold = True
        for column, width in zip(grid.columns, widths, strict=True):
            column.width = width  # LibreOffice reads the grid, Word the cells
        for row in grid.rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = width
        for column, cell in enumerate(grid.rows[0].cells):
            if (
                column
                and rows
                and (isinstance(rows[0][column], (int, float)) or _numeric(rows[0][column]))
            ):
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT

    document.add_heading("Study summary", level=1)
    table(
        ["", "Number"],
        [
            ["Transcripts", totals["transcripts"]],
            ["Groups", groups],
            ["Participants", totals["participants"]],
            ["Segments", f"{totals['segments']:,}"],
            ["Segments coded", f"{totals['coded_segments']:,}"],
        ],
    )
    document.add_heading("Theme map", level=1)
    rows: list[list[object]] = []
    bold: set[int] = set()
    indents: list[int] = []
    for theme in report.themes:
        bold.add(len(rows))
        rows.append(
            [
                theme.label,
                theme.counts.segments,
                theme.counts.participants,
                f"{theme.counts.groups}/{groups}",
            ]
        )
        indents.append(0)
        for sub in theme.subthemes:
            rows.append(
                [
                    sub.label,
                    sub.counts.segments,
                    sub.counts.participants,
                    f"{sub.counts.groups}/{groups}",
                ]
            )
            indents.append(1)
            for code in sub.codes:
                rows.append(
                    [
                        code.label,
                        code.counts.segments,
                        code.counts.participants,
                        f"{code.counts.groups}/{groups}",
                    ]
                )
                indents.append(2)
    table(["Theme / subtheme / code", "Segments", "Participants", "Groups"], rows, bold, indents)
    for number, theme in enumerate(report.themes, start=1):
        document.add_heading(f"{number}. {theme.label}", level=1)
        if theme.description:
            document.add_paragraph(theme.description)
        table(
            ["Subtheme", "Segments", "Participants", "Groups"],
            [
                [s.label, s.counts.segments, s.counts.participants, f"{s.counts.groups}/{groups}"]
                for s in theme.subthemes
            ],
        )
        for sub_number, sub in enumerate(theme.subthemes, start=1):
            document.add_heading(f"{number}.{sub_number} {sub.label}", level=2)
            if sub.description:
                document.add_paragraph(sub.description)
            codes = ", ".join(f"{c.label} ({c.counts.segments})" for c in sub.codes)
            document.add_paragraph(f"Codes: {codes}.").runs[0].italic = True
            for quote in sub.quotes:
                document.add_paragraph(
                    f"“{quote.text}” — {quote.speaker}, {quote.group}", style="Quote"
                )
            if not sub.quotes:
                document.add_paragraph("No participant quote was coded for this subtheme.")
    if report.codings is not None:
        document.add_heading("Figures", level=1)
        for index, name in enumerate(figures.available(report), start=1):
            document.add_picture(
                io.BytesIO(figures.render(name, report, "png")),
                width=Cm(16 if name != "theme_segments" else 14),
            )
            document.add_paragraph(f"Figure {index}. {figures.caption(name)}", style="Caption")
    breakdowns = attribute_breakdown(report)
    if breakdowns:
        document.add_heading("Breakdown by participant attributes", level=1)
        document.add_paragraph("Participants with each value who raised the subtheme.")
        for name, frame in breakdowns.items():
            document.add_heading(name, level=2)
            table(
                ["Subtheme", *frame.columns],
                [[sub, *row] for sub, row in zip(frame.index, frame.values.tolist(), strict=True)],
            )
    for section in rigour_sections(report):
        document.add_heading(section.title, level=1)
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
        for grid in section.tables:
            document.add_paragraph(grid.caption, style="Caption")
            table(grid.header, grid.rows)
        for note in section.notes:
            document.add_paragraph(note).runs[0].italic = True
    document.add_heading("Methods", level=1)
    for paragraph in methods_paragraphs(report, info):
        document.add_paragraph(paragraph)
    codebook = report.codings.codebook if report.codings is not None else None
    if codebook is not None:
        document.add_heading("Appendix: codebook", level=1)
        for theme in codebook.themes:
            document.add_heading(theme.label, level=2)
            if theme.description:
                document.add_paragraph(theme.description)
            for sub in theme.subthemes:
                document.add_heading(sub.label, level=3)
                for code in sub.codes:
                    entry = document.add_paragraph()
                    entry.add_run(f"{code.label} ({code.id})").bold = True
                    if code.definition:
                        entry.add_run(f"\n{code.definition}")
                    for label, items in (
                        ("Include", code.include),
                        ("Exclude", code.exclude),
                        ("Examples", code.examples),
                    ):
                        if items:
                            entry.add_run(f"\n{label}: ").italic = True
                            entry.add_run("; ".join(items))
    buffer = io.BytesIO()
    document.save(buffer)
    return reproducible_zip(buffer.getvalue())


def _numeric(value: object) -> bool:
    """Whether a table cell holds a figure ("12", "0.45", "4/5", "0.61 (0.50 to 0.70)")."""
    text = str(value).strip()
    return bool(text) and text[0] in "0123456789—-" and len(text) < 24


def _no_codebook() -> Any:
    from .codebook import Codebook

    return Codebook(name="", themes=())


def write_report(report: ThemeReport, path: str | Path, info: dict[str, Any] | None = None) -> Path:
    """Write the theme report; the format is chosen by the suffix (`.md`, `.json`, `.html`,
    `.docx`, `.xlsx`). `info` (the run's `run.json` content) feeds the methods section.

    The spreadsheet and the HTML figures use the codings the report was built from
    (`report.codings`).
    """
    import json

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".md":
        atomic_write_text(path, theme_report_markdown(report))
    elif suffix == ".json":
        atomic_write_text(path, json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    elif suffix == ".html":
        atomic_write_text(path, theme_report_html(report, info))
    elif suffix == ".docx":
        atomic_write_bytes(path, theme_report_docx(report, info))
    elif suffix == ".xlsx":
        if report.codings is None:
            raise QualcodeError(
                "the spreadsheet report needs the codings",
                file=path,
                fix="build the report with build_themes(codings, codebook)",
            )
        atomic_write_bytes(path, theme_report_xlsx(report))
    else:
        raise QualcodeError(
            f"unknown report format '{suffix or '(no suffix)'}'",
            file=path,
            fix="use .md, .json, .html, .docx or .xlsx",
        )
    return path


def report_sheets(report: ThemeReport) -> dict[str, pd.DataFrame]:
    """The tables of the spreadsheet report, by sheet name."""
    import pandas as pd

    from .codebook import TABLE_COLUMNS, table_rows
    from .themes import co_occurrence, code_by_group

    codings = report.codings
    if codings is None:
        raise QualcodeError(
            "the spreadsheet report needs the codings",
            fix="build the report with build_themes(codings, codebook)",
        )
    themes = [
        {
            "theme_id": t.id,
            "theme": t.label,
            "subtheme_id": "",
            "subtheme": "",
            **t.counts.to_dict(),
            "groups_of": report.totals.get("groups"),
        }
        for t in report.themes
    ]
    themes += [
        {
            "theme_id": t.id,
            "theme": t.label,
            "subtheme_id": s.id,
            "subtheme": s.label,
            **s.counts.to_dict(),
            "groups_of": report.totals.get("groups"),
        }
        for t in report.themes
        for s in t.subthemes
    ]
    quotes = [
        {"theme": t.label, "subtheme": s.label, **q.to_dict(), "codes": ", ".join(q.codes)}
        for t in report.themes
        for s in t.subthemes
        for q in s.quotes
    ]
    sheets = {
        "themes": pd.DataFrame(themes),
        "codes": report.to_frame(),
        "codings": codings.to_frame(),
        "segments": codings.segments.to_frame(),
        "quotes": pd.DataFrame(quotes),
        "code x group": code_by_group(codings).reset_index(),
        "co-occurrence": co_occurrence(codings).reset_index(),
    }
    for name, frame in attribute_breakdown(report).items():
        sheets[f"by {name}"[:31]] = frame.reset_index()
    from .themes import co_occurring_pairs

    sheets["co-occurring pairs"] = pd.DataFrame(
        co_occurring_pairs(codings), columns=["code_a", "code_b", "segments", "turns", "jaccard"]
    )
    if report.agreements:
        frames = []
        for result in report.agreements:
            frame = result.to_frame()
            frame.insert(0, "coder_b", result.coder_b)
            frame.insert(0, "coder_a", result.coder_a)
            frames.append(frame)
        sheets["agreement"] = pd.concat(frames, ignore_index=True)
        sheets["disagreements"] = pd.concat(
            [a.disagreements_frame() for a in report.agreements], ignore_index=True
        )
    if report.saturation is not None:
        sheets["saturation"] = report.saturation.to_frame()
    if codings.codebook is not None:
        sheets["codebook"] = pd.DataFrame(table_rows(codings.codebook), columns=list(TABLE_COLUMNS))
    return sheets


def theme_report_xlsx(report: ThemeReport) -> bytes:
    """The spreadsheet report: one sheet a table, header frozen, filters on, readable widths."""
    return xlsx_bytes(
        {
            name: (
                list(map(str, frame.columns)),
                frame.astype(object).where(frame.notna(), "").values.tolist(),
            )
            for name, frame in report_sheets(report).items()
        }
    )
