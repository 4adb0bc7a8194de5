"""Without Chromium, a run that includes browser tests stops at once with one line saying how
to get it (not an error and a traceback per browser test at the end of a long run); a run
without browser tests does not care."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LOYALTY_TEST_CHROMIUM": str(tmp_path / "no-chromium")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_a_run_with_browser_tests_stops_with_one_line_saying_how_to_get_chromium(tmp_path):
    result = run_pytest(tmp_path, "tests/browser/test_owner_card.py")

    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error: nothing ran
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"ERROR: Chromium not found at {tmp_path / 'no-chromium'}: run scripts/test (it installs Debian's chromium), "
        "or apt-get install chromium; or leave the browser tests out with --ignore=tests/browser"
    ]
    assert "Traceback" not in result.stdout


def test_a_run_whose_browser_tests_are_deselected_does_not_need_chromium(tmp_path):
    result = run_pytest(tmp_path, "tests/browser/test_owner_card.py", "-k", "no_test_is_called_this")

    assert result.returncode == 5, result.stdout + result.stderr  # no tests collected, no usage error
    assert "Chromium not found" not in result.stdout + result.stderr
