"""Each dashboard hands out an Excel workbook beside its CSV: the same cells in the same words
(one sheet named for the dashboard in the reader's language), numbers as numbers a spreadsheet
sums, a name that would run as a formula kept as text; and only to the roles that read the CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
from openpyxl import load_workbook

from tests.events.builders import owners, staff_client
from tests.partner_api.builders import shop

BASE = "/api/v1/staff/dashboards"
JUNE = {"start": "2026-06-01", "end": "2026-06-30"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NAMES = ("tiers", "referrals", "events", "merchants", "liability", "kpis")


def workbook(response: httpx.Response, filename_start: str) -> tuple[str, list[list[Any]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"].startswith(f'attachment; filename="{filename_start}')
    assert response.headers["content-disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.content))
    [sheet] = book.worksheets
    assert sheet.freeze_panes == "A2" and all(cell.font.bold for cell in sheet[1])
    return sheet.title, [[cell.value for cell in row] for row in sheet.iter_rows()]


def same(cell: Any, text: str) -> bool:
    """A workbook's cell holds what the CSV's cell says: the text, or the number it writes."""
    if cell is None:
        return text == ""
    if isinstance(cell, (int, float, Decimal)) and not isinstance(cell, bool):
        return Decimal(str(cell)) == Decimal(text)
    return str(cell) == text


async def test_every_dashboard_is_a_workbook_with_the_csvs_cells(database, settings, tmp_path):
    await owners(tmp_path, 2, project="HZ-YH")
    await shop("=HYPERLINK(\"http://evil.example\",\"x\")")  # a name typed to run in Excel
    async with staff_client(database, settings, "admin1", "admin") as admin:
        for name in NAMES:
            params = {} if name in ("tiers", "liability") else JUNE
            title, cells = workbook(await admin.get(f"{BASE}/{name}.xlsx", params=params), name)
            in_csv = list(csv.reader(io.StringIO((await admin.get(f"{BASE}/{name}.csv", params=params)).content.decode("utf-8-sig"))))
            assert [len(row) for row in cells] == [len(row) for row in in_csv], name
            for got, want in zip(cells, in_csv, strict=True):
                assert all(same(c, t) for c, t in zip(got, want, strict=True)), (name, got, want)
            assert title and title.isascii() is False, (name, title)  # a Chinese sheet name for a Chinese reader
        title, tiers = workbook(await admin.get(f"{BASE}/tiers.xlsx"), "tiers")
        assert title == "会员等级"
        assert tiers[0] == ["项目编号", "项目", "铂金卡", "金卡", "银卡", "蓝卡", "会员数"]
        assert tiers[-1] == [None, "合计", 0, 0, 0, 2, 2]  # numbers, not text
        _, merchants = workbook(await admin.get(f"{BASE}/merchants.xlsx", params=JUNE), "merchants")
        assert merchants[1][1] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
        assert merchants[1][4] == 0 or merchants[1][4] == Decimal(0)
        title, english = workbook(await admin.get(f"{BASE}/tiers.xlsx", headers={"Accept-Language": "en"}), "tiers")
        assert title == "Members by tier" and english[0][1] == "Project"


async def test_a_workbook_is_refused_to_a_role_that_may_not_read_the_dashboard(database, settings):
    async with staff_client(database, settings, "door1", "event_staff") as door:
        assert (await door.get(f"{BASE}/tiers.xlsx")).status_code == 403
        assert (await door.get(f"{BASE}/events.xlsx", params=JUNE)).status_code == 200
