"""Build owners the way staff do: through an owner file and the real importer."""

from __future__ import annotations

import csv
from pathlib import Path

from loyalty.members import importer

COLUMNS = [
    "project_code", "project_name", "phase", "building", "room", "name", "phone", "contract_date", "delivery_date",
    "contract_price",  # CNY, e.g. "10000000.00"; a blank cell leaves the unit's price unknown
]
_DEFAULTS = {"project_code": "HZ-YH", "project_name": "云湖里", "phase": "1期", "building": "1幢"}


async def import_rows(folder: Path, rows: list[dict[str, str]]) -> importer.ImportReport:
    """Import owner rows (defaults fill project and address; each row gets its own room)."""
    path = folder / "owners.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for number, row in enumerate(rows, start=1):
            writer.writerow({**_DEFAULTS, "room": f"{number:02d}01", **row})
    return await importer.import_owners(path)
