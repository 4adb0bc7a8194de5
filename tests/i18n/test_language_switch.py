"""`PUT /api/v1/language`: the switch sets the `lang` cookie; a logged-in owner's choice is saved
on the member, so it follows them to their next session whatever the browser asks for."""

from __future__ import annotations

import httpx

from loyalty.errors import MalformedField
from loyalty.i18n import LOCALES, translate
from loyalty.members.tables import Member
from loyalty.problems import SESSION_COOKIE
from tests.identity.builders import MEMBER_PHONE, add_member, log_in_member

# A validation problem's title tells which language the request was answered in.
VALIDATION_TITLE = {locale: translate(MalformedField.title, locale) for locale in LOCALES}


async def _problem_language(client: httpx.AsyncClient, accept_language: str) -> str:
    """The language of a problem this client causes (a switch to a language we do not have)."""
    refused = await client.put("/api/v1/language", json={"language": "fr"}, headers={"Accept-Language": accept_language})
    assert refused.status_code == 400, refused.text
    title = refused.json()["title"]
    assert title in VALIDATION_TITLE.values(), title
    return next(locale for locale, words in VALIDATION_TITLE.items() if title == words)


async def _saved(member_id: int) -> str:
    return (await Member.select(Member.language).where(Member.id == member_id).first())["language"]


async def test_the_switch_sets_the_lang_cookie(client: httpx.AsyncClient):
    switched = await client.put("/api/v1/language", json={"language": "en"})
    assert switched.status_code == 200, switched.text
    assert switched.json() == {"language": "en"}
    assert switched.cookies["lang"] == "en"
    assert "Max-Age" in switched.headers["set-cookie"] and "Path=/" in switched.headers["set-cookie"]
    assert await _problem_language(client, "zh-CN") == "en"  # the cookie wins over the browser


async def test_an_owners_choice_is_saved_and_followed_in_their_next_session(client: httpx.AsyncClient):
    member = await add_member(language="zh-CN")
    await log_in_member(client)
    assert (await client.put("/api/v1/language", json={"language": "en"})).status_code == 200
    assert await _saved(member) == "en"
    client.cookies.clear()  # another browser, asking for Chinese
    await log_in_member(client, MEMBER_PHONE)
    assert await _problem_language(client, "zh-CN") == "en"

    assert (await client.put("/api/v1/language", json={"language": "zh-CN"})).status_code == 200
    assert await _saved(member) == "zh-CN"
    client.cookies.clear()  # and the other way round
    await log_in_member(client, MEMBER_PHONE)
    assert await _problem_language(client, "en") == "zh-CN"


async def test_a_reply_to_a_request_sent_before_the_switch_does_not_switch_back(client: httpx.AsyncClient):
    # The session cookie is rewritten by every reply: one to a request sent just before the switch
    # arrives after it and writes the session as it was. The language must not ride in it.
    await add_member(language="zh-CN")
    await log_in_member(client)
    session_before = client.cookies[SESSION_COOKIE]
    assert (await client.put("/api/v1/language", json={"language": "en"})).status_code == 200
    client.cookies.set(SESSION_COOKIE, session_before)  # the late reply's Set-Cookie
    assert await _problem_language(client, "zh-CN") == "en"
    assert (await client.get("/api/v1/me")).status_code == 200  # still logged in


async def test_a_language_we_do_not_have_is_a_400_naming_the_field(client: httpx.AsyncClient):
    for body in ({"language": "fr"}, {"language": ""}, {"language": 1}, {}):
        refused = await client.put("/api/v1/language", json=body, headers={"Accept-Language": "en"})
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["errors"][0]["field"] == "language", (body, refused.text)
        assert "lang" not in refused.cookies


async def test_a_catalogue_name_that_is_no_locale_gets_the_configured_default(client):
    """`/i18n/<anything>` answers the default locale's catalogue (LOYALTY_DEFAULT_LANGUAGE), and
    answers it for any name without keeping one copy per name."""
    from loyalty.i18n.api import _page_catalogue

    odd = await client.get("/i18n/%3Cscript%3E.json")
    traversal = await client.get("/i18n/..%2F..%2Fetc%2Fpasswd")
    chinese = await client.get("/i18n/zh-CN.json")
    before = _page_catalogue.cache_info().currsize
    for number in range(50):
        await client.get(f"/i18n/nonsense-{number}.json")

    assert odd.status_code == 200 and odd.json() == chinese.json()
    assert traversal.status_code == 404
    assert _page_catalogue.cache_info().currsize == before
