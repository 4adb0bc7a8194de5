"""Take the README's screenshots in a real browser against a demo server.

    .venv/bin/python scripts/screenshots.py

Starts `loyalty serve --demo` in a temporary folder on a free loopback port, then with Debian's
Chromium (Playwright, never a downloaded browser) saves
- docs/screenshots/owner-card-zh.png: the demo owner 张伟's card page, zh-CN, 390×844 at 2×;
- docs/screenshots/dashboards.png: the dashboards as the demo admin, 1280 wide, the whole page.
- docs/screenshots/admin-events-zh.png: /admin's events (read-only there) as the same admin, no second login;
- docs/screenshots/admin-zh.png: one event's record in /admin, every field named in Chinese (zh-CN);
- docs/screenshots/api-swagger.png and api-redoc.png: the API documentation (Swagger UI, Redoc) at
  the partner API's "record a sale", 1280 wide, as a merchant's developer first sees it.
`--only NAME …` takes only those (e.g. `--only api-swagger api-redoc`).
The owner's one-time code is read from the demo database's outbox (the SMS a phone would get).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.async_api import Browser, async_playwright, expect

from loyalty.care.sealing import unseal

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LOYALTY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
OWNER_PHONE = "13800138000"  # loyalty.demo.DEMO_OWNER_PHONE
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


def latest_code(folder: Path, phone: str) -> str:
    with sqlite3.connect(folder / "loyalty.sqlite") as connection:
        row = connection.execute(
            "SELECT body FROM outbox_message WHERE recipient = ? ORDER BY id DESC LIMIT 1", (f"+86{phone}",)
        ).fetchone()
    # The body is sealed at rest with the demo's secret (loyalty.care.sealing).
    secret = (folder / ".loyalty-demo-secret").read_text().strip()
    found = re.findall(r"(?<!\d)(\d{6})(?!\d)", unseal(row[0], secret) if row else "")
    if len(found) != 1:
        raise SystemExit(f"no login code in the outbox for {phone}")
    return found[0]


SHOTS = ("owner-card-zh", "dashboards", "admin-events-zh", "admin-zh", "api-swagger", "api-redoc")


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


async def shoot(url: str, folder: Path, out: Path, only: set[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await shoot_api_docs(browser, url, out, only)
            if not only & {"owner-card-zh", "dashboards", "admin-events-zh", "admin-zh"}:
                return
            phone = await browser.new_context(
                base_url=url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 390, "height": 844},
                device_scale_factor=2, is_mobile=True, has_touch=True,
            )
            page = await phone.new_page()
            await page.goto("/")
            await page.fill("#phone", OWNER_PHONE)
            await page.click("#send-code")
            await expect(page.locator("#login-error")).to_have_text("验证码已发送")
            await page.fill("#code", latest_code(folder, OWNER_PHONE))
            await page.click("#sign-in")
            await expect(page.locator("#qr svg")).to_be_visible()
            await expect(page.locator("#why")).not_to_be_empty()
            await page.evaluate("document.fonts.ready.then(() => true)")
            if "owner-card-zh" in only:
                await page.screenshot(path=out / "owner-card-zh.png")

            desk = await browser.new_context(
                base_url=url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900},
            )
            page = await desk.new_page()
            await page.goto("/staff#dashboards")
            await page.fill("#username", ADMIN[0])
            await page.fill("#password", ADMIN[1])
            await page.click("#sign-in")
            await expect(page.locator(".dash")).to_have_count(6, timeout=30_000)
            await page.evaluate("document.fonts.ready.then(() => true)")
            if "dashboards" in only:
                await page.screenshot(path=out / "dashboards.png", full_page=True)

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
            asyncio.run(shoot(url, folder, args.out, set(args.only)))
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"saved {', '.join(f'{name}.png' for name in args.only)} in {args.out}")


if __name__ == "__main__":
    main()
