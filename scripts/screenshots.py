"""Take the README's screenshots of /admin and the API documentation in a real browser against a demo server.

    .venv/bin/python scripts/screenshots.py

Starts `loyalty serve --demo` in a temporary folder on a free loopback port, then with Debian's
Chromium (Playwright, never a downloaded browser) saves
- docs/screenshots/admin-events-zh.png: /admin's events (read-only there) as the demo admin, logged in on /staff;
- docs/screenshots/admin-zh.png: one event's record in /admin, every field named in Chinese (zh-CN);
- docs/screenshots/api-swagger.png and api-redoc.png: the API documentation (Swagger UI, Redoc) at
  the partner API's "record a sale", 1280 wide, as a merchant's developer first sees it.
`--only NAME …` takes only those (e.g. `--only api-swagger api-redoc`).
The pages' own screenshots (owner-card-zh, scanner-results-zh/en, dashboards-zh/en) come from the
browser test that reads them in both languages, in the demo's world and a door open now:
    LOYALTY_SCREENSHOTS_DIR=docs/screenshots .venv/bin/pytest tests/browser/test_no_foreign_words.py -k sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.async_api import Browser, async_playwright, expect

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LOYALTY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
ADMIN = ("admin", "demo-admin-pass")  # loyalty.demo.DEMO_STAFF


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the demo server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the demo server did not become healthy")


SHOTS = ("admin-events-zh", "admin-zh", "api-swagger", "api-redoc")


async def shoot_api_docs(browser: Browser, url: str, out: Path, only: set[str]) -> None:
    """The docs pages load nothing from elsewhere (tests/browser/test_api_docs.py checks)."""
    desk = await browser.new_context(base_url=url, locale="en-US", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    if "api-swagger" in only:
        # Deep link: the partner tag with "record a sale" opened, scrolled to the partner operations.
        await page.goto("/schema/swagger#/partner/createSale")
        await expect(page.locator("#swagger-ui[data-state=ready]")).to_be_attached(timeout=30_000)
        await expect(page.locator("#operations-partner-createSale .opblock-body")).to_be_visible(timeout=30_000)
        await page.locator("#operations-tag-partner").evaluate("(tag) => tag.scrollIntoView({block: 'start'})")
        await page.screenshot(path=out / "api-swagger.png")
    if "api-redoc" in only:
        await page.goto("/schema/redoc#tag/partner/operation/createSale")
        await expect(page.locator("#redoc[data-state=ready]")).to_be_attached(timeout=30_000)
        await expect(page.locator('[id="operation/createSale"]')).to_be_in_viewport(timeout=30_000)
        await page.screenshot(path=out / "api-redoc.png")
    await desk.close()


async def shoot(url: str, out: Path, only: set[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await shoot_api_docs(browser, url, out, only)
            if not only & {"admin-events-zh", "admin-zh"}:
                return
            desk = await browser.new_context(
                base_url=url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900},
            )
            page = await desk.new_page()
            await page.goto("/staff")
            await page.fill("#username", ADMIN[0])
            await page.fill("#password", ADMIN[1])
            await page.click("#sign-in")
            await expect(page.locator(".dash")).to_have_count(6, timeout=30_000)

            # /admin rides on the same staff login: no second sign-in.
            await page.goto("/admin/#/event/")
            await expect(page.locator('a[href="#/event/"]').first).to_be_visible(timeout=30_000)
            await page.wait_for_load_state("networkidle")
            if "admin-events-zh" in only:
                await page.screenshot(path=out / "admin-events-zh.png")
            if "admin-zh" in only:  # a record's form names every field (admin_ui/labels.py)
                await page.goto("/admin/#/event/1/")
                await expect(page.get_by_text("铂金卡费用（分）")).to_be_visible(timeout=30_000)
                await page.wait_for_load_state("networkidle")
                await page.evaluate("document.fonts.ready.then(() => true)")
                await page.screenshot(path=out / "admin-zh.png", full_page=True)
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", nargs="+", choices=SHOTS, default=list(SHOTS), help="take only these screenshots")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    with tempfile.TemporaryDirectory(prefix="owner-club-demo-") as tmp:
        folder = Path(tmp)
        server = subprocess.Popen(
            [sys.executable, "-c", "from loyalty.cli import main; main()", "serve", "--demo", "--port", str(port)],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("wb"),
        )
        try:
            wait_healthy(url, server)
            asyncio.run(shoot(url, args.out, set(args.only)))
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"saved {', '.join(f'{name}.png' for name in args.only)} in {args.out}")


if __name__ == "__main__":
    main()
