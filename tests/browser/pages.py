"""What a person does in the browser: log in on the owner page, on the staff pages, in /admin.
Each step waits for what the page shows next (Playwright's waits), never for a fixed time."""

from __future__ import annotations

from playwright.async_api import Page, expect

from loyalty.identity import service as identity
from tests.identity.builders import latest_code, messages_to

STAFF_PASSWORD = "browser-staff-pass-1"


async def add_staff(username: str, role: str) -> int:
    return (await identity.create_staff(username, STAFF_PASSWORD, role, display_name=username)).id


async def owner_logs_in(page: Page, phone: str, *, sent: str = "验证码已发送") -> None:
    """On the owner page: phone, "get a code", the code from the SMS (the care outbox), log in.
    `sent`: what the page says once the code is sent, in the page's language."""
    e164 = f"+86{phone}"
    await page.goto("/")
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("#phone", phone)
    before = len(await messages_to(e164))
    await page.click("#send-code")
    await expect(page.locator("#login-error")).to_have_text(sent)
    assert len(await messages_to(e164)) == before + 1, "no login code was sent"
    await page.fill("#code", await latest_code(e164))
    await page.click("#sign-in")
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#login")).to_be_hidden()


async def staff_logs_in(page: Page, username: str, path: str = "/staff", *, password: str = STAFF_PASSWORD) -> None:
    await page.goto(path)
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#sign-in")
    await expect(page.locator("#nav")).to_be_visible()
    await expect(page.locator("#login")).to_be_hidden()
