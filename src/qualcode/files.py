"""Writing output files safely: to a temporary name in the same folder, then renamed; a
whole output folder is written beside the old one and swapped in at the end; CSV and
workbook tables read with line numbers."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OutputError, QualcodeError

if TYPE_CHECKING:
    from openpyxl.cell import Cell, WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet


def _default_mode() -> int:
    """What `open()` would give a new file: 0o666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def output_error(error: OSError, path: Path, what: str = "cannot write") -> OutputError:
    """An `OSError` met while writing, as an `OutputError` that says what to do."""
    reason = error.strerror or type(error).__name__
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        fix = "free some space on the disk, or choose another folder with --out"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "the folder is read-only: make it writable, or choose another folder with --out"
    else:
        fix = "check the folder, or choose another one with --out"
    return OutputError(f"{what} ({reason})", file=path, fix=fix)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to `path` so that readers see either the old file or the new one."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else _default_mode())
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise output_error(error, path) from None
        raise


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write UTF-8 text (no BOM, `\\n` line endings) atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Render rows as RFC 4180 CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


def xlsx_bytes(sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[object]]]]) -> bytes:
    """A workbook with one sheet a table: bold header row frozen, filters on, readable column
    widths (from the first 500 rows), long text wrapped. Written in openpyxl's write-only
    mode, which streams rows instead of keeping a cell object for each value."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    workbook = Workbook(write_only=True)
    for name, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(name[:31])
        table = [list(header), *(["" if v is None else v for v in row] for row in rows)]
        columns = max(map(len, table))
        wrap = set()
        for index in range(columns):
            sample = (row[index] if index < len(row) else "" for row in table[:500])
            width = max(len(str(value or "").split("\n")[0]) for value in sample)
            letter = get_column_letter(index + 1)
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
            if width > 60:
                wrap.add(index)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{len(table)}"
        sheet.append([_styled(sheet, value, font=bold) for value in table[0]])
        wrapping = _styled(sheet, None, alignment=wrapped)
        for row in table[1:]:
            if wrap:
                row = [_like(wrapping, v) if i in wrap else v for i, v in enumerate(row)]
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return reproducible_zip(buffer.getvalue())


def _styled(sheet: WriteOnlyWorksheet, value: object, **style: object) -> WriteOnlyCell:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    for attribute, setting in style.items():
        setattr(cell, attribute, setting)
    return cell


def _like(styled: Cell, value: object) -> Cell:
    """A cell holding `value` with the style of `styled`, whose style indexes are copied
    rather than looked up again for every cell (a large workbook is written 5% faster)."""
    from openpyxl.cell import Cell

    return Cell(styled.parent, row=1, column=1, value=value, style_array=styled._style)


FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP member can carry
_CORE_TIMES = (b"dcterms:created", b"dcterms:modified")


def reproducible_zip(data: bytes) -> bytes:
    """A ZIP-based document (`.docx`, `.xlsx`) with the time of writing taken out: members
    dated 1980-01-01 and the document's created/modified properties set to that date, so
    that the same input gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "docProps/core.xml":
                for tag in _CORE_TIMES:
                    content = re.sub(
                        rb"(<" + tag + rb"[^>]*>)[^<]*(</" + tag + rb">)",
                        rb"\g<1>1980-01-01T00:00:00Z\g<2>",
                        content,
                    )
            info = zipfile.ZipInfo(member.filename, date_time=FIXED_TIME)
            info.compress_type = member.compress_type
            info.external_attr = member.external_attr
            archive.writestr(info, content)
    return buffer.getvalue()


# --- output folders: written beside the old one, swapped in at the end -------------------

STAGING_PREFIX = ".qualcode-staging-"


@contextlib.contextmanager
def staged_folder(
    out: Path, *, ours: Callable[[str], bool] = lambda name: False, in_place: bool = False
) -> Iterator[Path]:
    """A new, empty folder to write a run into, named like `out` inside a hidden folder
    beside it. When the block ends without an error it replaces `out` in one step (an atomic
    exchange on Linux and macOS), taking along the files of the old `out` that `ours` does
    not claim (relative paths with `/`); on an error or an interrupt it is removed and `out`
    stays as it was. A process killed part-way leaves the hidden folder, which the next run
    beside it removes. `in_place` writes straight into `out` instead."""
    out = Path(out)
    if in_place:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise output_error(error, out, "cannot create the output folder") from None
        yield out
        return
    parent = out.absolute().parent
    prefix = f"{STAGING_PREFIX}{os.getpid()}-"
    holder: Path | None = None
    try:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            clean_stale_staging(parent)
            holder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        except OSError as error:
            raise output_error(error, out, "cannot create the output folder beside this") from None
        stage = holder / out.name
        stage.mkdir()
        yield stage
        try:
            _swap_in(stage, out, ours)
        except OSError as error:
            raise output_error(error, out, "cannot replace the output folder") from None
    finally:
        # an interrupt can come while the folder is being made, before `holder` is set
        for folder in [holder] if holder is not None else parent.glob(f"{prefix}*"):
            shutil.rmtree(folder, ignore_errors=True)


def _swap_in(stage: Path, out: Path, ours: Callable[[str], bool]) -> None:
    if not out.exists() and not out.is_symlink():
        os.rename(stage, out)
        return
    if not out.is_dir():
        raise OutputError("the output folder is a file", file=out, fix="choose a folder with --out")
    _carry_over(out, stage, ours)
    if _exchange(stage, out):
        return
    previous = stage.parent / ".previous"
    os.rename(out, previous)  # the next run puts it back if this process dies right here
    os.rename(stage, out)


def _carry_over(old: Path, new: Path, ours: Callable[[str], bool]) -> None:
    """Link (else copy) the files of `old` that the run did not write into `new`."""
    for folder, dirs, names in os.walk(old):
        dirs.sort()
        for name in sorted(names):
            source = Path(folder) / name
            relative = source.relative_to(old).as_posix()
            target = new / relative
            if ours(relative) or (name.startswith(".") and name.endswith(".tmp")):
                continue
            if target.exists() or target.is_symlink():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
                continue
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step: `renameat2(RENAME_EXCHANGE)` on Linux, `renamex_np
    (RENAME_SWAP)` on macOS. False where the system or file system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform.startswith("linux"):
            call = libc.renameat2
            call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
            call.argtypes += [ctypes.c_uint]
            at_cwd = -100
            result = call(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), 2)
        elif sys.platform == "darwin":
            call = libc.renamex_np
            call.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            result = call(os.fsencode(first), os.fsencode(second), 2)
        else:
            return False
    except (OSError, AttributeError):
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(second))


def clean_stale_staging(parent: Path) -> None:
    """Remove the staging folders that killed runs left in `parent`, first putting back an
    output folder that a run died while swapping."""
    for holder in parent.glob(f"{STAGING_PREFIX}*"):
        pid = holder.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if not holder.is_dir() or (pid.isdigit() and _alive(int(pid))):
            continue
        previous = holder / ".previous"
        if previous.is_dir():
            names = [p.name for p in holder.iterdir() if p.name != ".previous"]
            target = parent / names[0] if names else None
            if target is not None and not target.exists():
                os.rename(previous, target)
        shutil.rmtree(holder, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def csv_rows(
    text: str, path: Path, error: type[QualcodeError] = QualcodeError, delimiter: str = ","
) -> list[tuple[int, list[str]]]:
    """(line, cells) of each CSV row, quoted line breaks kept; broken quoting is one `error`
    naming the row's line."""
    reader = csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as problem:
        raise error(
            f"broken CSV ({problem})", file=path, line=line, fix="check the quoting of that row"
        ) from None
    return rows


def xlsx_rows(
    path: Path, error: type[QualcodeError] = QualcodeError
) -> list[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet of a workbook."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as problem:  # openpyxl raises many kinds for broken files
        raise error(
            f"not a readable Excel workbook ({type(problem).__name__})",
            file=path,
            fix="save it again as .xlsx",
        ) from None
    try:
        return [
            (n, ["" if v is None else str(v) for v in row])
            for n, row in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()
