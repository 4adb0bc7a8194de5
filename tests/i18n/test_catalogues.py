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
from tests.i18n_words import foreign_words

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
            words = foreign_words(text or "", "zh-CN")
            if words:
                english.append(f"{_label(message)} → {text!r}: {words}")
    assert english == []


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_the_english_catalogue_has_no_chinese(domain: str):
    names = {translate(name, locale) for name in ENUMS["language"].values() for locale in ("zh-CN", "en")}
    chinese = [
        f"{_label(message)} → {text!r}"
        for message in _entries("en", domain) for text in _forms(message.string or message.id)
        if foreign_words(text or "", "en", allowed=names)
    ]
    assert chinese == []
