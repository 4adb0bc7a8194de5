"""What a reader would call a foreign word: English in a Chinese text, Chinese in an English one.

Names, brands and identifiers are not foreign: the allow-list below says why each is there, and
a caller adds the field names and values of its own text (`allowed`). Anything quoted (「」, '',
"", ``) is the reader's own data or an identifier, echoed back, and is not judged."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Identifiers and formats a reader types or sees on the other side (a header, a date format, a
# code prefix), protocol and file names, and brands that are written in Latin letters in Chinese too.
IDENTIFIERS = {
    "JSON", "UUID", "base64", "RFC", "YYYY", "MM", "DD", "HH", "SS", "OC1", "Idempotency", "Key", "Cookie",
    "true", "false", "null", "API", "CSV", "QR", "ID", "SMS", "PNG", "JPEG", "xlsx", "csv", "URL", "HTTP",
    "Content", "Type", "Retry", "After", "Sec", "Fetch", "Site", "NUL", "Authorization", "Bearer", "ok", "OK",
    "Stripe", "WeChat", "Excel", "Redis", "PostgreSQL", "SQLite", "Celery", "Chromium", "Litestar",
}
# Language names are written in their own language on the switch (中文 on an English page).
NAMES_IN_THEIR_OWN_LANGUAGE = {"中文", "简体中文"}
_QUOTED = re.compile(r"「[^」]*」|'[^']*'|\"[^\"]*\"|`[^`]*`|“[^”]*”|‘[^’]*’")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-\[\].]*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def foreign_words(text: str, locale: str, allowed: Iterable[str] = ()) -> list[str]:
    """The words of `text` a reader of `locale` (zh-CN or en) would not read as their language."""
    text = _QUOTED.sub(" ", text or "")
    allowed = set(allowed)
    for name in list(allowed):
        text = text.replace(name, " ")
    if locale.startswith("zh"):
        found = []
        for word in _LATIN_WORD.findall(text):
            parts = [p for p in re.split(r"[-_.\[\]]", word) if p]
            if len(word) >= 2 and any(p not in IDENTIFIERS and not p.isdigit() and len(p) >= 2 for p in parts):
                found.append(word)
        return found
    return [w for w in _CJK.findall(text) if w not in NAMES_IN_THEIR_OWN_LANGUAGE]
