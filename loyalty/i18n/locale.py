"""Which locale a reader gets: the `lang` cookie (written by the language switch, and at login from
the owner's saved language), else the browser's `Accept-Language`, else the configured default
(`LOYALTY_DEFAULT_LANGUAGE`, zh-CN unless set).

The language is not kept in the session: the session cookie is rewritten by every reply, so a
reply to a request sent before a switch would put the old language back."""

from __future__ import annotations

from typing import Any

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
LANG_COOKIE = "lang"


def normalise(tag: str | None) -> str:
    """One of LOCALES for any language tag (`zh`, `zh-Hans-CN`, `zh_TW`, `en-GB`...), else zh-CN."""
    tag = (tag or "").strip().lower().replace("_", "-")
    if tag.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def _known(tag: str | None) -> str | None:
    """zh-CN for `zh` and any `zh-…` tag, en for `en` and `en-…`; None for anything else
    (`enx`, `english`, `*`)."""
    language = (tag or "").strip().lower().replace("_", "-").split("-")[0]
    return {"zh": "zh-CN", "en": "en"}.get(language)


def negotiate(accept_language: str | None) -> str | None:
    """The best of LOCALES an `Accept-Language` header asks for (RFC 9110 §12.5.4, by q-value),
    or None when it names neither."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # RFC 9110 §12.4.2: a qvalue is 0 to 1 (so no inf, no nan)
                    quality = 0.0
        known = _known(tag)
        if known and quality > 0:
            choices.append((-quality, position, known))
    return min(choices)[2] if choices else None


def request_locale(connection: Any) -> str:
    """The locale for one request or websocket (a Litestar ASGIConnection)."""
    switched = _known(connection.cookies.get(LANG_COOKIE))
    if switched:
        return switched
    return negotiate(connection.headers.get("accept-language")) or configured_default(connection)


def configured_default(connection: Any) -> str:
    """`LOYALTY_DEFAULT_LANGUAGE` of the app serving `connection` (zh-CN unless set)."""
    app = connection.scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return _known(getattr(settings, "default_language", None)) or DEFAULT_LOCALE


def environment_locale(environ: dict[str, str] | None = None) -> str:
    """The CLI's locale, from the POSIX variables (LC_ALL, LC_MESSAGES, LANG); zh-CN when they
    name neither Chinese nor English (`C.UTF-8` on most servers)."""
    import os

    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        known = _known(environ.get(name))
        if known:
            return known
    return DEFAULT_LOCALE
