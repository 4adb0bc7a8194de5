"""Settings (loyalty/settings.py): read from the environment once, refused early with a message naming the variable."""

from __future__ import annotations

import pytest

from loyalty.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings

SECRET = "s" * 32


def env(**values: str) -> dict[str, str]:
    return {"LOYALTY_SECRET_KEY": SECRET, **values}


def test_a_missing_secret_key_outside_demo_is_refused_with_a_message_saying_how_to_set_it():
    with pytest.raises(SettingsError) as refused:
        load_settings({})

    message = str(refused.value)
    assert "LOYALTY_SECRET_KEY is not set" in message
    assert "secrets.token_urlsafe" in message and "--demo" in message


def test_an_empty_secret_key_counts_as_missing():
    with pytest.raises(SettingsError, match="LOYALTY_SECRET_KEY is not set"):
        load_settings({"LOYALTY_SECRET_KEY": ""})


@pytest.mark.parametrize(
    ("kwargs", "environment"),
    [({"demo": True}, {}), ({}, {"LOYALTY_DEMO": "true"}), ({"require_secret": False}, {})],
    ids=["demo-argument", "demo-env", "command-that-signs-nothing"],
)
def test_the_secret_key_may_be_missing_only_in_demo_or_for_commands_that_sign_nothing(kwargs, environment):
    settings = load_settings(environment, **kwargs)

    assert settings.secret_key is None


def test_a_secret_key_shorter_than_32_characters_is_refused():
    with pytest.raises(SettingsError, match="LOYALTY_SECRET_KEY must be at least 32 characters"):
        load_settings({"LOYALTY_SECRET_KEY": "s" * 31})

    assert load_settings({"LOYALTY_SECRET_KEY": "s" * 32}).secret_key == "s" * 32


def test_a_short_secret_key_is_refused_even_in_demo():
    with pytest.raises(SettingsError, match="at least 32 characters"):
        load_settings({"LOYALTY_SECRET_KEY": "short"}, demo=True)


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/loyalty", "loyalty.sqlite", "http://db.example.com/x", "sqlite://relative.sqlite"]
)
def test_a_database_url_that_is_not_postgresql_or_sqlite_file_is_refused_naming_the_variable(url):
    with pytest.raises(SettingsError) as refused:
        load_settings(env(LOYALTY_DATABASE_URL=url))

    assert "LOYALTY_DATABASE_URL" in str(refused.value)
    assert url in str(refused.value)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("postgresql://loyalty@db:5432/loyalty", "postgres"),
        ("postgres://loyalty@db/loyalty", "postgres"),
        ("sqlite:///data/loyalty.sqlite", "sqlite"),
        ("sqlite:////var/lib/loyalty.sqlite", "sqlite"),
    ],
)
def test_postgresql_and_sqlite_file_urls_are_accepted(url, kind):
    settings = load_settings(env(LOYALTY_DATABASE_URL=url))

    assert (settings.database_url, settings.database_kind) == (url, kind)


@pytest.mark.parametrize("url", ["amqp://guest@rabbit//", "localhost:6379", "http://redis:6379/0"])
def test_a_broker_url_that_is_not_redis_is_refused_naming_the_variable(url):
    with pytest.raises(SettingsError) as refused:
        load_settings(env(LOYALTY_BROKER_URL=url))

    assert "LOYALTY_BROKER_URL" in str(refused.value)


def test_a_redis_broker_url_sends_jobs_to_workers():
    settings = load_settings(env(LOYALTY_BROKER_URL="redis://redis:6379/0"))

    assert settings.broker_url == "redis://redis:6379/0"
    assert settings.jobs_in_process is False


@pytest.mark.parametrize("variable", ["LOYALTY_SECURE_COOKIES", "LOYALTY_DEMO"])
def test_a_boolean_that_is_not_true_or_false_is_refused_naming_the_variable(variable):
    with pytest.raises(SettingsError) as refused:
        load_settings(env(**{variable: "maybe"}))

    assert variable in str(refused.value) and "boolean" in str(refused.value)


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("YES", True), ("1", True), ("off", False), ("false", False)])
def test_booleans_accept_the_usual_spellings(raw, value):
    assert load_settings(env(LOYALTY_SECURE_COOKIES=raw)).secure_cookies is value


@pytest.mark.parametrize(
    "variable",
    [
        "LOYALTY_LOGIN_CODE_TTL",
        "LOYALTY_LOGIN_CODE_MAX_ATTEMPTS",
        "LOYALTY_LOGIN_CODES_PER_HOUR",
        "LOYALTY_LOGIN_CODE_MIN_INTERVAL",
        "LOYALTY_IMPORT_MAX_FILE_BYTES",
        "LOYALTY_IMPORT_MAX_ROWS",
        "LOYALTY_IMPORT_MAX_CELL_CHARS",
        "LOYALTY_IMPORT_MAX_UNPACKED_BYTES",
    ],
)
def test_an_integer_setting_that_is_not_an_integer_is_refused_naming_the_variable(variable):
    with pytest.raises(SettingsError) as refused:
        load_settings(env(**{variable: "five"}))

    assert variable in str(refused.value) and "not an integer" in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "too_small"),
    [
        ("LOYALTY_LOGIN_CODE_TTL", "29"),
        ("LOYALTY_LOGIN_CODE_MAX_ATTEMPTS", "0"),
        ("LOYALTY_LOGIN_CODES_PER_HOUR", "0"),
        ("LOYALTY_LOGIN_CODE_MIN_INTERVAL", "-1"),
        ("LOYALTY_IMPORT_MAX_ROWS", "0"),
    ],
)
def test_an_integer_setting_below_its_minimum_is_refused_naming_the_variable(variable, too_small):
    with pytest.raises(SettingsError) as refused:
        load_settings(env(**{variable: too_small}))

    assert variable in str(refused.value) and "must be at least" in str(refused.value)


def test_an_owner_file_limit_above_what_the_upload_route_reads_is_refused_naming_the_variable():
    with pytest.raises(SettingsError) as refused:
        load_settings(env(LOYALTY_IMPORT_MAX_FILE_BYTES=str(200 * 1024 * 1024)))

    assert "LOYALTY_IMPORT_MAX_FILE_BYTES" in str(refused.value) and "must be at most" in str(refused.value)


def test_owner_import_limits_are_read_from_the_environment():
    settings = load_settings(
        env(
            LOYALTY_IMPORT_MAX_FILE_BYTES="2000000",
            LOYALTY_IMPORT_MAX_ROWS="100",
            LOYALTY_IMPORT_MAX_CELL_CHARS="200",
            LOYALTY_IMPORT_MAX_UNPACKED_BYTES="30000000",
        )
    )

    assert (
        settings.import_max_file_bytes, settings.import_max_rows, settings.import_max_cell_chars,
        settings.import_max_unpacked_bytes,
    ) == (2_000_000, 100, 200, 30_000_000)


def test_integer_settings_are_read_from_the_environment():
    settings = load_settings(
        env(
            LOYALTY_LOGIN_CODE_TTL="600",
            LOYALTY_LOGIN_CODE_MAX_ATTEMPTS="3",
            LOYALTY_LOGIN_CODES_PER_HOUR="10",
            LOYALTY_LOGIN_CODE_MIN_INTERVAL="0",
        )
    )

    assert (
        settings.login_code_ttl_seconds,
        settings.login_code_max_attempts,
        settings.login_codes_per_hour,
        settings.login_code_min_interval_seconds,
    ) == (600, 3, 10, 0)


def test_an_unknown_default_language_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="LOYALTY_DEFAULT_LANGUAGE"):
        load_settings(env(LOYALTY_DEFAULT_LANGUAGE="fr"))


def test_an_unknown_sms_backend_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="LOYALTY_SMS_BACKEND"):
        load_settings(env(LOYALTY_SMS_BACKEND="carrier-pigeon"))


def test_a_default_region_that_is_not_a_phone_region_is_refused_at_start_up():
    """Every national phone number is parsed in this region; a typo here would make every
    login and import fail at run time instead of stopping the start-up."""
    with pytest.raises(SettingsError, match="LOYALTY_DEFAULT_REGION"):
        load_settings(env(LOYALTY_DEFAULT_REGION="CHINA"))


def test_without_any_environment_the_defaults_are_a_sqlite_file_and_in_process_jobs():
    settings = load_settings({}, demo=True)

    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///loyalty.sqlite"
    assert settings.database_kind == "sqlite"
    assert settings.broker_url is None and settings.jobs_in_process is True
    assert settings.demo is True
    assert (settings.default_region, settings.default_language) == ("CN", "zh-CN")
    assert (settings.login_code_ttl_seconds, settings.login_code_max_attempts) == (300, 5)
    assert (settings.login_codes_per_hour, settings.login_code_min_interval_seconds) == (5, 60)
    assert settings.secure_cookies is False
    assert settings.sms_backend == "log"


def test_empty_urls_fall_back_to_the_defaults():
    settings = load_settings(env(LOYALTY_DATABASE_URL="", LOYALTY_BROKER_URL=""))

    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.jobs_in_process is True


def test_overrides_change_one_setting_and_keep_the_rest():
    settings = load_settings(env())

    changed = settings.with_overrides(login_code_max_attempts=2)

    assert changed.login_code_max_attempts == 2
    assert changed.secret_key == SECRET
    assert settings.login_code_max_attempts == 5


def test_stripe_in_the_browser_is_read_from_the_environment_with_card_and_stripes_own_js_by_default():
    plain = load_settings({"LOYALTY_SECRET_KEY": "x" * 32})
    assert (plain.stripe_publishable_key, plain.stripe_js_url, plain.stripe_payment_methods) == (
        None, "https://js.stripe.com/v3/", ("card",),
    )
    chosen = load_settings({
        "LOYALTY_SECRET_KEY": "x" * 32, "STRIPE_API_KEY": "sk_test_1", "STRIPE_PUBLISHABLE_KEY": "pk_test_1",
        "LOYALTY_STRIPE_JS_URL": "http://127.0.0.1:9999/js.stripe.com/v3/",
        "LOYALTY_STRIPE_PAYMENT_METHODS": "card, wechat_pay,alipay,card",
    })
    assert chosen.stripe_publishable_key == "pk_test_1" and chosen.stripe_in_browser
    assert chosen.stripe_js_url == "http://127.0.0.1:9999/js.stripe.com/v3/"
    assert chosen.stripe_payment_methods == ("card", "wechat_pay", "alipay")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("LOYALTY_STRIPE_PAYMENT_METHODS", "card,paypal", "LOYALTY_STRIPE_PAYMENT_METHODS='card,paypal'"),
        ("LOYALTY_STRIPE_PAYMENT_METHODS", " , ", "LOYALTY_STRIPE_PAYMENT_METHODS"),
        ("LOYALTY_STRIPE_JS_URL", "js.stripe.com/v3/", "LOYALTY_STRIPE_JS_URL"),
        ("STRIPE_PUBLISHABLE_KEY", "sk_live_oops", "STRIPE_PUBLISHABLE_KEY must be a publishable key"),
    ],
)
def test_bad_stripe_browser_settings_are_refused_naming_the_variable(variable, value, named):
    with pytest.raises(SettingsError) as refused:
        load_settings({"LOYALTY_SECRET_KEY": "x" * 32, variable: value})
    assert named in str(refused.value)
    assert "sk_live_oops" not in str(refused.value)
