"""The WeChat Official Account (a service account), on its documented HTTP API with httpx:

- the access token (`/cgi-bin/token`), shared by every process in Redis (in memory without a
  broker) and fetched again REFRESH_MARGIN before it expires, by one process at a time (a Redis
  lock): each new token ends the last one's life within minutes, so processes that each fetched
  their own would keep invalidating each other's;
- template messages (`/cgi-bin/message/template/send`) for the outbox's kinds, one template per
  kind (LOYALTY_WECHAT_TEMPLATES), their answers mapped like the SMS provider's: 43004 (the owner
  unfollowed the account) and 43101 (refuses messages) block the openid and the message falls
  back to the next channel; an expired token is fetched again and the send tried once more;
- web OAuth (`/connect/oauth2/authorize`, `/sns/oauth2/access_token`): the openid of the owner
  who opened the club inside WeChat (loyalty.identity.wechat_api binds it after a phone code);
- the signature of the server's callbacks: SHA1 of the sorted token, timestamp and nonce.
tests/wechat_server.py stands in for all of it on loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from loyalty.care.channels import Envelope, Outcome
from loyalty.settings import Settings, template_map

log = logging.getLogger("loyalty.outbox")

REFRESH_MARGIN_SECONDS = 300
LOCK_SECONDS = 10
TOKEN_ERRORS = (40001, 40014, 42001)  # invalid, malformed, expired access token
BLOCKED_ERRORS = (43004, 43101, 40003)  # unfollowed, refuses messages, not a follower's openid
RETRY_ERRORS = (-1, 45009, 45047, 45011)  # busy, over the API's daily or per-minute quota
TIMEOUT = httpx.Timeout(10.0)


class WechatError(RuntimeError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code


def _checked(answer: dict[str, Any]) -> dict[str, Any]:
    if answer.get("errcode"):
        raise WechatError(int(answer["errcode"]), str(answer.get("errmsg", "")))
    return answer


# --- the access token ---------------------------------------------------------------------

class _MemoryTokens:
    def __init__(self) -> None:
        self.value: dict[str, Any] | None = None
        self.lock = asyncio.Lock()


_memory: dict[str, _MemoryTokens] = {}


def _key(settings: Settings) -> str:
    return f"loyalty:wechat:access-token:{settings.wechat_app_id}"


async def _fetch(settings: Settings) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        answer = _checked((await http.get(f"{settings.wechat_api_base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": settings.wechat_app_id, "secret": settings.wechat_app_secret,
        })).json())
    return {"token": answer["access_token"], "expires_at": time.time() + int(answer.get("expires_in", 7200))}


def _fresh(value: dict[str, Any] | None, stale: str | None) -> bool:
    return bool(value) and value["token"] != stale and value["expires_at"] - time.time() > REFRESH_MARGIN_SECONDS


async def access_token(settings: Settings, *, stale: str | None = None) -> str:
    """The shared token; `stale`: the one WeChat just refused (fetch another unless someone did)."""
    if not settings.broker_url:
        tokens = _memory.setdefault(settings.wechat_app_id, _MemoryTokens())
        async with tokens.lock:
            if not _fresh(tokens.value, stale):
                tokens.value = await _fetch(settings)
            return tokens.value["token"]  # type: ignore[index]
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.broker_url)
    try:
        for _ in range(LOCK_SECONDS * 10):
            raw = await redis.get(_key(settings))
            value = json.loads(raw) if raw else None
            if _fresh(value, stale):
                return value["token"]  # type: ignore[index]
            owner = secrets.token_hex(8)
            if await redis.set(_key(settings) + ":lock", owner, nx=True, ex=LOCK_SECONDS):
                try:
                    value = await _fetch(settings)
                    await redis.set(_key(settings), json.dumps(value), ex=max(int(value["expires_at"] - time.time()), 1))
                    return value["token"]
                finally:
                    await redis.delete(_key(settings) + ":lock")
            await asyncio.sleep(0.1)  # another process is fetching it
        raise TimeoutError("no WeChat access token: another process held the refresh lock too long")
    finally:
        await redis.aclose()


# --- template messages ------------------------------------------------------------------------

class WechatChannel:
    name = "wechat"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = template_map(settings.wechat_templates)

    def can_send(self, kind: str) -> bool:
        return bool(self.settings.wechat_app_id) and kind in self.templates

    def _body(self, envelope: Envelope) -> dict[str, Any]:
        return {
            "touser": envelope.recipient,
            "template_id": self.templates[envelope.kind],
            "url": f"{self.settings.public_url}/",
            "data": {
                "first": {"value": envelope.subject},
                "keyword1": {"value": envelope.body},
                "remark": {"value": ""},
            },
        }

    async def deliver(self, envelope: Envelope) -> Outcome:
        if envelope.kind not in self.templates:
            return Outcome("gave_up", code="NoTemplate", detail=f"no WeChat template for {envelope.kind}")
        stale = None
        for _ in range(2):
            try:
                token = await access_token(self.settings, stale=stale)
                async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                    answer = (await http.post(
                        f"{self.settings.wechat_api_base}/cgi-bin/message/template/send", params={"access_token": token},
                        content=json.dumps(self._body(envelope), ensure_ascii=False).encode(),
                        headers={"Content-Type": "application/json"},
                    )).json()
            except (httpx.HTTPError, ValueError) as error:
                return Outcome("retry", code=type(error).__name__, detail=str(error)[:300])
            except WechatError as error:  # the token itself could not be had
                return Outcome("retry" if error.code in RETRY_ERRORS else "gave_up", code=str(error.code), detail=str(error))
            code = int(answer.get("errcode", 0))
            if code in TOKEN_ERRORS:
                stale = token
                continue
            return _classify(code, str(answer.get("errmsg", "")), str(answer.get("msgid", "")))
        return Outcome("retry", code="40001", detail="the access token was refused twice")


def _classify(code: int, message: str, msgid: str) -> Outcome:
    if code == 0:
        return Outcome("sent", code="0", provider_ref=msgid)
    if code in BLOCKED_ERRORS:
        return Outcome("blocked", code=str(code), detail=message)
    if code in RETRY_ERRORS:
        return Outcome("retry", code=str(code), detail=message)
    return Outcome("gave_up", code=str(code), detail=message)


# --- OAuth and callbacks ------------------------------------------------------------------------

def authorize_url(settings: Settings, redirect_uri: str, state: str) -> str:
    query = urlencode({
        "appid": settings.wechat_app_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": settings.wechat_oauth_scope, "state": state,
    })
    return f"{settings.wechat_oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"


async def openid_for_code(settings: Settings, code: str) -> str:
    """The openid behind an OAuth code (each code works once, for five minutes)."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        answer = _checked((await http.get(f"{settings.wechat_api_base}/sns/oauth2/access_token", params={
            "appid": settings.wechat_app_id, "secret": settings.wechat_app_secret, "code": code,
            "grant_type": "authorization_code",
        })).json())
    return str(answer["openid"])


def signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    # Bytes: compare_digest raises on a str that is not ASCII, and any query can hold one.
    return hmac.compare_digest(expected.encode(), (signature or "").encode())
