"""A stand-in for Tencent Cloud SMS (API 2021-01-11) on loopback, as localstripe stands in for
Stripe: the real SDK (`tencentcloud-sdk-python-sms`) talks to it over HTTP.

What it checks, as the provider documents it (cloud.tencent.com/document/api/382/52071 and the
TC3-HMAC-SHA256 signing, /document/api/382/52072): the `Authorization` header's credential,
date and signed headers; the signature recomputed from the canonical request (method, path,
query, `content-type` and `host`, the body's SHA-256) with the secret key; the timestamp within
five minutes; `X-TC-Action`, `X-TC-Version`, `X-TC-Region`; then SendSms's SmsSdkAppId,
SignName, TemplateId and the number of template parameters. A request that fails any of these
gets the provider's error answer (`AuthFailure.SignatureFailure`, `InvalidParameterValue...`),
never a silent success.

What it answers: SendSms with a SendStatusSet per number ("Ok" and a SerialNo), and the
handset's report afterwards through PullSmsSendStatus. Tests script trouble: `fail_next(n)`
answers the next n calls with HTTP 502 (the provider or a proxy in front of it failing),
`throttle(phone, code)` answers that number's sends with a per-number limit code,
`blacklist(phone)` with FailedOperation.PhoneNumberInBlacklist.

Run it by hand (README "Channels"): `python -m tests.sms_server --port 8123`, then
LOYALTY_SMS_ENDPOINT=http://127.0.0.1:8123 and the credentials it prints.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

SECRET_ID = "AKIDstandin0000000000000000000000000"
SECRET_KEY = "standin-secret-key-000000000000000"
SDK_APP_ID = "1400000001"
SIGN_NAME = "业主俱乐部"
# Approved templates and how many parameters each takes.
TEMPLATES = {"1100001": 2, "1100002": 0, "1100003": 0, "1100004": 0}
TEMPLATE_SETTING = "login_code=1100001,case_update=1100002,holiday=1100003,reward_pickup=1100004"
TOLERANCE_SECONDS = 300
AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def env(port: int) -> dict[str, str]:
    """The settings that point the app (or a worker) at this stand-in."""
    return {
        "LOYALTY_SMS_BACKEND": "tencent", "TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "LOYALTY_SMS_SDK_APP_ID": SDK_APP_ID, "LOYALTY_SMS_SIGN_NAME": SIGN_NAME,
        "LOYALTY_SMS_ENDPOINT": f"http://127.0.0.1:{port}", "LOYALTY_SMS_TEMPLATES": TEMPLATE_SETTING,
    }


# A complete SMS configuration for tests that start `loyalty serve` without --demo (which
# refuses the log backend) but send no message: its port is never listened on.
SERVER_SMS_ENV = env(9)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    signing = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class Sent:
    phone: str
    template: str
    params: list[str]
    sign: str
    serial: str
    session_context: str


@dataclass
class SmsStandIn:
    port: int = 0
    sent: list[Sent] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # every request, signed well or not
    refusals: list[str] = field(default_factory=list)  # why requests were refused
    _fail: int = 0
    _throttled: dict[str, str] = field(default_factory=dict)
    _blacklist: set[str] = field(default_factory=set)
    _reports: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return env(self.port)

    def fail_next(self, count: int = 1) -> None:
        self._fail = count

    def throttle(self, phone: str, code: str = "LimitExceeded.PhoneNumberThirtySecondLimit") -> None:
        self._throttled[phone] = code

    def blacklist(self, phone: str) -> None:
        self._blacklist.add(phone)

    def to(self, phone: str) -> list[Sent]:
        return [message for message in self.sent if message.phone == phone]

    def reset(self) -> None:
        with self.lock:
            self.sent.clear(), self.calls.clear(), self.refusals.clear(), self._reports.clear()
            self._throttled.clear(), self._blacklist.clear()
            self._fail = 0

    # --- the API ------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        request_id = str(uuid.uuid4())
        with self.lock:
            self.calls.append({"action": headers.get("x-tc-action"), "body": body})
            if self._fail > 0:
                self._fail -= 1
                return 502, {"message": "bad gateway"}
        problem = self.check_signature(method, path, query, headers, body)
        if problem is not None:
            code, message = problem
            with self.lock:
                self.refusals.append(f"{code}: {message}")
            return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}
        if headers.get("x-tc-version") != "2021-01-11":
            return 200, _error("InvalidParameter", f"unknown version {headers.get('x-tc-version')}", request_id)
        params = json.loads(body or b"{}")
        action = headers.get("x-tc-action")
        if action == "SendSms":
            return 200, self.send_sms(params, request_id)
        if action == "PullSmsSendStatus":
            return 200, self.pull_status(params, request_id)
        return 200, _error("InvalidAction", f"no action {action}", request_id)

    def check_signature(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> tuple[str, str] | None:
        found = AUTH.match(headers.get("authorization", ""))
        if found is None:
            return "AuthFailure.SignatureFailure", "the Authorization header is not TC3-HMAC-SHA256"
        if found["id"] != SECRET_ID:
            return "AuthFailure.SecretIdNotFound", "unknown SecretId"
        if found["service"] != "sms" or found["signed"] != "content-type;host":
            return "AuthFailure.SignatureFailure", "wrong service or signed headers"
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.SignatureFailure", "no X-TC-Timestamp"
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            return "AuthFailure.SignatureExpire", "the signature expired"
        if datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d") != found["date"]:
            return "AuthFailure.SignatureFailure", "the credential's date is not the timestamp's (UTC)"
        if not headers.get("x-tc-region"):
            return "MissingParameter", "X-TC-Region"
        canonical = "\n".join([
            method, path, query,
            f"content-type:{headers.get('content-type', '')}\nhost:{headers.get('host', '')}\n",
            "content-type;host", hashlib.sha256(body).hexdigest(),
        ])
        to_sign = "\n".join([
            "TC3-HMAC-SHA256", str(timestamp), f"{found['date']}/sms/tc3_request", hashlib.sha256(canonical.encode()).hexdigest(),
        ])
        if not hmac.compare_digest(tc3_signature(SECRET_KEY, found["date"], "sms", to_sign), found["signature"]):
            return "AuthFailure.SignatureFailure", "the signature does not match"
        return None

    def send_sms(self, params: dict[str, Any], request_id: str) -> dict[str, Any]:
        if params.get("SmsSdkAppId") != SDK_APP_ID:
            return _error("InvalidParameterValue.SdkAppIdNotExist", "SmsSdkAppId", request_id)
        if params.get("SignName") != SIGN_NAME:
            return _error("FailedOperation.SignatureIncorrectOrUnapproved", "SignName", request_id)
        template = params.get("TemplateId")
        if template not in TEMPLATES:
            return _error("FailedOperation.TemplateIncorrectOrUnapproved", "TemplateId", request_id)
        values = params.get("TemplateParamSet") or []
        if len(values) != TEMPLATES[template]:
            return _error("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "TemplateParamSet", request_id)
        phones = params.get("PhoneNumberSet") or []
        if not phones:
            return _error("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet", request_id)
        statuses = []
        for phone in phones:
            serial = f"{uuid.uuid4().hex[:8]}:{int(time.time() * 1000)}"
            code = "Ok"
            if not re.fullmatch(r"\+\d{6,15}", phone):
                code = "InvalidParameterValue.IncorrectPhoneNumber"
            elif phone in self._blacklist:
                code = "FailedOperation.PhoneNumberInBlacklist"
            elif phone in self._throttled:
                code = self._throttled[phone]
            statuses.append({
                "SerialNo": serial if code == "Ok" else "", "PhoneNumber": phone, "Fee": 1 if code == "Ok" else 0,
                "SessionContext": params.get("SessionContext", ""), "Code": code,
                "Message": "send success" if code == "Ok" else code, "IsoCode": "CN",
            })
            if code == "Ok":
                with self.lock:
                    self.sent.append(Sent(phone, template, [str(v) for v in values], params["SignName"], serial,
                                          params.get("SessionContext", "")))
                    self._reports.append({
                        "UserReceiveTime": datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                        "CountryCode": "86", "SubscriberNumber": phone[3:], "PhoneNumber": phone, "SerialNo": serial,
                        "ReportStatus": "SUCCESS", "Description": "用户短信送达成功", "SessionContext": params.get("SessionContext", ""),
                    })
        return {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}

    def pull_status(self, params: dict[str, Any], request_id: str) -> dict[str, Any]:
        if params.get("SmsSdkAppId") != SDK_APP_ID:
            return _error("InvalidParameterValue.SdkAppIdNotExist", "SmsSdkAppId", request_id)
        with self.lock:
            limit = int(params.get("Limit") or 100)
            reports, self._reports = self._reports[:limit], self._reports[limit:]
        return {"Response": {"PullSmsSendStatusSet": reports, "RequestId": request_id}}


def _error(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}


def serve(stand_in: SmsStandIn, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path, _sep, query = self.path.partition("?")
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer = stand_in.answer("POST", path, query, headers, body)
            data = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    stand_in.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="sms-stand-in", daemon=True).start()
    return server


@pytest.fixture(scope="session")
def sms_stand_in_server() -> Iterator[SmsStandIn]:
    stand_in = SmsStandIn()
    server = serve(stand_in)
    try:
        yield stand_in
    finally:
        server.shutdown()


@pytest.fixture
def sms_stand_in(sms_stand_in_server: SmsStandIn) -> SmsStandIn:
    sms_stand_in_server.reset()
    return sms_stand_in_server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A Tencent Cloud SMS stand-in on loopback")
    parser.add_argument("--port", type=int, default=8123)
    arguments = parser.parse_args()
    running = SmsStandIn()
    http = serve(running, arguments.port)
    print("\n".join(f"{name}={value}" for name, value in env(running.port).items()), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        http.shutdown()
