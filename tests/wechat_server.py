"""A stand-in for the WeChat Official Account's API on loopback (developers.weixin.qq.com,
"Official Account" documentation), as localstripe stands in for Stripe.

- GET /cgi-bin/token?grant_type=client_credential&appid&secret → an access token for 7200 s;
  issuing one ends the previous one (as WeChat does, after its grace), so processes that do
  not share the token refuse each other's; `tokens_issued` counts them, `expire_tokens()`
  makes every token answer 42001 (expired).
- GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state → checks
  them (scope snsapi_base or snsapi_userinfo) and sends the browser back to redirect_uri with
  a one-time code for the WeChat user set by `log_in_as(openid)` (the person holding the phone).
- GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code → the openid
  (the code works once: 40163 after).
- POST /cgi-bin/message/template/send?access_token → checks the token, touser, template_id and
  data; a user who unfollowed (`unfollow(openid)`) gets 43004, as WeChat answers.
Run by hand: `python -m tests.wechat_server --port 8124` (prints the settings to use).
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

APP_ID = "wx00standin0000001"
APP_SECRET = "standin-app-secret-0000000000000"
TOKEN = "standin-callback-token"
TEMPLATES = {"tmpl-case-update": "case_update", "tmpl-holiday": "holiday", "tmpl-reward-pickup": "reward_pickup"}
TEMPLATE_SETTING = "case_update=tmpl-case-update,holiday=tmpl-holiday,reward_pickup=tmpl-reward-pickup"


def env(port: int) -> dict[str, str]:
    base = f"http://127.0.0.1:{port}"
    return {
        "LOYALTY_WECHAT_APP_ID": APP_ID, "LOYALTY_WECHAT_APP_SECRET": APP_SECRET, "LOYALTY_WECHAT_TOKEN": TOKEN,
        "LOYALTY_WECHAT_TEMPLATES": TEMPLATE_SETTING, "LOYALTY_WECHAT_API_BASE": base, "LOYALTY_WECHAT_OAUTH_BASE": base,
    }


@dataclass
class WechatStandIn:
    port: int = 0
    tokens_issued: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    user: str = ""  # the openid of whoever is "holding the phone" at the OAuth page
    _token: str = ""
    _expired: bool = False
    _codes: dict[str, str] = field(default_factory=dict)
    _unfollowed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self) -> dict[str, str]:
        return env(self.port)

    def log_in_as(self, openid: str) -> None:
        self.user = openid

    def unfollow(self, openid: str) -> None:
        self._unfollowed.add(openid)

    def expire_tokens(self) -> None:
        self._expired = True

    def reset(self) -> None:
        with self.lock:
            self.tokens_issued, self._token, self._expired, self.user = 0, "", False, ""
            self.messages.clear(), self.authorize_requests.clear(), self._codes.clear(), self._unfollowed.clear()

    def handle(self, method: str, url: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        query = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if method == "GET" and parts.path == "/connect/oauth2/authorize":
            return self.authorize(query)
        if method == "GET" and parts.path == "/cgi-bin/token":
            return _json(self.token(query))
        if method == "GET" and parts.path == "/sns/oauth2/access_token":
            return _json(self.oauth_token(query))
        if method == "POST" and parts.path == "/cgi-bin/message/template/send":
            return _json(self.template_send(query, body))
        return _json({"errcode": 40066, "errmsg": "invalid url"})

    def token(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        with self.lock:
            self.tokens_issued += 1
            self._token, self._expired = secrets.token_urlsafe(24), False
            return {"access_token": self._token, "expires_in": 7200}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.authorize_requests.append(query)
        problems = [
            name for name, ok in (
                ("appid", query.get("appid") == APP_ID), ("response_type", query.get("response_type") == "code"),
                ("scope", query.get("scope") in ("snsapi_base", "snsapi_userinfo")),
                ("redirect_uri", urlsplit(query.get("redirect_uri", "")).scheme in ("http", "https")),
                ("user", bool(self.user)),
            ) if not ok
        ]
        if problems:
            return 400, {"Content-Type": "text/plain; charset=utf-8"}, f"bad authorize request: {problems}".encode()
        code = secrets.token_urlsafe(12)
        self._codes[code] = self.user
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return 302, {"Location": target}, b""

    def oauth_token(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if query.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        openid = self._codes.pop(query.get("code", ""), None)
        if openid is None:
            return {"errcode": 40163, "errmsg": "code been used"}
        return {"access_token": secrets.token_urlsafe(24), "expires_in": 7200, "refresh_token": secrets.token_urlsafe(24),
                "openid": openid, "scope": "snsapi_base"}

    def template_send(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        if not self._token or query.get("access_token") != self._token:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if self._expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        try:
            message = json.loads(body)
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        if message.get("template_id") not in TEMPLATES:
            return {"errcode": 40037, "errmsg": "invalid template_id"}
        if not message.get("touser"):
            return {"errcode": 40003, "errmsg": "invalid openid"}
        if not isinstance(message.get("data"), dict):
            return {"errcode": 47001, "errmsg": "data format error"}
        if message["touser"] in self._unfollowed:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        with self.lock:
            self.messages.append(message)
            return {"errcode": 0, "errmsg": "ok", "msgid": 200000 + len(self.messages)}


def _json(answer: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json; encoding=utf-8"}, json.dumps(answer, ensure_ascii=False).encode()


def serve(stand_in: WechatStandIn, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
            status, headers, data = stand_in.handle(method, self.path, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    stand_in.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="wechat-stand-in", daemon=True).start()
    return server


@pytest.fixture(scope="session")
def wechat_stand_in_server() -> Iterator[WechatStandIn]:
    stand_in = WechatStandIn()
    server = serve(stand_in)
    try:
        yield stand_in
    finally:
        server.shutdown()


@pytest.fixture
def wechat_stand_in(wechat_stand_in_server: WechatStandIn) -> WechatStandIn:
    wechat_stand_in_server.reset()
    return wechat_stand_in_server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A WeChat Official Account API stand-in on loopback")
    parser.add_argument("--port", type=int, default=8124)
    arguments = parser.parse_args()
    running = WechatStandIn(user="o-standin-owner")
    http = serve(running, arguments.port)
    print("\n".join(f"{name}={value}" for name, value in env(running.port).items()), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        http.shutdown()
