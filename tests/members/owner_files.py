"""Builders for owner files (.csv in any encoding, .xlsx) and a snapshot of the owner database.

Tests describe rows as dicts keyed by the canonical column names of `members.owner_file`;
`write_owner_file` turns them into the file a sales office would send, with English or
Chinese headers. `snapshot` reads back everything an import may touch, so "nothing was
imported" and "nothing changed" are one equality each.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl import Workbook

from loyalty.members.tables import Member, Ownership, Project, Unit

COLUMNS = (
    "project_code",
    "project_name",
    "phase",
    "building",
    "room",
    "area_sqm",
    "contract_price",
    "name",
    "phone",
    "birthday",
    "gender",
    "language",
    "contract_date",
    "delivery_date",
    "tags",
    "notes",
)

# The headers a Chinese sales office's own spreadsheet uses (each is an alias in COLUMNS there).
CHINESE_HEADERS = {
    "project_code": "楼盘编码",
    "project_name": "楼盘名称",
    "phase": "分期",
    "building": "楼栋",
    "room": "房号",
    "area_sqm": "建筑面积",
    "contract_price": "成交总价",
    "name": "业主姓名",
    "phone": "手机号",
    "birthday": "出生日期",
    "gender": "性别",
    "language": "语言",
    "contract_date": "签约日期",
    "delivery_date": "交房日期",
    "tags": "爱好",
    "notes": "备注",
}


def owner_row(**values: Any) -> dict[str, Any]:
    """One valid row; override what the test is about."""
    row: dict[str, Any] = {
        "project_code": "JLW",
        "project_name": "锦澜湾",
        "phase": "1",
        "building": "3",
        "room": "1201",
        "area_sqm": "118.50",
        "contract_price": "2,345,678.00",
        "name": "王芳",
        "phone": "13800138000",
        "birthday": "1985-04-12",
        "gender": "女",
        "language": "zh-CN",
        "contract_date": "2021-03-08",
        "delivery_date": "2022-06-15",
        "tags": "羽毛球、烘焙",
        "notes": "",
    }
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise KeyError(f"not an owner-file column: {sorted(unknown)}")
    row.update(values)
    return row


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_owner_file(
    path: Path,
    rows: Iterable[dict[str, Any]],
    *,
    columns: Sequence[str] = COLUMNS,
    chinese: bool = False,
    encoding: str = "utf-8",
) -> Path:
    """Write `rows` to `path` (.csv in `encoding`, or .xlsx with the values' own types)."""
    header = [CHINESE_HEADERS[column] if chinese else column for column in columns]
    body = [[row.get(column) for column in columns] for row in rows]
    if path.suffix == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(header)
        for values in body:
            sheet.append([None if value == "" else value for value in values])
        workbook.save(path)
    else:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([[_cell_text(value) for value in values] for values in body])
        path.write_bytes(buffer.getvalue().encode(encoding))
    return path


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables an import writes, in id order, timestamps included."""
    return {
        "project": await Project.select().order_by(Project.id),
        "unit": await Unit.select().order_by(Unit.id),
        "member": await Member.select().order_by(Member.id).output(load_json=True),
        "ownership": await Ownership.select().order_by(Ownership.id),
    }


async def counts() -> dict[str, int]:
    return {
        "project": await Project.count(),
        "unit": await Unit.count(),
        "member": await Member.count(),
        "ownership": await Ownership.count(),
    }


NOTHING = {"project": 0, "unit": 0, "member": 0, "ownership": 0}


async def member_by_phone(e164: str) -> dict[str, Any]:
    found = await Member.select().where(Member.phone == e164).output(load_json=True).first()
    assert found is not None, f"no member with phone {e164}"
    return found


async def units_of(e164: str) -> list[dict[str, Any]]:
    """The units a member owns, as (project code, phase, building, room) plus ownership dates."""
    return await Ownership.select(
        Ownership.unit.project.code.as_alias("project"),
        Ownership.unit.phase.as_alias("phase"),
        Ownership.unit.building.as_alias("building"),
        Ownership.unit.room.as_alias("room"),
        Ownership.contract_date,
        Ownership.delivery_date,
    ).where(Ownership.member.phone == e164).order_by(Ownership.unit.room)
