"""Babel extractor for the pages' HTML: the words in `data-t="..."` attributes, which the pages'
JavaScript replaces with the reader's locale (`i18n.js`)."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import IO, Any


class _DataT(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("data-t", "data-t-placeholder", "data-t-title", "data-t-aria-label") and value:
                self.found.append((self.getpos()[0], value))


def extract_data_t(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    parser = _DataT()
    parser.feed(fileobj.read().decode("utf-8"))
    for lineno, text in parser.found:
        yield lineno, "_", text, []
