"""Babel extractor for the pages' JavaScript: the words in `_("...")`, `_n("...", "...", n)` and
`_p("context", "...")` calls, wherever they are, including inside `${...}` of template literals
nested in one another (Babel's own JavaScript extractor loses those: it reads a template
literal's text as code, and a quote or apostrophe in the HTML there hides the calls after it).

The source is first read once to blank out comments (the code's strings, template literals and
regular expressions are skipped over, so `//` in a URL or a quote in a regex is no comment); then
each call whose arguments start with string literals is a message."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import IO, Any

# Where a `/` starts a regular expression rather than a division: after these (or nothing).
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^")
_CALL = re.compile(r"(?<![\w$.])(_n|_p|_)\(\s*")
_STRING = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\$]|\\.|\$(?!\{))*`""")
_COMMENT_TAG = "i18n:"


def _skip_quoted(source: str, i: int, quote: str) -> int:
    """The index after the string or regex that starts at `i` with `quote`."""
    i += 1
    in_class = False  # a regex's [...] may hold its delimiter
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if quote == "/" and c == "[":
            in_class = True
        elif quote == "/" and c == "]":
            in_class = False
        elif c == quote and not in_class:
            return i + 1
        elif c == "\n" and quote != "`":
            return i  # an unterminated line: stop at its end
        i += 1
    return i


def code_without_comments(source: str) -> str:
    """`source` with every comment replaced by spaces (newlines kept, so lines keep their numbers)."""
    out = list(source)
    # The stack of what encloses the current position: "`" a template literal's text,
    # an int the brace depth inside one of its `${...}` expressions.
    stack: list[Any] = []
    last = ""  # the last significant character of code, to tell a regex from a division
    i = 0
    while i < len(source):
        c, following = source[i], source[i + 1:i + 2]
        if stack and stack[-1] == "`":
            if c == "\\":
                i += 2
            elif c == "`":
                stack.pop()
                last, i = "`", i + 1
            elif c == "$" and following == "{":
                stack.append(0)
                last, i = "{", i + 2
            else:
                i += 1
            continue
        if c == "/" and following in ("/", "*"):
            end = source.find("\n", i) if following == "/" else source.find("*/", i + 2) + 2
            end = len(source) if end < (1 if following == "/" else 2) else end
            for j in range(i, end):
                if out[j] != "\n":
                    out[j] = " "
            i = end
        elif c in "\"'" or (c == "/" and (last in _REGEX_AFTER or not last)):
            i = _skip_quoted(source, i, c)
            last = c
        elif c == "`":
            stack.append("`")
            i += 1
        elif c == "{" and stack:
            stack[-1] += 1
            last, i = c, i + 1
        elif c == "}" and stack:
            if stack[-1] == 0:
                stack.pop()  # back in the template literal's text
            else:
                stack[-1] -= 1
            last, i = c, i + 1
        else:
            if not c.isspace():
                last = c
            i += 1
    return "".join(out)


def _arguments(code: str, start: int) -> list[str | None]:
    """The string literals the call's arguments start with (None for the first that is not one)."""
    found: list[str | None] = []
    i = start
    while True:
        literal = _STRING.match(code, i)
        if not literal:
            found.append(None)
            return found
        text = literal.group()
        found.append(text[1:-1] if text[0] == "`" else ast.literal_eval(text))
        i = literal.end()
        separator = re.compile(r"\s*,\s*").match(code, i)
        if not separator:
            return found
        i = separator.end()


def _comments_before(lines: list[str], lineno: int) -> list[str]:
    """`// i18n: ...` lines just above a call: a note for the translator."""
    notes: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("//"):
        text = lines[index].strip()[2:].strip()
        if text.startswith(_COMMENT_TAG):
            notes.insert(0, text[len(_COMMENT_TAG):].strip())
        index -= 1
    return notes


def extract_calls(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, Any, list[str]]]:
    source = fileobj.read().decode("utf-8")
    code = code_without_comments(source)
    lines = source.splitlines()
    for call in _CALL.finditer(code):
        name = call.group(1)
        if name not in keywords:
            continue
        arguments = _arguments(code, call.end())
        if arguments[0] is None:
            continue  # _(variable): not a word to translate here
        lineno = code.count("\n", 0, call.start()) + 1
        messages = tuple(arguments) if len(arguments) > 1 else arguments[0]
        yield lineno, name, messages, _comments_before(lines, lineno)
