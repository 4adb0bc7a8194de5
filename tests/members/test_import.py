"""Importing the owner database from a sales office's file: all or nothing, upsert by phone +
unit, re-import changes nothing (members/importer.py, members/owner_file.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from loyalty.errors import ImportRejected
from loyalty.i18n import translate
from loyalty.members import importer, service
from loyalty.members.tables import Member, Ownership, Project, Unit
from tests.members.owner_files import (
    COLUMNS,
    NOTHING,
    counts,
    member_by_phone,
    owner_row,
    snapshot,
    units_of,
    write_owner_file,
)

WANG = "+8613800138000"
LI = "+8613912345678"
ZHAO = "+8618612345678"


def three_owners() -> list[dict]:
    return [
        owner_row(),
        owner_row(name="李强", phone="139 1234 5678", gender="男", room="1202", birthday="", tags="钓鱼", language="英文"),
        owner_row(
            project_code="YHF", project_name="云杭府", phase="", building="8", room="601", name="赵敏",
            phone="+86 186-1234-5678", gender="", contract_date="2024/01/20", delivery_date="", area_sqm="89.5",
        ),
    ]


def rejected_errors(excinfo: pytest.ExceptionInfo[ImportRejected]) -> list[tuple[int, str]]:
    return [(error["row"], error["column"]) for error in excinfo.value.extra["errors"]]


def first_reason(excinfo: pytest.ExceptionInfo[ImportRejected], locale: str = "en") -> str:
    """The first row error's reason as a reader of `locale` reads it."""
    return translate(excinfo.value.extra["errors"][0]["reason"], locale)


async def test_good_csv_creates_projects_units_members_and_ownerships(database, tmp_path):
    report = await importer.import_owners(write_owner_file(tmp_path / "owners.csv", three_owners()))

    assert (report.rows, report.imported_rows, report.skipped_rows, report.errors) == (3, 3, 0, [])
    assert (report.projects_created, report.units_created, report.members_created, report.ownerships_created) == (2, 3, 3, 3)
    assert await counts() == {"project": 2, "unit": 3, "member": 3, "ownership": 3}
    projects = {row["code"]: row["name"] for row in await Project.select(Project.code, Project.name)}
    assert projects == {"JLW": "锦澜湾", "YHF": "云杭府"}

    wang = await member_by_phone(WANG)
    assert (wang["name"], wang["birthday"], wang["gender"], wang["language"], wang["tags"]) == (
        "王芳", date(1985, 4, 12), "female", "zh-CN", ["羽毛球", "烘焙"]
    )
    li = await member_by_phone(LI)
    assert (li["name"], li["birthday"], li["gender"], li["language"]) == ("李强", None, "male", "en")
    zhao = await member_by_phone(ZHAO)
    assert zhao["gender"] == "unknown"
    assert await units_of(ZHAO) == [
        {"project": "YHF", "phase": "", "building": "8", "room": "601", "contract_date": date(2024, 1, 20), "delivery_date": None}
    ]
    unit = await Unit.select().where(Unit.room == "1201").first()
    assert (unit["area_sqm"], unit["contract_price_fen"]) == (Decimal("118.50"), 234567800)


async def test_good_xlsx_with_excel_native_cell_types_imports_like_text(database, tmp_path):
    rows = [
        owner_row(
            phone=13800138000, phase=1, building=3, room=1201, area_sqm=118.5, contract_price=2345678.9,
            birthday=datetime(1985, 4, 12), contract_date=datetime(2021, 3, 8), delivery_date=date(2022, 6, 15),
        ),
        owner_row(name="李强", phone="13912345678", room="1202", contract_date="2021-03-09", delivery_date=None, tags=None),
    ]
    report = await importer.import_owners(write_owner_file(tmp_path / "owners.xlsx", rows))

    assert report.errors == [] and report.members_created == 2
    assert await units_of(WANG) == [
        {"project": "JLW", "phase": "1", "building": "3", "room": "1201",
         "contract_date": date(2021, 3, 8), "delivery_date": date(2022, 6, 15)}
    ]
    unit = await Unit.select().where(Unit.room == "1201").first()
    assert (unit["area_sqm"], unit["contract_price_fen"]) == (Decimal("118.50"), 234567890)
    assert (await member_by_phone(WANG))["birthday"] == date(1985, 4, 12)
    assert (await member_by_phone(LI))["tags"] == []


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_chinese_headers_are_read_like_english_ones(database, tmp_path, suffix):
    report = await importer.import_owners(write_owner_file(tmp_path / f"业主{suffix}", three_owners(), chinese=True))

    assert report.errors == [] and report.members_created == 3
    assert (await member_by_phone(WANG))["name"] == "王芳"
    assert [unit["room"] for unit in await units_of(LI)] == ["1202"]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
async def test_csv_in_gbk_or_utf8_with_or_without_bom_keeps_chinese_text(database, tmp_path, encoding):
    path = write_owner_file(tmp_path / "业主名册.csv", three_owners(), chinese=True, encoding=encoding)
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")  # the file really is GBK, as Excel on Chinese Windows saves it

    report = await importer.import_owners(path)

    assert report.errors == []
    assert sorted(row["name"] for row in await Member.select(Member.name)) == sorted(["王芳", "李强", "赵敏"])
    assert sorted(row["name"] for row in await Project.select(Project.name)) == sorted(["锦澜湾", "云杭府"])
    assert (await member_by_phone(WANG))["tags"] == ["羽毛球", "烘焙"]


async def test_file_with_one_bad_phone_imports_nothing_and_names_row_and_column(database, tmp_path):
    rows = three_owners()
    rows[1]["phone"] = "1391234567"  # ten digits
    path = write_owner_file(tmp_path / "owners.csv", rows)

    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(path)

    assert rejected_errors(excinfo) == [(3, "phone")]
    assert first_reason(excinfo) == "'1391234567' is not a valid phone number"
    assert first_reason(excinfo, "zh-CN") == "「1391234567」不是有效的手机号码"
    assert await counts() == NOTHING


async def test_every_bad_row_is_reported_with_its_row_and_column_not_just_the_first(database, tmp_path):
    rows = [
        owner_row(),                                                               # row 2 fine
        owner_row(phone="12345678901", room="1"),                                  # row 3
        owner_row(phone="13800138001", name="", room="2"),                         # row 4
        owner_row(phone="13800138002", name="B", contract_date="2021-13-40", room="3"),  # row 5
        owner_row(phone="13800138003", name="C", gender="男女", area_sqm="-5", room="4"),  # row 6: two problems
        owner_row(phone="13800138004", name="D", contract_price="-1", room="5"),   # row 7
        owner_row(phone="13800138005", name="E", contract_date="2022-06-16", delivery_date="2022-06-15", room="6"),  # row 8
        owner_row(phone="13800138006", name="F", language="法语", birthday="昨天", room="7"),  # row 9
    ]
    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))

    assert sorted(rejected_errors(excinfo)) == [
        (3, "phone"),
        (4, "name"),
        (5, "contract_date"),
        (6, "area_sqm"),
        (6, "gender"),
        (7, "contract_price"),
        (8, "delivery_date"),
        (9, "birthday"),
        (9, "language"),
    ]
    assert excinfo.value.detail_in("en") == "9 problems in 7 rows; nothing was imported."
    assert excinfo.value.detail_in("zh-CN") == "7 行中共有 9 个问题，未导入任何数据。"
    assert await counts() == NOTHING


async def test_a_missing_required_column_is_reported_on_the_header_row(database, tmp_path):
    columns = [column for column in COLUMNS if column not in ("phone", "contract_date")]
    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(write_owner_file(tmp_path / "owners.csv", [owner_row()], columns=columns))
    assert sorted(rejected_errors(excinfo)) == [(1, "contract_date"), (1, "phone")]
    assert await counts() == NOTHING


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_importing_the_same_file_again_changes_nothing(database, tmp_path, suffix):
    path = write_owner_file(tmp_path / f"owners{suffix}", three_owners())
    first = await importer.import_owners(path)
    before = await snapshot()

    again = await importer.import_owners(path)

    assert first.changed and not again.changed
    assert again.as_dict() | {"errors": []} == importer.ImportReport(rows=3, imported_rows=3).as_dict()
    assert await snapshot() == before  # not even updated_at moved


async def test_a_changed_cell_updates_the_row_in_place_without_duplicates(database, tmp_path):
    await importer.import_owners(write_owner_file(tmp_path / "v1.csv", three_owners()))
    rows = three_owners()
    rows[0].update(gender="男", tags="网球", area_sqm="120", contract_price="2,400,000", delivery_date="2022-07-01")

    report = await importer.import_owners(write_owner_file(tmp_path / "v2.csv", rows))

    assert (report.members_updated, report.units_updated, report.ownerships_updated) == (1, 1, 1)
    assert (report.members_created, report.units_created, report.ownerships_created) == (0, 0, 0)
    assert await counts() == {"project": 2, "unit": 3, "member": 3, "ownership": 3}
    wang = await member_by_phone(WANG)
    assert (wang["gender"], wang["tags"]) == ("male", ["网球"])
    assert (await units_of(WANG))[0]["delivery_date"] == date(2022, 7, 1)
    unit = await Unit.select().where(Unit.room == "1201").first()
    assert (unit["area_sqm"], unit["contract_price_fen"]) == (Decimal("120.00"), 240000000)


async def test_co_owners_two_phones_on_one_unit_share_one_unit(database, tmp_path):
    rows = [owner_row(), owner_row(name="陈刚", phone="13912345678", gender="男")]  # husband and wife, same room
    report = await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))

    assert (report.units_created, report.members_created, report.ownerships_created) == (1, 2, 2)
    assert await counts() == {"project": 1, "unit": 1, "member": 2, "ownership": 2}
    assert await units_of(WANG) == await units_of(LI)
    assert not (await importer.import_owners(write_owner_file(tmp_path / "again.csv", rows))).changed


async def test_one_owner_with_several_units_is_one_member_owning_each(database, tmp_path):
    rows = [
        owner_row(),
        owner_row(room="1202", contract_date="2021-04-01", delivery_date=""),
        owner_row(project_code="YHF", project_name="云杭府", building="8", room="601"),
    ]
    report = await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))

    assert (report.members_created, report.units_created, report.ownerships_created) == (1, 3, 3)
    assert [(unit["project"], unit["room"]) for unit in await units_of(WANG)] == [("JLW", "1201"), ("JLW", "1202"), ("YHF", "601")]
    listed = await service.list_members()
    assert [(item.phone, item.units) for item in listed.items] == [(WANG, 3)]


@pytest.mark.parametrize(
    ("written", "fen"),
    [
        ("1,234,567.89", 123456789),
        ("¥2,300,000", 230000000),
        ("￥9,999,999.99", 999999999),
        ("1234567.89元", 123456789),
        ("0.07", 7),
        ("1,000,000.10", 100000010),
        ("4,503,599,627,370,496.01", 450359962737049601),  # past float's exact integers
        (1234567.89, 123456789),  # an Excel number cell
    ],
    ids=str,
)
async def test_amounts_with_separators_and_currency_signs_become_exact_integer_fen(database, tmp_path, written, fen):
    suffix = ".xlsx" if isinstance(written, float) else ".csv"
    path = write_owner_file(tmp_path / f"owners{suffix}", [owner_row(contract_price=written)])
    await importer.import_owners(path)
    unit = await Unit.select(Unit.contract_price_fen).first()
    assert unit["contract_price_fen"] == fen
    assert isinstance(unit["contract_price_fen"], int)


@pytest.mark.parametrize("written", ["1,234,567.891", "一百万", "-100", "230万"])
async def test_an_amount_that_is_not_whole_fen_is_a_row_error(database, tmp_path, written):
    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(write_owner_file(tmp_path / "owners.csv", [owner_row(contract_price=written)]))
    assert rejected_errors(excinfo) == [(2, "contract_price")]


@pytest.mark.parametrize("column", ["contract_price", "area_sqm"])
async def test_bug_an_amount_or_area_reading_nan_is_a_row_error_not_a_crash(database, tmp_path, column):
    """Decimal('NaN') parses, then `amount < 0` / `0 < area` raise decimal.InvalidOperation,
    which `take` in owner_file.py does not catch: the import dies with a traceback (a 500 on
    the HTTP face) instead of naming the row."""
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(**{column: "NaN"})])
    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(path)
    assert rejected_errors(excinfo) == [(2, column)]


async def test_blank_cells_do_not_clear_values_already_in_the_database(database, tmp_path):
    full = owner_row(notes="VIP，老带新两次")
    await importer.import_owners(write_owner_file(tmp_path / "full.csv", [full]))
    before = await snapshot()
    blanks = ("area_sqm", "contract_price", "birthday", "gender", "language", "delivery_date", "tags", "notes")
    sparse = owner_row(**{column: "" for column in blanks})

    report = await importer.import_owners(write_owner_file(tmp_path / "sparse.csv", [sparse]))

    assert not report.changed
    assert await snapshot() == before
    wang = await member_by_phone(WANG)
    assert (wang["birthday"], wang["gender"], wang["tags"], wang["notes"]) == (
        date(1985, 4, 12), "female", ["羽毛球", "烘焙"], "VIP，老带新两次"
    )


async def test_skip_bad_rows_imports_the_good_rows_and_reports_the_bad_ones(database, tmp_path):
    rows = three_owners()
    rows[1]["phone"] = "1391234567"
    rows[2]["contract_date"] = "不详"
    path = write_owner_file(tmp_path / "owners.csv", rows)

    report = await importer.import_owners(path, skip_bad_rows=True)

    assert (report.rows, report.imported_rows, report.skipped_rows) == (3, 1, 2)
    assert [(error.row, error.column) for error in report.errors] == [(3, "phone"), (4, "contract_date")]
    assert await counts() == {"project": 1, "unit": 1, "member": 1, "ownership": 1}
    assert (await member_by_phone(WANG))["name"] == "王芳"
    assert not (await importer.import_owners(path, skip_bad_rows=True)).changed


async def test_duplicate_owner_and_unit_rows_in_one_file_are_reported_naming_both_rows(database, tmp_path):
    rows = [owner_row(), owner_row(room="1202"), owner_row(phone="+86 138 0013 8000")]  # row 4 repeats row 2
    path = write_owner_file(tmp_path / "owners.csv", rows)

    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(path)
    assert rejected_errors(excinfo) == [(4, "room")]
    assert "row 2" in first_reason(excinfo) and "第 2 行" in first_reason(excinfo, "zh-CN")
    assert await counts() == NOTHING

    report = await importer.import_owners(path, skip_bad_rows=True)
    assert (report.imported_rows, report.skipped_rows) == (2, 1)
    assert await counts() == {"project": 1, "unit": 2, "member": 1, "ownership": 2}


async def test_one_phone_with_two_names_is_reported_on_the_later_row(database, tmp_path):
    rows = [owner_row(), owner_row(name="王小芳", room="1202")]
    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))
    assert rejected_errors(excinfo) == [(3, "phone")]
    assert "王芳" in first_reason(excinfo)


async def test_an_unknown_project_code_without_a_project_name_is_reported_and_nothing_imported(database, tmp_path):
    rows = [
        owner_row(),  # a new project with a name: would be created first, must be rolled back
        owner_row(project_code="XYZ", project_name="", phone="13912345678", name="李强"),
    ]
    with pytest.raises(ImportRejected) as excinfo:
        await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))

    assert rejected_errors(excinfo) == [(3, "project_code")]
    assert "XYZ" in first_reason(excinfo)
    assert await counts() == NOTHING


async def test_an_unknown_project_row_is_skipped_with_skip_bad_rows(database, tmp_path):
    rows = [owner_row(), owner_row(project_code="XYZ", project_name="", phone="13912345678", name="李强")]
    report = await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows), skip_bad_rows=True)
    assert (report.imported_rows, report.skipped_rows) == (1, 1)
    assert [(error.row, error.column) for error in report.errors] == [(3, "project_code")]
    assert await counts() == {"project": 1, "unit": 1, "member": 1, "ownership": 1}


async def test_a_known_project_code_needs_no_project_name(database, tmp_path):
    await importer.import_owners(write_owner_file(tmp_path / "first.csv", [owner_row()]))
    columns = [column for column in COLUMNS if column != "project_name"]
    later = [owner_row(phone="13912345678", name="李强", room="1202")]

    report = await importer.import_owners(write_owner_file(tmp_path / "later.csv", later, columns=columns))

    assert report.errors == [] and report.projects_created == 0
    assert [unit["project"] for unit in await units_of(LI)] == ["JLW"]


async def test_bug_a_project_named_on_a_later_row_is_known_to_the_earlier_rows(database, tmp_path):
    """The docstring: "Projects must exist or have a name in the file". `_projects` walks rows in
    order, so a row before the one that carries the name is rejected as an unknown project
    (and with --skip-bad-rows it is imported anyway while counted as skipped)."""
    rows = [
        owner_row(project_code="YHF", project_name="", building="8", room="601"),
        owner_row(project_code="YHF", project_name="云杭府", building="8", room="602", phone="13912345678", name="李强"),
    ]
    report = await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))
    assert report.errors == [] and report.projects_created == 1
    assert await counts() == {"project": 1, "unit": 2, "member": 2, "ownership": 2}


async def test_bug_an_owners_details_on_a_later_row_are_not_dropped(database, tmp_path):
    """An owner of two units, whose birthday and gender the sales office wrote on the second
    row only. `_members` reads only each phone's first row, so the birthday is lost, and a
    re-import never picks it up."""
    rows = [
        owner_row(birthday="", gender="", tags=""),
        owner_row(room="1202", birthday="1985-04-12", gender="女", tags="瑜伽"),
    ]
    await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))
    wang = await member_by_phone(WANG)
    assert (wang["birthday"], wang["gender"], wang["tags"]) == (date(1985, 4, 12), "female", ["瑜伽"])


async def test_progress_is_told_about_every_imported_row(database, tmp_path):
    rows = [owner_row(room=str(1000 + number)) for number in range(1203)]
    told: list[int] = []
    report = await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows), progress=told.append)
    assert sum(told) == report.imported_rows == 1203
    assert len(told) == 3  # chunks of 500 rows
    assert await Ownership.count() == 1203
