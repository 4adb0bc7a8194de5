"""What a person sees on a page, and the words in it that are in the other language.

In Chinese, a foreign word is two or more ASCII letters in a row; in English, any CJK character
(ideographs and full-width punctuation). Names are not words to translate: the people, places
and shops of the data (read from the database, so a test needs no list of its own) and the short
allow-list below, each with its reason."""

from __future__ import annotations

import re
from collections.abc import Iterable

from playwright.async_api import Page

from loyalty.care.tables import Case, CaseMessage
from loyalty.events.tables import Event, Signup
from loyalty.identity.tables import StaffAccount
from loyalty.members.tables import Member
from loyalty.merchants.tables import ApiKey, Merchant, Store
from loyalty.referrals.tables import Lead

# Latin words a Chinese page may show.
ALLOWED_IN_CHINESE = {
    "English": "the language switch names the other language in that language",
    "CSV": "the export's file format, as Excel and every Chinese office calls it",
    "Excel": "the spreadsheet program: the .xlsx exports are for it and owner files come from it, called so in every Chinese office (导出 Excel)",
    "OC1.<key>.<payload>.<signature>": "the form of a card or ticket code, an identifier a problem may quote",
    "OC1": "the codes' version prefix, an identifier",
}
# Chinese a page in English may show.
ALLOWED_IN_ENGLISH = {
    "简体中文": "the language switch names the other language in that language",
}

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Identifiers shown as they are in either language: a merchant's API key (shown once) and the
# prefix that names it, typed into a till's settings, never translated.
IDENTIFIERS = re.compile(r"ocm_live_[A-Za-z0-9_-]*")
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]+")

# Everything a person can read on the page: the rendered text (innerText leaves out what is
# hidden), what the form fields hold or suggest, every choice of a dropdown, tooltips, the
# labels a screen reader says, and the charts' bar titles.
VISIBLE_TEXT = """() => {
  const shown = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    && getComputedStyle(el).visibility !== "hidden";
  const out = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll("input, textarea")) {
    if (!shown(el)) continue;
    // A tick box's value and a file field's path are nobody's reading (its label is).
    if (el.value && !["password", "checkbox", "radio", "file"].includes(el.type)) out.push(el.value);
    if (!el.value && el.placeholder) out.push(el.placeholder);
  }
  for (const el of document.querySelectorAll("select")) if (shown(el)) for (const o of el.options) out.push(o.text);
  for (const el of document.querySelectorAll("[title], [aria-label], img[alt]")) {
    if (shown(el)) out.push(...["title", "aria-label", "alt"].map((a) => el.getAttribute(a) || ""));
  }
  for (const el of document.querySelectorAll("svg title")) if (shown(el.parentElement)) out.push(el.textContent);
  return out.filter(Boolean).join("\\n");
}"""


async def data_names() -> set[str]:
    """The names in the data: people (members, the friends they refer, staff), places, shops, gates;
    and what people wrote in their own words, shown as written: an owner's case, the care desk's
    replies and its outcome."""
    names: set[str] = set()
    for table, column in (
        (Member, Member.name), (Lead, Lead.name), (Event, Event.venue),
        (Merchant, Merchant.name), (Store, Store.name), (Store, Store.code), (ApiKey, ApiKey.label), (Signup, Signup.checked_in_gate),
        (Case, Case.title), (Case, Case.text), (Case, Case.result), (CaseMessage, CaseMessage.text),
        (Case, Case.follow_up_note), (StaffAccount, StaffAccount.display_name),  # the desk names who has a case
    ):
        names |= {row[column._meta.name] for row in await table.select(column).distinct() if row[column._meta.name]}
    return names


def _without(text: str, names: Iterable[str]) -> str:
    for name in sorted(names, key=len, reverse=True):  # 王伟 goes before 王 would
        text = text.replace(name, " ")
    return text


def foreign_words(text: str, locale: str, names: Iterable[str]) -> list[str]:
    """Each line of `text` that holds a word of the other language, with the words found."""
    allowed = ALLOWED_IN_CHINESE if locale == "zh-CN" else ALLOWED_IN_ENGLISH
    pattern = LATIN_WORD if locale == "zh-CN" else CJK
    found = []
    for line in text.splitlines():
        words = pattern.findall(IDENTIFIERS.sub(" ", _without(line, [*allowed, *names])))
        if words:
            found.append(f"{line.strip()!r}: {words}")
    return found


class Reader:
    """Reads pages in one locale and keeps every line in the other language, with where it was,
    so one run reports them all (`assert_none` at the end of the test)."""

    def __init__(self, locale: str, names: Iterable[str]) -> None:
        self.locale = locale
        self.names = set(names)
        self.found: list[str] = []

    async def read(self, page: Page, where: str) -> str:
        text = await page.evaluate(VISIBLE_TEXT)
        self.found += [f"{where}: {line}" for line in foreign_words(text, self.locale, self.names)]
        return text

    def assert_none(self) -> None:
        assert not self.found, f"words in the other language on the {self.locale} pages:\n" + "\n".join(self.found)
