"""Human coding: coding sheets a researcher fills in by hand, read back as codings with
`source=human`, and merging human and rule codings.

A coding sheet (CSV or XLSX) has one row a segment (`segment_id, transcript_id, speaker,
text`) and either one column per code id (mark a cell `1`, `x`, `yes` or `✓`) or a `codes`
column listing code ids separated by `;`, `,` or new lines. Cells marked `suggested` or `?`
are suggestions not yet accepted and count as not coded.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from .codebook import Codebook
from .coding import Coding, Codings, anchor_segment, read_codings
from .errors import QualcodeError
from .files import atomic_write_bytes, atomic_write_text, csv_rows, csv_text, xlsx_bytes, xlsx_rows
from .segments import Segments

SEGMENT_COLUMNS = ("segment_id", "transcript_id", "speaker", "text")
SUGGESTED = "suggested"
_YES = frozenset({"1", "x", "yes", "y", "true", "✓", "✔", "coded"})
_NO = frozenset({"", "0", "no", "n", "false", "-", "?", SUGGESTED})
_SEPARATORS = re.compile(r"[;,\n]+")


def write_coding_sheet(
    segments: Segments,
    codebook: Codebook,
    path: str | Path,
    *,
    layout: str = "columns",
    suggestions: Codings | None = None,
    include_moderators: bool = False,
) -> Path:
    """Write a sheet for coding by hand: `layout="columns"` gives one column per code,
    `"list"` one `codes` column. `suggestions` (e.g. the rule codings) pre-fill cells with
    `suggested`, which count only once a coder changes them to `1`."""
    if layout not in ("columns", "list"):
        raise ValueError("layout is 'columns' or 'list'")
    path = Path(path)
    code_ids = [code.id for code in codebook.codes]
    suggested: dict[str, set[str]] = {}
    for coding in suggestions or ():
        suggested.setdefault(coding.segment_id, set()).add(coding.code_id)
    rows = []
    for segment in segments:
        if segment.role == "moderator" and not include_moderators:
            continue
        base = [segment.id, segment.transcript_id, segment.speaker, segment.text]
        marks = suggested.get(segment.id, set())
        if layout == "columns":
            rows.append(base + [SUGGESTED if c in marks else "" for c in code_ids])
        else:
            listed = "; ".join(f"{c}?" for c in code_ids if c in marks)
            rows.append([*base, listed])
    header = [*SEGMENT_COLUMNS, *(code_ids if layout == "columns" else ["codes"])]
    if path.suffix.lower() == ".xlsx":
        legend = [(code.id, code.label, code.definition) for code in codebook.codes]
        atomic_write_bytes(
            path,
            xlsx_bytes(
                {"coding": (header, rows), "codes": (("code_id", "label", "definition"), legend)}
            ),
        )
    else:
        atomic_write_text(path, csv_text(header, rows))
    return path


def read_table(path: Path) -> list[tuple[int, list[str]]]:
    """The rows of a CSV or XLSX table (first sheet) with their line numbers."""
    if path.suffix.lower() == ".xlsx":
        return xlsx_rows(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise QualcodeError(
            "not UTF-8 text", file=path, fix="save the sheet as CSV UTF-8 or as .xlsx"
        ) from None
    return csv_rows(text, path)


def read_coding_sheet(
    path: str | Path,
    segments: Segments,
    codebook: Codebook | None = None,
    *,
    coder: str | None = None,
) -> Codings:
    """Read a filled-in coding sheet as human codings (one column per code, or a `codes`
    column). The coder is `coder`, else the sheet's file name."""
    path = Path(path)
    if not path.is_file():
        raise QualcodeError("the coding sheet does not exist", file=path, fix="check the path")
    rows = [(line, row) for line, row in read_table(path) if any(c.strip() for c in row)]
    if not rows:
        raise QualcodeError(
            "the coding sheet is empty", file=path, line=1, fix="give a sheet with a header row"
        )
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    if "segment_id" not in header:
        raise QualcodeError(
            "no segment_id column",
            file=path,
            line=header_line,
            fix="keep the segment_id column of the sheet qualcode wrote",
        )
    known = {code.id: code for code in codebook.codes} if codebook else {}
    if "codes" in header:
        code_columns: list[tuple[int, str]] = []
    else:
        code_columns = [
            (i, h) for i, h in enumerate(header) if h and h not in SEGMENT_COLUMNS and h != "memo"
        ]
        unknown = [h for _, h in code_columns if known and h not in known]
        if unknown:
            raise QualcodeError(
                f"unknown code column '{unknown[0]}'",
                file=path,
                line=header_line,
                fix="name code columns by the code ids of the codebook",
            )
    id_column = header.index("segment_id")
    text_column = header.index("text") if "text" in header else None
    codes_column = header.index("codes") if "codes" in header else None
    name = coder or default_coder_name(path)
    items: list[Coding] = []
    for line, row in rows[1:]:
        cell = row[id_column].strip() if id_column < len(row) else ""
        coded_text = row[text_column] if text_column is not None and text_column < len(row) else ""
        segment = anchor_segment(segments, cell, coded_text)
        if segment is None:
            raise QualcodeError(
                "unknown segment id"
                if segments.get(cell) is None
                else "the segment's text is not the text in the sheet",
                file=path,
                line=line,
                fix="use the segment ids of segments.csv (write a new sheet after re-running)",
            )
        if codes_column is not None:
            listed = row[codes_column] if codes_column < len(row) else ""
            chosen = [c.strip() for c in _SEPARATORS.split(listed) if c.strip()]
            chosen = [c for c in chosen if not c.endswith("?")]
        else:
            chosen = []
            for index, code_id in code_columns:
                mark = (row[index] if index < len(row) else "").strip().casefold()
                if mark in _YES:
                    chosen.append(code_id)
                elif mark not in _NO:
                    raise QualcodeError(
                        f"cannot read the mark '{mark[:20]}' in column {code_id}",
                        file=path,
                        line=line,
                        fix="mark coded cells with 1 or x and leave the others empty",
                    )
        for code_id in dict.fromkeys(chosen):
            code = known.get(code_id)
            if known and code is None:
                raise QualcodeError(
                    f"unknown code id '{code_id}'",
                    file=path,
                    line=line,
                    fix="use the code ids of the codebook",
                )
            items.append(
                Coding(
                    segment.id,
                    segment.transcript_id,
                    segment.speaker,
                    code_id,
                    code.subtheme_id if code else "",
                    code.theme_id if code else "",
                    1.0,
                    (),
                    "human",
                    name,
                )
            )
    return Codings(items, segments, codebook)


def default_coder_name(path: Path) -> str:
    """A coder's name from a file name: `coding_coder_a.csv` → `coder_a`."""
    stem = path.stem
    for prefix in ("codings_", "coding_", "sheet_"):
        if stem.startswith(prefix) and len(stem) > len(prefix):
            return stem[len(prefix) :]
    return stem


def is_codings_file(path: Path) -> bool:
    """Whether a CSV is a `codings.csv` (one row a coding) rather than a coding sheet."""
    if path.suffix.lower() != ".csv":
        return False
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = next(csv.reader([handle.readline()]), [])  # the header row only
    names = {h.strip() for h in header}
    return "code_id" in names and "segment_id" in names


def load_codings(
    path: str | Path,
    segments: Segments,
    codebook: Codebook | None = None,
    *,
    coder: str | None = None,
) -> Codings:
    """Human codings from a `codings.csv` or a coding sheet (CSV or XLSX), each coding with
    its coder (the file's `coder` column, else `coder`, else the file name)."""
    path = Path(path)
    if not path.is_file():
        raise QualcodeError("the codings file does not exist", file=path, fix="check the path")
    if not is_codings_file(path):
        return read_coding_sheet(path, segments, codebook, coder=coder)
    codings = read_codings(path, segments, codebook)
    name = coder or default_coder_name(path)
    return Codings(
        (c if c.coder and not coder else replace(c, coder=name) for c in codings),
        segments,
        codebook,
    )


def merge_codings(
    base: Codings, human: Iterable[Codings] | Codings, *, human_overrides: bool = False
) -> Codings:
    """Rule (or model) codings and human codings as one `Codings`. The same segment and code
    is kept once, the human coding first. With `human_overrides`, a segment a human coded is
    decided by the human: rule codings of other codes on it are dropped."""
    humans = [human] if isinstance(human, Codings) else list(human)
    human_items = [c for each in humans for c in each]
    decided = {c.segment_id for c in human_items}
    seen: set[tuple[str, str]] = set()
    items = []
    for coding in human_items:
        if (coding.segment_id, coding.code_id) not in seen:
            seen.add((coding.segment_id, coding.code_id))
            items.append(coding)
    for coding in base:
        key = (coding.segment_id, coding.code_id)
        if key in seen or (human_overrides and coding.segment_id in decided):
            continue
        seen.add(key)
        items.append(coding)
    order = {s.id: i for i, s in enumerate(base.segments)}
    items.sort(key=lambda c: order.get(c.segment_id, len(order)))
    return Codings(items, base.segments, base.codebook)
