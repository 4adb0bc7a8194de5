"""The rewards catalogue as an admin uses it, on a desktop and on a phone, in Chinese and in
English: a new reward with a picture and a price per tier, its gold price edited, published
after a question that says what it does; a gift granted to the gold owners after counting them
(the count shown is the grant's result); the report of redemptions and the points held, in
points and in yuan. The owner then sees the reward's picture on its card.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): rewards-catalogue-*.png."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.members.tables import Member
from loyalty.rewards.tables import Redemption, Reward
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, owner_logs_in, staff_logs_in
from tests.events.builders import owners, phone
from loyalty.rewards import service
from tests.rewards.builders import give_points, reward

pytestmark = pytest.mark.postgres_only  # a browser flow is slow: once, on the engine the club runs

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SENT = {"zh-CN": "验证码已发送", "en": "Code sent"}
WORDS = {
    "zh-CN": {
        "nav": "礼品目录", "created": "「春节福袋」已创建为草稿，准备好后请发布", "draft": "草稿", "published": "已发布",
        "gold_old": "金卡 300 积分", "gold_new": "金卡 250 积分", "platinum": "铂金卡 免费", "silver": "银卡 不提供",
        "publish_q": "发布「春节福袋」？", "withdraw_line": "业主将无法再兑换；已预留的兑换仍然有效。",
        "reach": "将发给 2 位业主，需占用 2 件库存（现有 20 件）。", "grant_q": "以「2027 春节」名义向 2 位业主发放「春节福袋」？",
        "granted": "已向 2 位业主发放", "stock_q": "为「春节福袋」增加 5 件库存？", "stock_after": "剩余 23 / 共 25", "stock": "剩余 18 / 共 20", "name": "春节福袋", "owner_price": "250 积分",
        "place": "领取地点：云湖里售楼处", "held_yuan": "¥5.00", "first_after_last": "开始日期不能晚于结束日期",
    },
    "en": {
        "nav": "Rewards catalogue", "created": "“Spring Festival gift bag” is created as a draft: publish it when it is ready",
        "draft": "Draft", "published": "Published", "gold_old": "Gold 300 points", "gold_new": "Gold 250 points",
        "platinum": "Platinum free", "silver": "Silver not offered", "publish_q": "Publish “Spring Festival gift bag”?",
        "withdraw_line": "Owners can no longer redeem it; reservations already made stay valid.",
        "reach": "It reaches 2 owners and takes 2 from the stock (20 left).",
        "grant_q": "Grant “Spring Festival gift bag” to 2 owners for “2027 春节”?", "granted": "Granted to 2 owners", "stock_q": "Add 5 to the stock of “Spring Festival gift bag”?",
        "stock_after": "23 of 25 left",
        "stock": "18 of 20 left", "name": "Spring Festival gift bag", "owner_price": "250 points",
        "place": "Collect at Yunhuli sales office", "held_yuan": "¥5.00", "first_after_last": "The first day must not be after the last",
    },
}


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=Path(folder) / f"rewards-catalogue-{name}.png", full_page=full_page)


def _picture(path: Path) -> Path:
    """A red gift box on a warm background, as a PNG larger than the 1200 px the server keeps."""
    image = Image.new("RGB", (1600, 1200), (253, 236, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((500, 450, 1100, 1000), fill=(200, 30, 40))
    draw.rectangle((760, 450, 840, 1000), fill=(250, 204, 21))
    draw.rectangle((500, 680, 1100, 760), fill=(250, 204, 21))
    draw.ellipse((640, 300, 800, 470), outline=(250, 204, 21), width=30)
    draw.ellipse((800, 300, 960, 470), outline=(250, 204, 21), width=30)
    image.save(path, "PNG")
    return path


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


@pytest.mark.parametrize("locale, device", [("zh-CN", "desktop"), ("en", "phone"), ("zh-CN", "phone"), ("en", "desktop")])
async def test_an_admin_creates_edits_publishes_and_grants_a_reward_and_the_owner_sees_its_picture(
    database, pages: Pages, tmp_path, locale: str, device: str,
):
    words = WORDS[locale]
    gold = await owners(tmp_path, 2, units=2)
    [blue] = await owners(tmp_path, 1, start=10)  # a blue-card owner: not in the gold segment
    await give_points(blue, 1000)
    for member in gold:
        await give_points(member, 1000)
        await Member.update({Member.language: locale}).where(Member.id == member)
    await add_staff("boss", "admin")
    size = DESKTOP if device == "desktop" else PHONE
    width = size["viewport"]["width"]
    tag = f"{'zh' if locale == 'zh-CN' else 'en'}-{device}"

    admin = await pages.new(locale="en-US" if locale == "en" else locale, **size)
    await staff_logs_in(admin, "boss", "/staff#rewards")
    await expect(admin.locator('#nav [data-view="rewards"]')).to_have_text(words["nav"])
    await expect(admin.locator("#view-rewards")).to_be_visible()

    # A new reward: names, places, a price per tier (free / points / not offered), stock, dates, a picture.
    await admin.click("#cat-new")
    form = admin.locator("#cat-form")
    await expect(form).to_be_visible()
    await admin.fill("#cat-name-zh", "春节福袋")
    await admin.fill("#cat-name-en", "Spring Festival gift bag")
    await admin.fill("#cat-desc-zh", "红包、春联和福字一套。")
    await admin.fill("#cat-desc-en", "Red envelopes, couplets and a fu character.")
    await admin.fill("#cat-place-zh", "云湖里售楼处")
    await admin.fill("#cat-place-en", "Yunhuli sales office")
    await admin.select_option("#cat-price-platinum", "free")
    await admin.select_option("#cat-price-gold", "points")
    await admin.fill('[data-price="gold"]', "300")
    await admin.select_option("#cat-price-blue", "points")
    await admin.fill('[data-price="blue"]', "500")
    await admin.fill("#cat-stock", "20")
    today = clock.today()
    await admin.fill("#cat-starts", (today - timedelta(days=1)).isoformat())
    await admin.fill("#cat-ends", (today - timedelta(days=3)).isoformat())
    await admin.set_input_files("#cat-picture", str(_picture(tmp_path / "gift.png")))
    await admin.click("#cat-save")  # the last day before the first: said under the field, nothing made
    await expect(form.locator('[data-error="ends_on"]')).not_to_be_empty()
    assert await Reward.count() == 0
    await admin.fill("#cat-ends", (today + timedelta(days=30)).isoformat())
    await fits(admin, width)
    await admin.evaluate("window.scrollTo(0, 0)")
    await save(admin, f"{tag}-form", full_page=True)
    await admin.click("#cat-save")
    await expect(admin.locator("#cat-notice")).to_have_text(words["created"])
    [made] = await Reward.select()
    item = admin.locator(f'.cat-item[data-reward="{made["id"]}"]')
    await expect(item.locator(".status")).to_have_text(words["draft"])
    await expect(item).to_contain_text(words["gold_old"])
    await expect(item).to_contain_text(words["platinum"])
    await expect(item).to_contain_text(words["silver"])
    await expect(item.locator("img.cat-thumb")).to_be_visible()
    assert await item.locator("img.cat-thumb").evaluate("(img) => img.complete && img.naturalWidth === 1200")

    # Its gold price edited: the form opens with what it holds.
    await item.locator('[data-cat="edit"]').click()
    await expect(admin.locator("#cat-name-zh")).to_have_value("春节福袋")
    await expect(admin.locator('[data-price="gold"]')).to_have_value("300")
    await expect(admin.locator("#cat-stock-field")).to_be_hidden()
    await admin.fill('[data-price="gold"]', "250")
    await admin.click("#cat-save")
    await expect(item).to_contain_text(words["gold_new"])
    assert (await Reward.select(Reward.price_gold).first())["price_gold"] == 250

    # Published after the question.
    await item.locator('[data-cat="publish"]').click()
    await expect(admin.locator("#confirm h2")).to_have_text(words["publish_q"])
    await fits(admin, width)
    await save(admin, f"{tag}-publish")
    await admin.click("#confirm-yes")
    await expect(item.locator(".status")).to_have_text(words["published"])
    await item.locator('[data-cat="withdraw"]').click()  # the withdrawal's question, read, not answered
    await expect(admin.locator("#confirm")).to_contain_text(words["withdraw_line"])
    await admin.click("#confirm-no")

    # A gift to the gold owners: counted first, then asked, then said.
    await item.locator('[data-cat="grant"]').click()
    await admin.fill("#cat-occasion", "2027 春节")
    await admin.locator("#cat-grant-tiers input[value=gold]").check()
    await expect(admin.locator("#cat-grant-send")).to_be_disabled()
    await admin.click("#cat-grant-count")
    await expect(admin.locator("#cat-reach")).to_have_text(words["reach"])
    await fits(admin, width)
    await save(admin, f"{tag}-grant-count")
    await admin.click("#cat-grant-send")
    await expect(admin.locator("#confirm h2")).to_have_text(words["grant_q"])
    await admin.click("#confirm-yes")
    await expect(admin.locator("#cat-notice")).to_have_text(words["granted"])
    assert await Redemption.count() == 2
    await expect(item.locator(".cat-stock")).to_contain_text(words["stock"])
    await item.scroll_into_view_if_needed()
    await save(admin, f"{tag}-list")

    # Five more arrived: counted in after the question.
    await item.locator('[data-cat="stock"]').click()
    await item.locator(".cat-stock-box input").fill("5")
    await item.locator('[data-cat="stock-send"]').click()
    await expect(admin.locator("#confirm h2")).to_have_text(words["stock_q"])
    await admin.click("#confirm-yes")
    await expect(item.locator(".cat-stock")).to_contain_text(words["stock_after"])

    # The report: the two gifts and the blue owner's redemption reserved, its 500 points held (¥5);
    # a range that ends before it starts is refused in words.
    await service.redeem(blue, made["id"], "blue-owner-redeems")
    await admin.click("#cat-report-reload")
    report = admin.locator("#cat-report")
    row = report.locator("tbody tr").first
    await expect(row.locator('td[data-column="reserved"]')).to_have_text("3")
    await expect(row.locator('td[data-column="points_held"]')).to_have_text("500")
    await expect(row.locator('td[data-column="points_held_fen"]')).to_have_text(words["held_yuan"])
    await admin.locator("#cat-report-box").scroll_into_view_if_needed()
    await fits(admin, width)
    await save(admin, f"{tag}-report")
    await admin.fill("#cat-from", (today + timedelta(days=1)).isoformat())
    await admin.fill("#cat-to", today.isoformat())
    await admin.click("#cat-report-reload")
    await expect(admin.locator("#cat-report-error")).to_contain_text(words["first_after_last"])

    # The owner sees the picture on the reward's card, at the gold price.
    owner = await pages.new(locale="en-US" if locale == "en" else locale, **PHONE)
    await owner_logs_in(owner, phone(0), sent=SENT[locale])
    await owner.click('[role=tab][data-tab="points"]')
    await owner.click("#rewards-open")
    offer = owner.locator(f'.offer[data-reward="{made["id"]}"]')
    await expect(offer).to_contain_text(words["name"])
    await expect(offer).to_contain_text(words["owner_price"])
    await expect(offer).to_contain_text(words["place"])
    picture = offer.locator("img.offer-picture")
    await expect(picture).to_be_visible()
    await picture.evaluate("(img) => img.decode()")
    await fits(owner, 390)
    await offer.scroll_into_view_if_needed()
    if device == "phone":  # the owner's page is a phone's either way: one picture of it per language
        await save(owner, f"{tag}-owner")
    assert pages.errors == []


async def test_the_catalogue_and_the_counter_come_a_page_at_a_time_and_the_form_follows_the_language(database, pages: Pages, tmp_path):
    members = await owners(tmp_path, 3)
    today = clock.today()
    made = [await reward(name_zh=f"礼品{n}", name_en=f"Gift {n}", starts_on=today - timedelta(days=1),
                         ends_on=today + timedelta(days=30), per_owner_limit=3) for n in range(5)]
    for member in members:
        await give_points(member, 1000)
        await service.redeem(member, made[0], f"k{member}")
    await add_staff("boss", "admin")
    admin = await pages.new(**DESKTOP)
    await admin.add_init_script("window.CATALOGUE_PAGE_SIZE = 2; window.COUNTER_PAGE_SIZE = 2;")
    await staff_logs_in(admin, "boss", "/staff#rewards")

    items = admin.locator("#cat-list .cat-item")
    await expect(items).to_have_count(2)
    for shown in (4, 5):
        await admin.click("#cat-more")
        await expect(items).to_have_count(shown)
    await expect(admin.locator("#cat-more")).to_be_hidden()
    assert [int(i) for i in await items.evaluate_all("(els) => els.map((e) => e.dataset.reward)")] == sorted(made, reverse=True)

    # A form half filled keeps what was chosen when the language changes, in the new language.
    await admin.click("#cat-new")
    await admin.select_option("#cat-price-gold", "points")
    await admin.fill('[data-price="gold"]', "120")
    await admin.locator("#cat-tiers input[value=gold]").check()
    await admin.click("#lang")
    await expect(admin.locator("html")).to_have_attribute("lang", "en")
    await expect(admin.locator("#cat-price-silver option:checked")).to_have_text("Not offered")
    await expect(admin.locator('[data-price="gold"]')).to_have_value("120")
    await expect(admin.locator("#cat-tiers input[value=gold]")).to_be_checked()
    await expect(admin.locator("#cat-tiers")).to_contain_text("Gold")

    await admin.click('#nav [data-view="counter"]')
    rows = admin.locator("#counter-list .counter-row")
    await expect(rows).to_have_count(2)
    await admin.click("#counter-more")
    await expect(rows).to_have_count(3)
    await expect(admin.locator("#counter-more")).to_be_hidden()
    assert pages.errors == []
