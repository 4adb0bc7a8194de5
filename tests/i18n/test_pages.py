"""The pages' words: what the JavaScript extractor finds (and what it must not), and the catalogue
a page starts with (`/i18n/current.json`: the locale the server answers this browser in)."""

from __future__ import annotations

import io

from loyalty.i18n.js_extract import extract_calls
from loyalty.i18n.tool import KEYWORDS

SOURCE = r'''
// _("not a word: a comment") and /* _("nor this") */
const esc = (s) => String(s).replace(/[&<>"']/g, "");  // a regex holding both quotes
const url = "https://example.com/_(x)";
const html = `<div title="${esc(_("Title's words"))}">${rows.map((r) => `<b>${_n("{count} seat left", "{count} seats left", r.n)}</b>
  ${r.ok ? `<i alt='${_p("lead action", "Cancel")}'>` : ""}`).join("")}</div>`;
const dynamic = _(someVariable);
// i18n: shown on the door scanner
const note = _("East gate");
'''


def extracted(source: str) -> list[tuple[int, str, object, list[str]]]:
    return list(extract_calls(io.BytesIO(source.encode()), KEYWORDS.keys(), ("i18n:",), {}))


def test_calls_inside_nested_template_literals_are_found_and_comments_are_not():
    found = {(name, messages) for _, name, messages, _ in extracted(SOURCE)}
    assert found == {
        ("_", "Title's words"),
        ("_n", ("{count} seat left", "{count} seats left", None)),
        ("_p", ("lead action", "Cancel")),
        ("_", "East gate"),
    }


def test_a_translator_note_comes_with_its_call():
    [note] = [comments for _, _, messages, comments in extracted(SOURCE) if messages == "East gate"]
    assert note == ["shown on the door scanner"]


async def test_the_current_catalogue_is_the_locale_the_server_answers_in(client):
    default = await client.get("/i18n/current.json")
    assert default.json()["locale"] == "zh-CN" and default.headers["vary"] == "Cookie, Accept-Language"
    english = await client.get("/i18n/current.json", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.json()["locale"] == "en"
    assert english.json()["messages"]["Code sent"] == "Code sent"
    switched = await client.get("/i18n/current.json", headers={"Accept-Language": "en", "Cookie": "lang=zh-CN"})
    assert switched.json()["locale"] == "zh-CN"
    assert switched.json()["messages"]["Code sent"] == "验证码已发送"
    assert switched.json()["enums"]["checkin_result"]["checked_in"] == "签到成功"
    assert switched.json()["messages"]["lead action\u0004Cancel"] == "取消"
