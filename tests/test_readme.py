"""The README's quick start is the contract with a newcomer: CI runs exactly its commands (read
from the README by .ci/quick_start.py), and the test command is one script that needs nothing
installed beforehand but Python."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_start():
    spec = importlib.util.spec_from_file_location("quick_start", ROOT / ".ci" / "quick_start.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _quick_start_commands() -> list[str]:
    return _quick_start().commands((ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_quick_start_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert commands[0].endswith("loyalty serve --demo")  # .ci/run appends --port
    assert commands[1] == "scripts/test"


def test_the_test_command_is_an_executable_strict_bash_script_that_passes_arguments_to_pytest():
    script = ROOT / "scripts" / "test"
    assert os.access(script, os.X_OK)
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    assert "source scripts/services.sh" in text  # the same install/start logic CI uses, not a copy
    # in parallel (one worker per core), and the caller's arguments last so they can say otherwise
    assert text.rstrip().endswith('exec .venv/bin/pytest -n auto --maxprocesses 8 --dist worksteal "$@"')
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_ci_runs_the_readme_commands_it_reads_from_the_readme():
    for number, command in enumerate(_quick_start_commands(), start=1):
        printed = subprocess.run(
            [sys.executable, str(ROOT / ".ci" / "quick_start.py"), str(number)], capture_output=True, text=True, check=True
        )
        assert printed.stdout.strip() == command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "serve=$(python3 .ci/quick_start.py 1)" in ci
    assert "test_command=$(python3 .ci/quick_start.py 2)" in ci
    assert 'bash -c "$test_command ${CI_PYTEST_ARGS:-}" 2>&1 | tee' in ci
    assert "LOYALTY_TEST_REQUIRE_SERVICES=1" in ci and "tests were skipped" in ci
    assert "git clone" in ci  # in a fresh clone of the commit, not in this working tree
    assert "pytest" not in ci.split("test_command=", 1)[1].split("\n", 1)[0]
    for script in (ROOT / ".ci" / "run", ROOT / "scripts" / "services.sh"):
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_quick_start_says_how_to_use_it_for_a_command_it_does_not_have():
    answer = subprocess.run([sys.executable, str(ROOT / ".ci" / "quick_start.py"), "3"], capture_output=True, text=True)
    assert answer.returncode == 2 and "has 2 commands" in answer.stderr
