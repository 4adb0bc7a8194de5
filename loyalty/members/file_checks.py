"""What an uploaded owner file may be, checked before it is parsed: bytes, rows, cell length.

An .xlsx is a zip of XML parts. openpyxl's read-only mode streams the sheet, but it loads
every shared string (`xl/sharedStrings.xml`) into memory, so a 310 KB file holding one
300 MB cell costs 300 MB before a single row is seen. Here the zip's own table of contents
(each part's uncompressed size) is checked against a ceiling first, and then the shared
strings and the first sheet are streamed through expat in small pieces, counting characters
per cell and rows per sheet: a refusal never needs more memory than one piece. The zip
module stops a part at its declared size, so a part cannot unpack to more than it claims.

Runs in a thread (it reads files): callers must not call it on the event loop.
"""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers import expat

from loyalty.errors import CellTooLong, InvalidField, TooManyRows, UploadTooLarge
from loyalty.i18n import Message, _

_PIECE = 64 * 1024
# Where a cell over the limit was found.
_CELL_OF_ROW = _("a cell of row {row} has more than {most:,} characters; no owner-file value is that long")
_A_CELL = _("a cell has more than {most:,} characters; no owner-file value is that long")
_A_TEXT_CELL = _("a text cell has more than {most:,} characters; no owner-file value is that long")
_MB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    max_rows: int
    max_cell_chars: int
    max_unpacked_bytes: int

    @classmethod
    def from_settings(cls, settings: Any) -> "FileLimits":
        return cls(
            max_rows=settings.import_max_rows,
            max_cell_chars=settings.import_max_cell_chars,
            max_unpacked_bytes=settings.import_max_unpacked_bytes,
        )


def decode_csv(data: bytes, field: str = "file") -> str:
    # Excel on Chinese Windows saves CSV as GBK; everything else is UTF-8 (maybe with BOM).
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidField(_("the CSV file is neither UTF-8 nor GBK text"), field=field)


def check_owner_file(path: Path, limits: FileLimits, field: str = "file") -> int:
    """Refuse a file over the limits (UploadTooLarge, TooManyRows, CellTooLong, or
    InvalidField for a file that is not what its name says); otherwise return how many
    non-empty rows follow the header (an upper bound of the owners in it)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _check_csv(path, limits, field)
    elif suffix == ".xlsx":
        rows = _check_xlsx(path, limits, field)
    else:
        raise InvalidField(_("upload a .csv or .xlsx file"), field=field)
    if rows > limits.max_rows:
        raise TooManyRows(
            _(
                "the file has {rows:,} rows; one upload takes at most {most:,} "
                "(split the file, or run `loyalty import-owners` on the server)",
                rows=rows, most=limits.max_rows,
            ),
            field=field, limit=limits.max_rows,
        )
    return rows


def _too_long(limits: FileLimits, field: str, where: Message) -> CellTooLong:
    return CellTooLong(where.format(most=limits.max_cell_chars), field=field, limit=limits.max_cell_chars)


def _check_csv(path: Path, limits: FileLimits, field: str) -> int:
    reader = csv.reader(io.StringIO(decode_csv(path.read_bytes(), field)))
    rows = -1  # the header is not an owner
    try:
        for number, values in enumerate(reader, start=1):
            for value in values:
                if len(value) > limits.max_cell_chars:
                    raise _too_long(limits, field, _CELL_OF_ROW.format(row=number))
            if any(value.strip() for value in values):
                rows += 1
    except csv.Error:  # the csv module's own field limit (128 KB): far over ours anyway
        raise _too_long(limits, field, _A_CELL) from None
    return max(rows, 0)


def _check_xlsx(path: Path, limits: FileLimits, field: str) -> int:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise InvalidField(_("the .xlsx file is damaged or not an Excel workbook"), field=field) from None
    with archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > limits.max_unpacked_bytes:
            raise UploadTooLarge(
                _(
                    "the .xlsx unpacks to {size:,.0f} MB, more than the {most:,.0f} MB an owner file may hold",
                    size=unpacked / _MB, most=limits.max_unpacked_bytes / _MB,
                ),
                field=field, limit=limits.max_unpacked_bytes,
            )
        names = set(archive.namelist())
        if "xl/sharedStrings.xml" in names:
            _scan(archive, "xl/sharedStrings.xml", _CellScan(limits, field, cell="si", where=_A_TEXT_CELL))
        sheet = _first_sheet(archive, names)
        if sheet is None:
            raise InvalidField(_("the .xlsx workbook has no worksheet"), field=field)
        scan = _CellScan(limits, field, cell="c", where=_A_CELL, row="row")
        _scan(archive, sheet, scan)
        return max(scan.rows - 1, 0)


class _CellScan:
    """Counts characters inside each `cell` element (and non-empty `row` elements)."""

    def __init__(self, limits: FileLimits, field: str, *, cell: str, where: Message, row: str | None = None) -> None:
        self.limits, self.field, self.cell, self.where, self.row = limits, field, cell, where, row
        self.in_cell = False
        self.chars = 0
        self.row_has_value = False
        self.rows = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        name = name.rsplit(":", 1)[-1]
        if name == self.cell:
            self.in_cell, self.chars = True, 0
        elif name == self.row:
            self.row_has_value = False

    def end(self, name: str) -> None:
        name = name.rsplit(":", 1)[-1]
        if name == self.cell:
            self.in_cell = False
        elif name == self.row and self.row_has_value:
            self.rows += 1

    def text(self, data: str) -> None:
        if not self.in_cell:
            return
        self.chars += len(data)
        if self.chars > self.limits.max_cell_chars:
            raise _too_long(self.limits, self.field, self.where)
        if not self.row_has_value and data.strip():
            self.row_has_value = True


def _scan(archive: zipfile.ZipFile, name: str, scan: _CellScan) -> None:
    parser = expat.ParserCreate()
    parser.buffer_text = False  # text arrives piece by piece, never a whole cell at once
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.text
    try:
        with archive.open(name) as part:
            while piece := part.read(_PIECE):
                parser.Parse(piece, False)
        parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, EOFError):
        raise InvalidField(_("the .xlsx part {part} is damaged", part=name), field=scan.field) from None


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """The part of the workbook's first sheet (the one openpyxl's `worksheets[0]` reads)."""
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return None
    first: list[str] = []
    targets: dict[str, str] = {}

    def sheet(name: str, attributes: dict[str, str]) -> None:
        if name.rsplit(":", 1)[-1] == "sheet" and not first:
            first.extend(value for key, value in attributes.items() if key.rsplit(":", 1)[-1] == "id")

    def relationship(name: str, attributes: dict[str, str]) -> None:
        if name.rsplit(":", 1)[-1] == "Relationship":
            targets[attributes.get("Id", "")] = attributes.get("Target", "")

    for part, handler in (("xl/workbook.xml", sheet), ("xl/_rels/workbook.xml.rels", relationship)):
        if archive.getinfo(part).file_size > 16 * _MB:  # a table of contents, never this big
            return None
        parser = expat.ParserCreate()
        parser.StartElementHandler = handler
        try:
            parser.Parse(archive.read(part), True)
        except expat.ExpatError:
            return None
    target = targets.get(first[0]) if first else None
    if not target:
        return None
    resolved = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return resolved if resolved in names else None
