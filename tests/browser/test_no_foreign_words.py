"""Every page in Chinese shows no English, and in English no Chinese, but for names.

The demo's world (loyalty.demo: about 200 owners, leads, events, sales, surveys, staff of every
role), with two events of the test's own for the door: one opening now, one tomorrow, and owners
in every state a scan can find. Chromium opens, in zh-CN and then in en (the browser's locale,
which it sends as Accept-Language):
- the owner page, on a phone: the login with its problems (a malformed phone, a wrong code),
  then the demo owner 张伟's five tabs (the card also full screen, online and offline), an event's
  page, a referral refused for its phone and an empty complaint form;
- the owner's rewards, opened from the points tab (the demo offers none: the words of an empty one);
- the staff pages as the demo's admin, sales, event staff and customer service: every view the
  role may use (the others are not offered; their address opens the role's own view), a wrong
  password, the dashboards with a range that ends before it starts, the door scanner with each
  result a scan can give, and the questions asked before what cannot be undone (moving or
  cancelling a lead; an owner cancelling a signup).
What counts as a foreign word and which names are allowed: tests/browser/words.py.

With LOYALTY_SCREENSHOTS_DIR set (docs/screenshots), the run also saves the README's pictures of
the pages: the scanner and the dashboards in both languages, the owner's card in Chinese. Words
do not depend on the database: the test runs on SQLite only."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.demo import DEMO_OWNER_PHONE, DEMO_STAFF, load_demo_data
from loyalty.events import signups
from loyalty.members.tables import Member
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in, staff_logs_in
from tests.browser.words import Reader, data_names
from tests.events.builders import event
from tests.identity.builders import latest_code

# The pages' words do not depend on the database: the [postgres] variants are deselected.
pytestmark = pytest.mark.sqlite_only

LOCALES = ["zh-CN", "en"]
SHORT = {"zh-CN": "zh", "en": "en"}  # in the screenshots' names
ROLES = {role: (username, password) for username, (role, password, _name) in DEMO_STAFF.items() if username != "sales2"}
# Which dashboards each role sees (admin_ui/static/dashboards.js, DASHBOARDS).
DASHBOARDS = {"admin": 6, "sales": 2, "event_staff": 1, "service": 1}
# The views each role may use besides admin (staff.js, defineView); the others are not offered.
VIEW_ROLES = {
    "referrals": {"sales"}, "scanner": {"event_staff"}, "counter": {"service"}, "desk": {"service"},
    "visits": {"service"}, "kpis": {"service"}, "rewards": set(), "dashboards": {"sales", "event_staff", "service"},
    "events": {"event_staff"},
    "repairs": {"service"},
    "tiers": {"sales", "service"},
    "members": {"sales", "service"},
    "imports": set(),
    "staff": set(),
    "merchants": set(),
}
VIEWS = tuple(VIEW_ROLES)
ALLOWED = {"admin": set(VIEWS)} | {
    role: {view for view, roles in VIEW_ROLES.items() if role in roles} for role in ("sales", "event_staff", "service")
}
# The gate the door's staff member types, in their own words (data, stored as typed).
GATE = {"zh-CN": "东门", "en": "East gate"}


@dataclass
class Door:
    """The scanner's events and the codes that give each answer at the door."""

    open_now: int
    tomorrow: int
    codes: dict[str, str]  # what the scan should answer → the code to scan (at `open_now`)
    not_open_yet: str  # a ticket for `tomorrow`, scanned there


@dataclass
class World:
    names: set[str]
    door: Door

    def reader(self, locale: str) -> Reader:
        return Reader(locale, self.names)


# What the test types: a person's own words and identifiers, shown back in the fields they typed.
TYPED = {*DEMO_STAFF, "李雷", "not-the-password", "not-a-code", "zz-no-such-owner", *GATE.values()}


async def _door(settings: Any) -> Door:
    """Two events and five demo owners: one checked in twice, one with a cancelled signup, one on
    the waitlist, one with no signup (their card), and the first one's ticket for tomorrow; the
    demo owner 张伟 signed up for tomorrow too."""
    now = clock.now()
    soon = now + timedelta(minutes=30)  # the door opens 120 minutes before the start: open now
    open_now = await event(
        title_zh="业主篮球赛", title_en="Owners' basketball", starts_at=soon, ends_at=soon + timedelta(hours=2),
        signup_opens_at=now - timedelta(days=3), signup_closes_at=now + timedelta(minutes=10),
        cancel_deadline=now + timedelta(minutes=5), capacity=3,
    )
    later = now + timedelta(days=1)
    tomorrow = await event(
        title_zh="亲子烘焙课", title_en="Family baking class", starts_at=later, ends_at=later + timedelta(hours=2),
        signup_opens_at=now - timedelta(days=1), signup_closes_at=later - timedelta(hours=2),
        cancel_deadline=later - timedelta(hours=3),
    )
    rows = await Member.select(Member.id).where(Member.phone != f"+86{DEMO_OWNER_PHONE}").order_by(Member.id).limit(5)
    first, cancelling, waiting, taking, stranger = [row["id"] for row in rows]
    [ticket] = await signups.sign_up(first, open_now, settings=settings, party_size=2)
    [cancelled] = await signups.sign_up(cancelling, open_now, settings=settings)
    await signups.cancel(cancelling, cancelled, settings=settings)
    await signups.sign_up(taking, open_now, settings=settings)  # the three seats taken again
    [waitlisted] = await signups.sign_up(waiting, open_now, settings=settings, join_waitlist=True)
    [elsewhere] = await signups.sign_up(first, tomorrow, settings=settings)
    demo_owner = await Member.select(Member.id).where(Member.phone == f"+86{DEMO_OWNER_PHONE}").first()
    assert demo_owner is not None
    await signups.sign_up(demo_owner["id"], tomorrow, settings=settings)  # a signup the owner page can cancel
    signer = cards.signer_for(settings)
    codes = {
        "checked_in": signer.sign("ticket", ticket),
        "already_checked_in": signer.sign("ticket", ticket),
        "not_signed_up": await cards.static_code(stranger, signer),
        "wrong_event": signer.sign("ticket", elsewhere),
        "cancelled": signer.sign("ticket", cancelled),
        "waitlisted": signer.sign("ticket", waitlisted),  # not signed up either: a waitlist place is no seat
    }
    return Door(open_now, tomorrow, codes, signer.sign("ticket", elsewhere))


@pytest.fixture
async def world(database: Any, pages: Pages) -> World:
    assert await load_demo_data() is True
    door = await _door(pages.server.settings)
    return World(await data_names() | TYPED, door)


def screenshot(name: str) -> Path | None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    return Path(folder) / f"{name}.png" if folder else None


async def save(page: Page, name: str, **options: Any) -> None:
    path = screenshot(name)
    if path is not None:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=path, **options)


async def catalogue(page: Page, locale: str) -> dict[str, Any]:
    return await (await page.request.get(f"/i18n/{locale}.json")).json()


# --- the owner page ----------------------------------------------------------------------------


async def owner_tabs(page: Page, reader: Reader) -> None:
    """The five tabs, a referral refused for its phone, and a complaint form sent empty."""
    tiers = "|".join((await catalogue(page, reader.locale))["enums"]["tier"].values())
    await expect(page.locator("#tier")).to_have_text(re.compile(f"^({tiers})$"))  # the card in this language
    await expect(page.locator("#qr svg")).to_be_visible()
    await expect(page.locator("#why")).not_to_be_empty()
    await reader.read(page, "the card tab")
    await page.click("#open-full")
    await expect(page.locator("#code-full")).to_be_visible()
    await reader.read(page, "the card in full screen")
    # Offline only once the printed card's code is kept and no code is on its way: a code that
    # arrives after the connection went is fresh, and rightly shows the page online again.
    await expect(page.locator("#fixed-qr svg")).to_be_attached()
    await page.wait_for_load_state("networkidle")
    await page.context.set_offline(True)
    await expect(page.locator("#code-lost")).to_be_visible()
    await expect(page.locator("#fixed-code")).to_be_visible()
    await reader.read(page, "the card in full screen, offline")
    await page.context.set_offline(False)
    await expect(page.locator("#code-lost")).to_be_hidden()
    await page.click("#close-full")
    await page.click('[role=tab][data-tab="points"]')
    await expect(page.locator("#points-available")).not_to_have_text("0")
    await reader.read(page, "the points tab")
    await page.click("#rewards-open")
    await expect(page.locator("#rewards > *").first).to_be_visible()
    await expect(page.locator("#redemptions > *").first).to_be_visible()
    await reader.read(page, "the rewards, from the points tab")
    await page.click('[role=tab][data-tab="referrals"]')
    await expect(page.locator("#ref-project option").first).to_be_attached()
    await expect(page.locator("#referrals")).not_to_be_empty()
    await reader.read(page, "the referrals tab")
    await page.fill("#ref-name", "李雷")
    await page.fill("#ref-phone", "12345")  # not a phone number
    await page.click("#refer")
    await expect(page.locator("#refer-error")).not_to_be_empty()
    await reader.read(page, "the referrals tab, a malformed phone refused")
    await page.click('[role=tab][data-tab="events"]')
    await expect(page.locator("#events .event").first).to_be_visible()
    await expect(page.locator("#signups .event").first).to_be_visible()
    await reader.read(page, "the events tab")
    await asked(page, reader, page.locator("#signups button[data-cancel]").first, "the events tab, cancelling a signup")
    await page.locator("#events .event .event-link").first.click()
    await expect(page.locator("#detail-title")).not_to_be_empty()
    await reader.read(page, "an event's page")
    await page.click("#event-back")
    await expect(page.locator("#event-lists")).to_be_visible()
    await page.click('[role=tab][data-tab="service"]')
    await expect(page.locator("#svc-cases > *").first).to_be_visible()
    await expect(page.locator("#msg-first option")).to_have_count(3)  # the message settings at its foot
    await page.locator("#svc-cases details").evaluate_all("(cases) => cases.forEach((c) => { c.open = true; })")
    await reader.read(page, "the service tab")
    await page.click("#svc-send")  # nothing typed: the form's problems
    await expect(page.locator("#svc-title-error")).not_to_be_empty()
    await reader.read(page, "the service tab, a form refused")
    await page.click('[role=tab][data-tab="card"]')


async def login_problems(page: Page, reader: Reader) -> None:
    """The login page in the browser's language, then its problems: a malformed phone, a wrong code."""
    sent = (await catalogue(page, reader.locale))["messages"]["Code sent"]
    await page.goto("/")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", reader.locale)
    await reader.read(page, "the owner's login")
    await page.fill("#phone", "12345")
    await page.click("#send-code")
    await expect(page.locator("#login-error")).not_to_be_empty()
    await reader.read(page, "the owner's login, a malformed phone refused")
    await page.fill("#phone", DEMO_OWNER_PHONE)
    await page.click("#send-code")
    await expect(page.locator("#login-error")).to_have_text(sent)
    right = await latest_code(f"+86{DEMO_OWNER_PHONE}")
    await page.fill("#code", "000000" if right != "000000" else "111111")
    await page.click("#sign-in")
    await expect(page.locator("#login-error")).not_to_have_text(sent)
    await expect(page.locator("#login-error")).not_to_be_empty()
    await reader.read(page, "the owner's login, a wrong code refused")


async def test_the_owner_page_in_chinese_has_no_english(world: World, pages: Pages):
    reader = world.reader("zh-CN")
    page = await pages.new(locale="zh-CN", **PHONE)
    await login_problems(page, reader)
    await owner_logs_in(page, DEMO_OWNER_PHONE)
    await expect(page.locator("#qr svg")).to_be_visible()
    await expect(page.locator("#why")).not_to_be_empty()
    await save(page, "owner-card-zh")
    await owner_tabs(page, reader)
    reader.assert_none()


async def test_the_owner_page_in_english_has_no_chinese(world: World, pages: Pages):
    """The browser asks for English: the login is in English. Logged in, the owner's saved
    language (Chinese) comes first; the switch makes it English, and saves it."""
    reader = world.reader("en")
    page = await pages.new(locale="en-US", **PHONE)
    await login_problems(page, reader)
    await owner_logs_in(page, DEMO_OWNER_PHONE, sent="Code sent")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.locator("#lang")).to_have_text("English")
    # Switched while the card and the other tabs are still loading: a reply to a request sent
    # before the switch must not bring Chinese back (the language is not in the session).
    await page.click("#lang")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#lang")).to_have_text("简体中文")
    await owner_tabs(page, reader)
    await page.reload()  # saved: the page opens in English again
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await owner_tabs(page, reader)
    reader.assert_none()


# --- the staff pages ---------------------------------------------------------------------------


async def asked(page: Page, reader: Reader, button: Any, where: str) -> None:
    """Click a button that asks before doing what cannot be undone, read the question, go back."""
    await button.click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog).to_be_visible()
    await reader.read(page, where)
    await dialog.locator("#confirm-no").click()
    await expect(dialog).to_have_count(0)


async def merchant_page(page: Page, reader: Reader) -> None:
    """A merchant's page (its stores, discounts and keys), a new key shown once, and the
    questions before rotating and revoking it."""
    await page.locator("#mer-list .mer-item").first.click()
    await expect(page.locator("#mer-page")).to_be_visible()
    await expect(page.locator("#mer-title")).not_to_be_empty()
    await reader.read(page, "a merchant's page")
    await page.click("#mer-key-create")
    await expect(page.locator("#mer-new-key")).to_be_visible()
    await reader.read(page, "a merchant's page, a new key shown once")
    key = page.locator('#mer-keys .mer-key[data-state="live"]').last
    await asked(page, reader, key.locator("[data-key-rotate]"), "a merchant's page, rotating a key")
    await asked(page, reader, key.locator("[data-key-revoke]"), "a merchant's page, revoking a key")
    await page.click("#mer-back")
    await page.click("#mer-new")
    await reader.read(page, "the merchants, a new merchant's form")
    await page.click("#mer-cancel")


async def open_view(page: Page, view: str, role: str) -> None:
    """Click the view's link and wait for what it shows (or for its refusal)."""
    await page.click(f'#nav a[data-view="{view}"]')
    await expect(page.locator(f"#view-{view}")).to_be_visible()
    if view == "referrals":
        await expect(page.locator("#board .column").first.or_(page.locator("#board-error:not(:empty)"))).to_be_visible()
    elif view == "dashboards":
        await expect(page.locator(".dash")).to_have_count(DASHBOARDS[role])
    elif view == "counter":
        await expect(page.locator("#counter-list > *").first).to_be_visible()
    elif view == "rewards":
        await expect(page.locator("#cat-list > *").first).to_be_visible()
        await expect(page.locator("#cat-report > *").first).to_be_visible()
    elif view == "desk":
        await expect(page.locator("#desk-list > *").first).to_be_visible()
    elif view == "events":
        await expect(page.locator("#ev-list > *").first).to_be_visible()
        await expect(page.locator("#ev-programs > *").first).to_be_visible()
    elif view == "imports":
        await expect(page.locator("#imp-list > *").first).to_be_visible()
    elif view == "staff":
        await expect(page.locator("#sa-list .sa-item").first).to_be_visible()
    elif view == "merchants":
        await expect(page.locator("#mer-list > *").first).to_be_visible()
    elif view == "visits":
        await expect(page.locator("#visits-list > *").first).to_be_visible()
        await expect(page.locator("#visits-coverage h3")).to_be_visible()
    elif view == "kpis":
        await expect(page.locator("#kpis-list .kpi").first).to_be_visible()
        if role == "admin":
            await expect(page.locator("#kpis-plans li").first).to_be_visible()
    elif view == "repairs":
        await expect(page.locator("#repairs-list > *").first).to_be_visible()
        await expect(page.locator("#repairs-contractor-month > *").first).to_be_visible()
    elif view == "tiers":
        await expect(page.locator("#tiers-list .tm-tier")).to_have_count(4)
    elif view == "members":
        await expect(page.locator("#members-list > *").first).to_be_visible()
    else:
        await page.wait_for_load_state("networkidle")


async def counter_refuses(page: Page, reader: Reader) -> None:
    """The reward counter's answer to a code that is no pick-up code, at arm's length."""
    await page.fill("#counter-code", "not-a-code")
    await page.press("#counter-code", "Enter")
    await expect(page.locator("#counter-result")).to_have_attribute("data-result", "invalid_code")
    await reader.read(page, "the reward counter, an invalid code")


async def desk_case(page: Page, reader: Reader) -> None:
    """The service desk: every state in the filter, then a demo case's page and the questions asked
    before a reply and a result go to the owner."""
    for state in ("overdue", "resolved", "all"):
        await page.select_option("#desk-state", state)
        await expect(page.locator("#desk-list > *").first).to_be_visible()
        await reader.read(page, f"the service desk, state {state}")
    await page.select_option("#desk-state", "active")
    await page.locator("#desk-list .desk-row").first.click()
    await expect(page.locator("#desk-owner h4").first).to_be_visible()
    await reader.read(page, "the service desk, a case")
    if await page.locator("#desk-reply").count():
        await page.fill("#desk-reply", "李雷")
        await asked(page, reader, page.locator("#desk-send"), "the service desk, sending a reply")
        await page.fill("#desk-result", "李雷")
        await asked(page, reader, page.locator("#desk-resolve"), "the service desk, resolving a case")
    await page.click(".desk-back a")
    await expect(page.locator("#desk-queue")).to_be_visible()


async def tier_rule_preview(page: Page, reader: Reader) -> None:
    """The tier rules: a rule's form, its preview, and the question before it is saved."""
    await page.locator("#tiers-list button[data-edit-rule]").first.click()
    await expect(page.locator("#tiers-form")).to_be_visible()
    await page.click("#tiers-preview")
    await expect(page.locator("#tiers-moves")).to_be_visible()
    await reader.read(page, "the tier rules, a rule's preview")
    await asked(page, reader, page.locator("#tiers-save"), "the tier rules, saving a rule")
    await page.click("#tiers-cancel")


async def member_page(page: Page, reader: Reader) -> None:
    """The members: a search, an owner's page, and the question before a home is sold on."""
    await page.locator("#members-list .tm-member").first.click()
    await expect(page.locator("#members-contracts h3")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    await reader.read(page, "the members, an owner's page")
    transfer = page.locator("#members-page [data-transfer]")
    if await transfer.count():
        await asked(page, reader, transfer.first, "the members, selling a home on")
    await page.click(".tm-back a")
    await page.fill("#members-search", "zz-no-such-owner")
    await page.click("#members-search-go")
    await expect(page.locator("#members-none")).to_be_visible()
    await reader.read(page, "the members, a search that finds nobody")


async def scan(page: Page, code: str) -> None:
    """Scan `code`; the answer is there when the result box names it again (data-result)."""
    await page.locator("#scan-result").evaluate("(box) => box.removeAttribute('data-result')")
    await page.fill("#scan-code", code)
    await page.press("#scan-code", "Enter")
    await expect(page.locator("#scan-result")).to_have_attribute("data-result", re.compile(r"."))


async def door_scans(page: Page, reader: Reader, door: Door) -> None:
    """Each answer at the door: its words (never its key) as the largest text, its colour."""
    words = (await catalogue(page, reader.locale))["enums"]["checkin_result"]
    colour = {"checked_in": "green", "already_checked_in": "amber", "not_open_yet": "blue"}
    await page.fill("#scan-gate", GATE[reader.locale])
    await page.select_option("#scan-event", str(door.open_now))
    for expected, code in door.codes.items():
        result = "not_signed_up" if expected == "waitlisted" else expected
        await scan(page, code)
        await expect(page.locator("#scan-result")).to_have_attribute("data-result", result)
        await expect(page.locator("#scan-result")).to_have_class(f"result {colour.get(result, 'red')}")
        if result == "already_checked_in":  # where and when, in the big word: 已签到（东门 19:02）
            await expect(page.locator("#result-code")).to_contain_text(GATE[reader.locale])
        else:
            await expect(page.locator("#result-code")).to_have_text(words[result])
        await reader.read(page, f"the door scanner, {expected}")
        if expected == "already_checked_in":
            await save(page, f"scanner-results-{SHORT[reader.locale]}")
    await page.select_option("#scan-event", str(door.tomorrow))
    await scan(page, door.not_open_yet)
    await expect(page.locator("#scan-result")).to_have_attribute("data-result", "not_open_yet")
    await expect(page.locator("#result-code")).to_have_text(words["not_open_yet"])
    await reader.read(page, "the door scanner, not open yet")
    await scan(page, "not-a-code")
    await expect(page.locator("#scan-result")).to_have_attribute("data-result", "invalid_code")
    await expect(page.locator("#scan-result")).to_have_class("result red")
    await reader.read(page, "the door scanner, a code it cannot read")


async def staff_login_problem(page: Page, reader: Reader) -> None:
    await page.goto("/staff")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", reader.locale)
    await reader.read(page, "the staff login")
    await page.fill("#username", "admin")
    await page.fill("#password", "not-the-password")
    await page.click("#sign-in")
    await expect(page.locator("#login-error")).not_to_be_empty()
    await reader.read(page, "the staff login, a wrong password")


async def events_forms(page: Page, reader: Reader) -> None:
    """The events page's forms: a new event, a series previewed (and a refusal next to its field), a program."""
    await page.click("#ev-new")
    await expect(page.locator("#ev-form")).to_be_visible()
    await page.click("#ev-save")  # nothing filled in: the page says what is missing
    await expect(page.locator('#ev-form [data-error="title_zh"]')).not_to_be_empty()
    await reader.read(page, "the events page, a new event's form with what is missing")
    await page.click("#ev-new-series")
    # Each title is in its own language on every page (what staff typed into the field for it); the
    # English one names the sessions on an English page, the Chinese one on a Chinese page.
    reader.names |= {"业主恳谈会", "Owners' meetup"}
    await page.fill("#se-title-zh", "业主恳谈会")
    await page.fill("#se-title-en", "Owners' meetup")
    await page.fill("#se-year", "2027")
    await page.click("#se-preview")
    await expect(page.locator("#se-session-list .ev-session")).to_have_count(4)
    await reader.read(page, "the events page, a quarterly series previewed")
    await page.select_option("#se-pattern", "festivals")
    await page.click("#se-preview")  # no festival chosen: refused next to the festivals
    await expect(page.locator('#ev-series [data-error="festivals"]')).not_to_be_empty()
    await reader.read(page, "the events page, a festival series refused")
    await page.click("#ev-new-program")
    await expect(page.locator("#ev-program-form")).to_be_visible()
    await reader.read(page, "the events page, a new program's form")
    await page.click("#pr-back")


async def bad_range(page: Page, reader: Reader) -> None:
    """The dashboards that take a range, asked for one that ends before it starts."""
    await page.fill("#dash-start", "2026-12-31")
    await page.fill("#dash-end", "2026-01-01")
    await page.click("#dash-reload")
    await expect(page.locator(".dash .error").first).to_be_visible()
    await reader.read(page, "the dashboards, a range that ends before it starts")


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_staff_pages_show_no_foreign_words(world: World, pages: Pages, locale: str):
    """Each role opens every view; the event staff scan at the door; the admin's dashboards."""
    reader = world.reader(locale)
    browser_locale = "en-US" if locale == "en" else locale
    await staff_login_problem(await pages.new(locale=browser_locale), reader)
    for role, (username, password) in ROLES.items():
        page = await pages.new(locale=browser_locale)
        await staff_logs_in(page, username, password=password)
        for view in VIEWS:
            if view not in ALLOWED[role]:
                await expect(page.locator(f'#nav a[data-view="{view}"]')).to_be_hidden()
                continue
            await open_view(page, view, role)
            await reader.read(page, f"the staff page {view} as {role}")
            if view == "referrals" and role == "sales":
                lead = page.locator('#board .column[data-stage="registered"] .lead').first
                await asked(page, reader, lead.locator('button[data-to="signed"]'), "the referral board, signing a lead")
                await asked(page, reader, lead.locator('button[data-to="cancelled"]'), "the referral board, cancelling a lead")
            if view == "scanner" and role == "event_staff":
                await door_scans(page, reader, world.door)
            if view == "counter" and role == "service":
                await counter_refuses(page, reader)
            if view == "rewards" and role == "admin":
                await page.click("#cat-new")
                await expect(page.locator("#cat-form")).to_be_visible()
                await reader.read(page, "the rewards catalogue, a new reward's form")
                await page.click("#cat-cancel")
            if view == "merchants" and role == "admin":
                await merchant_page(page, reader)
            if view == "desk" and role == "service":
                await desk_case(page, reader)
            if view == "events" and role == "event_staff":
                await events_forms(page, reader)
            if view == "kpis" and role == "service":
                for key in ("satisfaction", "file_completeness"):
                    await page.click(f'.kpi[data-kpi="{key}"] button[data-kpi-drill]')
                    await expect(page.locator("#kpis-drill h2")).to_be_visible()
                    await reader.read(page, f"the KPI board, the records of {key}")
                await page.click('[data-kpi-trend="quarters"]')
                await reader.read(page, "the KPI board by quarter")
            if view == "repairs" and role == "service":
                await page.click("#repairs-new")
                await page.click("#repairs-save")  # nobody chosen: the form's problem
                await expect(page.locator("#repairs-form-error")).not_to_be_empty()
                await reader.read(page, "the repairs page, a form refused")
            if view == "tiers" and role == "admin":
                await tier_rule_preview(page, reader)
            if view == "members" and role in ("service", "sales"):
                await member_page(page, reader)
            if view == "dashboards" and role == "admin":
                await save(page, f"dashboards-{SHORT[locale]}", full_page=True)
                await bad_range(page, reader)
    reader.assert_none()
