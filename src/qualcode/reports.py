"""Reports a supervisor reads: the theme report as Markdown (`report.md`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import QualcodeError
from .files import atomic_write_text

if TYPE_CHECKING:
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
    """Write the theme report; the format is chosen by the suffix (`.md`, `.json`)."""
    import json

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".md":
        atomic_write_text(path, theme_report_markdown(report))
    elif suffix == ".json":
        atomic_write_text(path, json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        raise QualcodeError(
            f"unknown report format '{suffix or '(no suffix)'}'", file=path, fix="use .md or .json"
        )
    return path
