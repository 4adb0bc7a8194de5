"""Which locale a reader gets: the session's saved language, then the `lang` cookie (the page's
switch), then Accept-Language by q-value, then zh-CN."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from loyalty.i18n import DEFAULT_LOCALE, negotiate, request_locale


@dataclass
class Connection:
    """What request_locale reads of a Litestar request: its scope (the session), cookies and headers."""

    session: dict[str, Any] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    accept_language: str | None = None

    @property
    def scope(self) -> dict[str, Any]:
        return {"session": self.session}

    @property
    def headers(self) -> dict[str, str]:
        return {"accept-language": self.accept_language} if self.accept_language is not None else {}


@pytest.mark.parametrize(("header", "locale"), [
    ("en-US,en;q=0.9", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("en;q=0.4, zh-CN;q=0.8", "zh-CN"),  # by q-value, not by position
    ("zh-CN;q=0.5, en-GB", "en"),  # no q is q=1
    ("fr-FR, de;q=0.9, en;q=0.1", "en"),  # the languages we do not have are passed over
    ("zh-TW", "zh-CN"),  # any Chinese is the Chinese we have
    ("zh-Hans-CN", "zh-CN"),
    ("en;q=0.8, zh;q=0.8", "en"),  # a tie goes to the one named first
    ("EN-us", "en"),
])
def test_accept_language_picks_the_best_locale_we_have(header: str, locale: str):
    assert negotiate(header) == locale


@pytest.mark.parametrize("header", [
    None, "", "fr-FR, de", "*", "en;q=0", "en;q=abc",
    "enx", "english", "zhx-CN",  # a tag is a language, not a prefix of one
    "en;q=inf", "en;q=nan", "en;q=1.5", "en;q=-1",  # a qvalue is 0 to 1 (RFC 9110 §12.4.2)
])
def test_accept_language_that_names_none_of_ours_gives_nothing(header: str | None):
    assert negotiate(header) is None


def test_the_session_holds_no_language():
    # The switch's cookie (written at login from the saved language) decides; a session cookie,
    # rewritten by every reply, would bring an old language back (tests/i18n/test_language_switch.py).
    connection = Connection(session={"lang": "en"}, cookies={"lang": "zh-CN"}, accept_language="en")
    assert request_locale(connection) == "zh-CN"
    assert request_locale(Connection(session={"lang": "en"}, accept_language="zh-CN")) == "zh-CN"


def test_then_the_switch_then_the_browser_then_chinese():
    assert request_locale(Connection(cookies={"lang": "en"}, accept_language="zh-CN")) == "en"
    assert request_locale(Connection(cookies={"lang": "zh-CN"}, accept_language="en")) == "zh-CN"
    assert request_locale(Connection(accept_language="fr, en;q=0.5")) == "en"
    assert request_locale(Connection(accept_language="fr")) == DEFAULT_LOCALE == "zh-CN"
    assert request_locale(Connection()) == "zh-CN"


def test_a_value_that_is_no_locale_is_passed_over():
    connection = Connection(session={"lang": "klingon"}, cookies={"lang": "fr"}, accept_language="en")
    assert request_locale(connection) == "en"
