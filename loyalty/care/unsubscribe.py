"""Unsubscribing from bulk mail (greetings, reminders, surveys: the kinds an owner may refuse)
without logging in: each such e-mail carries a signed link, in its text and in the
List-Unsubscribe header (RFC 2369), whose one-click POST (RFC 8058) refuses that kind at once.
Opening the link in a browser shows a page with one button (a GET changes nothing: mail
scanners open links). The link names the owner and the kind, signed with LOYALTY_SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import hmac
from html import escape
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Response

from loyalty.care.tables import OptOut, TRANSACTIONAL
from loyalty.members.tables import Member
from loyalty.i18n import _, request_locale, translate
from loyalty.i18n.enums import enum_label
from loyalty.i18n.format import Later
from loyalty.settings import Settings


def bulk(kind: str) -> bool:
    return kind not in TRANSACTIONAL


def _mac(settings: Settings, text: str) -> str:
    key = hashlib.sha256(b"owner-club unsubscribe v1:" + (settings.secret_key or "").encode()).digest()
    return base64.urlsafe_b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()[:16]).decode().rstrip("=")


def token(settings: Settings, member_id: int, kind: str) -> str:
    return f"{member_id}.{kind}.{_mac(settings, f'{member_id}:{kind}')}"


def read_token(settings: Settings, raw: str) -> tuple[int, str] | None:
    member, _dot, rest = raw.partition(".")
    kind, _dot, mac = rest.partition(".")
    if not member.isdigit() or not bulk(kind) or not hmac.compare_digest(mac, _mac(settings, f"{member}:{kind}")):
        return None
    return int(member), kind


def unsubscribe_url(settings: Settings, member_id: int, kind: str) -> str:
    return f"{settings.public_url}/api/v1/unsubscribe/{token(settings, member_id, kind)}"


def footer(language: str, link: str) -> str:
    return translate(_("Do not want messages like this one? Unsubscribe: {link}", link=link), language)


def _page(locale: str, text: str, *, button: str | None = None, status: int = 200) -> Response[str]:
    form = f'<form method="post"><button type="submit">{escape(button)}</button></form>' if button else ""
    html = (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(translate(_('Unsubscribe'), locale))}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem 1rem;max-width:30rem;line-height:1.6}"
        "h1{font-size:1.2rem}button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.5rem;border:1px solid #1e3a8a;background:#1e40af;color:#fff}</style></head>"
        f"<body><h1>{escape(translate(_('Owner Club'), locale))}</h1><p>{escape(text)}</p>{form}</body></html>"
    )
    return Response(html, media_type="text/html; charset=utf-8", status_code=status)


@get("/unsubscribe/{raw:str}", include_in_schema=False, sync_to_thread=False)
def unsubscribe_page(raw: str, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[str]:
    locale = request_locale(request)
    if (found := read_token(settings, raw)) is None:
        return _page(locale, translate(_("This unsubscribe link is not valid."), locale), status=400)
    _member, kind = found
    return _page(
        locale, translate(_("Stop receiving {kind} from Owner Club?", kind=Later(enum_label, "message_kind", kind)), locale),
        button=translate(_("Unsubscribe"), locale),
    )


@post("/unsubscribe/{raw:str}", include_in_schema=False, status_code=200)
async def unsubscribe(raw: str, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[str]:
    """The page's button and mail clients' one-click unsubscribe (RFC 8058) alike."""
    locale = request_locale(request)
    found = read_token(settings, raw)
    if found is None:
        return _page(locale, translate(_("This unsubscribe link is not valid."), locale), status=400)
    member_id, kind = found
    if not await Member.exists().where(Member.id == member_id):
        return _page(locale, translate(_("This unsubscribe link belongs to an account that no longer exists."), locale), status=410)
    if not await OptOut.exists().where((OptOut.member == member_id) & (OptOut.kind == kind)):
        await OptOut.insert(OptOut(member=member_id, kind=kind))
    return _page(locale, translate(
        _("Done: you will no longer receive {kind}.", kind=Later(enum_label, "message_kind", kind)), locale
    ))
