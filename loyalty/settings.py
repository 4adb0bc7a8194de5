"""Every setting, read from the environment once and validated at start-up.

The embedded default (no environment at all) is a SQLite file in the working folder and
jobs run in-process, so `loyalty serve --demo` needs no services. Production sets
`LOYALTY_DATABASE_URL` (PostgreSQL) and `LOYALTY_BROKER_URL` (Redis).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Mapping
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite:///loyalty.sqlite"
# The upload route's own body limit, enforced while the body streams in: an owner-file limit
# above it could never be reached.
IMPORT_FILE_BYTES_CEILING = 100 * 1024 * 1024
LANGUAGES = ("zh-CN", "en")
STRIPE_JS_URL = "https://js.stripe.com/v3/"
# Stripe payment method types the owner page may offer (LOYALTY_STRIPE_PAYMENT_METHODS); WeChat
# Pay and Alipay only where the Stripe account has them enabled.
STRIPE_PAYMENT_METHODS = ("card", "wechat_pay", "alipay")


class SettingsError(ValueError):
    """A setting has a value the service cannot start with; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str | None = None
    secret_key: str | None = None
    demo: bool = False
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    # Another Stripe API address (tests: localstripe on loopback); unset: Stripe's own.
    stripe_api_base: str | None = None
    # A webhook whose signed timestamp is further than this from our clock, either way, is
    # refused: an old one is a replay, one from the future was signed to outlive the window.
    stripe_webhook_tolerance_seconds: int = 300
    # The owner page pays with Stripe.js: the publishable key (pk_...), where Stripe.js is
    # loaded from (tests: localstripe's stand-in on loopback; the page's CSP follows it), and
    # which payment method types the PaymentIntents offer.
    stripe_publishable_key: str | None = None
    stripe_js_url: str = STRIPE_JS_URL
    stripe_payment_methods: tuple[str, ...] = ("card",)
    # How long a seat is held for a signup that has not paid yet.
    payment_hold_minutes: int = 15
    # How long before an event starts its door opens for check-in.
    checkin_opens_minutes: int = 120
    # Where phone numbers without a country code are assumed to be (ISO 3166 region).
    default_region: str = "CN"
    default_language: str = "zh-CN"
    login_code_ttl_seconds: int = 300
    login_code_max_attempts: int = 5
    login_codes_per_hour: int = 5
    login_code_min_interval_seconds: int = 60
    # Per client address: login-code requests (any phone), `limits` notation; counted where the
    # partner rate limit is (Redis with a broker, memory without).
    login_codes_per_address: str = "20/hour"
    # Wrong staff passwords per username and client address before that address is refused for
    # the window (the staff member at another desk still logs in)...
    staff_login_max_failures: int = 10
    staff_login_window_minutes: int = 15
    # ...and per username from any address before the username is refused everywhere, so
    # guessing from many addresses is bounded too.
    staff_login_username_max_failures: int = 50
    staff_login_username_window_minutes: int = 60
    # Proxies whose X-Forwarded-For is believed: IPs or CIDRs, comma-separated. Empty: the
    # socket peer is the client (never loopback by default: a proxy must be named).
    trusted_proxies: str = ""
    session_max_age_seconds: int = 14 * 24 * 3600
    # Secure cookies need HTTPS; production sets this to true behind TLS.
    secure_cookies: bool = False
    # Ed25519 keys for card and ticket codes: "kid:base64url-seed,..." (first signs). Unset:
    # one key derived from LOYALTY_SECRET_KEY.
    signing_keys: str | None = None
    referral_protection_days: int = 90
    referral_yearly_cap: int = 20
    # Leads one owner may try to register per Beijing day on the member page, refusals
    # included (so the route cannot be used to probe phone numbers). Staff are not capped.
    referral_daily_cap_per_owner: int = 10
    # A staff adjustment larger than this (either sign) waits for an admin's approval.
    # 0: every adjustment does. Never above the hard ceiling of one adjustment (10,000,000).
    points_adjustment_approval_threshold: int = 10_000
    # Rewards reversed after they vested: within_balance | only_pending | unlimited.
    clawback_policy: str = "within_balance"
    # Per partner API key, `limits` notation; counted in Redis when a broker is configured.
    partner_rate_limit: str = "600/minute"
    # Per client address: partner calls whose key does not authenticate (or that send none).
    partner_bad_key_limit: str = "30/minute"
    # Redis connections per web process for the limits; a burst waits for one, it never fails.
    rate_limit_redis_connections: int = 32
    points_per_cny: int = 100
    # Points a merchant's sale earns are pending this many days (the merchant's window to
    # reverse the sale), then vest; a reversal inside the window voids them.
    merchant_earn_pending_days: int = 7
    # What one sale, and one merchant in one (Beijing) day, may earn at most; beyond that a
    # sale is recorded but earns nothing more, and staff are alerted (audit entry).
    merchant_earn_max_per_sale: int = 20_000
    merchant_earn_max_per_day: int = 500_000
    # SMS: "tencent" (Tencent Cloud SMS through its official SDK) or "log" (the demo's: the
    # message goes to the server log; `loyalty serve` without --demo refuses it, since no owner
    # could then receive a login code). See loyalty/care/sms.py and README "Channels".
    sms_backend: str = "log"
    tencent_secret_id: str | None = None
    tencent_secret_key: str | None = None
    sms_sdk_app_id: str = ""
    sms_sign_name: str = ""
    sms_region: str = "ap-guangzhou"
    # Another address for the provider's API, "http://127.0.0.1:8123" (tests: the stand-in);
    # unset: Tencent Cloud's own.
    sms_endpoint: str | None = None
    # The provider's approved template per kind of message: "login_code=1234567,case_update=7654321";
    # a kind without a template is not sent by SMS (it falls back to the next channel).
    sms_templates: str = ""
    # Our own limits, `limits` notation, counted like the rate limits (Redis with a broker):
    # messages per phone number, and over all numbers, per day.
    sms_per_number_limit: str = "10/day"
    sms_daily_limit: str = "10000/day"
    # WeChat Official Account (a service account): its app id and secret, the token typed into
    # its server configuration (callback signatures), and one template per kind of message.
    wechat_app_id: str = ""
    wechat_app_secret: str | None = None
    wechat_token: str | None = None
    wechat_templates: str = ""
    # The API's and the OAuth page's addresses (tests: the stand-in); unset: WeChat's own.
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_oauth_base: str = "https://open.weixin.qq.com"
    # snsapi_base (silent, openid only) or snsapi_userinfo (asks the owner, adds a nickname).
    wechat_oauth_scope: str = "snsapi_base"
    # The order channels are tried in when an owner chose none (a channel that cannot reach the
    # owner, or refuses, hands the message to the next).
    channel_order: str = "wechat,sms,email"
    # The club's public address, for links in messages (unsubscribe, WeChat template links).
    public_url: str = "http://127.0.0.1:8000"
    # E-mail over SMTP for care messages to owners with an address; unset host: no e-mail.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Owner Club <club@localhost>"
    smtp_starttls: bool = False
    # No greetings or reminders in these hours (Beijing time); "" sends at any hour.
    quiet_hours: str = "21:00-08:00"
    outbox_max_attempts: int = 5
    outbox_retry_seconds: int = 60  # the first retry's wait; it doubles each time
    # A job taken by a worker that then died (killed, machine lost) goes back to the queue once
    # it has been out this long (Redis broker). Must exceed the longest job, or a job still
    # running is handed to a second worker too.
    job_visibility_timeout_seconds: int = 3600
    # Feedback clocks: first reply, result, and the follow-up call after the result.
    case_reply_hours: int = 48
    # A special need (an elderly owner living alone, a disability, help at home): answered within
    # this many hours, as the seeds' care plan promises (seed 004).
    case_special_need_hours: int = 72
    case_result_days: int = 7
    case_follow_up_hours: int = 24
    # Return visits: the monthly plan reaches this share of active owners (percent), and the
    # visits job creates a journey visit only while its due time is at most this many days past
    # (an owner file imported with years of history must not flood the desk with stale calls).
    visit_coverage_target_percent: int = 85
    visit_catch_up_days: int = 30
    # Repairs: the front desk fills in the repair form within this many minutes of the report (later
    # is flagged); the same unit and item repaired again within this many days is a second repair.
    repair_intake_minutes: int = 10
    second_repair_days: int = 90
    # Group complaints: this many open cases of one kind in one project (one building, when known)
    # opened within this many hours warn the service lead, once per cluster.
    group_warning_cases: int = 3
    group_warning_hours: int = 24
    warranty_notice_days: int = 60
    # Pixels an uploaded picture (a complaint photo) may have; more is refused before decoding.
    upload_max_pixels: int = 40_000_000
    # Logs: "json" (one object per line, production) or "text" (a person at a terminal).
    log_format: str = "json"
    # /metrics answers loopback callers, or callers presenting this as a Bearer token.
    metrics_token: str | None = None
    # Owner files uploaded by staff (the command line has no limits: the operator's own file).
    import_max_file_bytes: int = 10 * 1024 * 1024
    import_max_rows: int = 50_000
    import_max_cell_chars: int = 1_000
    # An .xlsx is a zip: what it may unpack to, all parts together (a zip-bomb guard).
    import_max_unpacked_bytes: int = 100 * 1024 * 1024

    @property
    def database_kind(self) -> str:
        return "postgres" if self.database_url.startswith(("postgres://", "postgresql://")) else "sqlite"

    @property
    def stripe_in_browser(self) -> bool:
        """Owners can pay on the page: the server talks to Stripe and the page has a key."""
        return bool(self.stripe_api_key and self.stripe_publishable_key)

    @property
    def jobs_in_process(self) -> bool:
        return self.broker_url is None

    def with_overrides(self, **changes: object) -> "Settings":
        return replace(self, **changes)


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use true or false)")


def _int(name: str, raw: str, minimum: int = 1, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name}={value} must be at most {maximum}")
    return value


def _database_url(raw: str) -> str:
    scheme = urlsplit(raw).scheme
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise SettingsError(
            f"LOYALTY_DATABASE_URL={raw!r}: the scheme must be postgresql:// or sqlite:///"
        )
    if scheme == "sqlite" and not raw.startswith("sqlite:///"):
        raise SettingsError(f"LOYALTY_DATABASE_URL={raw!r}: write SQLite URLs as sqlite:///path/to/file")
    return raw


def _broker_url(raw: str) -> str:
    if urlsplit(raw).scheme not in ("redis", "rediss"):
        raise SettingsError(f"LOYALTY_BROKER_URL={raw!r}: the broker must be a redis:// URL")
    return raw


def _rate(raw: str, name: str = "LOYALTY_PARTNER_RATE_LIMIT") -> str:
    from limits import parse

    try:
        parse(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: write it like 600/minute") from None
    return raw


def _proxies(raw: str) -> str:
    from loyalty.ops.client_address import parse_networks

    try:
        parse_networks(raw)
    except ValueError as error:
        raise SettingsError(f"LOYALTY_TRUSTED_PROXIES={raw!r}: {error} (write IPs or CIDRs, comma-separated)") from None
    return raw.strip()


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise SettingsError(f"{name}={raw!r}: choose one of {', '.join(choices)}")
    return raw


def _region(raw: str) -> str:
    import phonenumbers

    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(f"LOYALTY_DEFAULT_REGION={raw!r} is not a phone region (e.g. CN, HK, SG)")
    return region


def _signing_keys(raw: str | None) -> str | None:
    if raw is None:
        return None
    from loyalty.cards.codes import CodeSigner

    try:
        CodeSigner.from_setting(raw)
    except (ValueError, TypeError) as error:
        raise SettingsError(f"LOYALTY_SIGNING_KEYS: {error} (write kid:base64url-32-byte-seed[,kid:seed])") from None
    return raw


def load_settings(
    env: Mapping[str, str] | None = None, *, demo: bool | None = None, require_secret: bool = True
) -> Settings:
    """Read and validate settings; raises SettingsError naming the first bad variable.
    Commands that sign nothing (migrate, import-owners) pass `require_secret=False`."""
    env = os.environ if env is None else env
    is_demo = _bool("LOYALTY_DEMO", env.get("LOYALTY_DEMO", "false")) if demo is None else demo
    secret = env.get("LOYALTY_SECRET_KEY") or None
    if secret is None and not is_demo and require_secret:
        raise SettingsError(
            "LOYALTY_SECRET_KEY is not set. Set it to a long random value "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
            "or run `loyalty serve --demo` for a demo with a generated key."
        )
    if secret is not None and len(secret) < 32:
        raise SettingsError("LOYALTY_SECRET_KEY must be at least 32 characters long")
    language = env.get("LOYALTY_DEFAULT_LANGUAGE", "zh-CN")
    if language not in LANGUAGES:
        raise SettingsError(f"LOYALTY_DEFAULT_LANGUAGE={language!r}: choose one of {', '.join(LANGUAGES)}")
    sms_backend = _choice("LOYALTY_SMS_BACKEND", env.get("LOYALTY_SMS_BACKEND", "log"), ("log", "tencent"))
    settings = Settings(
        smtp_host=env.get("LOYALTY_SMTP_HOST") or None,
        smtp_port=_int("LOYALTY_SMTP_PORT", env.get("LOYALTY_SMTP_PORT", "25")),
        smtp_user=env.get("LOYALTY_SMTP_USER") or None,
        smtp_password=env.get("LOYALTY_SMTP_PASSWORD") or None,
        smtp_from=env.get("LOYALTY_SMTP_FROM", "Owner Club <club@localhost>"),
        smtp_starttls=_bool("LOYALTY_SMTP_STARTTLS", env.get("LOYALTY_SMTP_STARTTLS", "false")),
        quiet_hours=_quiet_hours(env.get("LOYALTY_QUIET_HOURS", "21:00-08:00")),
        outbox_max_attempts=_int("LOYALTY_OUTBOX_MAX_ATTEMPTS", env.get("LOYALTY_OUTBOX_MAX_ATTEMPTS", "5")),
        outbox_retry_seconds=_int("LOYALTY_OUTBOX_RETRY_SECONDS", env.get("LOYALTY_OUTBOX_RETRY_SECONDS", "60")),
        job_visibility_timeout_seconds=_int(
            "LOYALTY_JOB_VISIBILITY_TIMEOUT_SECONDS", env.get("LOYALTY_JOB_VISIBILITY_TIMEOUT_SECONDS", "3600")
        ),
        case_reply_hours=_int("LOYALTY_CASE_REPLY_HOURS", env.get("LOYALTY_CASE_REPLY_HOURS", "48")),
        case_special_need_hours=_int(
            "LOYALTY_CASE_SPECIAL_NEED_HOURS", env.get("LOYALTY_CASE_SPECIAL_NEED_HOURS", "72")
        ),
        case_result_days=_int("LOYALTY_CASE_RESULT_DAYS", env.get("LOYALTY_CASE_RESULT_DAYS", "7")),
        case_follow_up_hours=_int("LOYALTY_CASE_FOLLOW_UP_HOURS", env.get("LOYALTY_CASE_FOLLOW_UP_HOURS", "24")),
        visit_coverage_target_percent=_int(
            "LOYALTY_VISIT_COVERAGE_TARGET_PERCENT", env.get("LOYALTY_VISIT_COVERAGE_TARGET_PERCENT", "85"), maximum=100
        ),
        visit_catch_up_days=_int("LOYALTY_VISIT_CATCH_UP_DAYS", env.get("LOYALTY_VISIT_CATCH_UP_DAYS", "30")),
        repair_intake_minutes=_int("LOYALTY_REPAIR_INTAKE_MINUTES", env.get("LOYALTY_REPAIR_INTAKE_MINUTES", "10")),
        second_repair_days=_int("LOYALTY_SECOND_REPAIR_DAYS", env.get("LOYALTY_SECOND_REPAIR_DAYS", "90")),
        group_warning_cases=_int("LOYALTY_GROUP_WARNING_CASES", env.get("LOYALTY_GROUP_WARNING_CASES", "3")),
        group_warning_hours=_int("LOYALTY_GROUP_WARNING_HOURS", env.get("LOYALTY_GROUP_WARNING_HOURS", "24")),
        log_format=_choice("LOYALTY_LOG_FORMAT", env.get("LOYALTY_LOG_FORMAT", "text" if is_demo else "json"), ("json", "text")),
        metrics_token=env.get("LOYALTY_METRICS_TOKEN") or None,
        upload_max_pixels=_int("LOYALTY_UPLOAD_MAX_PIXELS", env.get("LOYALTY_UPLOAD_MAX_PIXELS", "40000000")),
        import_max_file_bytes=_int(
            "LOYALTY_IMPORT_MAX_FILE_BYTES", env.get("LOYALTY_IMPORT_MAX_FILE_BYTES", str(10 * 1024 * 1024)),
            maximum=IMPORT_FILE_BYTES_CEILING,
        ),
        import_max_rows=_int("LOYALTY_IMPORT_MAX_ROWS", env.get("LOYALTY_IMPORT_MAX_ROWS", "50000")),
        import_max_cell_chars=_int("LOYALTY_IMPORT_MAX_CELL_CHARS", env.get("LOYALTY_IMPORT_MAX_CELL_CHARS", "1000")),
        import_max_unpacked_bytes=_int(
            "LOYALTY_IMPORT_MAX_UNPACKED_BYTES", env.get("LOYALTY_IMPORT_MAX_UNPACKED_BYTES", str(100 * 1024 * 1024))
        ),
        warranty_notice_days=_int("LOYALTY_WARRANTY_NOTICE_DAYS", env.get("LOYALTY_WARRANTY_NOTICE_DAYS", "60")),
        database_url=_database_url(env.get("LOYALTY_DATABASE_URL") or DEFAULT_DATABASE_URL),
        broker_url=_broker_url(env["LOYALTY_BROKER_URL"]) if env.get("LOYALTY_BROKER_URL") else None,
        secret_key=secret,
        demo=is_demo,
        stripe_api_key=env.get("STRIPE_API_KEY") or None,
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe_api_base=_stripe_base(env.get("STRIPE_API_BASE") or None),
        stripe_publishable_key=_publishable_key(env.get("STRIPE_PUBLISHABLE_KEY") or None),
        stripe_js_url=_stripe_js_url(env.get("LOYALTY_STRIPE_JS_URL") or STRIPE_JS_URL),
        stripe_payment_methods=_payment_methods(env.get("LOYALTY_STRIPE_PAYMENT_METHODS", "card")),
        stripe_webhook_tolerance_seconds=_int(
            "LOYALTY_STRIPE_WEBHOOK_TOLERANCE_SECONDS", env.get("LOYALTY_STRIPE_WEBHOOK_TOLERANCE_SECONDS", "300")
        ),
        payment_hold_minutes=_int("LOYALTY_PAYMENT_HOLD_MINUTES", env.get("LOYALTY_PAYMENT_HOLD_MINUTES", "15")),
        checkin_opens_minutes=_int("LOYALTY_CHECKIN_OPENS_MINUTES", env.get("LOYALTY_CHECKIN_OPENS_MINUTES", "120"), 0),
        default_region=_region(env.get("LOYALTY_DEFAULT_REGION", "CN")),
        default_language=language,
        login_code_ttl_seconds=_int("LOYALTY_LOGIN_CODE_TTL", env.get("LOYALTY_LOGIN_CODE_TTL", "300"), 30),
        login_code_max_attempts=_int(
            "LOYALTY_LOGIN_CODE_MAX_ATTEMPTS", env.get("LOYALTY_LOGIN_CODE_MAX_ATTEMPTS", "5")
        ),
        login_codes_per_hour=_int("LOYALTY_LOGIN_CODES_PER_HOUR", env.get("LOYALTY_LOGIN_CODES_PER_HOUR", "5")),
        login_code_min_interval_seconds=_int(
            "LOYALTY_LOGIN_CODE_MIN_INTERVAL", env.get("LOYALTY_LOGIN_CODE_MIN_INTERVAL", "60"), 0
        ),
        staff_login_max_failures=_int(
            "LOYALTY_STAFF_LOGIN_MAX_FAILURES", env.get("LOYALTY_STAFF_LOGIN_MAX_FAILURES", "10")
        ),
        staff_login_window_minutes=_int(
            "LOYALTY_STAFF_LOGIN_WINDOW_MINUTES", env.get("LOYALTY_STAFF_LOGIN_WINDOW_MINUTES", "15")
        ),
        staff_login_username_max_failures=_int(
            "LOYALTY_STAFF_LOGIN_USERNAME_MAX_FAILURES", env.get("LOYALTY_STAFF_LOGIN_USERNAME_MAX_FAILURES", "50")
        ),
        staff_login_username_window_minutes=_int(
            "LOYALTY_STAFF_LOGIN_USERNAME_WINDOW_MINUTES", env.get("LOYALTY_STAFF_LOGIN_USERNAME_WINDOW_MINUTES", "60")
        ),
        login_codes_per_address=_rate(
            env.get("LOYALTY_LOGIN_CODES_PER_ADDRESS", "20/hour"), "LOYALTY_LOGIN_CODES_PER_ADDRESS"
        ),
        trusted_proxies=_proxies(env.get("LOYALTY_TRUSTED_PROXIES", "")),
        secure_cookies=_bool("LOYALTY_SECURE_COOKIES", env.get("LOYALTY_SECURE_COOKIES", "false")),
        sms_backend=sms_backend,
        tencent_secret_id=env.get("TENCENTCLOUD_SECRET_ID") or None,
        tencent_secret_key=env.get("TENCENTCLOUD_SECRET_KEY") or None,
        sms_sdk_app_id=env.get("LOYALTY_SMS_SDK_APP_ID", "").strip(),
        sms_sign_name=env.get("LOYALTY_SMS_SIGN_NAME", "").strip(),
        sms_region=env.get("LOYALTY_SMS_REGION", "ap-guangzhou").strip(),
        sms_endpoint=_http_base("LOYALTY_SMS_ENDPOINT", env.get("LOYALTY_SMS_ENDPOINT") or None),
        sms_templates=_templates("LOYALTY_SMS_TEMPLATES", env.get("LOYALTY_SMS_TEMPLATES", "")),
        sms_per_number_limit=_rate(env.get("LOYALTY_SMS_PER_NUMBER_LIMIT", "10/day"), "LOYALTY_SMS_PER_NUMBER_LIMIT"),
        sms_daily_limit=_rate(env.get("LOYALTY_SMS_DAILY_LIMIT", "10000/day"), "LOYALTY_SMS_DAILY_LIMIT"),
        wechat_app_id=env.get("LOYALTY_WECHAT_APP_ID", "").strip(),
        wechat_app_secret=env.get("LOYALTY_WECHAT_APP_SECRET") or None,
        wechat_token=env.get("LOYALTY_WECHAT_TOKEN") or None,
        wechat_templates=_templates("LOYALTY_WECHAT_TEMPLATES", env.get("LOYALTY_WECHAT_TEMPLATES", "")),
        wechat_api_base=_http_base("LOYALTY_WECHAT_API_BASE", env.get("LOYALTY_WECHAT_API_BASE") or None)
        or "https://api.weixin.qq.com",
        wechat_oauth_base=_http_base("LOYALTY_WECHAT_OAUTH_BASE", env.get("LOYALTY_WECHAT_OAUTH_BASE") or None)
        or "https://open.weixin.qq.com",
        wechat_oauth_scope=_choice(
            "LOYALTY_WECHAT_OAUTH_SCOPE", env.get("LOYALTY_WECHAT_OAUTH_SCOPE", "snsapi_base"), ("snsapi_base", "snsapi_userinfo")
        ),
        channel_order=_channel_order(env.get("LOYALTY_CHANNEL_ORDER", "wechat,sms,email")),
        public_url=_http_base("LOYALTY_PUBLIC_URL", env.get("LOYALTY_PUBLIC_URL") or None) or "http://127.0.0.1:8000",
        signing_keys=_signing_keys(env.get("LOYALTY_SIGNING_KEYS") or None),
        partner_rate_limit=_rate(env.get("LOYALTY_PARTNER_RATE_LIMIT", "600/minute")),
        partner_bad_key_limit=_rate(env.get("LOYALTY_PARTNER_BAD_KEY_LIMIT", "30/minute"), "LOYALTY_PARTNER_BAD_KEY_LIMIT"),
        rate_limit_redis_connections=_int(
            "LOYALTY_RATE_LIMIT_REDIS_CONNECTIONS", env.get("LOYALTY_RATE_LIMIT_REDIS_CONNECTIONS", "32")
        ),
        points_per_cny=_int("LOYALTY_POINTS_PER_CNY", env.get("LOYALTY_POINTS_PER_CNY", "100")),
        merchant_earn_pending_days=_int(
            "LOYALTY_MERCHANT_EARN_PENDING_DAYS", env.get("LOYALTY_MERCHANT_EARN_PENDING_DAYS", "7"), 0
        ),
        merchant_earn_max_per_sale=_int(
            "LOYALTY_MERCHANT_EARN_MAX_PER_SALE", env.get("LOYALTY_MERCHANT_EARN_MAX_PER_SALE", "20000"), 0
        ),
        merchant_earn_max_per_day=_int(
            "LOYALTY_MERCHANT_EARN_MAX_PER_DAY", env.get("LOYALTY_MERCHANT_EARN_MAX_PER_DAY", "500000"), 0
        ),
        referral_protection_days=_int("LOYALTY_REFERRAL_PROTECTION_DAYS", env.get("LOYALTY_REFERRAL_PROTECTION_DAYS", "90")),
        referral_yearly_cap=_int("LOYALTY_REFERRAL_YEARLY_CAP", env.get("LOYALTY_REFERRAL_YEARLY_CAP", "20")),
        referral_daily_cap_per_owner=_int(
            "LOYALTY_REFERRAL_DAILY_CAP_PER_OWNER", env.get("LOYALTY_REFERRAL_DAILY_CAP_PER_OWNER", "10")
        ),
        points_adjustment_approval_threshold=_threshold(
            env.get("LOYALTY_POINTS_ADJUSTMENT_APPROVAL_THRESHOLD", "10000")
        ),
        clawback_policy=_choice(
            "LOYALTY_CLAWBACK_POLICY", env.get("LOYALTY_CLAWBACK_POLICY", "within_balance"),
            ("within_balance", "only_pending", "unlimited"),
        ),
    )
    _check_channels(settings)
    return settings


def _check_channels(settings: Settings) -> None:
    """A channel that is chosen is complete: a half-configured provider would fail every send
    at run time, long after the start-up that could have said so."""
    if settings.sms_backend == "tencent":
        missing = [
            name for name, value in (
                ("TENCENTCLOUD_SECRET_ID", settings.tencent_secret_id), ("TENCENTCLOUD_SECRET_KEY", settings.tencent_secret_key),
                ("LOYALTY_SMS_SDK_APP_ID", settings.sms_sdk_app_id), ("LOYALTY_SMS_SIGN_NAME", settings.sms_sign_name),
            ) if not value
        ]
        if "login_code" not in template_map(settings.sms_templates):
            missing.append("LOYALTY_SMS_TEMPLATES (login_code=…)")
        if missing:
            raise SettingsError(f"LOYALTY_SMS_BACKEND=tencent needs {', '.join(missing)}")
    if settings.wechat_app_id and not (settings.wechat_app_secret and settings.wechat_token):
        raise SettingsError("LOYALTY_WECHAT_APP_ID is set: LOYALTY_WECHAT_APP_SECRET and LOYALTY_WECHAT_TOKEN are needed too")


def login_channel_problem(settings: Settings) -> str | None:
    """Why owners could not receive a login code with these settings, or None. Only the demo
    may send login codes to the log (where the demo's visitor reads them)."""
    if settings.sms_backend == "log" and not settings.demo:
        return (
            "LOYALTY_SMS_BACKEND=log writes login codes to nowhere an owner can read them (it is for `--demo` only): "
            "set LOYALTY_SMS_BACKEND=tencent with its settings (README, \"Channels\")"
        )
    return None


def _threshold(raw: str) -> int:
    """The approval threshold: 0 (every adjustment is approved) up to the hard ceiling of one
    adjustment (a threshold above it would approve nothing). Kept in step with
    `loyalty.points.approvals.MAX_SINGLE_ADJUSTMENT`."""
    value = _int("LOYALTY_POINTS_ADJUSTMENT_APPROVAL_THRESHOLD", raw, 0)
    if value > 10_000_000:
        raise SettingsError(f"LOYALTY_POINTS_ADJUSTMENT_APPROVAL_THRESHOLD={value} must be at most 10000000")
    return value


def _quiet_hours(raw: str) -> str:
    """`HH:MM-HH:MM` (may wrap midnight), or empty for none."""
    raw = raw.strip()
    if not raw:
        return ""
    from datetime import time

    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise SettingsError(f"LOYALTY_QUIET_HOURS={raw!r}: write it like 21:00-08:00, or leave it empty") from None
    if start == end:
        raise SettingsError(f"LOYALTY_QUIET_HOURS={raw!r}: start and end are the same")
    return raw


def _http_base(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}={raw!r} is not an http(s) address")
    return raw.strip().rstrip("/")


MESSAGE_KIND_NAMES = (
    "login_code", "event_update", "case_update", "reward_pickup", "birthday", "holiday", "warranty", "event_reminder",
    "points_expiry", "survey", "project_bulletin", "activity_news",
)  # loyalty.care.tables.MESSAGE_KINDS (settings import no tables)


def _templates(name: str, raw: str) -> str:
    """`kind=template_id,...` with known kinds."""
    for part in filter(None, (piece.strip() for piece in raw.split(","))):
        kind, equals, template = part.partition("=")
        if not equals or not template.strip():
            raise SettingsError(f"{name}: {part!r} is not kind=template_id (e.g. login_code=1234567)")
        if kind.strip() not in MESSAGE_KIND_NAMES:
            raise SettingsError(f"{name}: {kind.strip()!r} is not a kind of message; choose from {', '.join(MESSAGE_KIND_NAMES)}")
    return raw.strip()


def template_map(raw: str) -> dict[str, str]:
    return {
        kind.strip(): template.strip()
        for kind, _equals, template in (part.partition("=") for part in raw.split(",") if part.strip())
    }


def _channel_order(raw: str) -> str:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names or any(name not in ("wechat", "sms", "email") for name in names) or len(set(names)) != len(names):
        raise SettingsError(f"LOYALTY_CHANNEL_ORDER={raw!r}: list wechat, sms and email in order, each once")
    return ",".join(names)


def _stripe_base(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"STRIPE_API_BASE={raw!r} is not an http(s) address")
    return raw.rstrip("/")


def _publishable_key(raw: str | None) -> str | None:
    if raw is not None and not raw.startswith("pk_"):
        # A secret key here would be handed to every browser.
        raise SettingsError("STRIPE_PUBLISHABLE_KEY must be a publishable key (pk_live_... or pk_test_...)")
    return raw


def _stripe_js_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"LOYALTY_STRIPE_JS_URL={raw!r} is not an http(s) address")
    return raw


def _payment_methods(raw: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [method for method in chosen if method not in STRIPE_PAYMENT_METHODS]
    if not chosen or unknown:
        raise SettingsError(
            f"LOYALTY_STRIPE_PAYMENT_METHODS={raw!r}: write one or more of {', '.join(STRIPE_PAYMENT_METHODS)}, "
            "comma-separated (e.g. card,wechat_pay)"
        )
    return chosen


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (the CLI and Piccolo's own tools use this)."""
    return load_settings()
