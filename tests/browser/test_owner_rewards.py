"""Rewards as people use them, on a phone: an owner spends points on a gift after a question that
says the points and where to collect it, shows the pick-up code; a service clerk at the reward
counter (领取台) scans it with the camera, or types it, and reads the answer at arm's length; the
owner's page then says it was picked up, and when. In Chinese and in English. A gift another
owner took first is refused in words; cancelling gives the points back.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): rewards-*.png, counter-*.png."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.members.tables import Member
from loyalty.rewards import service
from loyalty.rewards.tables import Redemption
from tests.browser.conftest import DESKTOP, PHONE, Pages
from tests.browser.door_helpers import FAKE_CAMERA, qr_data_url
from tests.browser.pages import add_staff, owner_logs_in, staff_logs_in
from tests.events.builders import owners, phone
from tests.rewards.builders import give_points, reward

# Once, on the engine the club runs (the API tests in tests/rewards cover both): a browser flow is slow.
pytestmark = pytest.mark.postgres_only

SENT = {"zh-CN": "验证码已发送", "en": "Code sent"}
PLACE = "云湖里售楼处"
QUICK = "window.REWARDS_POLL_MS = 300; window.COUNTER_FLASH_MS = 1e9;"  # the owner's page asks often; the flash stays for a screenshot


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=full_page)


async def mooncakes(**overrides) -> int:
    """A gift on offer now: 400 points for a blue card, collected within 7 days at the sales office."""
    today = clock.today()
    fields = dict(
        name_zh="中秋月饼礼盒", name_en="Mid-Autumn mooncake box", description_zh="六枚装，凭取货码到售楼处领取。",
        description_en="Six mooncakes; collect them at the sales office with your pick-up code.",
        starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=30), pickup_place=PLACE, collect_days=7,
    )
    return await reward(**{**fields, **overrides})


async def owner_page(pages: Pages, member: int, n: int, locale: str) -> Page:
    await Member.update({Member.language: locale}).where(Member.id == member)
    page = await pages.new(locale="en-US" if locale == "en" else locale, **PHONE)
    await page.add_init_script(QUICK)
    await owner_logs_in(page, phone(n), sent=SENT[locale])
    await expect(page.locator("html")).to_have_attribute("lang", locale)
    return page


async def open_rewards(page: Page) -> None:
    await page.click('[role=tab][data-tab="points"]')
    await page.click("#rewards-open")
    await expect(page.locator("#tab-rewards")).to_be_visible()
    await expect(page.locator('[role=tab][data-tab="points"]')).to_have_attribute("aria-selected", "true")


async def fits_the_phone(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390, "wider than the phone"


async def the_code(settings, member: int, redemption_id: int) -> str:
    row = (await service.owner_redemptions(member, [redemption_id]))[0]
    return service.pickup_code(cards.signer_for(settings), row)


async def test_an_owner_redeems_a_gift_the_counter_scans_its_code_and_the_owner_sees_it_picked_up(database, pages: Pages, tmp_path):
    [member] = await owners(tmp_path, 1)
    await give_points(member, 1000)
    reward_id = await mooncakes()
    admin = await add_staff("boss", "admin")
    festival = await mooncakes(name_zh="春节福袋", name_en="Spring Festival gift bag", status="draft",
                               prices={"platinum": 0, "gold": 0, "silver": 0, "blue": 0})
    await service.grant(festival, staff_id=admin, occasion="2027 春节")
    await add_staff("clerk", "service")

    owner = await owner_page(pages, member, 0, "zh-CN")
    await page_points_says_a_gift_waits(owner, "您有 1 份礼品待领取")
    await open_rewards(owner)
    offer = owner.locator(f'.offer[data-reward="{reward_id}"]')
    await expect(offer).to_contain_text("中秋月饼礼盒")
    await expect(offer).to_contain_text("400 积分")
    await expect(offer).to_contain_text(f"领取地点：{PLACE}")
    await expect(owner.locator("#rewards-balance")).to_have_text("您有 1,000 积分")
    await fits_the_phone(owner)
    await save(owner, "rewards-catalogue-zh")

    await offer.get_by_role("button", name="兑换").click()
    dialog = owner.locator("#confirm")
    await expect(dialog.locator("h2")).to_have_text("用 400 积分兑换「中秋月饼礼盒」？")
    await expect(dialog).to_contain_text(f"请在 7 天内到{PLACE}出示本页的取货码领取。")
    await save(owner, "rewards-confirm-zh")
    await owner.click("#confirm-yes")
    await expect(owner.locator("#rewards-notice")).to_have_text("兑换成功：到领取处出示「我的礼品」中的取货码")
    await expect(owner.locator("#rewards-balance")).to_have_text("您有 600 积分")
    made = await Redemption.select().where((Redemption.member == member) & (Redemption.reward == reward_id))
    assert len(made) == 1
    mine = owner.locator(f'.redemption[data-redemption="{made[0]["id"]}"]')
    await expect(mine.locator(".status")).to_have_text("已预留")
    await expect(mine.locator("img.pickup-qr")).to_be_visible()
    assert await mine.locator("img.pickup-qr").evaluate("(img) => img.naturalWidth > 0")
    await expect(mine).to_contain_text(f"到{PLACE}出示此码")
    gift = owner.locator(".redemption", has_text="春节福袋")
    await expect(gift).to_contain_text("送您的礼品：2027 春节")
    await fits_the_phone(owner)
    await mine.scroll_into_view_if_needed()
    await save(owner, "rewards-code-zh")

    clerk = await pages.new(**PHONE)
    await clerk.add_init_script(FAKE_CAMERA + QUICK)
    await staff_logs_in(clerk, "clerk", "/staff#counter")
    await expect(clerk.locator('#nav [data-view="counter"]')).to_have_text("领取台")
    await expect(clerk.locator('#nav [data-view="scanner"]')).to_be_hidden()
    row = clerk.locator(f'.counter-row[data-redemption="{made[0]["id"]}"]')
    await expect(row).to_contain_text("业主0")
    await row.get_by_role("button", name="标记为可领取").click()
    await expect(clerk.locator("#confirm h2")).to_have_text("业主0 的「中秋月饼礼盒」已经备好了吗？")
    await clerk.click("#confirm-yes")
    await expect(row.locator(".status")).to_have_text("待领取")
    await fits_the_phone(clerk)
    await save(clerk, "counter-list-zh")

    await clerk.click("#counter-camera-toggle")
    await expect(clerk.locator("#counter-camera-box")).to_be_visible()
    await clerk.evaluate("(url) => window.__showCode(url)", qr_data_url(await the_code(pages.server.settings, member, made[0]["id"])))
    await expect(clerk.locator("#counter-word")).to_have_text("领取成功")
    await expect(clerk.locator("#counter-reward")).to_have_text("中秋月饼礼盒")
    await expect(clerk.locator("#counter-who")).to_have_text("业主0 · +86139****0000")
    await expect(clerk.locator("#counter-flash")).to_be_visible()
    await fits_the_phone(clerk)  # the camera's picture too
    await save(clerk, "counter-handed-over-zh")
    await clerk.click("#counter-camera-toggle")
    await expect(clerk.locator("#counter-camera-box")).to_be_hidden()

    # Shown again: the gift is gone already, and the clerk is told when.
    await clerk.fill("#counter-code", await the_code(pages.server.settings, member, made[0]["id"]))
    await clerk.press("#counter-code", "Enter")
    await expect(clerk.locator("#counter-result")).to_have_attribute("data-result", "already_picked_up")
    await expect(clerk.locator("#counter-word")).to_have_text("已领取")
    picked_at = await written_pickup(clerk, member, made[0]["id"], "timeOfDay")
    await expect(clerk.locator("#counter-detail")).to_have_text(f"已于 {picked_at} 领取")
    await save(clerk, "counter-already-zh")
    await clerk.fill("#counter-code", "OC1.nonsense")
    await clerk.press("#counter-code", "Enter")
    await expect(clerk.locator("#counter-word")).to_have_text("无效码")

    await expect(mine.locator(".status")).to_have_text("已领取")  # the owner's page asked again meanwhile
    await expect(mine).to_contain_text(f"已于 {await written_pickup(owner, member, made[0]['id'])} 领取")
    await expect(owner.locator("#rewards-notice")).to_be_empty()  # "兑换成功…" was about the code, now used
    await expect(mine.locator("img.pickup-qr")).to_have_count(0)
    await owner.evaluate("window.scrollTo(0, 0)")
    await save(owner, "rewards-picked-up-zh")
    assert pages.errors == []


async def page_points_says_a_gift_waits(page: Page, words: str) -> None:
    await page.click('[role=tab][data-tab="points"]')
    await expect(page.locator("#gifts-waiting")).to_have_text(words)


async def written_pickup(page: Page, member: int, redemption_id: int, how: str = "dateTime") -> str:
    """When it was picked up, as the page writes a time (I18n.dateTime or timeOfDay, Beijing time)."""
    row = (await service.owner_redemptions(member, [redemption_id]))[0]
    return await page.evaluate(f"(at) => I18n.{how}(at)", row["picked_up_at"].isoformat())


async def test_the_same_flow_reads_in_english(database, pages: Pages, tmp_path):
    [member] = await owners(tmp_path, 1)
    await give_points(member, 1000)
    reward_id = await mooncakes()
    await add_staff("clerk", "service")

    owner = await owner_page(pages, member, 0, "en")
    await open_rewards(owner)
    offer = owner.locator(f'.offer[data-reward="{reward_id}"]')
    await expect(offer).to_contain_text("400 points")
    await offer.get_by_role("button", name="Redeem").click()
    await expect(owner.locator("#confirm h2")).to_have_text("Spend 400 points on “Mid-Autumn mooncake box”?")
    await expect(owner.locator("#confirm")).to_contain_text(f"Collect it at {PLACE} within 7 days")
    await save(owner, "rewards-confirm-en")
    await owner.click("#confirm-yes")
    mine = owner.locator(".redemption", has_text="Mid-Autumn mooncake box")
    await expect(mine.locator(".status")).to_have_text("Reserved")
    await fits_the_phone(owner)
    await mine.scroll_into_view_if_needed()
    await save(owner, "rewards-code-en")

    clerk = await pages.new(locale="en-US", **DESKTOP)
    await clerk.add_init_script(QUICK)
    await staff_logs_in(clerk, "clerk", "/staff#counter")
    await expect(clerk.locator('#nav [data-view="counter"]')).to_have_text("Reward counter")
    [made] = await Redemption.select().where(Redemption.member == member)
    await expect(clerk.locator(f'.counter-row[data-redemption="{made["id"]}"]')).to_contain_text("Mid-Autumn mooncake box")
    await save(clerk, "counter-list-en")
    await clerk.fill("#counter-code", await the_code(pages.server.settings, member, made["id"]))
    await clerk.click("#counter-submit")
    await expect(clerk.locator("#counter-word")).to_have_text("Handed over")
    await expect(clerk.locator("#counter-reward")).to_have_text("Mid-Autumn mooncake box")
    await save(clerk, "counter-handed-over-en")

    await expect(mine.locator(".status")).to_have_text("Picked up")
    await owner.evaluate("window.scrollTo(0, 0)")
    await save(owner, "rewards-picked-up-en")
    assert pages.errors == []


async def test_a_gift_taken_first_is_refused_in_words_and_cancelling_gives_the_points_back(database, pages: Pages, tmp_path):
    [member, other] = await owners(tmp_path, 2)
    await give_points(member, 1000)
    await give_points(other, 1000)
    last_one = await mooncakes(stock=1)
    tea = await mooncakes(name_zh="龙井茶礼盒", name_en="Longjing tea box", description_zh="明前龙井 250 克。", prices={"platinum": 0, "gold": 0, "silver": 0, "blue": 300})
    dear = await mooncakes(name_zh="空气净化器", name_en="Air purifier", description_zh="适用面积 60 平方米。", prices={"platinum": 0, "gold": 0, "silver": 0, "blue": 5000})

    owner = await owner_page(pages, member, 0, "zh-CN")
    await open_rewards(owner)
    await expect(owner.locator(f'.offer[data-reward="{dear}"]')).to_contain_text("还差 4,000 积分")
    await expect(owner.locator(f'.offer[data-reward="{dear}"] button')).to_be_disabled()

    await service.redeem(other, last_one, "the-neighbour-was-quicker")  # while the page still offers it
    await owner.locator(f'.offer[data-reward="{last_one}"] button').click()
    await owner.click("#confirm-yes")
    await expect(owner.locator("#rewards-error")).to_have_text("此奖品已兑完")
    await expect(owner.locator(f'.offer[data-reward="{last_one}"]')).to_have_count(0)
    await expect(owner.locator("#rewards-balance")).to_have_text("您有 1,000 积分")
    await save(owner, "rewards-refused-zh")

    await owner.locator(f'.offer[data-reward="{tea}"] button').click()
    await owner.click("#confirm-yes")
    await expect(owner.locator("#rewards-balance")).to_have_text("您有 700 积分")
    mine = owner.locator(".redemption", has_text="龙井茶礼盒")
    await mine.get_by_role("button", name="取消兑换").click()
    await expect(owner.locator("#confirm h2")).to_have_text("取消兑换「龙井茶礼盒」？")
    await expect(owner.locator("#confirm")).to_contain_text("300 积分会立即退回。")
    await save(owner, "rewards-cancel-zh")
    await owner.click("#confirm-yes")
    await expect(owner.locator("#rewards-notice")).to_have_text("已取消：300 积分已退回")
    await expect(owner.locator("#rewards-balance")).to_have_text("您有 1,000 积分")
    await expect(mine.locator(".status")).to_have_text("已取消（积分已退回）")

    # The view has an address: a refresh (or a pick-up message's link) opens it again; a tab leaves it.
    assert owner.url.endswith("#rewards"), owner.url
    await owner.reload()
    await expect(owner.locator("#tab-rewards")).to_be_visible()
    await expect(owner.locator("#rewards-balance")).to_have_text("您有 1,000 积分")
    await owner.click('[role=tab][data-tab="card"]')
    await expect(owner.locator("#tab-card")).to_be_visible()
    assert not owner.url.endswith("#rewards"), owner.url
    assert pages.errors == []


async def test_a_voucher_shows_its_code_for_its_merchant_and_a_seat_its_event_ticket(database, pages: Pages, tmp_path):
    from loyalty.merchants import service as merchants
    from tests.events.builders import event

    [member] = await owners(tmp_path, 1)
    await give_points(member, 1000)
    merchant = await merchants.create_merchant("森林装饰", "decoration")
    voucher = await mooncakes(kind="voucher", name_zh="森林装饰 200 元代金券", pickup_place="", merchant_id=merchant)
    class_id = await event(starts_at=clock.now() + timedelta(days=7), ends_at=clock.now() + timedelta(days=7, hours=3),
                           signup_opens_at=clock.now() - timedelta(days=1), signup_closes_at=clock.now() + timedelta(days=6),
                           cancel_deadline=clock.now() + timedelta(days=5))
    seat = await mooncakes(kind="event_seat", name_zh="亲子烘焙课名额", pickup_place="", event_id=class_id)
    await service.redeem(member, voucher, "v")
    await service.redeem(member, seat, "s")

    owner = await owner_page(pages, member, 0, "zh-CN")
    await open_rewards(owner)

    mine_voucher = owner.locator(".redemption", has_text="森林装饰 200 元代金券")
    await expect(mine_voucher).to_contain_text("在 森林装饰 出示此券码")
    await expect(mine_voucher.locator(".voucher-code")).to_have_text(re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$"))
    await expect(mine_voucher.locator("img.pickup-qr")).to_be_visible()
    mine_seat = owner.locator(".redemption", has_text="亲子烘焙课名额")
    await expect(mine_seat).to_contain_text("凭活动门票入场")
    await expect(mine_seat.locator(f'a[href="#event/{class_id}"]')).to_be_visible()
    await expect(mine_seat.locator("img.pickup-qr")).to_have_count(0)
    # Their own words: a voucher is used at a till and a seat taken at the door, not "picked up".
    await expect(mine_voucher.locator(".status")).to_have_text("可使用")
    await expect(mine_seat.locator(".status")).to_have_text("已订名额")
    await fits_the_phone(owner)
    await save(owner, "rewards-voucher-seat-zh")
    # The till's part is tested in tests/rewards/test_vouchers.py; here the page the owner holds then.
    await Redemption.update({Redemption.status: "picked_up", Redemption.picked_up_at: clock.now()}).where(Redemption.reward == voucher)
    await expect(mine_voucher.locator(".status")).to_have_text("已使用")  # the page polls while a seat is open
    await expect(mine_voucher.locator(".picked-up")).to_contain_text("使用")
    assert pages.errors == []
