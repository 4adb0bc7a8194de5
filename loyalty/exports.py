"""Every table the project hands out as a file (CSV now; the same rule for any XLSX) is
written here, so no cell can run as a spreadsheet formula.

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is what Excel,
LibreOffice and Google Sheets read as a formula: an event title written by event staff as
`=HYPERLINK("http://evil.example","click")` would become a link in the admin's spreadsheet,
and worse with DDE. Such a cell gets a leading `'` (OWASP, "CSV Injection"), which the
spreadsheet shows as text and does not display.

Only text is escaped. Numbers written as numbers (ints, floats: amounts, points, counts) stay
numbers, so a reversal's -100 remains -100 and sums still work; a number that arrives as text
("-100" typed into a name) is text and is escaped. Callers therefore pass amounts as ints,
never pre-formatted.

Not here: loyalty/demo.py writes a CSV that only our own importer reads (the demo's owner
file), never a person's spreadsheet; escaping it would change the names it imports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # Excel reads UTF-8 only when the file says so


def safe_cell(value: Any) -> Any:
    """The value as it may go into a cell: text that a spreadsheet would run gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` whose every cell goes through `safe_cell`."""

    def __init__(self, stream: Any) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A CSV document: UTF-8 BOM (so Excel shows Chinese names), the header, the rows."""
    output = io.StringIO()
    output.write(BOM)
    writer = SafeWriter(output)
    writer.writerow(header)
    writer.writerows(rows)
    return output.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(title: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """An .xlsx workbook of one sheet named `title`: the header (bold, frozen), the rows. Text goes
    through `safe_cell` as in a CSV; numbers stay numbers (Decimal yuan as exact numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([safe_cell(value) for value in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths: dict[int, int] = {}
    for row in rows:
        values = [safe_cell(value) for value in row]
        sheet.append(values)
    for column in sheet.columns:
        longest = max((sum(2 if ord(c) > 0x2E80 else 1 for c in str(cell.value or "")) for cell in column), default=8)
        widths[column[0].column] = min(max(longest + 2, 8), 50)
    for index, width in widths.items():
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
