"""docs/sample-owners.xlsx and .csv: the sample owner file shipped for sales offices imports
cleanly, a second import changes nothing, and both files are what docs/make_sample_owners.py
writes."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import phonenumbers
import time_machine
from openpyxl import load_workbook

from loyalty.members import importer
from loyalty.members.tables import Member
from tests.members.owner_files import counts, snapshot

DOCS = Path(__file__).resolve().parents[2] / "docs"
SAMPLE_XLSX = DOCS / "sample-owners.xlsx"
SAMPLE_CSV = DOCS / "sample-owners.csv"
IMPORT_DAY = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)


async def test_sample_xlsx_imports_cleanly_and_importing_it_again_changes_nothing(database):
    with time_machine.travel(IMPORT_DAY, tick=False):
        first = await importer.import_owners(SAMPLE_XLSX)
        after_first = await snapshot()
        second = await importer.import_owners(SAMPLE_XLSX)

    assert first.errors == [] and first.skipped_rows == 0
    assert (first.rows, first.imported_rows) == (20, 20)
    # 20 rows: two couples share a unit each, one owner has a unit in each project.
    assert await counts() == {"project": 2, "unit": 18, "member": 19, "ownership": 20}
    assert not second.changed
    assert await snapshot() == after_first


async def test_sample_file_covers_every_owner_stage_on_import_day(database):
    with time_machine.travel(IMPORT_DAY, tick=False):
        await importer.import_owners(SAMPLE_XLSX)
    stages = Counter(row["stage"] for row in await Member.select(Member.stage))
    assert stages == {"veteran": 6, "stable": 5, "settling": 4, "pre_owner": 4}


async def test_sample_csv_holds_the_same_owners_as_the_xlsx(database):
    assert SAMPLE_CSV.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    with time_machine.travel(IMPORT_DAY, tick=False):
        await importer.import_owners(SAMPLE_XLSX)
        before = await snapshot()
        report = await importer.import_owners(SAMPLE_CSV)
    assert report.errors == [] and report.rows == 20
    assert not report.changed
    assert await snapshot() == before


def _xlsx_values(path: Path) -> list[tuple]:
    workbook = load_workbook(path, read_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def test_sample_files_are_what_the_generator_script_writes(tmp_path):
    subprocess.run([sys.executable, str(DOCS / "make_sample_owners.py"), str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path / "sample-owners.csv").read_bytes() == SAMPLE_CSV.read_bytes()
    assert _xlsx_values(tmp_path / "sample-owners.xlsx") == _xlsx_values(SAMPLE_XLSX)


def test_sample_file_has_chinese_headers_two_projects_and_mainland_mobile_numbers():
    rows = list(csv.reader(io.StringIO(SAMPLE_CSV.read_text(encoding="utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["楼盘编码", "楼盘名称"] and "手机号" in header and "phone" not in header
    assert len({row[0] for row in body}) == 2
    for row in body:
        number = phonenumbers.parse(row[header.index("手机号")], "CN")
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE, row
