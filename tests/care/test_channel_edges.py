"""Issue #23: the WeChat callback cannot be replayed, and one-click unsubscribe works from mail clients."""

from __future__ import annotations

import httpx
import pytest

from loyalty.app import create_app
from loyalty.care import unsubscribe
from loyalty.care.tables import BlockedAddress, OptOut
from tests.care.test_wechat_channel import OPENID, both_settings, signed
from tests.events.builders import owners
from tests.wechat_server import TOKEN

UNFOLLOW = f"<xml><FromUserName>{OPENID}</FromUserName><Event>unsubscribe</Event></xml>"


async def test_a_captured_callback_url_cannot_be_replayed_or_used_late(database, sms_stand_in, wechat_stand_in):
    app = create_app(both_settings(database, sms_stand_in, wechat_stand_in), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        old = await http.post("/api/v1/wechat/callback", params=signed(TOKEN, timestamp="1"), content=UNFOLLOW)
        assert old.status_code == 400 and not await BlockedAddress.exists()
        params = signed(TOKEN)
        first = await http.post("/api/v1/wechat/callback", params=params, content=UNFOLLOW)
        await BlockedAddress.delete(force=True)
        again = await http.post("/api/v1/wechat/callback", params=params, content=UNFOLLOW)
    assert (first.status_code, again.status_code) == (200, 400)
    assert not await BlockedAddress.exists()


async def test_a_non_ascii_signature_is_a_400(database, sms_stand_in, wechat_stand_in):
    app = create_app(both_settings(database, sms_stand_in, wechat_stand_in), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        answer = await http.get("/api/v1/wechat/callback", params={**signed(TOKEN), "signature": "é"})
    assert answer.status_code == 400


@pytest.mark.parametrize("headers", [
    {"Origin": "https://mail.google.com"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
])
async def test_one_click_unsubscribe_from_a_mail_client_is_not_refused_as_cross_origin(
    database, sms_stand_in, wechat_stand_in, tmp_path, headers
):
    settings = both_settings(database, sms_stand_in, wechat_stand_in)
    (member,) = await owners(tmp_path, 1)
    app = create_app(settings, engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        answer = await http.post(f"/api/v1/unsubscribe/{unsubscribe.token(settings, member, 'holiday')}",
                                 headers=headers, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert await OptOut.exists().where((OptOut.member == member) & (OptOut.kind == "holiday"))


async def test_a_bad_link_is_a_400_and_a_gone_member_a_410(database, sms_stand_in, wechat_stand_in, tmp_path):
    settings = both_settings(database, sms_stand_in, wechat_stand_in)
    (member,) = await owners(tmp_path, 1)
    app = create_app(settings, engine=database.engine)
    gone = f"999999.holiday.{unsubscribe._mac(settings, '999999:holiday')}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        tampered = await http.post(f"/api/v1/unsubscribe/{member + 1}.holiday.x")
        page = await http.get(f"/api/v1/unsubscribe/{member}.holiday.x")
        missing = await http.post(f"/api/v1/unsubscribe/{gone}")
    assert (tampered.status_code, page.status_code, missing.status_code) == (400, 400, 410)
    assert not await OptOut.exists()


async def test_the_oauth_redirect_uri_is_our_public_address_whatever_the_host_header(database, sms_stand_in, wechat_stand_in):
    from urllib.parse import parse_qs, urlsplit

    settings = both_settings(database, sms_stand_in, wechat_stand_in, public_url="https://club.example.cn")
    app = create_app(settings, engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        answer = await http.get("/api/v1/auth/wechat", headers={"Host": "evil.example"})
    redirect = parse_qs(urlsplit(answer.headers["location"]).query)["redirect_uri"][0]
    assert redirect == "https://club.example.cn/api/v1/auth/wechat/callback"


def test_an_unbound_openid_waits_in_the_session_ten_minutes_only():
    from datetime import timedelta

    from loyalty import clock
    from loyalty.identity.wechat_api import PENDING_KEY, PENDING_SECONDS, PENDING_UNTIL_KEY, pending_openid

    session = {PENDING_KEY: OPENID, PENDING_UNTIL_KEY: clock.now().timestamp() + PENDING_SECONDS}
    assert pending_openid(session) == OPENID
    with clock.as_of(clock.now() + timedelta(seconds=PENDING_SECONDS + 1)):
        assert pending_openid(session) is None
    assert pending_openid({PENDING_KEY: OPENID}) is None  # an old session without a lifetime binds nothing
