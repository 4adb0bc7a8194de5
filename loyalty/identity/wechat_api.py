"""WeChat OAuth login and the Official Account's server callback.

    GET /api/v1/auth/wechat            → 302 to WeChat's authorize page (state kept in the session)
    GET /api/v1/auth/wechat/callback   ← WeChat sends the owner back with ?code&state
    GET/POST /api/v1/wechat/callback   ← WeChat's server: URL check (echostr) and events
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ElementTree
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Redirect, Response
from litestar.status_codes import HTTP_400_BAD_REQUEST

from functools import lru_cache
from urllib.parse import urlsplit

from loyalty import clock
from loyalty.care import routing, wechat
from loyalty.ops.rate_limits import Counters
from loyalty.i18n.api import language_cookie
from loyalty.identity import wechat as service
from loyalty.identity.guards import MEMBER_KEY, new_session
from loyalty.settings import Settings

STATE_KEY = "wechat_state"
PENDING_KEY = "wechat_openid"  # an openid waiting for the owner's phone code (identity.api binds it)
PENDING_UNTIL_KEY = "wechat_openid_until"  # ...only briefly: a forgotten one must not bind a later login
PENDING_SECONDS = 600


def pending_openid(session: dict[str, Any]) -> str | None:
    """The openid waiting in the session to be bound, while it is still fresh."""
    openid, until = session.get(PENDING_KEY), session.get(PENDING_UNTIL_KEY)
    if isinstance(openid, str) and openid and isinstance(until, (int, float)) and until > clock.now().timestamp():
        return openid
    return None


def _unconfigured(settings: Settings) -> Response[str] | None:
    if not settings.wechat_app_id:
        return Response("WeChat login is not configured", status_code=404, media_type="text/plain")
    return None


@get("/auth/wechat", include_in_schema=False)
async def wechat_login(request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Any:
    if (missing := _unconfigured(settings)) is not None:
        return missing
    state = secrets.token_urlsafe(16)
    request.set_session({**(request.scope.get("session") or {}), STATE_KEY: state})
    # Our public address, not the Host header: a forged Host must not choose where WeChat sends the code.
    callback = settings.public_url.rstrip("/") + urlsplit(str(request.url_for("wechat_oauth_callback"))).path
    return Redirect(wechat.authorize_url(settings, callback, state))


@get("/auth/wechat/callback", name="wechat_oauth_callback", include_in_schema=False)
async def wechat_oauth_callback(
    request: Request[Any, Any, State], settings: NamedDependency[Settings], code: str = "",
    returned_state: Annotated[str, Parameter(query="state")] = "",
) -> Any:
    if (missing := _unconfigured(settings)) is not None:
        return missing
    session = dict(request.scope.get("session") or {})
    expected = session.pop(STATE_KEY, None)
    session.pop(PENDING_KEY, None)
    session.pop(PENDING_UNTIL_KEY, None)
    if not code or not expected or not secrets.compare_digest(str(expected), returned_state):
        request.set_session(session)  # the state is spent either way
        return Redirect("/?wechat=failed")  # a forged or replayed callback logs nobody in
    try:
        openid = await wechat.openid_for_code(settings, code)
    except (wechat.WechatError, OSError, KeyError, ValueError):
        request.set_session(session)
        return Redirect("/?wechat=failed")
    member = await service.member_for_openid(openid)
    if member is None:
        request.set_session({**session, PENDING_KEY: openid, PENDING_UNTIL_KEY: clock.now().timestamp() + PENDING_SECONDS})
        return Redirect("/?wechat=bind")  # the owner logs in with a phone code once; that binds
    request.set_session(new_session(MEMBER_KEY, member["id"]))
    return Redirect("/", cookies=[language_cookie(member["language"])])


# A call whose signature is not ours is a 400, like a forged Stripe webhook (not a 403: no
# role could make it right). The signature covers only token, timestamp and nonce, so a
# captured URL would sign any body forever: it must be recent, and each nonce counts once.
CALLBACK_WINDOW_SECONDS = 300


def _signed(request: Request[Any, Any, State], settings: Settings) -> bool:
    query = request.query_params
    timestamp = query.get("timestamp", "")
    if not timestamp.isdigit() or abs(int(timestamp) - clock.now().timestamp()) > CALLBACK_WINDOW_SECONDS:
        return False
    return bool(settings.wechat_token) and wechat.signature_ok(
        settings.wechat_token or "", query.get("signature", ""), timestamp, query.get("nonce", "")
    )


@lru_cache(maxsize=4)
def _nonces(settings: Settings) -> Counters:
    return Counters(settings)  # Redis when there is a broker: every process sees every nonce


async def _first_use(request: Request[Any, Any, State], settings: Settings) -> bool:
    query = request.query_params
    key = f"wechat-nonce:{query.get('timestamp', '')}:{query.get('nonce', '')}"[:200]
    count, _shared = await _nonces(settings).incr(key, 2 * CALLBACK_WINDOW_SECONDS)
    return count == 1


@get("/wechat/callback", include_in_schema=False, sync_to_thread=False)
def wechat_server_check(request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[str]:
    """WeChat checks the server URL: echo `echostr` when the signature is ours."""
    if not _signed(request, settings):
        return Response("not signed by WeChat", status_code=HTTP_400_BAD_REQUEST, media_type="text/plain")
    return Response(request.query_params.get("echostr", ""), media_type="text/plain")


@post("/wechat/callback", include_in_schema=False, status_code=200)
async def wechat_server_event(request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[str]:
    """Events from WeChat's server (plain-text mode): an unfollow blocks the openid (messages
    fall back to SMS), a follow unblocks it."""
    if not _signed(request, settings):
        return Response("not signed by WeChat", status_code=HTTP_400_BAD_REQUEST, media_type="text/plain")
    if not await _first_use(request, settings):
        return Response("this call was already received", status_code=HTTP_400_BAD_REQUEST, media_type="text/plain")
    try:
        event = ElementTree.fromstring(await request.body())
    except ElementTree.ParseError:
        return Response("success", media_type="text/plain")
    openid = (event.findtext("FromUserName") or "").strip()
    kind = (event.findtext("Event") or "").strip().lower()
    if openid and kind == "unsubscribe":
        await routing.block("wechat", openid, "unsubscribed from the Official Account")
    elif openid and kind == "subscribe":
        await routing.unblock("wechat", openid)
    return Response("success", media_type="text/plain")  # WeChat's documented "nothing to reply"
