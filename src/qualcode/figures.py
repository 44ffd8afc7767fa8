"""Figures of the theme report (matplotlib): SVG for HTML, PNG for Word.

- `prevalence`: share of participants in each group who raised each subtheme (a heatmap);
- `theme_segments`: coded segments per theme (a bar chart);
- `co_occurrence`: segments coded with both codes (a heatmap of the codes that were used);
- `saturation`: new and cumulative codes over the groups in the order they were held.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .themes import ThemeReport

FIGURES = ("prevalence", "theme_segments", "co_occurrence", "saturation")
_CAPTIONS = {
    "prevalence": "Subthemes by group: share of the group's participants who raised each subtheme",
    "theme_segments": "Coded segments per theme",
    "co_occurrence": "Code co-occurrence: segments coded with both codes",
    "saturation": "Saturation: new codes in each group (bars) and codes found so far (line)",
}


def available(report: ThemeReport) -> list[str]:
    """The figures this report can draw (saturation needs the saturation view)."""
    if report.codings is None:
        return []
    return [
        name
        for name in FIGURES
        if name != "saturation" or (report.saturation is not None and report.saturation.steps)
    ]


MAX_WIDTH = 14.0  # inches: a figure for 200 groups stays printable
MAX_LABELLED_GROUPS = 30
MAX_CO_OCCURRING_CODES = 40  # the co-occurrence heatmap shows at most this many codes


def caption(name: str) -> str:
    return _CAPTIONS[name]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    figure.set_layout_engine("constrained")
    return figure


def prevalence(report: ThemeReport) -> Figure:
    """Heatmap of subthemes × groups: participants who raised it / participants in the group."""
    codings = report.codings
    if codings is None:
        raise ValueError("the figure needs the codings the report was built from")
    groups = list(dict.fromkeys(s.group for s in codings.segments))
    members: dict[str, set[str]] = {g: set() for g in groups}
    for segment in codings.segments:
        if segment.role == "participant":
            members[segment.group].add(segment.speaker)
    segment_of = {s.id: s for s in codings.segments}
    code_to_sub = {
        c.id: (t.label, s.label) for t in report.themes for s in t.subthemes for c in s.codes
    }
    subthemes = [(t.label, s.label) for t in report.themes for s in t.subthemes]
    raised: dict[tuple[tuple[str, str], str], set[str]] = {}
    for coding in codings:
        segment = segment_of.get(coding.segment_id)
        if segment is None or segment.role != "participant" or coding.code_id not in code_to_sub:
            continue
        raised.setdefault((code_to_sub[coding.code_id], segment.group), set()).add(segment.speaker)
    values = [
        [len(raised.get((sub, g), ())) / max(len(members[g]), 1) for g in groups]
        for sub in subthemes
    ]
    many = len(groups) > MAX_LABELLED_GROUPS  # a large project: colours only, fewer labels
    longest = max((len(g) for g in groups), default=0)
    label_room = longest * (6 if many else 10 * 0.5) * 0.6 / 72  # inches under the axes
    figure = _figure(
        min(1.6 + 0.9 * len(groups), MAX_WIDTH), max(2.0, 0.9 + 0.32 * len(subthemes) + label_room)
    )
    axes = figure.add_subplot()
    image = axes.imshow(
        values, cmap="Blues", vmin=0, vmax=1, aspect="auto", interpolation="nearest"
    )
    if many:
        step = -(-len(groups) // MAX_LABELLED_GROUPS)
        shown = range(0, len(groups), step)
        axes.set_xticks(list(shown), [groups[i] for i in shown], rotation=90, fontsize=6)
    else:
        axes.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    axes.set_yticks(range(len(subthemes)), [label for _, label in subthemes])
    for row, line in enumerate([] if many else values):
        for col, value in enumerate(line):
            axes.text(
                col,
                row,
                f"{value:.0%}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > 0.6 else "black",
            )
    figure.colorbar(image, ax=axes, shrink=0.6, format=lambda x, _: f"{x:.0%}")
    return figure


def theme_segments(report: ThemeReport) -> Figure:
    """Horizontal bars: coded segments per theme, split by subtheme."""
    labels = [t.label for t in report.themes]
    figure = _figure(6.5, 0.8 + 0.5 * len(labels))
    axes = figure.add_subplot()
    axes.barh(labels, [t.counts.segments for t in report.themes], color="#3b6ea8")
    axes.invert_yaxis()
    axes.set_xlabel("coded segments")
    for index, theme in enumerate(report.themes):
        axes.text(
            theme.counts.segments, index, f" {theme.counts.segments}", va="center", fontsize=8
        )
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def co_occurrence(report: ThemeReport) -> Figure:
    """Heatmap of segments coded with two codes (codes that were used; diagonal left out)."""
    from .themes import co_occurrence as matrix_of

    if report.codings is None:
        raise ValueError("the figure needs the codings the report was built from")
    matrix = matrix_of(report.codings)
    used = [code for code in matrix.index if matrix.loc[code, code] > 0]
    shown = used
    if len(used) > MAX_CO_OCCURRING_CODES:
        # a heatmap of hundreds of codes is unreadable and takes minutes to draw: the codes
        # that share the most segments with others, in codebook order
        counts = matrix.loc[used, used]
        shared = counts.sum(axis=1) - counts.to_numpy().diagonal()
        top = set(shared.sort_values(ascending=False, kind="stable").index[:MAX_CO_OCCURRING_CODES])
        shown = [code for code in used if code in top]
    values = matrix.loc[shown, shown].to_numpy().astype(float)
    for i in range(len(shown)):  # the diagonal (each code's own count) would drown the rest
        values[i][i] = float("nan")
    size = 2.5 + 0.22 * len(shown)
    figure = _figure(size + 1, size)
    axes = figure.add_subplot()
    if len(shown) < len(used):
        axes.set_title(
            f"the {len(shown)} of {len(used)} codes that share the most segments", fontsize=8
        )
    image = axes.imshow(values, cmap="Oranges", aspect="auto", interpolation="nearest")
    for row, line in enumerate(values):
        for col, value in enumerate(line):
            if value and value == value:
                axes.text(col, row, f"{value:.0f}", ha="center", va="center", fontsize=6)
    axes.set_xticks(range(len(shown)), shown, rotation=90, fontsize=6)
    axes.set_yticks(range(len(shown)), shown, fontsize=6)
    figure.colorbar(image, ax=axes, shrink=0.6)
    return figure


def saturation(report: ThemeReport) -> Figure:
    """Bars of new codes per group and a line of cumulative codes, in session order."""
    if report.saturation is None or not report.saturation.steps:
        raise ValueError("the figure needs the report's saturation view")
    steps = report.saturation.steps
    names = [step.transcript_id for step in steps]
    figure = _figure(min(1.5 + 0.8 * len(names), MAX_WIDTH), 3.2)
    axes = figure.add_subplot()
    axes.bar(names, [len(s.new_codes) for s in steps], color="#9ecae1", label="new codes")
    axes.plot(names, [s.cumulative for s in steps], color="#3b6ea8", marker="o", label="cumulative")
    axes.set_ylabel("codes")
    axes.set_ylim(0, max(s.cumulative for s in steps) * 1.15 + 1)
    axes.tick_params(axis="x", rotation=30 if len(names) <= MAX_LABELLED_GROUPS else 90)
    if len(names) > MAX_LABELLED_GROUPS:
        step = -(-len(names) // MAX_LABELLED_GROUPS)
        axes.set_xticks(range(0, len(names), step), names[::step], fontsize=6)
    axes.legend(frameon=False, fontsize=8, loc="lower right")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def render(name: str, report: ThemeReport, fmt: str = "svg") -> bytes:
    """A figure as SVG or PNG bytes."""
    figure = {
        "prevalence": prevalence,
        "theme_segments": theme_segments,
        "co_occurrence": co_occurrence,
        "saturation": saturation,
    }[name](report)
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "qualcode"}):  # the same SVG for the same data
        figure.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()
