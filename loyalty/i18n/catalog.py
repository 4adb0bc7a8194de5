"""The compiled catalogues (`locales/<locale>/LC_MESSAGES/<domain>.mo`), loaded once per locale.

They are compiled when the package is installed (setup.py) or by `scripts/i18n compile`; a
missing `.mo` stops the app at start-up with a sentence saying so, never a silent English page."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from babel.support import Translations

from loyalty.i18n.locale import DEFAULT_LOCALE, normalise
from loyalty.i18n.message import Message

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAINS = ("messages", "pages")


class CataloguesMissing(RuntimeError):
    pass


def _gettext_name(locale: str) -> str:
    return locale.replace("-", "_")  # zh-CN → zh_CN, the folder gettext expects


@functools.cache
def catalogue(locale: str, domain: str = "messages") -> Translations:
    path = LOCALES_DIR / _gettext_name(locale) / "LC_MESSAGES" / f"{domain}.mo"
    if not path.is_file():
        raise CataloguesMissing(
            f"{path} is missing: the message catalogues are compiled at install "
            "(pip install -e .) or by scripts/i18n compile"
        )
    with path.open("rb") as file:
        return Translations(file, domain=domain)


def check_compiled() -> None:
    """Start-up check: every locale and domain has its compiled catalogue."""
    from loyalty.i18n.locale import LOCALES

    for locale in LOCALES:
        for domain in DOMAINS:
            catalogue(locale, domain)


def gettext(msgid: str, locale: str, *, context: str | None = None) -> str:
    translations = catalogue(normalise(locale))
    return translations.pgettext(context, msgid) if context else translations.gettext(msgid)


def _value(value: Any, locale: str) -> Any:
    if isinstance(value, Message):
        return translate(value, locale)
    # A time, a sum or a list written the reader's way (`format.Later`), known only now.
    return value.render(locale) if callable(getattr(value, "render", None)) else value


def translate(message: Message | str, locale: str) -> str:
    """The words of `message` in `locale` (zh-CN or en), with their placeholders filled. A plain
    `str` is returned as it is: names, identifiers and numbers need no translation."""
    if not isinstance(message, Message):
        return message
    locale = normalise(locale or DEFAULT_LOCALE)
    translations = catalogue(locale)
    if message.plural is not None:
        count = message.count or 0
        if message.context:
            text = translations.npgettext(message.context, message.msgid, message.plural, count)
        else:
            text = translations.ngettext(message.msgid, message.plural, count)
    elif message.context:
        text = translations.pgettext(message.context, message.msgid)
    else:
        text = translations.gettext(message.msgid)
    if not message.values:
        return text
    return text.format(**{key: _value(value, locale) for key, value in message.values.items()})
