"""What the door-scanner browser tests share: an event with households signed up, a camera
made of a canvas (showing a QR code the test chooses), and a scan typed as a hardware scanner
types (the code, then Enter)."""

from __future__ import annotations

import base64
import re
import io
from datetime import timedelta
from typing import Any

import qrcode
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.events import signups
from tests.events.builders import event, owners

# No BarcodeDetector (as on iOS Safari, Firefox, Debian's Chromium), and a camera that films a
# canvas: `__showCode(dataUrl)` puts a QR code in front of it.
FAKE_CAMERA = """
(() => {
  delete window.BarcodeDetector;
  const canvas = document.createElement("canvas");
  canvas.width = 480; canvas.height = 360;
  const ctx = canvas.getContext("2d");
  let shown = null;
  const paint = () => {
    ctx.fillStyle = "#8a8f98"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (shown) { ctx.fillStyle = "#fff"; ctx.fillRect(90, 10, 340, 340); ctx.drawImage(shown, 100, 20, 320, 320); }
  };
  setInterval(paint, 50);
  window.__showCode = (url) => new Promise((resolve) => {
    const image = new Image();
    image.onload = () => { shown = image; paint(); resolve(true); };
    image.src = url;
  });
  window.__hideCode = () => { shown = null; };
  if (navigator.mediaDevices) navigator.mediaDevices.getUserMedia = async () => canvas.captureStream(15);
})();
"""

REFUSED_CAMERA = """
(() => {
  navigator.mediaDevices.getUserMedia = async () => { throw new DOMException("Permission denied", "NotAllowedError"); };
})();
"""

# The flash stays up until the next answer, so a screenshot catches it.
FLASH_STAYS = "window.DOOR_FLASH_MS = 1e9;"

PHONE_360 = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def qr_data_url(text: str) -> str:
    image = qrcode.make(text, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def door_event(tmp_path: Any, settings: Any, staff_id: int, households: int, *, start: int = 0,
                     starts_in: timedelta = timedelta(minutes=30), party_size: int = 1, **more: Any) -> tuple[int, list[str]]:
    """An event (its door open now unless it starts later) and `households` signed up: their tickets."""
    members = await owners(tmp_path, households, start=start)
    now = clock.now()
    starts = now + starts_in
    event_id = await event(
        staff_id, starts_at=starts, ends_at=starts + timedelta(hours=2), signup_opens_at=now - timedelta(days=3),
        signup_closes_at=min(now + timedelta(minutes=10), starts), cancel_deadline=min(now + timedelta(minutes=5), starts),
        capacity=households * party_size + 10, **more,
    )
    signer = cards.signer_for(settings)
    tickets = []
    for m in members:
        [signup_id] = await signups.sign_up(m, event_id, settings=settings, party_size=party_size)
        tickets.append(signer.sign("ticket", signup_id))
    return event_id, tickets


async def scan(page: Page, code: str) -> str:
    """Type `code` and Enter (a hardware scanner does the same); the answer's result key."""
    box = page.locator("#scan-result")
    await box.evaluate("(box) => box.removeAttribute('data-result')")
    await page.fill("#scan-code", code)
    await page.press("#scan-code", "Enter")
    await expect(box).to_have_attribute("data-result", re.compile(r"."))
    return await box.get_attribute("data-result") or ""
