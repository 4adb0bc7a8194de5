"""What a reader would call a foreign word: English in a Chinese text, Chinese in an English one.

Names, brands and identifiers are not foreign: the allow-list says why each is there, a word
written as an identifier (`points_per_cny`, `data.json`, `photos/`, `--review`) is one, and a
caller adds the names of its own text (`allowed`: the fields a problem is about). Anything quoted
(「」, '', "", ``) is the reader's own data or an identifier echoed back, and is not judged.
The problem recorder (tests/conftest.py) and the catalogue test (tests/i18n) both use this."""

from __future__ import annotations

import re
from collections.abc import Iterable

IDENTIFIERS = {
    # data formats, encodings and their patterns, as an API caller or an operator writes them
    "JSON", "UUID", "base64", "base64url", "RFC", "ISO", "YYYY", "MM", "DD", "HH", "SS", "UTF-8", "GBK",
    "CSV", "csv", "xlsx", "Excel", "PNG", "JPEG", "WebP", "MB", "QR", "URL", "HTTP", "SMS", "NUL",
    # the card code's prefix and form, HTTP header names and schemes, kept whole
    "OC1", "Idempotency-Key", "Sec-Fetch-Site", "Retry-After", "Content-Type", "Authorization", "Bearer", "Cookie",
    # JSON's literals
    "true", "false", "null",
    # values an owner file's cells and the language field take as written
    "zh-CN", "en", "male", "female",
    # one-word field names a caller sends (longer ones are snake_case, and identifiers by their form)
    "nonce", "data", "kind", "threshold", "phone", "code", "body",
    # brands and product names written in Latin letters in Chinese too; abbreviations Chinese staff use
    "Stripe", "WeChat", "Swagger", "UI", "Redoc", "API", "ID", "NPS",
    # a language's name is written in that language (the switch's "English")
    "English",
}
# Language names are written in their own language on the switch (中文 on an English page).
NAMES_IN_THEIR_OWN_LANGUAGE = {"中文", "简体中文"}
_QUOTED = re.compile(r"「[^」]*」|'[^']*'|\"[^\"]*\"|`[^`]*`|“[^”]*”|‘[^’]*’|<[^<>]*>")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_TOKEN = re.compile(r"-{0,2}[A-Za-z0-9][A-Za-z0-9_\-./]*")
_LETTERS = re.compile(r"[A-Za-z]{2,}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _is_identifier(token: str, allowed: set[str]) -> bool:
    token = token.rstrip(".-")
    if token in IDENTIFIERS or token in allowed or token.startswith("--"):
        return True
    if re.search(r"[A-Za-z0-9][_./][A-Za-z0-9]|/$", token):  # points_per_cny, data.json, OC1.x, photos/
        return True
    return all(part in IDENTIFIERS or part in allowed for part in _LETTERS.findall(token))


def foreign_words(text: str, locale: str, allowed: Iterable[str] = ()) -> list[str]:
    """The words of `text` a reader of `locale` (zh-CN or en) would not read as their language."""
    allowed = {name for name in allowed if name}
    text = text or ""
    for name in sorted(allowed, key=len, reverse=True):  # a field name, whatever its characters
        text = text.replace(name, " ")
    text = _PLACEHOLDER.sub(" ", _QUOTED.sub(" ", text))
    if locale.startswith("zh"):
        return [t for t in _TOKEN.findall(text) if _LETTERS.search(t) and not _is_identifier(t, allowed)]
    return [w for w in _CJK.findall(text) if w not in NAMES_IN_THEIR_OWN_LANGUAGE and w not in allowed]
