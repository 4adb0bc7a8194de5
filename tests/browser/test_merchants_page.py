"""The Merchants page (/staff#merchants, merchants.js) as an admin uses it, on a phone (390 px)
and a desktop, in Chinese and English: a new merchant (its category chosen by name), a store, a
tier discount (a percentage, a cap in yuan, Beijing days) after a question that says it cannot be
removed; an API key shown once with a copy button and gone when the page is opened again; the key
rotated (the question says how long the old one keeps working) and the new one revoked after a
question that says the tills stop at once. Then the rewards catalogue's voucher and event-seat
rewards choose their merchant and event by name.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): merchants-*.png."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.audit.tables import AuditEntry
from loyalty.merchants.tables import ApiKey, DiscountSchedule, Merchant, Store
from loyalty.rewards.tables import Reward
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import event

pytestmark = pytest.mark.sqlite_only  # the page's behaviour does not depend on the database

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
WORDS = {
    "zh-CN": {
        "nav": "联盟商家", "empty": "暂无商家", "category": "餐饮", "added": "「好家居建材」已添加：请继续添加门店、折扣和收银台密钥",
        "active": "合作中", "store_added": "门店「滨江店」已添加", "discount_q": "在「好家居建材」给金卡业主 12.5% 的优惠？",
        "discount_never": "设置后无法删除，只能由新的折扣取代。", "discount": "优惠 12.5%", "cap": "每笔最多优惠 ¥500.00",
        "once": "请立即复制此密钥：关闭后将无法再次查看。", "copied": "已复制", "rotate_q": "旧密钥还能继续使用 24 小时",
        "grace": "已被替换：", "revoke_line": "使用此密钥的收银台将立即停止工作：扫码和收款都会被拒绝。", "revoked": "已于",
        "in_force": "生效中", "line": ["餐饮", "1 家门店", "1 个有效密钥"], "need_name": "请填写商家名称",
        "merchant_field": "受理商家", "event_field": "名额所属活动", "choose_merchant": "请选择受理该券的商家",
    },
    "en": {
        "nav": "Merchants", "empty": "No merchants yet", "category": "Dining",
        "added": "“好家居建材” is added: now add its stores, its discounts and a key for its tills", "active": "Active",
        "store_added": "The store “滨江店” is added", "discount_q": "Give Gold owners 12.5% off at “好家居建材”?",
        "discount_never": "It cannot be removed afterwards, only replaced by a newer discount.", "discount": "12.5% off",
        "cap": "at most ¥500.00 off a sale", "once": "Copy this key now: you will not see it again.", "copied": "Copied",
        "rotate_q": "The old key keeps working for 24 hours more", "grace": "Replaced: works until",
        "revoke_line": "Tills using this key will stop working at once: their scans and sales are refused.", "revoked": "Revoked",
        "in_force": "In force", "line": ["Dining", "1 store", "1 key in force"], "need_name": "A merchant needs a name",
        "merchant_field": "Merchant whose tills accept it", "event_field": "Event it seats",
        "choose_merchant": "Choose the merchant whose tills accept it",
    },
}


async def save(page: Page, name: str, *, full_page: bool = True) -> None:
    """A question is taken as the screen shows it; a page whole, from its top."""
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        if full_page:
            await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=Path(folder) / f"merchants-{name}.png", full_page=full_page)


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_an_admin_adds_a_merchant_and_makes_rotates_and_revokes_its_key(database, pages: Pages, locale, device):
    words = WORDS[locale]
    await add_staff("boss", "admin")
    page = await pages.new(locale="en-US" if locale == "en" else locale, **(PHONE if device == "phone" else DESKTOP))
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tag = f"{'zh' if locale == 'zh-CN' else 'en'}-{device}"
    await staff_logs_in(page, "boss", "/staff#merchants")
    await expect(page.locator('#nav [data-view="merchants"]')).to_have_text(words["nav"])
    await expect(page.locator("#view-merchants")).to_be_visible()
    await expect(page.locator("#mer-list")).to_have_text(words["empty"])

    # A new merchant: a name is needed (said next to the field), the category chosen by its name.
    await page.click("#mer-new")
    await page.click("#mer-create")
    await expect(page.locator('#mer-form [data-error="name"]')).to_have_text(words["need_name"])
    await page.fill("#mer-name", "好家居建材")
    await page.select_option("#mer-category", label=words["category"])
    await page.fill("#mer-contact", "王经理")
    await page.fill("#mer-phone", "0571-88886666")
    await page.fill("#mer-points", "2")
    await no_sideways_scroll(page)
    await save(page, f"new-{tag}")
    await page.click("#mer-create")
    await expect(page.locator("#mer-page")).to_be_visible()
    await expect(page.locator("#mer-page-notice")).to_have_text(words["added"])
    merchant = await Merchant.select().first()
    assert (merchant["name"], merchant["category"], merchant["points_per_cny"]) == ("好家居建材", "dining", 2)
    await expect(page).to_have_url(re.compile(f"#merchants/{merchant['id']}$"))
    await expect(page.locator("#mer-title")).to_have_text("好家居建材")
    await expect(page.locator("#mer-facts")).to_contain_text(words["active"])
    await expect(page.locator("#mer-facts")).to_contain_text(words["category"])

    # A store.
    await page.fill("#mer-store-code", "S1")
    await page.fill("#mer-store-name", "滨江店")
    await page.click("#mer-store-add")
    await expect(page.locator("#mer-page-notice")).to_have_text(words["store_added"])
    await expect(page.locator("#mer-stores")).to_contain_text("滨江店")

    # A tier discount: 12.5% for gold, capped at 500 yuan, for thirty Beijing days — asked first.
    today = clock.today()
    await page.select_option("#mer-tier", "gold")
    await page.fill("#mer-percent", "12.5")
    await page.fill("#mer-from", today.isoformat())
    await page.fill("#mer-to", (today + timedelta(days=30)).isoformat())
    await page.fill("#mer-cap", "500")
    await page.click("#mer-discount-set")
    dialog = page.locator("#confirm")
    await expect(dialog.locator("#confirm-title")).to_have_text(words["discount_q"])
    await expect(dialog).to_contain_text(words["discount_never"])
    await save(page, f"discount-question-{tag}", full_page=False)
    await page.click("#confirm-yes")
    await expect(page.locator("#mer-discounts .mer-discount")).to_have_count(1)
    await expect(page.locator("#mer-discounts")).to_contain_text(words["discount"])
    await expect(page.locator("#mer-discounts")).to_contain_text(words["cap"])
    schedule = await DiscountSchedule.select().first()
    assert (schedule["tier"], schedule["percent_bp"], schedule["cap_fen"], schedule["valid_to"]) == ("gold", 1250, 50000, today + timedelta(days=30))

    # A key, shown once: copied with the button; the club keeps only its hash.
    await page.fill("#mer-key-label", "1号收银台")
    await page.click("#mer-key-create")
    box = page.locator("#mer-new-key")
    await expect(box).to_be_visible()
    await expect(box).to_contain_text(words["once"])
    key = await page.locator("#mer-key-text").input_value()
    assert key.startswith("ocm_live_")
    await page.click("#mer-key-copy")
    await expect(page.locator("#mer-key-copied")).to_have_text(words["copied"])
    assert await page.evaluate("navigator.clipboard.readText()") == key
    first = await ApiKey.select().first()
    assert first["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    await no_sideways_scroll(page)
    await save(page, f"key-once-{tag}")

    # Opened again, the page has no key to show: only its prefix.
    await page.reload()
    await expect(page.locator("#mer-keys .mer-key")).to_have_count(1)
    await expect(page.locator("#mer-new-key")).to_be_hidden()
    await expect(page.locator("#mer-keys")).to_contain_text(key[:15])
    assert key not in await page.content()
    await expect(page.locator('#mer-keys .mer-key[data-state="live"]')).to_contain_text(words["in_force"])

    # Rotated: the question says how long the old key keeps working; a new key is shown once.
    await page.click(f'[data-key-rotate="{first["id"]}"]')
    await expect(dialog).to_contain_text(words["rotate_q"])
    await save(page, f"rotate-question-{tag}", full_page=False)
    await page.click("#confirm-yes")
    await expect(box).to_be_visible()
    new_key = await page.locator("#mer-key-text").input_value()
    assert new_key.startswith("ocm_live_") and new_key != key
    await expect(page.locator(f'#mer-keys [data-key="{first["id"]}"]')).to_have_attribute("data-state", "grace")
    await expect(page.locator(f'#mer-keys [data-key="{first["id"]}"]')).to_contain_text(words["grace"])
    old = await ApiKey.select().where(ApiKey.id == first["id"]).first()
    assert timedelta(hours=23) < old["expires_at"] - clock.now() <= timedelta(hours=24)
    second = await ApiKey.select().where(ApiKey.id != first["id"]).first()
    await page.click("#mer-key-done")
    await expect(box).to_be_hidden()

    # Revoked, after a question that says the tills stop at once; going back revokes nothing.
    await page.click(f'[data-key-revoke="{second["id"]}"]')
    await expect(dialog).to_contain_text(words["revoke_line"])
    await save(page, f"revoke-question-{tag}", full_page=False)
    await page.click("#confirm-no")
    await expect(dialog).to_be_hidden()
    assert (await ApiKey.select().where(ApiKey.id == second["id"]).first())["revoked_at"] is None
    await page.click(f'[data-key-revoke="{second["id"]}"]')
    await page.click("#confirm-yes")
    revoked = page.locator(f'#mer-keys [data-key="{second["id"]}"]')
    await expect(revoked).to_have_attribute("data-state", "revoked")
    await expect(revoked).to_contain_text(words["revoked"])
    await expect(revoked.locator("button")).to_have_count(0)
    assert (await ApiKey.select().where(ApiKey.id == second["id"]).first())["revoked_at"] is not None
    await no_sideways_scroll(page)
    await save(page, f"merchant-{tag}")
    actions = [e["action"] for e in await AuditEntry.select(AuditEntry.action).where(AuditEntry.subject_kind == "merchant").order_by(AuditEntry.id)]
    assert actions == ["merchant.create", "merchant.store_add", "merchant.discount_set", "merchant.key_create",
                       "merchant.key_create", "merchant.key_rotate", "merchant.key_revoke"]

    # The list: its category, one store, one key in force (the rotated one, in its grace).
    await page.click("#mer-back")
    await expect(page.locator("#mer-index")).to_be_visible()
    row = page.locator(f'#mer-list [data-merchant="{merchant["id"]}"]')
    for text in words["line"]:
        await expect(row).to_contain_text(text)
    await no_sideways_scroll(page)
    await save(page, f"list-{tag}")
    assert await Store.count() == 1


@pytest.mark.parametrize("locale, device", [("zh-CN", "phone"), ("en", "desktop")])
async def test_a_voucher_reward_chooses_its_merchant_and_a_seat_its_event_by_name(database, pages: Pages, locale, device):
    words = WORDS[locale]
    await add_staff("boss", "admin")
    from loyalty.merchants import service as merchants

    shop = await merchants.create_merchant("云湖咖啡", "dining")
    now = clock.now()  # an event ahead (the staff list has events ending from yesterday on)
    seminar = await event(
        title_zh="装修讲座", title_en="Decoration talk", starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=3),
        signup_opens_at=now - timedelta(days=1), signup_closes_at=now + timedelta(days=6), cancel_deadline=now + timedelta(days=5),
    )
    page = await pages.new(locale="en-US" if locale == "en" else locale, **(PHONE if device == "phone" else DESKTOP))
    tag = f"{'zh' if locale == 'zh-CN' else 'en'}-{device}"
    await staff_logs_in(page, "boss", "/staff#rewards")

    await page.click("#cat-new")
    await expect(page.locator("#cat-form")).to_be_visible()
    await expect(page.locator("#cat-merchant-field")).to_be_hidden()  # a gift names neither
    await expect(page.locator("#cat-event-field")).to_be_hidden()
    await page.select_option("#cat-kind", "voucher")
    await expect(page.locator("#cat-merchant-field")).to_be_visible()
    await expect(page.locator('label[for="cat-merchant"]')).to_have_text(words["merchant_field"])
    await page.fill("#cat-name-zh", "咖啡券")
    await page.select_option("#cat-price-gold", "points")
    await page.fill('[data-price="gold"]', "100")
    await page.fill("#cat-stock", "10")
    await page.click("#cat-save")  # no merchant chosen: said next to the picker
    await expect(page.locator('#cat-form [data-error="merchant_id"]')).to_have_text(words["choose_merchant"])
    await page.select_option("#cat-merchant", label="云湖咖啡")
    await no_sideways_scroll(page)
    await save(page, f"voucher-picker-{tag}")
    await page.click("#cat-save")
    await expect(page.locator("#cat-form")).to_be_hidden()
    voucher = await Reward.select(Reward.kind, Reward.merchant).where(Reward.name_zh == "咖啡券").first()
    assert voucher == {"kind": "voucher", "merchant": shop}

    await page.click("#cat-new")
    await page.select_option("#cat-kind", "event_seat")
    await expect(page.locator("#cat-event-field")).to_be_visible()
    await expect(page.locator("#cat-merchant-field")).to_be_hidden()
    await expect(page.locator('label[for="cat-event"]')).to_have_text(words["event_field"])
    await page.fill("#cat-name-zh", "讲座名额")
    await page.select_option("#cat-price-gold", "free")
    await page.fill("#cat-stock", "5")
    title = "Decoration talk" if locale == "en" else "装修讲座"
    option = page.locator("#cat-event option", has_text=title)
    await expect(option).to_have_count(1)
    await page.select_option("#cat-event", await option.get_attribute("value"))
    await page.click("#cat-save")
    await expect(page.locator("#cat-form")).to_be_hidden()
    seat = await Reward.select(Reward.kind, Reward.event).where(Reward.name_zh == "讲座名额").first()
    assert seat == {"kind": "event_seat", "event": seminar}
