"""Any bytes in, either a result or a `QualcodeError` out: the readers, the roster and
codebook loaders and the REFI-QDA importer, fed random and mangled files.

A quick run is part of the suite; a longer one, for contributors who change a reader:

    QUALCODE_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py -p no:cacheprovider

(hypothesis keeps the failing examples it finds in `.hypothesis/` and tries them first.)
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qualcode as qc
from qualcode.exchange import read_qdpx
from qualcode.roster import read_roster

from .conftest import DATA

EXAMPLES = int(os.environ.get("QUALCODE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FOLDER = Path(tempfile.mkdtemp(prefix="qualcode-fuzz-"))

# pieces of the formats, so that random files often get past the first check
PIECES = [
    "Anna: I helped.",
    "MODERATOR: Welcome.",
    "[00:01:23] Bence:",
    "Anna  0:03",
    "WEBVTT",
    "1",
    "00:00:01.000 --> 00:00:02.000",
    "00:00:01,000 --> 00:00:0x,000",
    "<v Anna>Hi.</v>",
    "---",
    "group: g1",
    "date: [2022",
    "a: &a [x, *a]",
    "speaker,text,start,end",
    'Anna,"two\nlines",1,2',
    '"',
    ";",
    "\t",
    "\x00",
    "\ufeff",
    "é ő ű “ ”",
    "",
    "name: x",
    "themes:",
    "  - id: t",
    "    codes: [{id: c, label: C, match: {regex: ['(a+)+$']}}]",
    "transcript,speaker,role,pseudonym,aliases",
    "g1,Anna,participant,,Anna K.;Annie",
    "g1,,moderator",
]
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "cp1252", "cp1250"]


@st.composite
def text_files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.sampled_from(PIECES) | st.text(max_size=40), max_size=30))
    text = "\n".join(lines)
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, "replace")


@st.composite
def mangled(draw: st.DrawFn, original: bytes) -> bytes:
    """A valid file with some bytes changed, cut short or lengthened."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(len(data) // 2, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=20))


def _docx() -> bytes:
    from docx import Document

    document = Document()
    for line in ("Anna: I helped.", "Bence: Same.", "Anna: Good."):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    for row in (["speaker", "text"], ["Anna", "I helped."], ["Bence", "Same."]):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _qdpx() -> bytes:
    folder = DATA / "refi" / "atlas_crlf"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


DOCX, XLSX, QDPX = _docx(), _xlsx(), _qdpx()


def _write(data: bytes, name: str) -> Path:
    path = FOLDER / name
    path.write_bytes(data)
    return path


def _either_result_or_error(read, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qc.QualcodeWarning)
        try:
            read(path)
        except qc.QualcodeError as error:
            problems = getattr(error, "problems", [error])  # a codebook's: one a line
            assert all("\n" not in str(problem) for problem in problems)


@FUZZ
@given(
    data=text_files() | st.binary(max_size=3000),
    suffix=st.sampled_from([".txt", ".md", ".vtt", ".srt", ".csv"]),
)
def test_text_transcripts(data: bytes, suffix: str) -> None:
    _either_result_or_error(qc.read_transcript, _write(data, f"t{suffix}"))


@FUZZ
@given(data=mangled(DOCX) | st.binary(max_size=500), suffix=st.sampled_from([".docx", ".odt"]))
def test_word_documents(data: bytes, suffix: str) -> None:
    _either_result_or_error(qc.read_transcript, _write(data, f"t{suffix}"))


@FUZZ
@given(data=mangled(XLSX))
def test_workbooks(data: bytes) -> None:
    _either_result_or_error(qc.read_transcript, _write(data, "t.xlsx"))


@FUZZ
@given(data=text_files() | st.binary(max_size=2000))
def test_rosters(data: bytes) -> None:
    _either_result_or_error(read_roster, _write(data, "participants.csv"))


@FUZZ
@given(
    data=text_files() | st.binary(max_size=2000),
    suffix=st.sampled_from([".yaml", ".csv", ".qdc"]),
)
def test_codebooks(data: bytes, suffix: str) -> None:
    _either_result_or_error(qc.load_codebook, _write(data, f"codebook{suffix}"))


@FUZZ
@given(data=mangled(QDPX) | st.binary(max_size=500))
def test_refi_projects(data: bytes) -> None:
    _either_result_or_error(read_qdpx, _write(data, "project.qdpx"))
