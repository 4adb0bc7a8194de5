"""Write docs/sample-owners.xlsx and docs/sample-owners.csv: a sample owner file for
`loyalty import-owners`, laid out the way a sales office keeps its 业主花名册.

Two projects (锦澜湾, delivered 2021–2023; 云杭府, partly still to be delivered), a married
couple on one unit (co-owners), one owner with units in both projects, Chinese headers.
The .xlsx keeps Excel's own cell types (date cells, numeric amounts with thousands
separators, phone numbers as text); the .csv is UTF-8 with a BOM so Excel opens it right.
Both hold the same owners, so importing one after the other changes nothing.

    python docs/make_sample_owners.py            # writes next to this script
    python docs/make_sample_owners.py OUT_DIR    # writes into OUT_DIR

The phone numbers follow the 138-0013-8000 pattern used in examples; they are valid
mainland mobile numbers but belong to nobody we know of.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

HEADERS = (
    "楼盘编码", "楼盘名称", "分期", "楼栋", "房号", "建筑面积", "成交总价",
    "业主姓名", "手机号", "性别", "出生日期", "签约日期", "交房日期", "爱好", "备注",
)

JLW = ("HZ-JLW", "锦澜湾")
YHF = ("HZ-YHF", "云杭府")

# (project, phase, building, room, area m², price CNY, name, phone, gender, birthday,
#  contract, delivery, hobbies, notes)
OWNERS: list[tuple] = [
    (JLW, "一期", "1幢", "301", "89.56", "1,856,000.00", "张伟", "13800138001", "男", date(1982, 3, 14),
     date(2019, 10, 12), date(2021, 6, 18), "羽毛球、钓鱼", "夫妻共有，配偶刘洋"),
    (JLW, "一期", "1幢", "301", "89.56", "1,856,000.00", "刘洋", "13800138002", "女", date(1984, 11, 2),
     date(2019, 10, 12), date(2021, 6, 18), "烘焙、瑜伽", "夫妻共有，配偶张伟"),
    (JLW, "一期", "1幢", "1502", "118.20", "2,463,500.00", "王芳", "13800138003", "女", date(1979, 5, 27),
     date(2019, 11, 3), date(2021, 6, 18), "广场舞", ""),
    (JLW, "一期", "2幢", "602", "118.20", "2,398,000.00", "李强", "13800138004", "男", None,
     date(2019, 12, 21), date(2021, 6, 18), "", "老带新推荐人"),
    (JLW, "一期", "2幢", "1801", "143.75", "3,105,800.50", "赵敏", "13800138005", "女", date(1990, 8, 8),
     date(2020, 1, 9), date(2021, 6, 18), "摄影、旅行", ""),
    (JLW, "一期", "3幢", "902", "118.20", "2,412,000.00", "孙立", "13800138006", "男", date(1975, 2, 19),
     date(2020, 3, 28), date(2021, 6, 18), "书法", "车位另购"),
    (JLW, "二期", "5幢", "801", "96.30", "2,050,000.00", "陈静", "13900139001", "女", date(1988, 12, 30),
     date(2021, 4, 17), date(2023, 12, 20), "亲子活动、烘焙", "锦澜湾、云杭府各一套"),
    (JLW, "二期", "5幢", "1203", "96.30", "2,087,600.00", "周杰", "13900139002", "男", date(1992, 7, 1),
     date(2021, 5, 2), date(2023, 12, 20), "篮球", ""),
    (JLW, "二期", "6幢", "402", "128.00", "2,680,000.00", "吴婷", "13900139003", "女", None,
     date(2021, 6, 6), date(2023, 12, 20), "", ""),
    (JLW, "二期", "6幢", "2101", "128.00", "2,799,999.99", "郑浩", "13900139004", "男", date(1986, 9, 15),
     date(2021, 8, 20), date(2023, 12, 20), "跑步、骑行", "按揭"),
    (JLW, "二期", "7幢", "1102", "143.75", "3,188,000.00", "冯丽", "13900139005", "女", date(1980, 4, 4),
     date(2021, 9, 9), date(2023, 12, 20), "花艺", ""),
    (YHF, "一期", "1幢", "702", "105.60", "2,956,800.00", "何军", "18600186001", "男", date(1978, 6, 21),
     date(2023, 3, 18), date(2025, 12, 28), "茶艺", ""),
    (YHF, "一期", "1幢", "702", "105.60", "2,956,800.00", "马燕", "18600186002", "女", date(1981, 1, 12),
     date(2023, 3, 18), date(2025, 12, 28), "烘焙", "夫妻共有，配偶何军"),
    (YHF, "一期", "2幢", "1503", "139.80", "4,124,100.00", "陈静", "13900139001", "女", date(1988, 12, 30),
     date(2023, 5, 20), date(2025, 12, 28), "亲子活动、烘焙", "锦澜湾、云杭府各一套"),
    (YHF, "一期", "2幢", "2002", "139.80", "4,180,000.00", "罗明", "18600186003", "男", None,
     date(2023, 6, 1), date(2025, 12, 28), "高尔夫", ""),
    (YHF, "一期", "3幢", "601", "89.90", "2,610,000.00", "高洁", "18600186004", "女", date(1995, 3, 3),
     date(2023, 7, 15), date(2025, 12, 28), "瑜伽、读书", ""),
    (YHF, "二期", "8幢", "1201", "118.00", "3,540,000.00", "林峰", "15000150001", "男", date(1983, 10, 10),
     date(2024, 9, 29), None, "钓鱼", "预计2027年交付"),
    (YHF, "二期", "8幢", "1802", "118.00", "3,605,500.00", "谢芸", "15000150002", "女", date(1991, 5, 20),
     date(2024, 10, 3), None, "", "一次性付款"),
    (YHF, "二期", "9幢", "301", "160.20", "4,968,000.00", "宋涛", "15000150003", "男", date(1972, 8, 26),
     date(2025, 1, 12), None, "书法、茶艺", ""),
    (YHF, "二期", "9幢", "2602", "160.20", "5,126,400.00", "唐宁", "15000150004", "女", None,
     date(2025, 3, 8), None, "旅行", ""),
]


def rows() -> list[list[object]]:
    """The owners as cell values, Python types (date, Decimal) where Excel has its own."""
    table = []
    for (code, project), phase, building, room, area, price, *person in OWNERS:
        name, phone, gender, birthday, contract, delivery, hobbies, notes = person
        table.append(
            [code, project, phase, building, room, Decimal(area), Decimal(price.replace(",", "")),
             name, phone, gender, birthday, contract, delivery, hobbies, notes]
        )
    return table


def write_xlsx(path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "业主花名册"
    sheet.append(HEADERS)
    for values in rows():
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in values])
    formats = {"F": "0.00", "G": "#,##0.00", "K": "yyyy-mm-dd", "L": "yyyy-mm-dd", "M": "yyyy-mm-dd", "I": "@"}
    for column, number_format in formats.items():
        for cell in sheet[column][1:]:
            cell.number_format = number_format
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    widths = (10, 10, 6, 6, 7, 9, 14, 9, 13, 5, 11, 11, 11, 16, 20)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "销售案场"
    workbook.properties.created = datetime(2026, 11, 1, 9, 0)
    workbook.save(path)


def _csv_text(value: object, column: int) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if HEADERS[column] == "成交总价" else f"{value:.2f}"
    return str(value)


def write_csv(path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for values in rows():
        writer.writerow([_csv_text(value, column) for column, value in enumerate(values)])
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_xlsx(out_dir / "sample-owners.xlsx")
    write_csv(out_dir / "sample-owners.csv")
    print(f"wrote {len(OWNERS)} rows to {out_dir / 'sample-owners.xlsx'} and {out_dir / 'sample-owners.csv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
