"""Format readers: bytes on disk → raw turns (label, text, times, source line).

Each reader returns a `RawTranscript`; `transcripts.read_transcript` turns it into a
`Transcript` by resolving speakers and roles through the roster. Readers keep every word:
verbatim notation stays in the text, and text before the first label becomes an `UNKNOWN`
turn.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import html
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import TranscriptFormatError, warn
from .files import csv_rows as read_csv_rows
from .labels import LabelMatch, find_labels, parse_time

UNKNOWN_SPEAKER = "UNKNOWN"


@dataclass
class RawTurn:
    """A turn as found in the file, before the roster is applied."""

    label: str
    text: str
    line: int | None
    start: float | None = None
    end: float | None = None


@dataclass
class RawTranscript:
    """What a reader found: turns, front-matter metadata and the encoding used."""

    turns: list[RawTurn]
    metadata: dict[str, Any] = field(default_factory=dict)
    encoding: str = "utf-8"


_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (perhaps a .docx or .xlsx with the wrong suffix)",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\xd0\xcf\x11\xe0": "an old Office document (.doc/.xls)",
    b"{\\rtf": "an RTF document",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


MAX_TEXT_BYTES = 20 * 2**20  # a verbatim transcript of a whole day is about 1 MB
MAX_LINE_CHARS = 1_000_000  # labels start lines: a longer line lost its line breaks


def read_bytes(path: Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """A text file's bytes, refusing one too big to be a transcript of one session."""
    size = path.stat().st_size
    if size > limit:
        raise TranscriptFormatError(
            f"the file is {size / 2**20:.0f} MB, more than the {limit / 2**20:.0f} MB a "
            "transcript of one session can be",
            file=path,
            fix="split it into one file per session, or check that it is a transcript",
        )
    return path.read_bytes()


def _unmarked_utf16(data: bytes) -> str | None:
    """`utf-16-le`/`utf-16-be` when the bytes look like UTF-16 text without a BOM (a NUL in
    every other byte of most characters), else None."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2 or len(data) % 2:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if odd > 0.3 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.3 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Decode a text file: UTF-8 or UTF-16/32 with BOM, else detect (with a warning).

    Returns the text with line endings normalised to `\\n`, and the encoding's name.
    """
    if not data.strip():
        raise TranscriptFormatError(
            "the file is empty", file=path, fix="export the transcript again"
        )
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise TranscriptFormatError(
                f"this is {kind}, not a text transcript",
                file=path,
                line=1,
                fix="export the transcript as .txt, .docx, .vtt, .srt, .csv or .xlsx",
            )
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    unmarked = _unmarked_utf16(data) if encoding is None else None
    if unmarked is not None:
        try:
            text = data.decode(unmarked)
        except UnicodeDecodeError:
            unmarked = None
        else:
            encoding = unmarked
            warn(
                f"not UTF-8; read as {unmarked} (UTF-16 without a byte order mark)",
                file=path,
                fix="check special characters, or save the file as UTF-8",
            )
    if encoding is None:
        try:
            text = data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            text, encoding = _detect(data, path)
    elif unmarked is None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise TranscriptFormatError(
                f"the file starts with a {encoding.upper()} byte order mark but is not "
                f"{encoding.upper()} text",
                file=path,
                line=1,
                fix="save it again as UTF-8 text",
            ) from None
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise TranscriptFormatError(
            "the file holds NUL bytes: it is binary or in an unmarked UTF-16",
            file=path,
            line=line,
            fix="save it as UTF-8 text",
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_LINE_CHARS:
        for number, line in enumerate(text.split("\n"), start=1):
            if len(line) > MAX_LINE_CHARS:
                raise TranscriptFormatError(
                    f"line {number} has {len(line):,} characters without a line break",
                    file=path,
                    line=number,
                    fix="the file lost its line breaks or is not a transcript: save it with "
                    "one line per turn",
                )
    return text, encoding


# How common a letter is in the languages written in Western (cp1252) and Central European
# (cp1250) code pages: it breaks ties that charset-normalizer leaves between them.
_LETTER_WEIGHT = {
    **dict.fromkeys("èà", 4.0),
    **dict.fromkeys("éáóíúöüäç", 0.0),
    **dict.fromkeys("ñ", 2.0),
    **dict.fromkeys("êâôîëïøåæ", 1.0),
    **dict.fromkeys("ûùòì", 0.5),
    **dict.fromkeys("õã", 0.3),
    **dict.fromkeys("ő", 3.0),
    **dict.fromkeys("ű", 1.5),
    **dict.fromkeys("čřěšžłąęśćńż", 2.0),
    **dict.fromkeys("ůťďňźăşţľ", 1.0),
    **dict.fromkeys("ŕĺ", 0.1),
}


def _letter_score(text: str) -> float:
    return sum(_LETTER_WEIGHT.get(char, 0.0) for char in text.casefold() if ord(char) > 127)


def _detect(data: bytes, path: Path) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    best = matches[0] if matches else None
    if best is not None:
        tied = [
            m
            for m in matches
            if (m.percent_chaos, m.percent_coherence)
            == (best.percent_chaos, best.percent_coherence)
        ]
        preference = ["cp1252", "cp1250", "iso8859_2", "cp1257"]
        tied.sort(
            key=lambda m: (
                -_letter_score(str(m)),
                preference.index(m.encoding) if m.encoding in preference else len(preference),
            )
        )
        best = tied[0]
    if best is None or best.encoding is None:
        raise TranscriptFormatError(
            "the file is not text in any known encoding",
            file=path,
            fix="save it as UTF-8 text",
        )
    warn(
        f"not UTF-8; read as {best.encoding}",
        file=path,
        fix="check special characters, or save the file as UTF-8",
    )
    return str(best), best.encoding


def _no_labels(path: Path) -> TranscriptFormatError:
    return TranscriptFormatError(
        "no speaker labels found",
        file=path,
        line=1,
        fix="start each turn with a label such as 'Anna:' or 'P1:', or give a roster",
    )


def turns_from_lines(
    lines: Sequence[str],
    line_numbers: Sequence[int],
    known: Iterable[str],
    path: Path,
) -> list[RawTurn]:
    """Group lines into turns at speaker labels; other lines continue the current turn."""
    labels = find_labels(lines, known)
    timing_headers(lines, labels)
    if not any(labels):
        raise _no_labels(path)
    turns: list[RawTurn] = []
    parts: list[str] = []

    def close() -> None:
        if turns:
            turns[-1].text = "\n".join(parts)
        parts.clear()

    for line, number, label in zip(lines, line_numbers, labels):
        if label is _CONSUMED:
            continue
        if label is not None:
            close()
            turns.append(RawTurn(label.label, "", number, start=label.start, end=label.end))
            if label.text:
                parts.append(label.text)
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if not turns:
            warn(
                "text before the first speaker label kept as an UNKNOWN turn",
                file=path,
                line=number,
                fix="add a label if a person said it",
            )
            turns.append(RawTurn(UNKNOWN_SPEAKER, "", number))
        parts.append(stripped)
    close()
    return turns


_TIMING_LINE = re.compile(
    r"^\s*(?P<start>\d+:\d+:\d+(?:[.,]\d+)?)\s*-->\s*(?P<end>\d+:\d+:\d+(?:[.,]\d+)?)\s*$"
)


def timing_headers(lines: Sequence[str], labels: list[LabelMatch | None]) -> None:
    """The Microsoft Stream / older Teams layout: a `0:0:0.0 --> 0:0:4.56` line, then the
    speaker's name alone on a line, then the text. Marks the name as a label (in place)."""
    for i in range(len(lines) - 2):
        timing = _TIMING_LINE.match(lines[i])
        name = lines[i + 1].strip()
        if not timing or not name or labels[i + 1] is not None:
            continue
        if len(name) > 60 or len(name.split()) > 6 or name[-1] in ".?!":
            continue
        labels[i] = _CONSUMED
        labels[i + 1] = LabelMatch(
            name, "", parse_time(timing["start"]), True, True, parse_time(timing["end"])
        )


_CONSUMED = LabelMatch("", "", None, True, True)


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], list[str], int]:
    """Split optional YAML front matter; returns (metadata, remaining lines, first line no)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, lines, 1
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            try:
                meta = _safe_yaml("\n".join(lines[1:i]), path) or {}
            except RecursionError:
                raise TranscriptFormatError(
                    "the front matter is nested too deeply",
                    file=path,
                    line=2,
                    fix="write it as 'key: value' lines between two '---' lines",
                ) from None
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                line = mark.line + 2 if mark is not None else 1
                raise TranscriptFormatError(
                    "the front matter is not valid YAML",
                    file=path,
                    line=line,
                    fix="write it as 'key: value' lines between two '---' lines",
                ) from None
            if not isinstance(meta, dict):
                raise TranscriptFormatError(
                    "the front matter is not a mapping of keys to values",
                    file=path,
                    line=2,
                    fix="write it as 'key: value' lines between two '---' lines",
                )
            return _plain(meta), lines[i + 1 :], i + 2
    return {}, lines, 1


def _safe_yaml(text: str, path: Path) -> Any:
    """`yaml.safe_load`, refusing documents that aliases expand to an enormous size."""
    from .codebook import _expanded_size

    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is not None and _expanded_size(node, {}) > 10_000:
        raise TranscriptFormatError(
            "the front matter expands to an enormous document (an alias bomb?)",
            file=path,
            line=2,
            fix="write it as 'key: value' lines without '*alias' references",
        )
    return yaml.safe_load(text)


def _plain(value: Any) -> Any:
    """Metadata as JSON-friendly values: dates become ISO strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def read_text(path: Path, known: Iterable[str] = ()) -> RawTranscript:
    """`.txt` / `.md`: labels at line starts, Otter/Rev headers, optional YAML front matter."""
    text, encoding = decode(read_bytes(path), path)
    metadata, lines, first = _front_matter(text, path)
    numbers = range(first, first + len(lines))
    return RawTranscript(turns_from_lines(lines, numbers, known, path), metadata, encoding)


# --- DOCX -----------------------------------------------------------------------------

_SPEAKER_HEADERS = {"speaker", "name", "speaker name", "participant", "person", "who"}
_TEXT_HEADERS = {
    "text",
    "utterance",
    "transcript",
    "content",
    "speech",
    "transcription",
    "dialogue",
    "what was said",
}
_START_HEADERS = {
    "start",
    "start time",
    "start_time",
    "begin",
    "time",
    "timestamp",
    "from",
    "in",
    "start (s)",
    "time stamp",
}
_END_HEADERS = {"end", "end time", "end_time", "stop", "to", "out", "end (s)"}


def _header_index(header: Sequence[str], names: set[str]) -> int | None:
    for i, cell in enumerate(header):
        if " ".join(str(cell or "").strip().casefold().split()) in names:
            return i
    return None


def read_docx(path: Path, known: Iterable[str] = ()) -> RawTranscript:
    """`.docx`: paragraphs as lines with the text rules; speaker/text tables as turns."""
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_archive(
        path, "Word document", "open it in Word or LibreOffice and save it again as .docx"
    )
    try:
        document = Document(str(path))
    except (PackageNotFoundError, *BROKEN_ARCHIVE) as error:
        raise TranscriptFormatError(
            f"not a readable Word document ({type(error).__name__})",
            file=path,
            fix="open it in Word or LibreOffice and save it again as .docx",
        ) from None
    except Exception as error:  # lxml's XMLSyntaxError and friends
        if _xml_error(error):
            raise TranscriptFormatError(
                "the Word document's XML is broken",
                file=path,
                fix="open it in Word or LibreOffice and save it again as .docx",
            ) from None
        raise
    blocks: list[str | list[list[str]]] = [
        block.text
        if isinstance(block, Paragraph)
        else [[cell.text.strip() for cell in row.cells] for row in block.rows]
        for block in document.iter_inner_content()
        if isinstance(block, (Paragraph, Table))
    ]
    return _block_turns(blocks, list(known), path)


def _block_turns(
    blocks: Iterable[str | list[list[str]]], known: list[str], path: Path
) -> RawTranscript:
    """Turns of a word-processor document given as paragraphs (text) and tables (rows of
    cells): paragraphs follow the text rules, speaker/text tables give turns directly."""
    lines: list[str] = []
    numbers: list[int] = []
    table_turns: list[RawTurn] = []
    paragraph_no = 0
    for block in blocks:
        if isinstance(block, str):
            paragraph_no += 1
            for part in block.split("\n"):
                lines.append(part)
                numbers.append(paragraph_no)
            continue
        found = _table_turns(block)
        if found is None:
            for row in block:
                paragraph_no += 1
                lines.append(" ".join(dict.fromkeys(c for c in row if c)))
                numbers.append(paragraph_no)
        else:
            table_turns.extend(found)
    return _document_turns(lines, numbers, table_turns, known, path)


# what a damaged ZIP member raises while it is unpacked
BROKEN_ARCHIVE = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError)


def _xml_error(error: Exception) -> bool:
    """Whether an exception is an XML parser's (lxml, ElementTree, expat)."""
    return type(error).__module__.split(".")[0] in ("lxml", "xml", "pyexpat")


MAX_UNPACKED = 256 * 2**20  # what the parts of a long transcript's document unpack to at most
MAX_RATIO = 200  # a ZIP member that unpacks to more than this many times its size is a bomb


def check_archive(path: Path, kind: str, fix: str) -> None:
    """Refuse a ZIP-based document (`.docx`, `.xlsx`) whose parts would unpack to an
    enormous size (a ZIP bomb) before a library unpacks them."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise TranscriptFormatError(
            f"not a readable {kind} ({type(error).__name__})", file=path, fix=fix
        ) from None
    total = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if total > MAX_UNPACKED or (total > 2**20 and total > MAX_RATIO * max(packed, 1)):
        raise TranscriptFormatError(
            f"the {kind} unpacks to {total / 2**20:,.0f} MB from {packed / 2**20:,.1f} MB "
            "(a ZIP bomb?)",
            file=path,
            fix=fix,
        )


def _document_turns(
    lines: list[str],
    numbers: list[int],
    table_turns: list[RawTurn],
    known: Iterable[str],
    path: Path,
) -> RawTranscript:
    """A word processor's document: its speaker table if it has one, else its paragraphs
    read with the text rules."""
    if table_turns and not any(line.strip() for line in lines):
        return RawTranscript(table_turns)
    if table_turns:
        warn(
            "both paragraphs and a speaker table found; reading the table",
            file=path,
            fix="keep the transcript in one layout",
        )
        return RawTranscript(table_turns)
    if not any(line.strip() for line in lines):
        raise TranscriptFormatError(
            "the document holds no text", file=path, fix="check that this is the transcript"
        )
    return RawTranscript(turns_from_lines(lines, numbers, known, path))


def _table_turns(rows: list[list[str]]) -> list[RawTurn] | None:
    """Turns from a table whose header names a speaker and a text column, else None."""
    if len(rows) < 2:
        return None
    header = rows[0]
    speaker_col = _header_index(header, _SPEAKER_HEADERS)
    text_col = _header_index(header, _TEXT_HEADERS)
    if speaker_col is None or text_col is None:
        return None
    start_col = _header_index(header, _START_HEADERS)
    end_col = _header_index(header, _END_HEADERS)
    turns: list[RawTurn] = []
    for number, row in enumerate(rows[1:], start=2):
        text = row[text_col].strip()
        speaker = row[speaker_col].strip().rstrip(":").strip()
        if not text and not speaker:
            continue
        turns.append(
            RawTurn(
                speaker or (turns[-1].label if turns else UNKNOWN_SPEAKER),
                text,
                number,
                start=_time_value(row[start_col]) if start_col is not None else None,
                end=_time_value(row[end_col]) if end_col is not None else None,
            )
        )
    return turns


# --- OpenDocument text (.odt) ---------------------------------------------------------

_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ODF_DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"  # frames, shapes
_ODT_MAX_BYTES = 64 * 2**20  # content.xml of a long transcript is a few MiB
_ODT_MAX_RATIO = 200  # a ZIP member that unpacks to more than this is a bomb
# elements whose text is not the document's running text: notes, comments, deleted text of
# tracked changes, frames and shapes, index titles
_ODT_SKIP = frozenset(
    {
        f"{{{_ODF_TEXT}}}note",
        f"{{{_ODF_TEXT}}}tracked-changes",
        f"{{{_ODF_TEXT}}}sequence-decls",
        f"{{{_ODF_OFFICE}}}annotation",
        f"{{{_ODF_OFFICE}}}annotation-end",
        f"{{{_ODF_OFFICE}}}forms",
    }
)
_ODT_SPACE = re.compile(r"[ \t\r\n]+")


def _odt_error(path: Path, what: str) -> TranscriptFormatError:
    return TranscriptFormatError(
        what, file=path, fix="open it in LibreOffice or Word and save it again as .odt"
    )


def _odt_content(path: Path) -> bytes:
    """The bytes of `content.xml`, read with limits on its size and compression ratio."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("content.xml")
            except KeyError:
                raise _odt_error(path, "not an OpenDocument text (no content.xml)") from None
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _ODT_MAX_BYTES or (
                info.file_size > 2**20 and ratio > _ODT_MAX_RATIO
            ):
                size = f"{info.file_size:,} bytes"
                raise _odt_error(path, f"content.xml unpacks to {size}: too large or a ZIP bomb")
            with archive.open(info) as handle:
                data = handle.read(_ODT_MAX_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        kind = type(error).__name__
        raise _odt_error(path, f"not a readable OpenDocument text ({kind})") from None
    if len(data) > _ODT_MAX_BYTES:
        raise _odt_error(path, "content.xml unpacks to more than it declares (a ZIP bomb?)")
    return data


def _odt_root(data: bytes, path: Path) -> Any:
    """Parse content.xml without DTDs, entities or network access."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise _odt_error(path, "the document's XML is broken") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _odt_error(path, "content.xml declares a DTD, which OpenDocument never needs")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise _odt_error(path, "content.xml uses entity references")
    return root


def _odt_text(element: Any) -> str:
    """The running text of a paragraph or heading: spaces collapsed as ODF says, `text:s`
    as its count of spaces, tabs and line breaks kept."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if node.text:
            parts.append(_ODT_SPACE.sub(" ", node.text))
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == f"{{{_ODF_TEXT}}}s":
                parts.append(" " * int(child.get(f"{{{_ODF_TEXT}}}c", "1") or 1))
            elif tag == f"{{{_ODF_TEXT}}}tab":
                parts.append("\t")
            elif tag == f"{{{_ODF_TEXT}}}line-break":
                parts.append("\n")
            elif tag and tag not in _ODT_SKIP and not tag.startswith(_ODF_DRAW):
                walk(child)
            if child.tail:
                parts.append(_ODT_SPACE.sub(" ", child.tail))

    walk(element)
    return "".join(parts)


def odt_blocks(path: Path) -> list[str | list[list[str]]]:
    """The body of an `.odt` in document order: a paragraph or heading as its text, a table
    as its rows of cell texts. Lists and sections are read through."""
    root = _odt_root(_odt_content(path), path)
    body = root.find(f"{{{_ODF_OFFICE}}}body/{{{_ODF_OFFICE}}}text")
    if body is None:
        raise _odt_error(path, "not an OpenDocument text (no text body)")
    blocks: list[str | list[list[str]]] = []
    paragraph = {f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"}

    def cell_text(cell: Any) -> str:
        return "\n".join(_odt_text(p) for p in cell.iter(*paragraph)).strip()

    def walk(node: Any) -> None:
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in paragraph:
                blocks.append(_odt_text(child))
            elif tag == f"{{{_ODF_TABLE}}}table":
                rows = [
                    [cell_text(c) for c in row if c.tag == f"{{{_ODF_TABLE}}}table-cell"]
                    for row in child.iter(f"{{{_ODF_TABLE}}}table-row")
                ]
                blocks.append(rows)
            elif tag and tag not in _ODT_SKIP:
                walk(child)

    walk(body)
    return blocks


def read_odt(path: Path, known: Iterable[str] = ()) -> RawTranscript:
    """`.odt` (LibreOffice, Google Docs, Word's OpenDocument export): paragraphs as lines with
    the text rules; speaker/text tables as turns, as for `.docx`."""
    return _block_turns(odt_blocks(path), list(known), path)


# --- WebVTT and SubRip ----------------------------------------------------------------

_CUE_TIME = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_TIMING = re.compile(rf"^\s*(?P<start>{_CUE_TIME})\s*-->\s*(?P<end>{_CUE_TIME})(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.[\w.\-]+)?\s+(?P<name>[^>]+)>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>")


@dataclass
class _Cue:
    line: int
    start: float | None
    end: float | None
    lines: list[str]


def _blocks(lines: list[str], first: int = 1) -> Iterable[tuple[int, list[str]]]:
    """Blank-line separated blocks with the line number of their first line."""
    block: list[str] = []
    start = first
    for number, line in enumerate(lines, start=first):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _cues(lines: list[str], path: Path, first: int) -> list[_Cue]:
    cues: list[_Cue] = []
    for start, block in _blocks(lines, first):
        head = block[0].strip()
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            continue
        timing_at = next((i for i, line in enumerate(block) if "-->" in line), None)
        if timing_at is None:
            if cues:  # a cue text with a blank line inside: continue the previous cue
                cues[-1].lines.extend(block)
                continue
            raise TranscriptFormatError(
                "a cue has no timing line",
                file=path,
                line=start,
                fix="each cue needs a line like '00:00:01.000 --> 00:00:04.000'",
            )
        timing = _TIMING.match(block[timing_at])
        if timing is None:
            raise TranscriptFormatError(
                "the cue timing is not readable",
                file=path,
                line=start + timing_at,
                fix="write it as 'HH:MM:SS.mmm --> HH:MM:SS.mmm'",
            )
        begin, end = parse_time(timing["start"]), parse_time(timing["end"])
        if begin is not None and end is not None and end < begin:
            raise TranscriptFormatError(
                "the cue ends before it starts",
                file=path,
                line=start + timing_at,
                fix="correct the times: 'start --> end' with end after start",
            )
        cues.append(_Cue(start + timing_at + 1, begin, end, block[timing_at + 1 :]))
    return cues


def _cue_parts(cue: _Cue) -> list[tuple[str | None, str]]:
    """(voice, text) pieces of one cue: a `<v Name>` tag starts a new piece."""
    pieces: list[tuple[str | None, str]] = []
    for line in cue.lines:
        spans = list(_VOICE.finditer(line))
        if not spans:
            pieces.append((None, line))
            continue
        if spans[0].start() > 0 and line[: spans[0].start()].strip():
            pieces.append((None, line[: spans[0].start()]))
        for i, span in enumerate(spans):
            end = spans[i + 1].start() if i + 1 < len(spans) else len(line)
            pieces.append((span["name"].strip(), line[span.end() : end]))
    return [(voice, " ".join(html.unescape(_TAG.sub("", text)).split())) for voice, text in pieces]


def _merge_cues(cues: list[_Cue], known: Iterable[str], path: Path) -> list[RawTurn]:
    """Consecutive cue pieces of one speaker merge into one turn joined by spaces."""
    pieces: list[tuple[_Cue, str | None, str]] = [
        (cue, voice, text) for cue in cues for voice, text in _cue_parts(cue) if text or voice
    ]
    prefix_labels = find_labels(
        [text for _, voice, text in pieces if voice is None], known, separate_blocks=True
    )
    prefixes = iter(prefix_labels)
    turns: list[RawTurn] = []
    for cue, voice, text in pieces:
        label = voice
        if voice is None:
            found = next(prefixes)
            if found is not None:
                label, text = found.label, found.text
        if label is None and not turns:
            warn(
                "a cue before the first speaker kept as an UNKNOWN turn",
                file=path,
                line=cue.line,
                fix="add a speaker to the cue if a person said it",
            )
            label = "UNKNOWN"
        if label is None or (turns and turns[-1].label == label):
            turn = turns[-1]
            turn.text = f"{turn.text} {text}".strip()
            turn.end = cue.end if cue.end is not None else turn.end
            continue
        turns.append(RawTurn(label, text, cue.line, start=cue.start, end=cue.end))
    if not any(turn.label != "UNKNOWN" for turn in turns):
        raise _no_labels(path)
    return turns


def read_vtt(path: Path, known: Iterable[str] = ()) -> RawTranscript:
    """`.vtt`: speakers from `<v Name>` voice tags (Teams) or `Name:` prefixes (Zoom)."""
    text, encoding = decode(read_bytes(path), path)
    lines = text.split("\n")
    if not lines[0].lstrip().startswith("WEBVTT"):
        raise TranscriptFormatError(
            "the WEBVTT header is missing",
            file=path,
            line=1,
            fix="a WebVTT file starts with the line 'WEBVTT'; or save it with the suffix .srt",
        )
    header_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    cues = _cues(lines[header_end:], path, header_end + 1)
    return RawTranscript(_merge_cues(cues, known, path), encoding=encoding)


def read_srt(path: Path, known: Iterable[str] = ()) -> RawTranscript:
    """`.srt`: numbered cues, speakers as `NAME:` prefixes; unlabelled cues continue."""
    text, encoding = decode(read_bytes(path), path)
    cues = _cues(text.split("\n"), path, 1)
    if not cues:
        raise TranscriptFormatError(
            "no subtitle cues found",
            file=path,
            line=1,
            fix="check that this is a SubRip (.srt) file",
        )
    return RawTranscript(_merge_cues(cues, known, path), encoding=encoding)


# --- CSV and XLSX ---------------------------------------------------------------------


def _time_value(value: Any) -> float | None:
    """Seconds from a number, `HH:MM:SS(.mmm)` text, or a spreadsheet time."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    text = str(value).strip().strip("[]()")
    try:
        return parse_time(text) if ":" in text else float(text.replace(",", "."))
    except ValueError:
        return None


def _table_rows(rows: list[tuple[int, list[Any]]], path: Path) -> list[RawTurn]:
    """Turns from (line, cells) rows whose first row is the header."""
    if not rows:
        raise TranscriptFormatError(
            "the table is empty",
            file=path,
            line=1,
            fix="the first row names the columns speaker and text",
        )
    header_line, header = rows[0]
    names = [str(cell or "") for cell in header]
    speaker_col = _header_index(names, _SPEAKER_HEADERS)
    text_col = _header_index(names, _TEXT_HEADERS)
    missing = [name for name, col in (("speaker", speaker_col), ("text", text_col)) if col is None]
    if missing:
        raise TranscriptFormatError(
            f"no {' and no '.join(missing)} column in the header",
            file=path,
            line=header_line,
            fix="name the columns 'speaker' and 'text' (optional 'start', 'end')",
        )
    start_col = _header_index(names, _START_HEADERS)
    end_col = _header_index(names, _END_HEADERS)
    turns: list[RawTurn] = []

    def cell(row: list[Any], col: int | None) -> Any:
        return row[col] if col is not None and col < len(row) else None

    for line, row in rows[1:]:
        filled = [i for i, c in enumerate(row) if c is not None and str(c).strip()]
        if filled and filled[-1] >= len(names):
            raise TranscriptFormatError(
                f"the row has {filled[-1] + 1} cells but the header has {len(names)} columns",
                file=path,
                line=line,
                fix="put cells that hold the delimiter in double quotes",
            )
        speaker = str(cell(row, speaker_col) or "").strip()
        text = str(cell(row, text_col) or "").replace("\r\n", "\n").strip()
        if not speaker and not text:
            continue
        if not speaker:
            if not turns:
                warn(
                    "a row without a speaker kept as an UNKNOWN turn",
                    file=path,
                    line=line,
                    fix="fill in the speaker column",
                )
            speaker = turns[-1].label if turns else UNKNOWN_SPEAKER
        turns.append(
            RawTurn(
                speaker,
                text,
                line,
                start=_time_value(cell(row, start_col)),
                end=_time_value(cell(row, end_col)),
            )
        )
    if not turns:
        raise TranscriptFormatError(
            "the table has no rows with text",
            file=path,
            line=header_line + 1,
            fix="add one row per turn",
        )
    return turns


def read_csv(path: Path, known: Iterable[str] = ()) -> RawTranscript:
    """`.csv`: one row a turn with columns speaker, text, optional start and end."""
    text, encoding = decode(read_bytes(path), path)
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=header.count)
    return RawTranscript(_table_rows(csv_rows(text, delimiter, path), path), encoding=encoding)


def csv_rows(text: str, delimiter: str, path: Path) -> list[tuple[int, list[Any]]]:
    """(line, cells) of each CSV row; quoted cells may hold the delimiter and line breaks.
    A quote that is never closed is an error (it would swallow the rest of the file)."""
    rows: list[tuple[int, list[Any]]] = list(
        read_csv_rows(text, path, TranscriptFormatError, delimiter)
    )
    if rows and '"' in text and _unclosed(text, delimiter):
        raise TranscriptFormatError(
            "a quote opened in this row is never closed",
            file=path,
            line=rows[-1][0],
            fix='close the quote, or double quotes inside a quoted cell ("")',
        )
    return rows


def _unclosed(text: str, delimiter: str) -> bool:
    """Whether the CSV ends inside a quoted cell (the lenient reader takes the rest of the
    file as that cell)."""
    reader = csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter, strict=True)
    try:
        for _ in reader:
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def read_xlsx(path: Path, known: Iterable[str] = ()) -> RawTranscript:
    """`.xlsx`: the first sheet, one row a turn, like `.csv`."""
    from openpyxl import load_workbook

    check_archive(
        path, "Excel workbook", "open it in Excel or LibreOffice and save it again as .xlsx"
    )
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            rows = [
                (number, list(row))
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
        finally:
            workbook.close()
    except Exception as error:  # openpyxl lets zipfile's, zlib's and the parsers' through
        if not isinstance(error, (*BROKEN_ARCHIVE, OSError, TypeError, IndexError)) and (
            not _xml_error(error)
        ):
            raise
        raise TranscriptFormatError(
            f"not a readable Excel workbook ({type(error).__name__})",
            file=path,
            fix="open it in Excel or LibreOffice and save it again as .xlsx",
        ) from None
    return RawTranscript(_table_rows(rows, path))


READERS: dict[str, Callable[[Path, Iterable[str]], RawTranscript]] = {
    ".txt": read_text,
    ".md": read_text,
    ".docx": read_docx,
    ".odt": read_odt,
    ".vtt": read_vtt,
    ".srt": read_srt,
    ".csv": read_csv,
    ".xlsx": read_xlsx,
}
