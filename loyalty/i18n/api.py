"""The pages' catalogue (`GET /i18n/{locale}.json`; `/i18n/current.json` is the request's own
locale's) and the language switch (`PUT /api/v1/language`)."""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, put
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, JSONBody

from loyalty.i18n.catalog import catalogue
from loyalty.i18n.enums import enum_tables
from loyalty.i18n.locale import LANG_COOKIE, LOCALES, configured_default, request_locale
from loyalty.openapi_contract import raises

# A year: the switch is a standing choice, like the saved language it stands in for.
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def language_cookie(language: str) -> Cookie:
    """The `lang` cookie naming `language`: set by the switch, and at login to the owner's saved language."""
    return Cookie(key=LANG_COOKIE, value=language, max_age=LANG_COOKIE_SECONDS, samesite="lax", path="/")


@functools.cache
def _page_catalogue(locale: str) -> bytes:
    """The compiled `pages` domain as JSON: msgid (`context\\u0004msgid` with a context) → text,
    or a list of plural forms; built once per process from the `.mo`, never from a `.po`."""
    messages: dict[str, Any] = {}
    for key, text in catalogue(locale, "pages")._catalog.items():  # noqa: SLF001 - gettext keeps no other index
        if isinstance(key, tuple):  # (msgid, plural index)
            messages.setdefault(key[0], []).append((key[1], text))
        elif key:
            messages[key] = text
    for key, forms in messages.items():
        if isinstance(forms, list):
            messages[key] = [text for _, text in sorted(forms)]
    return msgspec.json.encode({"locale": locale, "messages": messages, "enums": enum_tables(locale)})


@get("/i18n/{file_name:str}", include_in_schema=False)
async def page_catalogue(file_name: FromPath[str], request: Request[Any, Any, State]) -> Response[bytes]:
    """`/i18n/zh-CN.json` or `/i18n/en.json`; `/i18n/current.json` is the one this request's
    locale names (saved language, the `lang` cookie, Accept-Language, zh-CN), so a page starts in
    the language the server answers it in; any other name is the default locale's."""
    locale = file_name.removesuffix(".json")
    headers = {"Cache-Control": "no-cache"}
    if locale == "current":
        locale = request_locale(request)
        headers["Vary"] = "Cookie, Accept-Language"
    elif locale not in LOCALES:
        locale = configured_default(request)
    return Response(_page_catalogue(locale), media_type="application/json", headers=headers)


class LanguageChoice(msgspec.Struct, forbid_unknown_fields=True):
    language: Annotated[Literal[LOCALES], msgspec.Meta(description="zh-CN or en", examples=["en"])]


class LanguageChosen(msgspec.Struct):
    language: str


@raises("validation-error")
@put(
    "/language", operation_id="chooseLanguage", tags=["auth"], status_code=200,
    summary="Choose the language of pages, problems and messages",
    description=(
        "Sets the `lang` cookie for this browser; a logged-in owner's language is saved too (their SMS and "
        "messages follow it, and their next login sets the cookie to it). Locale order: this cookie, "
        "Accept-Language, zh-CN."
    ),
)
async def choose_language(data: JSONBody[LanguageChoice], request: Request[Any, Any, State]) -> Response[LanguageChosen]:
    from loyalty.identity.guards import MEMBER_KEY
    from loyalty.members.service import save_language

    session = request.scope.get("session") or {}
    if isinstance(session.get(MEMBER_KEY), int):
        await save_language(session[MEMBER_KEY], data.language)
    return Response(LanguageChosen(language=data.language), cookies=[language_cookie(data.language)])
