"""SMS through Tencent Cloud SMS (API 2021-01-11), with its official SDK
(`tencentcloud-sdk-python-sms`, the async client on httpx).

Why Tencent Cloud rather than Alibaba Cloud: both SDKs install from the package index, but
Tencent's is one small package on httpx (already ours) with an async client, and its request
signing (TC3-HMAC-SHA256) is documented step by step, so the stand-in (tests/sms_server.py)
verifies the SDK's own signatures; Alibaba's brings the Tea/Darabonba runtime and is sync only.

A message is one `SendSms` call with the provider's approved template for its kind
(LOYALTY_SMS_TEMPLATES) and the signature name (LOYALTY_SMS_SIGN_NAME); its words are the
template's, the outbox supplies only the template's parameters (a login code: the code and its
minutes). The provider's answer is mapped (`classify`) to:
- retry: the provider or the network failed (5xx, InternalError.*, a timeout);
- throttled: the provider's limits for this number (30 s, 1 h, a day) or for the whole
  account: wait until the limit lifts;
- blocked: the number is wrong or blacklisted: flag it, the message falls back;
- gave_up: this channel cannot send it (template, signature, credit, permission).
Our own limits per number and per day (`limits`, counted like the rate limits) throttle before
the provider is asked. Both are checked before either counts, and only a message handed to the
provider counts (once: a held message, or one the provider refused, gives its count back; a
network failure keeps it, since the provider may have sent it). Delivery receipts (the handset's report) are pulled by
`pull_receipts` (with the outbox's dispatch, every minute) and kept on the attempt with the provider's SerialNo.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from loyalty import clock
from loyalty.care.channels import Envelope, Outcome
from loyalty.ops.rate_limits import Count, Counters, FixedWindow
from loyalty.phones import mask_phone
from loyalty.settings import Settings, template_map

log = logging.getLogger("loyalty.outbox")
# The SDK logs whole requests and answers at DEBUG (phone numbers, codes, the Authorization
# header): never, whatever level the root logger is set to.
logging.getLogger("tencentcloud_sdk_common").setLevel(logging.WARNING)

RETRY_CODES = ("InternalError", "ServerNetworkError", "ClientNetworkError", "RequestLimitExceeded",
               "LimitExceeded.GlobalSmsSendingRateLimit", "LimitExceeded.DeliveryFrequencyLimit",
               "FailedOperation.OtherError", "FailedOperation.FailResolvePacket")
# Seconds until the provider's limit lifts; None: at the next Beijing midnight.
THROTTLE_CODES: dict[str, int | None] = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600,
    "LimitExceeded.PhoneNumberDailyLimit": None,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": None,
    "LimitExceeded.DailyLimit": None,
    "LimitExceeded.AppDailyLimit": None,
    "LimitExceeded.AppMainlandChinaDailyLimit": None,
    "LimitExceeded.AppGlobalDailyLimit": None,
}
BLOCKED_CODES = ("FailedOperation.PhoneNumberInBlacklist", "InvalidParameterValue.IncorrectPhoneNumber",
                 "FailedOperation.PhoneNumberParseFail", "LimitExceeded.AppCountryOrRegionInBlacklist")


def seconds_to_midnight(now: datetime) -> int:
    local = now.astimezone(clock.LOCAL_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), clock.LOCAL_ZONE)
    return int((midnight - local).total_seconds()) + 1


def classify(code: str, message: str = "", *, now: datetime | None = None) -> Outcome:
    """The outbox's reading of one of the provider's codes (see the module docstring)."""
    if code == "Ok":
        return Outcome("sent", code=code)
    if code in THROTTLE_CODES:
        wait = THROTTLE_CODES[code]
        return Outcome("throttled", code=code, detail=message, retry_after=wait or seconds_to_midnight(now or clock.now()))
    if code in BLOCKED_CODES:
        return Outcome("blocked", code=code, detail=message)
    if code.startswith(RETRY_CODES):
        return Outcome("retry", code=code, detail=message)
    if code.startswith(("AuthFailure", "UnauthorizedOperation", "FailedOperation", "InvalidParameter", "MissingParameter",
                        "UnsupportedOperation", "LimitExceeded")):
        return Outcome("gave_up", code=code, detail=message)
    return Outcome("retry", code=code, detail=message)  # unknown: assume it passes


class _Limits:
    """Our own per-number and per-day SMS limits, in every process the same count."""

    def __init__(self, settings: Settings) -> None:
        counters = Counters(settings)
        self.per_number = FixedWindow(counters, settings.sms_per_number_limit, "sms-number")
        self.per_day = FixedWindow(counters, settings.sms_daily_limit, "sms-day")

    async def take(self, phone: str) -> tuple[Outcome | None, tuple[Count, Count] | None]:
        """Count one message for `phone` and for the day, or hold it (and count nothing) when
        either limit is reached: a held message must not use up the budget of the ones that
        can go (the per-number limit of one busy phone would otherwise hold everyone's codes)."""
        number = await self.per_number.hit(phone)
        if number.over:
            await self.per_number.give_back(phone, number)
            return Outcome("throttled", code="Limit.PerNumber", detail=f"over {self.per_number}", retry_after=number.retry_after), None
        total = await self.per_day.hit("all")
        if total.over:
            await self.per_day.give_back("all", total)
            await self.per_number.give_back(phone, number)
            return Outcome("throttled", code="Limit.Daily", detail=f"over {self.per_day}", retry_after=total.retry_after), None
        return None, (number, total)

    async def give_back(self, phone: str, taken: tuple[Count, Count]) -> None:
        number, total = taken
        await self.per_number.give_back(phone, number)
        await self.per_day.give_back("all", total)


@lru_cache(maxsize=4)
def _limits(settings: Settings) -> _Limits:
    return _Limits(settings)


def _client(settings: Settings) -> Any:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111.sms_client_async import SmsClient

    http = HttpProfile(reqTimeout=10)
    if settings.sms_endpoint:
        scheme, _sep, host = settings.sms_endpoint.partition("://")
        http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=10)
    # The region breaker would switch to a backup domain of Tencent's own; the outbox retries.
    profile = ClientProfile(httpProfile=http, disable_region_breaker=True)
    return SmsClient(credential.Credential(settings.tencent_secret_id, settings.tencent_secret_key), settings.sms_region, profile)


class TencentSmsChannel:
    name = "tencent"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = template_map(settings.sms_templates)

    def can_send(self, kind: str) -> bool:
        return kind in self.templates

    async def deliver(self, envelope: Envelope) -> Outcome:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        template = self.templates.get(envelope.kind)
        if template is None:
            return Outcome("gave_up", code="NoTemplate", detail=f"no SMS template for {envelope.kind} (LOYALTY_SMS_TEMPLATES)")
        limits = _limits(self.settings)
        limited, taken = await limits.take(envelope.recipient)
        if limited is not None or taken is None:
            return limited or Outcome("retry", code="Limit")
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [envelope.recipient]
        request.SmsSdkAppId = self.settings.sms_sdk_app_id
        request.SignName = self.settings.sms_sign_name
        request.TemplateId = template
        request.TemplateParamSet = [str(value) for value in envelope.params]
        # Comes back on the receipt: which outbox message and attempt it was.
        request.SessionContext = f"outbox:{envelope.message_id}:{envelope.attempt}"
        client = _client(self.settings)
        try:
            response = await client.SendSms(request)
        except TencentCloudSDKException as error:
            refused = classify(error.get_code() or "ServerNetworkError", str(error.get_message() or "")[:300])
            if error.get_code() and not error.get_code().endswith("NetworkError"):  # answered, sent nothing: no cost
                await limits.give_back(envelope.recipient, taken)
            return refused
        except OSError as error:  # the network: httpx's errors are OSErrors only sometimes
            return Outcome("retry", code="ClientNetworkError", detail=str(error)[:300])
        except Exception as error:  # noqa: BLE001 - httpx transport errors and the like: try again later
            return Outcome("retry", code=type(error).__name__, detail=str(error)[:300])
        finally:
            await client.close()
        status = response.SendStatusSet[0]
        outcome = classify(status.Code, status.Message or "")
        if outcome.status != "sent":  # refused by the provider: counted only what it took
            await limits.give_back(envelope.recipient, taken)
        log.info("sms to %s: %s (%s)", mask_phone(envelope.recipient), status.Code, status.SerialNo)
        return Outcome(outcome.status, code=outcome.code, detail=outcome.detail, provider_ref=status.SerialNo or "",
                       retry_after=outcome.retry_after)


async def pull_receipts() -> int:
    """Every minute (outbox.dispatch_due): the handsets' delivery reports the provider holds for us,
    recorded on the attempts they belong to (by SerialNo). Returns how many were recorded."""
    from loyalty import jobs
    from loyalty.care.tables import DeliveryAttempt
    from tencentcloud.sms.v20210111 import models

    settings = jobs.current_settings()
    if settings.sms_backend != "tencent":
        return 0
    request = models.PullSmsSendStatusRequest()
    request.Limit = 100
    request.SmsSdkAppId = settings.sms_sdk_app_id
    client = _client(settings)
    try:
        response = await client.PullSmsSendStatus(request)
    finally:
        await client.close()
    recorded = 0
    for report in response.PullSmsSendStatusSet or []:
        received = _receive_time(report.UserReceiveTime)
        updated = await DeliveryAttempt.update({
            DeliveryAttempt.receipt: "delivered" if report.ReportStatus == "SUCCESS" else "undelivered",
            DeliveryAttempt.receipt_detail: (report.Description or "")[:200],
            DeliveryAttempt.receipt_at: received,
        }).where(DeliveryAttempt.provider_ref == report.SerialNo).returning(DeliveryAttempt.id)
        recorded += len(updated)
    return recorded


def _receive_time(raw: str | None) -> datetime:
    """"2019-10-08 17:18:37", Beijing time (the provider's format)."""
    try:
        return datetime.strptime(raw or "", "%Y-%m-%d %H:%M:%S").replace(tzinfo=clock.LOCAL_ZONE)
    except ValueError:
        return clock.now()


def params_json(params: list[str]) -> str:
    return json.dumps([str(value) for value in params], ensure_ascii=False)
