"""axe-core (Deque's accessibility rules engine, from the npm registry) for the browser tests.

`axe_source()` installs the pinned version once into a cached, git-ignored folder (.cache/axe, or
LOYALTY_AXE_DIR) with the machine's npm, and returns the script; `scan(page)` injects it into the
page and returns the violations at or above "serious". No browser is downloaded: the tests drive
Debian's Chromium. Without npm, or when the registry cannot be reached the first time, the
scanning tests fail with a sentence saying so (never skip silently: it is an acceptance test)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_VERSION = "4.14.1"
ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = Path(os.environ.get("LOYALTY_AXE_DIR", ROOT / ".cache" / "axe"))
# What fails the scan: axe's two highest impacts. "moderate" and "minor" are reported by axe but
# are not acceptance failures here.
FAILING = ("serious", "critical")


def axe_script_path() -> Path:
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    installed = AXE_DIR / "node_modules" / "axe-core" / "package.json"
    if script.is_file() and f'"version": "{AXE_VERSION}"' in installed.read_text(encoding="utf-8"):
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: the accessibility scan needs it once to install axe-core (apt-get install npm)")
    AXE_DIR.mkdir(parents=True, exist_ok=True)
    with open(AXE_DIR / ".lock", "w") as lock:  # one install when several pytest workers start at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (script.is_file() and f'"version": "{AXE_VERSION}"' in installed.read_text(encoding="utf-8")):
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-save", "--ignore-scripts", "--prefix", str(AXE_DIR),
                 f"axe-core@{AXE_VERSION}"],
                capture_output=True, text=True, timeout=300, check=False,
            )
            if done.returncode != 0 or not script.is_file():
                raise RuntimeError(f"npm could not install axe-core@{AXE_VERSION} into {AXE_DIR}: {done.stderr[-500:]}")
    return script


def described(violations: list[dict[str, Any]]) -> list[str]:
    """One line per failing node: the rule, its impact, the element and axe's own summary."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f'{violation["id"]} ({violation["impact"]}): {" ".join(node["target"])} — {summary[:240]}')
    return lines


async def scan(page: Page, where: str) -> list[str]:
    """axe's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules and
    axe's best practices), one line each, prefixed with `where`."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Through the DevTools protocol, not a <script> tag: the pages' CSP (script-src 'self') would refuse one.
        await page.evaluate(axe_script_path().read_text(encoding="utf-8") + "\n;true")
    violations = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
             .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target.map(String), failureSummary: n.failureSummary })) }))"""
    )
    return [f"{where}: {line}" for line in described([v for v in violations if v["impact"] in FAILING])]
