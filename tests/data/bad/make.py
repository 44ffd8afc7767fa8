"""Write the bad-input corpus of this folder (files that need code to make: binary, encoded,
zipped). `python tests/data/bad/make.py` rewrites them; `expected.csv` says what each gives.

The two huge cases (a 50 MB transcript, a 5 MB line without a line break) are not kept
here: `huge_files()` writes them at test time.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def zipped(path: Path, members: dict[str, bytes | str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def docx_members() -> dict[str, bytes]:
    from docx import Document

    document = Document()
    document.add_paragraph("Anna: I helped my mentee with the exam timetable.")
    document.add_paragraph("Bence: Same here.")
    buffer = io.BytesIO()
    document.save(buffer)
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    return {name: archive.read(name) for name in archive.namelist()}


def word_files() -> None:
    members = docx_members()
    broken = dict(members)
    broken["word/document.xml"] = members["word/document.xml"][:-40] + b"<w:p><w:r>"
    zipped(HERE / "broken_xml.docx", broken)
    zipped(
        HERE / "no_document_part.docx", {k: v for k, v in members.items() if "document" not in k}
    )
    zipped(HERE / "zip_bomb.docx", {**members, "word/media/padding.bin": b"\0" * (40 * 2**20)})
    zipped(HERE / "docx_renamed.txt", members)


def workbooks() -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name of file", "text"])
    sheet.append(["x.txt", "Hello."])
    workbook.save(HERE / "no_speaker_column.xlsx")
    (HERE / "not_a_zip.xlsx").write_text("speaker,text\nAnna,Hi\n", encoding="utf-8")


def encodings() -> None:
    text = (
        "Anna: I said “no” – and the mentee’s café visit was fine.\n"
        "Bence: Très bien, crème brûlée afterwards.\n"
    )
    (HERE / "cp1252.txt").write_bytes(text.encode("cp1252"))
    hungarian = (
        "Anna: Gergő és Zsófia szerint a mentorálás jó volt.\n"
        "Bence: Őszintén szólva a vizsgaidőpont nehéz volt, de megoldottuk.\n"
    )
    (HERE / "latin2.txt").write_bytes(hungarian.encode("cp1250"))
    (HERE / "utf16_nobom.txt").write_bytes(hungarian.encode("utf-16-le"))
    (HERE / "cb_not_utf8.yaml").write_bytes("name: Mentorálás\nthemes: []\n".encode("cp1250"))


def images() -> None:
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
    (HERE / "roster_image.csv").write_bytes(png)
    garbage = bytes((i * 7919 + 13) % 256 for i in range(3000))
    (HERE / "random_bytes.srt").write_bytes(garbage)


def refi_projects() -> None:
    """Hostile REFI-QDA projects (`qualcode import qdpx`)."""
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Project xmlns="urn:QDA-XML:project:1.0" name="p" '
        'origin="test"><Users><User guid="00000000-0000-4000-8000-0000000000aa" name="u"/>'
        "</Users>"
    )
    codes = (
        '<CodeBook><Codes><Code guid="00000000-0000-4000-8000-000000000001" name="C" '
        'isCodable="true"/></Codes></CodeBook>'
    )
    zipped(HERE / "traversal.qdpx", {"project.qde": "<Project/>", "../../evil.txt": "x"})
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        '<Project xmlns="urn:QDA-XML:project:1.0" name="&xxe;">'
        f"{codes}<Description>&xxe;</Description></Project>"
    )
    zipped(HERE / "external_entity.qdpx", {"project.qde": xxe})
    zipped(HERE / "zip_bomb.qdpx", {"project.qde": "<Project/>", "sources/a.txt": b"\0" * 2**26})
    selection = (
        f"{head}{codes}<Sources><TextSource guid='00000000-0000-4000-8000-000000000002' "
        "name='s' plainTextPath='internal://s.txt'><PlainTextSelection "
        "guid='00000000-0000-4000-8000-000000000003' startPosition='6' "
        "endPosition='400'><Coding guid='00000000-0000-4000-8000-000000000004'><CodeRef "
        "targetGUID='00000000-0000-4000-8000-000000000001'/></Coding></PlainTextSelection>"
        "</TextSource></Sources></Project>"
    )
    zipped(
        HERE / "offsets_past_end.qdpx", {"project.qde": selection, "sources/s.txt": "Anna: hi\n"}
    )


def huge_files(folder: Path) -> dict[str, Path]:
    """The cases too big to keep in the repository, written into `folder`."""
    line = b"Anna: " + b"and then we talked about the exam timetable " * 12
    huge = folder / "huge.txt"
    with huge.open("wb") as handle:
        chunk = (line + b"\n") * 2000
        for _ in range(50 * 2**20 // len(chunk) + 1):
            handle.write(chunk)
    long_line = folder / "long_line.txt"
    long_line.write_bytes(b"Anna: " + b"so we talked " * (5 * 2**20 // 13))
    return {"huge.txt": huge, "long_line.txt": long_line}


def main() -> None:
    word_files()
    workbooks()
    encodings()
    images()
    refi_projects()


if __name__ == "__main__":
    sys.exit(main())
