"""The catalogues are complete and every translation can be rendered and read.

A zh-CN translation keeps its msgid's `{placeholders}` (a renamed one raises KeyError when the
message is rendered, a dropped one loses the value) and is written in Chinese; the English
catalogue is English."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

import pytest
from babel.messages.catalog import Message as PoMessage

from loyalty.i18n.catalog import translate
from loyalty.i18n.enums import ENUMS
from loyalty.i18n.tool import DOMAINS, _po_path, _read, problems

# What a Chinese text may write in Latin letters, because the reader sees or types it so.
IDENTIFIERS = {
    # data formats and their patterns, as an API caller writes them
    "JSON", "UUID", "base64", "RFC", "YYYY", "MM", "DD", "HH", "SS", "CSV", "QR",
    # the card code's prefix, and HTTP header names (kept whole: `Idempotency-Key`, not two words)
    "OC1", "Idempotency-Key", "Sec-Fetch-Site", "Cookie",
    # JSON's literals
    "true", "false", "null",
    # brands written in Latin letters in Chinese too, and the abbreviations Chinese staff use as they are
    "Stripe", "WeChat", "API", "ID",
    # a language's name is written in that language (the switch's "English")
    "English",
}
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_CODE = re.compile(r"`[^`]*`")  # a command or field name in backticks is typed as written
_WHOLE = re.compile("|".join(re.escape(i) for i in sorted(IDENTIFIERS, key=len, reverse=True) if "-" in i))
_LATIN_RUN = re.compile(r"[A-Za-z]{2,}[0-9]*")  # a run of two letters or more, with its digits (base64, OC1)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def _entries(locale: str, domain: str) -> Iterator[PoMessage]:
    for message in _read(_po_path(locale, domain), locale):
        if message.id:
            yield message


def _forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def _names(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _label(message: PoMessage) -> str:
    return f"{message.context + ': ' if message.context else ''}{_forms(message.id)[0]!r}"


def test_the_catalogues_are_complete():
    """No stale .pot, no untranslated or fuzzy entry, in either locale or domain (`scripts/i18n check`)."""
    assert problems() == []


def test_a_chinese_translation_keeps_its_placeholders():
    broken = []
    for message in _entries("zh_CN", "messages"):
        ids = _forms(message.id)
        # A counted message's forms are all rendered with the plural's values ({count} included).
        expected = _names(ids[-1]) | _names(ids[0])
        for text in _forms(message.string):
            if text and _names(text) != expected:
                broken.append(f"{_label(message)} → {text!r}: {sorted(_names(text))} instead of {sorted(expected)}")
    assert broken == []


def test_a_chinese_translation_has_no_english_words():
    english = []
    for message in _entries("zh_CN", "messages"):
        for text in _forms(message.string):
            bare = _WHOLE.sub(" ", _CODE.sub(" ", _PLACEHOLDER.sub(" ", text or "")))
            words = [w for w in _LATIN_RUN.findall(bare) if w not in IDENTIFIERS]
            if words:
                english.append(f"{_label(message)} → {text!r}: {words}")
    assert english == []


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_the_english_catalogue_has_no_chinese(domain: str):
    names = {translate(name, locale) for name in ENUMS["language"].values() for locale in ("zh-CN", "en")}
    chinese = [
        f"{_label(message)} → {text!r}"
        for message in _entries("en", domain) for text in _forms(message.string or message.id)
        if _CJK.search(text or "") and text not in names
    ]
    assert chinese == []
