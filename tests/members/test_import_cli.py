"""`loyalty import-owners FILE [--skip-bad-rows]`, run as the real command in a subprocess
against the test database (the command binds its own engine and event loop)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.members.owner_files import NOTHING, counts, member_by_phone, owner_row, write_owner_file

ROOT = Path(__file__).resolve().parents[2]


def run_import(
    database, *args: str | Path, messages: str = "en_US.UTF-8", locale: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command, reporting in English unless `messages` (LC_MESSAGES) or `locale` (LC_ALL,
    which outranks it) names another locale."""
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": database.url,
        "COLUMNS": "200",  # rich wraps its tables to the terminal width; keep each row on one line
        "NO_COLOR": "1",
        "LC_ALL": "",
        "LC_MESSAGES": messages,
    }
    env.pop("LOYALTY_SECRET_KEY", None)
    if locale is not None:
        env["LC_ALL"] = locale
    return subprocess.run(
        [sys.executable, "-m", "loyalty.cli", "import-owners", *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def owners_with_a_bad_phone_on_row_3() -> list[dict]:
    return [owner_row(), owner_row(name="李强", phone="1391234567", room="1202"), owner_row(name="赵敏", phone="18612345678", room="1203")]


async def test_cli_imports_a_good_file_and_a_second_run_reports_nothing_changed(database, tmp_path):
    path = write_owner_file(tmp_path / "业主.xlsx", [owner_row(), owner_row(name="李强", phone="13912345678")], chinese=True)

    first = run_import(database, path)
    assert first.returncode == 0, first.stderr
    assert await counts() == {"project": 1, "unit": 1, "member": 2, "ownership": 2}
    assert (await member_by_phone("+8613912345678"))["stage"] != ""

    second = run_import(database, path)
    assert second.returncode == 0, second.stderr
    assert "Nothing changed" in second.stderr
    assert "Nothing changed" not in first.stderr
    third = run_import(database, path, messages="C.UTF-8")  # a server's locale names no language: Chinese
    assert "没有任何变动：数据库已与文件一致。" in third.stderr, third.stderr


async def test_bug_cli_with_a_bad_phone_exits_non_zero_names_row_and_column_and_imports_nothing(database, tmp_path):
    """cli.py `_run` turns every DomainError into a ClickException before `import_owners`'
    own `except ImportRejected` can print the table of row errors, so the operator only
    reads "1 problem(s) in 1 row(s)" and cannot find the row."""
    path = write_owner_file(tmp_path / "owners.csv", owners_with_a_bad_phone_on_row_3())

    result = run_import(database, path)

    assert result.returncode != 0
    assert await counts() == NOTHING
    output = result.stdout + result.stderr
    assert re.search(r"\b3\b\W+phone\b", output), output


async def test_cli_with_a_bad_phone_exits_non_zero_and_imports_nothing(database, tmp_path):
    path = write_owner_file(tmp_path / "owners.csv", owners_with_a_bad_phone_on_row_3())

    english = run_import(database, path, locale="en_US.UTF-8")
    chinese = run_import(database, path, locale="zh_CN.UTF-8")

    assert english.returncode != 0 and chinese.returncode != 0
    assert "nothing was imported" in english.stderr
    assert "'1391234567' is not a valid phone number" in english.stderr
    assert "未导入任何数据" in chinese.stderr
    assert "「1391234567」不是有效的手机号码" in chinese.stderr
    assert await counts() == NOTHING


async def test_cli_skip_bad_rows_imports_the_good_rows_and_lists_the_bad_one(database, tmp_path):
    path = write_owner_file(tmp_path / "owners.csv", owners_with_a_bad_phone_on_row_3())

    result = run_import(database, path, "--skip-bad-rows")

    assert result.returncode == 0, result.stderr
    assert re.search(r"\b3\b\W+phone\b", result.stderr), result.stderr
    assert "1 row skipped" in result.stderr
    assert await counts() == {"project": 1, "unit": 2, "member": 2, "ownership": 2}
