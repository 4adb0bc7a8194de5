"""CHECK constraints that work on both engines, for migrations.

The database refuses impossible values (a negative capacity or fee, a billion attendance
points, a tier that does not exist) whatever path writes them: a service, /admin, a script.
PostgreSQL takes them as CHECK constraints; SQLite cannot add a CHECK to an existing table, so
there each becomes a pair of triggers (insert, update) that abort with the same message,
`CHECK constraint failed: <name>`, raised as an IntegrityError by both drivers.

A condition names its columns in braces (`{capacity} >= 0`): a trigger reads them from the
new row (`NEW.capacity`), a CHECK from the row itself."""

from __future__ import annotations

import re
from typing import Iterable

from piccolo.table import Table

from loyalty import db

_COLUMN = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def one_of(column: str, values: Iterable[str]) -> str:
    """`{column} IN ('a', 'b')` for an enumeration column (values are our own literals)."""
    quoted = ", ".join("'" + str(value).replace("'", "''") + "'" for value in values)
    return f"{{{column}}} IN ({quoted})"


def _raw_table(tablename: str) -> type[Table]:
    class _Raw(Table, tablename=tablename):  # made per call: it uses the engine bound now
        pass

    return _Raw


async def add_checks(tablename: str, checks: dict[str, str]) -> None:
    """Add each named CHECK (`name` → condition with {column}s) to `tablename`."""
    raw = _raw_table(tablename)
    for name, condition in checks.items():
        if db.is_postgres():
            plain = _COLUMN.sub(lambda match: f'"{match.group(1)}"', condition)
            await raw.raw(f'ALTER TABLE "{tablename}" ADD CONSTRAINT {name} CHECK ({plain})')
            continue
        on_new = _COLUMN.sub(lambda match: f'NEW."{match.group(1)}"', condition)
        for event in ("INSERT", "UPDATE"):
            await raw.raw(
                f'CREATE TRIGGER {name}_{event.lower()} BEFORE {event} ON "{tablename}" '
                f"WHEN NOT ({on_new}) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
            )


async def drop_checks(tablename: str, names: Iterable[str]) -> None:
    raw = _raw_table(tablename)
    for name in names:
        if db.is_postgres():
            await raw.raw(f'ALTER TABLE "{tablename}" DROP CONSTRAINT {name}')
        else:
            for event in ("insert", "update"):
                await raw.raw(f"DROP TRIGGER {name}_{event}")
