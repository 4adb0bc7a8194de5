"""`/admin`: piccolo-admin for browsing the records, behind the application's own staff login.

There is one staff identity. /admin has no login, no session table and no cookie of its own:
it reads the staff session that /staff and the staff API use (Litestar's signed cookie session,
already decoded into the scope by the session middleware) and asks the identity service who it
is, as every staff route does. So deactivating an account, logging out or a changed role acts
on /staff, the staff API and /admin at once, and the role that picks the tables is the one the
server holds, never one read from cookie parsing that could disagree with the framework's.

piccolo-admin shows every table it is given to every user it lets in, so there is one instance
per staff role (admin_ui.tables), each with that role's tables; its private API is
authenticated by `StaffSessionBackend` instead of piccolo's own session table. Its login form,
password change and logout are replaced: staff log in and out on /staff."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from piccolo.apps.user.tables import BaseUser
from piccolo_admin.endpoints import AdminRouter, create_admin, handle_auth_exception
from piccolo_api.shared.auth import User
from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.routing import Mount
from starlette.types import Message, Receive, Scope, Send

from admin_ui.localise import admin_locale, admin_options, schema_table, send_relabelled_schema
from admin_ui.tables import role_tables, writable_tables
from loyalty import db
from loyalty.audit import service as audit
from loyalty.errors import BodyTooDeep, DomainError, InvalidField, NotAuthenticated
from loyalty.i18n import _
from loyalty.identity import service as identity
from loyalty.identity.guards import ISSUED_KEY, STAFF_KEY
from loyalty.json_bodies import MAX_JSON_DEPTH, nested_deeper_than
from loyalty.settings import Settings

STAFF_LOGIN_PAGE = "/staff?next=/admin/"
_USER_KEY = "loyalty.admin_user_id"  # the scope key StaffSessionBackend reads
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
MAX_ADMIN_BODY_BYTES = 1_000_000  # a row's form; the largest text column is far below


class LoginElsewhere(DomainError):
    type = "admin-login-on-staff-page"
    status = 403
    title = _("Log in on the staff page")


class AdminBodyTooLarge(DomainError):
    type = "payload-too-large"
    status = 413
    title = _("The request body is too large")


class InvalidOrdering(DomainError):
    type = "invalid-ordering"
    status = 400
    title = _("The list cannot be ordered that way")


class StaffSessionBackend(AuthenticationBackend):
    """piccolo-admin's API, authenticated by the staff session RoleAdmin has already checked."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, User]:
        user_id = conn.scope.get(_USER_KEY)
        if user_id is None:
            raise AuthenticationError("log in on /staff")
        user = await BaseUser.objects().where(BaseUser.id == user_id).first()
        if user is None:
            raise AuthenticationError("log in on /staff")
        return AuthCredentials(scopes=["authenticated"]), User(user=user)


def _use_staff_sessions(admin: AdminRouter) -> AdminRouter:
    """Swap piccolo-admin's session check on its private API for ours."""
    for route in admin.routes:
        if isinstance(route, Mount) and route.path == "/api":
            inner = route.app.app if isinstance(route.app, AuthenticationMiddleware) else route.app
            route.app = AuthenticationMiddleware(inner, backend=StaffSessionBackend(), on_error=handle_auth_exception)
            return admin
    raise RuntimeError("piccolo-admin has no /api mount to protect")  # a piccolo-admin upgrade moved it


async def _redirect(send: Send, location: str) -> None:
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def _query(scope: Scope) -> list[tuple[str, str]]:
    return parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


class RoleAdmin:
    """The ASGI app mounted at /admin: the staff session's role and the request's locale pick
    the admin instance (admin_ui.localise says why one per locale)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._apps: dict[tuple[str, str], Any] = {}
        tables = role_tables()
        self._writable: dict[str, set[str]] = {role: writable_tables(configs) for role, configs in tables.items()}
        self._columns: dict[str, set[str]] = {
            config.table_class._meta.tablename: {column._meta.name for column in config.table_class._meta.columns}
            for configs in tables.values() for config in configs
        }

    def _app(self, role: str, locale: str) -> Any:
        """The admin instance of `role` in `locale` ("" for a role /admin does not know), made
        on its first request (each takes a fraction of a second to build, and most processes —
        workers, tests — never serve the admin)."""
        key = (role if role in self._writable else "", locale)
        if key not in self._apps:
            self._apps[key] = _use_staff_sessions(create_admin(
                role_tables(locale).get(key[0], []), production=self.settings.secure_cookies, allowed_hosts=[],
                auto_include_related=False, **admin_options(locale),
            ))
        return self._apps[key]

    async def _staff(self, scope: Scope) -> identity.StaffIdentity | None:
        """The staff member of this request's session, if it still holds (active account,
        issued after the last logout), else None."""
        session = scope.get("session") or {}
        staff_id = session.get(STAFF_KEY)
        if not isinstance(staff_id, int):
            return None
        issued = session.get(ISSUED_KEY)
        try:
            return await identity.get_staff(staff_id, issued_at=float(issued) if isinstance(issued, (int, float)) else 0.0)
        except NotAuthenticated:
            return None

    def _check_order(self, path: str, scope: Scope) -> None:
        """piccolo-admin answers an unknown `__order` column with a 500: refuse it first."""
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[:2] != ["api", "tables"]:
            return
        columns = self._columns.get(parts[2], set())
        for key, value in _query(scope):
            if key != "__order":
                continue
            for name in value.split(","):
                if name.removeprefix("-") not in columns:
                    raise InvalidOrdering(
                        _("Cannot order by '{name}': it is not a column of '{table}'", name=name, table=parts[2]), field="__order")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        locale = admin_locale(scope)
        path = scope["path"]
        if path.startswith("/admin"):
            path = path[len("/admin"):]
        staff = await self._staff(scope)
        if path.startswith("/public/login"):
            if scope["method"] == "GET":
                return await _redirect(send, STAFF_LOGIN_PAGE)
            raise LoginElsewhere(_("/admin has no login of its own: log in on /staff"))
        if path.startswith("/public/logout"):
            if scope["method"] != "POST":  # a link from anywhere must not log staff out everywhere
                return await _redirect(send, "/admin/")
            if staff is not None:
                await identity.end_staff_sessions(staff.id)
            return await _redirect(send, "/staff")
        if staff is None:
            if path in ("", "/"):
                return await _redirect(send, STAFF_LOGIN_PAGE)
            if path.startswith("/api"):
                raise NotAuthenticated(_("Log in as staff on /staff"))
            return await self._app("", locale)(scope, receive, send)  # its static files and public meta
        if path.startswith("/api/change-password"):
            raise LoginElsewhere(_("Staff passwords are changed by an administrator with `loyalty create-staff`, not here"))
        self._check_order(path, scope)
        scope[_USER_KEY] = staff.user_id
        app = self._app(staff.role, locale)
        if scope["method"] in _WRITES:
            sent, replay = await _buffered(receive)
            if nested_deeper_than(sent):  # piccolo-admin's decoder would end in a RecursionError
                raise BodyTooDeep(_("JSON nested deeper than {depth} levels", depth=MAX_JSON_DEPTH), field="body")
            _refuse_new_id(path, sent)
            return await self._audited(app, staff, path, sent, scope, replay, send)
        table = schema_table(scope["method"], path)
        if table:
            return await send_relabelled_schema(app, scope, receive, send, table, locale)
        await app(scope, receive, send)

    async def _audited(
        self, app: Any, staff: identity.StaffIdentity, path: str, sent: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """A write through /admin on a table the role may write, audited like a service call:
        the audit entry is written once piccolo-admin has answered with success."""
        parts = path.strip("/").split("/")
        table = parts[2] if len(parts) >= 3 and parts[:2] == ["api", "tables"] else ""
        row = parts[3] if len(parts) >= 4 and parts[3].isdigit() else None
        status: list[int] = []
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body" and table and status and status[0] < 300 and len(body) < 65536:
                body.extend(message.get("body", b""))
            await send(message)

        await app(scope, receive, capture)
        # A failed write may still have reached the database (piccolo-admin answers some
        # errors after writing): only a refusal (4xx) goes unaudited.
        if not table or not status or 400 <= status[0] < 500 or table not in self._writable.get(staff.role, set()):
            return
        subject = int(row) if row else _created_id(bytes(body))
        async with db.transaction():
            await audit.record(
                action=f"admin.{scope['method'].lower()}", subject_kind=table, subject_id=subject or 0,
                actor_id=staff.id, data={"path": f"/admin{path}", "sent": _json(sent[:65536]), "status": status[0]},
            )


def _refuse_new_id(path: str, body: bytes) -> None:
    """piccolo-admin lets a form rewrite a row's id (and the foreign keys follow it), then
    answers 500 with the change made: a form may carry a row's own id, never another."""
    parts = path.strip("/").split("/")
    own = int(parts[3]) if len(parts) >= 4 and parts[3].isdigit() else None
    data = _json(body)
    for row in data if isinstance(data, list) else [data]:
        if isinstance(row, dict) and "id" in row and row["id"] != own:
            raise InvalidField(_("A row's ID cannot be changed here"), field="id")


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The request body, read whole (piccolo-admin bodies are small forms), and a `receive`
    that hands it on as if it had not been read."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if sum(map(len, chunks)) > MAX_ADMIN_BODY_BYTES:
            raise AdminBodyTooLarge(_("An /admin form is at most {limit} bytes", limit=MAX_ADMIN_BODY_BYTES), field="body")
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def _created_id(body: bytes) -> int | None:
    """The id piccolo-admin answers a created row with (`[{"id": 7}]`)."""
    data = _json(body)
    if isinstance(data, list) and data and isinstance(data[0], dict) and isinstance(data[0].get("id"), int):
        return data[0]["id"]
    return None
