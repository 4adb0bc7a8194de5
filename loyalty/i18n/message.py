"""Lazy messages: a marked word travels as a `Message` (its msgid and its values) and becomes text
only where the reader's locale is known (the problem mapper, a page's reply, an SMS body)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    msgid: str
    plural: str | None = None
    count: int | None = None
    context: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def format(self, **values: Any) -> Message:
        """The same words with (more) values for their `{placeholders}`."""
        return Message(self.msgid, self.plural, self.count, self.context, {**self.values, **values})

    def render(self, locale: str) -> str:
        from loyalty.i18n.catalog import translate

        return translate(self, locale)

    def __str__(self) -> str:  # logs and exception text: the source words, never shown to a reader
        try:
            return self.msgid.format(**self.values)
        except (KeyError, IndexError, ValueError):
            return self.msgid


def _(msgid: str, **values: Any) -> Message:
    """Words to translate; `{name}` placeholders are filled from `values` in the reader's locale."""
    return Message(msgid, values=values)


def _n(singular: str, plural: str, count: int, **values: Any) -> Message:
    """Counted words: the catalogue picks the form for `count` (`{count}` is filled in too)."""
    return Message(singular, plural, count, values={"count": count, **values})


def _p(context: str, msgid: str, **values: Any) -> Message:
    """Words whose meaning depends on a context, such as one value of an enumeration."""
    return Message(msgid, context=context, values=values)
