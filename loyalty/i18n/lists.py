"""A list of words as one Message, joined the way the reader's locale joins lists ("a, b or c",
"a、b 或 c"), so a sentence can name several roles or tiers without joining translated pieces
in code."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty.i18n.message import Message, _


def any_of(items: Sequence[Message | str]) -> Message | str:
    """"a", "a or b", "a, b or c": one Message whose values are the items."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    head: Message | str = items[0]
    for item in items[1:-1]:
        # i18n: two items of a longer list, e.g. "sales, service"
        head = _("{first}, {second}", first=head, second=item)
    # i18n: the last two items of a list of choices, e.g. "sales or service"
    return _("{first} or {last}", first=head, last=items[-1])
