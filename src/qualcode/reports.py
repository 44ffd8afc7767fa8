"""Reports a supervisor reads: the theme report as Markdown (`report.md`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import QualcodeError
from .files import atomic_write_bytes, atomic_write_text

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
    return "\n".join(lines).rstrip() + "\n"


def write_report(report: ThemeReport, path: str | Path) -> Path:
    """Write the theme report; the format is chosen by the suffix (`.md`, `.json`, `.xlsx`).

    The spreadsheet also holds the codings, segments, codebook and matrices, which it takes
    from the codings the report was built from (`report.codings`).
    """
    import json

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".md":
        atomic_write_text(path, theme_report_markdown(report))
    elif suffix == ".json":
        atomic_write_text(path, json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
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
            fix="use .md, .json or .xlsx",
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
    if codings.codebook is not None:
        sheets["codebook"] = pd.DataFrame(table_rows(codings.codebook), columns=list(TABLE_COLUMNS))
    return sheets


def theme_report_xlsx(report: ThemeReport) -> bytes:
    """The spreadsheet report: one sheet a table, header frozen, filters on, readable widths."""
    import io

    import pandas as pd
    from openpyxl.styles import Alignment, Font

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in report_sheets(report).items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            sheet.auto_filter.ref = sheet.dimensions
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for column in sheet.columns:
                width = max(len(str(c.value or "")) for c in column[:200])
                sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
                if width > 60:
                    for cell in column[1:]:
                        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return buffer.getvalue()
