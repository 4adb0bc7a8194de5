"""Reading an owner file (.csv or .xlsx) into checked rows, or row-level errors.

Headers may be English or Chinese (the spreadsheets sales offices already keep). Nothing here
touches the database: `members.importer` writes what this module has accepted.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterator

from openpyxl import load_workbook

from loyalty.errors import CellTooLong, InvalidField, TooManyRows
from loyalty.i18n import Message, _, _n
from loyalty.members.file_checks import FileLimits, decode_csv
from loyalty.members.tables import GENDERS
from loyalty.phones import normalise_phone
from loyalty.settings import LANGUAGES

# canonical column → accepted headers (compared case-insensitively, spaces ignored)
COLUMNS: dict[str, tuple[str, ...]] = {
    "project_code": ("project_code", "项目编码", "楼盘编码"),
    "project_name": ("project_name", "project", "项目", "项目名称", "楼盘", "楼盘名称"),
    "phase": ("phase", "期", "分期"),
    "building": ("building", "幢", "楼栋", "栋"),
    "room": ("room", "室", "房号"),
    "area_sqm": ("area_sqm", "area", "面积", "建筑面积"),
    "contract_price": ("contract_price", "contract_price_cny", "合同价", "合同总价", "成交总价"),
    "name": ("name", "姓名", "业主姓名"),
    "phone": ("phone", "mobile", "手机", "手机号", "电话"),
    "birthday": ("birthday", "生日", "出生日期"),
    "gender": ("gender", "性别"),
    "language": ("language", "语言"),
    "contract_date": ("contract_date", "签约日期", "合同日期"),
    "delivery_date": ("delivery_date", "交付日期", "交房日期"),
    "tags": ("tags", "hobbies", "标签", "爱好"),
    "notes": ("notes", "备注"),
}
REQUIRED = ("project_code", "building", "room", "name", "phone", "contract_date")
_GENDER_WORDS = {"男": "male", "女": "female", "m": "male", "f": "female", "未知": "unknown"}
_LANGUAGE_WORDS = {"中文": "zh-CN", "zh": "zh-CN", "zh-cn": "zh-CN", "英文": "en", "english": "en", "en": "en"}
_TAG_SEPARATORS = (",", "，", ";", "；", "、", "|")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: Message  # rendered in the reader's locale (a report is stored as msgid and values)


def _refused(reason: Message) -> InvalidField:
    """A cell's value the import refuses; `reason` names the value as `{value}`."""
    return InvalidField(reason)


@dataclass
class OwnerRow:
    row: int
    project_code: str
    project_name: str
    phase: str
    building: str
    room: str
    area_sqm: Decimal | None
    contract_price_fen: int | None
    name: str
    phone: str
    birthday: date | None
    gender: str | None
    language: str | None
    contract_date: date
    delivery_date: date | None
    tags: list[str] = field(default_factory=list)
    notes: str = ""


@dataclass
class ParsedFile:
    rows: list[OwnerRow]
    errors: list[RowError]
    total: int


def _header_key(text: Any) -> str:
    return str(text or "").strip().lower().replace(" ", "").replace("_", "")


_ALIASES = {_header_key(alias): column for column, aliases in COLUMNS.items() for alias in aliases}


def _raw_rows(path: Path) -> Iterator[list[Any]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            for values in workbook.worksheets[0].iter_rows(values_only=True):
                yield list(values)
        finally:
            workbook.close()
    elif suffix == ".csv":
        try:
            yield from csv.reader(io.StringIO(decode_csv(path.read_bytes())))
        except csv.Error:  # a field over the csv module's own limit (128 KB)
            raise CellTooLong(_("a cell is longer than any owner-file value can be"), field="file") from None
    else:
        raise InvalidField(_("{file}: owner files are .csv or .xlsx", file=path.name), field="file")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps phone numbers and room numbers as floats
    return str(value).strip()


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _refused(_("'{value}' is not a date (write YYYY-MM-DD)", value=_text(value)))


def _fen(value: Any) -> int | None:
    """A CNY amount ('1,234,567.89', '¥2300000') → integer fen, exactly, never via float."""
    text = _text(value).replace(",", "").replace("¥", "").replace("￥", "").replace("元", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _refused(_("'{value}' is not an amount in CNY", value=_text(value))) from None
    if not amount.is_finite():
        raise _refused(_("'{value}' is not an amount in CNY", value=_text(value)))
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise _refused(_("'{value}' must be a non-negative amount with at most 2 decimals", value=text))
    return int(amount * 100)


def _area(value: Any) -> Decimal | None:
    text = _text(value)
    if not text:
        return None
    try:
        area = Decimal(text)
        if not area.is_finite():
            raise InvalidOperation
        area = area.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise _refused(_("'{value}' is not an area in m²", value=text)) from None
    if not (0 < area < 100000):
        raise _refused(_("{value} m² is not a plausible area", value=text))
    return area


def _gender(value: Any) -> str | None:
    text = _text(value).lower()
    if not text:
        return None
    gender = _GENDER_WORDS.get(text, text)
    if gender not in GENDERS:
        raise _refused(_("'{value}': write \"男\" or \"女\" (or \"female\" or \"male\")", value=_text(value)))
    return gender


def _language(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    language = _LANGUAGE_WORDS.get(text.lower(), text)
    if language not in LANGUAGES:
        raise _refused(_("'{value}': write zh-CN or en", value=text))
    return language


def _tags(value: Any) -> list[str]:
    text = _text(value)
    for separator in _TAG_SEPARATORS[1:]:
        text = text.replace(separator, _TAG_SEPARATORS[0])
    return [tag.strip() for tag in text.split(_TAG_SEPARATORS[0]) if tag.strip()]


def _reason(detail: Message | str) -> Message:
    return detail if isinstance(detail, Message) else _("invalid value")


# How often (in rows) a long parse reports how far it has come.
PROGRESS_EVERY = 1000


def read_owner_file(
    path: Path, region: str = "CN", *, limits: FileLimits | None = None, progress: Callable[[int], None] | None = None
) -> ParsedFile:
    """Parse and check every row; collect every problem instead of stopping at the first.
    With `limits` (an upload), more rows than allowed stop the parse (TooManyRows) and a
    cell longer than allowed is a row error. `progress` hears the rows read so far, every
    PROGRESS_EVERY rows and at the end."""
    rows = _raw_rows(path)
    header = next(rows, None)
    if header is None:
        raise InvalidField(_("{file} is empty", file=path.name), field="file")
    columns: dict[int, str] = {}
    errors: list[RowError] = []
    for index, title in enumerate(header):
        column = _ALIASES.get(_header_key(title))
        if column:
            columns[index] = column
    missing = [name for name in REQUIRED if name not in columns.values()]
    if missing:
        return ParsedFile(rows=[], errors=[RowError(1, name, _("the required column is missing")) for name in missing], total=0)

    parsed: list[OwnerRow] = []
    seen_phone_names: dict[str, tuple[str, int]] = {}
    seen_ownerships: dict[tuple[str, str, str, str, str], int] = {}
    total = 0
    for number, values in enumerate(rows, start=2):
        cells = {column: values[index] if index < len(values) else None for index, column in columns.items()}
        if all(_text(value) == "" for value in cells.values()):
            continue
        total += 1
        if limits is not None and total > limits.max_rows:
            raise TooManyRows(
                _("the file has more than {most:,} rows", most=limits.max_rows), field="file", limit=limits.max_rows
            )
        if progress is not None and total % PROGRESS_EVERY == 0:
            progress(total)
        row_errors: list[RowError] = []
        if limits is not None:
            row_errors = [
                RowError(number, column, _n(
                    "longer than {count:,} character", "longer than {count:,} characters", limits.max_cell_chars
                ))
                for column, value in cells.items()
                if len(_text(value)) > limits.max_cell_chars
            ]
            if row_errors:  # refused whatever else it holds; its values are checked no further
                errors.extend(row_errors)
                continue

        def take(column: str, convert: Any) -> Any:
            try:
                return convert(cells.get(column))
            except InvalidField as error:
                row_errors.append(RowError(number, column, _reason(error.detail)))
                return None
            except ValueError:  # a converter's own refusal with no words of ours
                row_errors.append(RowError(number, column, _("invalid value")))
                return None

        for column in REQUIRED:
            if _text(cells.get(column)) == "":
                row_errors.append(RowError(number, column, _("a required value is empty")))
        phone = take("phone", lambda v: normalise_phone(_text(v), region) if _text(v) else None)
        row = OwnerRow(
            row=number,
            project_code=_text(cells.get("project_code")),
            project_name=_text(cells.get("project_name")),
            phase=_text(cells.get("phase")),
            building=_text(cells.get("building")),
            room=_text(cells.get("room")),
            area_sqm=take("area_sqm", _area),
            contract_price_fen=take("contract_price", _fen),
            name=_text(cells.get("name")),
            phone=phone or "",
            birthday=take("birthday", _date),
            gender=take("gender", _gender),
            language=take("language", _language),
            contract_date=take("contract_date", _date),
            delivery_date=take("delivery_date", _date),
            tags=_tags(cells.get("tags")),
            notes=_text(cells.get("notes")),
        )
        if row.delivery_date and row.contract_date and row.delivery_date < row.contract_date:
            row_errors.append(RowError(number, "delivery_date", _("the delivery date is before the contract date")))
        if phone and row.name:
            earlier = seen_phone_names.setdefault(phone, (row.name, number))
            if earlier[0] != row.name:
                row_errors.append(
                    RowError(number, "phone", _(
                        "the same phone has the name '{value}' in row {row}", value=earlier[0], row=earlier[1]
                    ))
                )
            key = (phone, row.project_code, row.phase, row.building, row.room)
            first = seen_ownerships.setdefault(key, number)
            if first != number:
                row_errors.append(RowError(number, "room", _("the same owner and unit are already in row {row}", row=first)))
        if row_errors:
            errors.extend(row_errors)
        else:
            parsed.append(row)
    if progress is not None:
        progress(total)
    return ParsedFile(rows=parsed, errors=errors, total=total)


def projects_in(path: Path, most: int = 20) -> list[tuple[str, str]]:
    """The projects an owner file names (code, name as written), in the order they first come,
    at most `most`: what the staff page says before an import starts. Reads only two columns;
    the rows are checked by `read_owner_file` when the import runs. Call it on a file that
    passed `file_checks.check_owner_file` (its limits)."""
    rows = _raw_rows(path)
    header = next(rows, None) or []
    columns = {_ALIASES.get(_header_key(title)): index for index, title in enumerate(header)}
    code_at, name_at = columns.get("project_code"), columns.get("project_name")
    if code_at is None:
        return []
    found: dict[str, str] = {}
    for values in rows:
        code = _text(values[code_at]) if code_at < len(values) else ""
        name = _text(values[name_at]) if name_at is not None and name_at < len(values) else ""
        if not code or (code in found and found[code]):
            continue
        if code not in found and len(found) >= most:
            continue
        found[code] = name  # a project's name may be on any of its rows (members.importer)
    return list(found.items())
