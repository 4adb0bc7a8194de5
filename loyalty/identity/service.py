"""Member login with a one-time code, staff login with a password, and staff roles.

Every limit lives in the database (codes per hour, wrong guesses per code), so it holds
whichever web process a request lands on.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.apps.user.tables import BaseUser

from loyalty.i18n.format import Later, identifiers
from loyalty import clock, db, jobs
from loyalty.audit import service as audit
from loyalty.care import outbox as care
from loyalty.errors import (
    DomainError,
    InvalidField,
    LoginCodeExpired,
    LoginCodeInvalid,
    NotAuthenticated,
    NotFound,
    StaffLoginFailed,
    StaffLoginLocked,
    TooManyAttempts,
)
from loyalty.i18n import Message, _, _n
from loyalty.identity.tables import ROLES, LoginCode, StaffAccount, StaffLoginFailure
from loyalty.labels import label
from loyalty.members.tables import Member
from loyalty.phones import normalise_phone
from loyalty.settings import Settings


# Shown when a session outlived a logout, to members and staff alike.
LOGGED_OUT = _("This session ended when you logged out; please log in again.")
_TOO_MANY_WRONG = _("Too many wrong codes; ask for a new one.")


def _wrong_code(left: int) -> Message:
    if left <= 0:
        return _("Wrong code, and no attempts are left; ask for a new one.")
    return _n("Wrong code; {count} attempt left.", "Wrong code; {count} attempts left.", left)


def _code_hash(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


async def request_login_code(raw_phone: str, settings: Settings) -> None:
    """Send a 6-digit code to a member's phone. An unknown phone gets the same answer and no
    message, so the endpoint does not tell strangers who is an owner."""
    phone = normalise_phone(raw_phone, settings.default_region)
    now = clock.now()
    recent = await LoginCode.select(LoginCode.created_at).where(
        (LoginCode.phone == phone) & (LoginCode.created_at > now - timedelta(hours=1))
    ).order_by(LoginCode.created_at, ascending=False)
    if recent:
        since_last = (now - recent[0]["created_at"]).total_seconds()
        if since_last < settings.login_code_min_interval_seconds:
            wait = int(settings.login_code_min_interval_seconds - since_last) + 1
            raise TooManyAttempts(
                _n(
                    "A code was sent moments ago; you can ask for another in {count} second.",
                    "A code was sent moments ago; you can ask for another in {count} seconds.",
                    wait,
                ),
                retry_after=wait,
            )
        if len(recent) >= settings.login_codes_per_hour:
            oldest = recent[settings.login_codes_per_hour - 1]["created_at"]
            raise TooManyAttempts(
                _("Too many codes were requested for this phone in the last hour; please try again later."),
                retry_after=int((oldest + timedelta(hours=1) - now).total_seconds()) + 1,
            )
    member = await Member.select(Member.id, Member.language).where(Member.phone == phone).first()
    code = f"{secrets.randbelow(1_000_000):06d}"
    # A stranger's phone gets a row too (whose hash no code can match), so the throttle above
    # answers exactly as it would for an owner's phone and reveals nothing.
    code_hash = (
        _code_hash(settings.secret_key or "", phone, code) if member else hashlib.sha256(secrets.token_bytes(32)).hexdigest()
    )
    minutes = settings.login_code_ttl_seconds // 60
    expires_at = now + timedelta(seconds=settings.login_code_ttl_seconds)
    async with db.transaction():
        await LoginCode.insert(LoginCode(phone=phone, code_hash=code_hash, created_at=now, expires_at=expires_at))
        if member is None:
            return
        message_id = await care.queue_message(
            kind="login_code",
            member_id=member["id"],
            settings=settings,
            channel_name=settings.sms_backend,
            recipient=phone,
            template="login_code",
            language=member["language"],
            body=label("login_code.sms", member["language"], code=code, minutes=minutes),
            params=[code, str(minutes)],  # the SMS provider's template: {1} the code, {2} its minutes
            sealed=True,  # staff who can read the outbox must not be able to log in as the owner
            expires_at=expires_at,  # a code that arrives dead is no use: never sent after it expires
        )
    if message_id is not None:
        await jobs.enqueue("loyalty.care.deliver_message", message_id)


@dataclass(frozen=True)
class MemberIdentity:
    id: int
    name: str
    language: str = "zh-CN"


async def verify_login_code(raw_phone: str, code: str, settings: Settings) -> MemberIdentity:
    """The member for a right, fresh, unused code. A code dies after
    `login_code_max_attempts` wrong guesses; the count is one conditional UPDATE, so
    parallel guesses cannot slip past it."""
    phone = normalise_phone(raw_phone, settings.default_region)
    if not (len(code) == 6 and code.isdigit()):
        raise InvalidField(_("the login code is 6 digits"), field="code")
    now = clock.now()
    latest = (
        await LoginCode.select(LoginCode.id, LoginCode.code_hash, LoginCode.expires_at, LoginCode.attempts)
        .where((LoginCode.phone == phone) & LoginCode.used_at.is_null())
        .order_by(LoginCode.created_at, ascending=False)
        .first()
    )
    if latest is None:
        raise LoginCodeInvalid(_("No code was requested for this phone, or it was already used; ask for a new one."))
    if latest["attempts"] >= settings.login_code_max_attempts:
        raise TooManyAttempts(_TOO_MANY_WRONG, retry_after=settings.login_code_min_interval_seconds)
    if latest["expires_at"] <= now:
        raise LoginCodeExpired()
    still_open = (LoginCode.id == latest["id"]) & (LoginCode.attempts < settings.login_code_max_attempts) & (
        LoginCode.used_at.is_null()
    )
    if not hmac.compare_digest(latest["code_hash"], _code_hash(settings.secret_key or "", phone, code)):
        counted = await LoginCode.update({LoginCode.attempts: LoginCode.attempts + 1}).where(still_open).returning(
            LoginCode.attempts
        )
        if not counted:
            raise TooManyAttempts(_TOO_MANY_WRONG, retry_after=settings.login_code_min_interval_seconds)
        left = settings.login_code_max_attempts - counted[0]["attempts"]
        raise LoginCodeInvalid(_wrong_code(left), attempts_left=left)
    used = await LoginCode.update({LoginCode.used_at: now}).where(still_open).returning(LoginCode.id)
    if not used:
        raise LoginCodeInvalid(_("This code was already used; ask for a new one."))
    member = await Member.select(Member.id, Member.name, Member.language).where(Member.phone == phone).first()
    if member is None:
        raise LoginCodeInvalid(_("No member has this phone number."))
    return MemberIdentity(id=member["id"], name=member["name"], language=member["language"])


async def check_member_session(member_id: int, issued_at: float = 0.0) -> None:
    """A member session holds only while its member exists and has not been erased (PIPL
    erasure, loyalty.privacy), and if it was issued after the member last logged out: an
    erased owner's old cookie, or a copy of one kept past logout, is refused like no cookie.
    Every member request asks this, so it is one plain statement (db.fetch)."""
    rows = await db.fetch(_MEMBER_SESSION_SQL, member_id)
    if not rows or rows[0]["erased_at"] is not None:
        raise NotAuthenticated(_("This membership no longer exists; please log in again."))
    if _ended_before(rows[0]["sessions_revoked_at"], issued_at):
        raise NotAuthenticated(LOGGED_OUT)


_MEMBER_SESSION_SQL = "SELECT erased_at, sessions_revoked_at FROM member WHERE id = {}"


def _ended_before(revoked_at: datetime | str | None, issued_at: float | None) -> bool:
    """Was a session issued at `issued_at` ended by a logout at `revoked_at`? (SQLite gives
    timestamps back as text through raw statements.)"""
    if revoked_at is None or issued_at is None:
        return False
    if isinstance(revoked_at, str):
        revoked_at = datetime.fromisoformat(revoked_at)
    return issued_at < revoked_at.timestamp()


async def end_member_sessions(member_id: int) -> None:
    """Logging out: every session of the member issued until now stops working, wherever its
    cookie is (another phone, a copy)."""
    await Member.update({Member.sessions_revoked_at: clock.now()}).where(Member.id == member_id)


async def end_staff_sessions(staff_id: int) -> None:
    """Logging out, for staff: every session of the account issued until now stops working."""
    await StaffAccount.update({StaffAccount.sessions_revoked_at: clock.now()}).where(StaffAccount.id == staff_id)


@dataclass(frozen=True)
class StaffIdentity:
    id: int
    username: str
    role: str
    display_name: str
    user_id: int  # Piccolo's BaseUser row behind the account (its password; /admin's user)


async def create_staff(
    username: str, password: str, role: str, display_name: str = "", email: str | None = None,
    *, actor_id: int | None = None,
) -> StaffIdentity:
    """A staff login with one role; /admin shows each role its own tables. Piccolo keeps e-mail
    unique, so a staff member without one gets a placeholder that can never receive mail.
    Audited with the admin who made it (`actor_id`); the command line's `create-staff` has none."""
    if role not in ROLES:
        raise InvalidField(_("role must be one of {choices}", choices=Later(identifiers, ROLES)), field="role")
    if not 10 <= len(password) <= BaseUser._max_password_length:
        raise InvalidField(
            _("the password needs 10 to {most} characters", most=BaseUser._max_password_length), field="password"
        )
    if await BaseUser.exists().where(BaseUser.username == username):
        raise InvalidField(_("a staff member called '{username}' already exists", username=username), field="username")
    async with db.transaction():
        if await BaseUser.exists().where(BaseUser.username == username):  # a second click that raced the first
            raise InvalidField(_("a staff member called '{username}' already exists", username=username), field="username")
        user = BaseUser(
            username=username,
            password=password,
            email=email or f"{username}@staff.invalid",
            active=True,
            admin=True,  # may log in to /admin, where the role decides what is shown
            superuser=role == "admin",
        )
        await user.save()
        account = StaffAccount(user=user.id, role=role, display_name=display_name or username)
        await account.save()
        if actor_id is not None:  # an admin's act on the staff page (the command line is the server's operator)
            await audit.record(
                action="staff.create", subject_kind="staff_account", subject_id=account.id, actor_id=actor_id,
                data={"username": username, "role": role},
            )
    return StaffIdentity(id=account.id, username=username, role=role, display_name=account.display_name, user_id=user.id)


async def staff_login(
    username: str, password: str, settings: Settings | None = None, *, client_address: str
) -> StaffIdentity:
    """Check a staff password (Piccolo's hashing) and return who it is. Wrong passwords are
    counted per username and client address: after `staff_login_max_failures` within
    `staff_login_window_minutes` that address is refused (429), right password or not, while
    the staff member at another address still logs in; so a stranger can lock only themselves
    out. Per username from any address, `staff_login_username_max_failures` within
    `staff_login_username_window_minutes` refuse the username everywhere, so guessing from many
    addresses is bounded too. Unknown usernames count alike (no hint that they exist)."""
    settings = settings or Settings()  # the defaults, for callers without the app's settings
    address = client_address[:45]
    now = clock.now()
    failures = StaffLoginFailure.username == username
    await _refuse_when_locked(
        failures, settings.staff_login_username_max_failures, settings.staff_login_username_window_minutes, now,
        _n(
            "{count} wrong password for this login from any address in the last {minutes} minutes.",
            "{count} wrong passwords for this login from any address in the last {minutes} minutes.",
            settings.staff_login_username_max_failures, minutes=settings.staff_login_username_window_minutes,
        ),
    )
    here = failures & (StaffLoginFailure.client_address == address)
    await _refuse_when_locked(
        here, settings.staff_login_max_failures, settings.staff_login_window_minutes, now,
        _n(
            "{count} wrong password for this login from your address in the last {minutes} minutes.",
            "{count} wrong passwords for this login from your address in the last {minutes} minutes.",
            settings.staff_login_max_failures, minutes=settings.staff_login_window_minutes,
        ),
    )
    user_id = await BaseUser.login(username=username, password=password)
    if user_id is None:
        await StaffLoginFailure.insert(StaffLoginFailure(username=username, client_address=address, created_at=now))
        raise StaffLoginFailed()
    # Only this address's failures: a guesser elsewhere stays locked, and the username's
    # ceiling keeps counting what it has seen.
    await StaffLoginFailure.delete().where(here)
    account = await StaffAccount.select(StaffAccount.id).where(
        (StaffAccount.user == user_id) & (StaffAccount.active == True)  # noqa: E712 - Piccolo expression
    ).first()
    if account is None:
        raise StaffLoginFailed(_("This login has no active staff account."))
    return await get_staff(account["id"])


async def _refuse_when_locked(failures: Any, most: int, minutes: int, now: datetime, detail: Message) -> None:
    """Raise StaffLoginLocked while `most` of `failures` lie within the last `minutes`, until the
    oldest of them leaves the window."""
    window = timedelta(minutes=minutes)
    recent = await StaffLoginFailure.select(StaffLoginFailure.created_at).where(
        failures & (StaffLoginFailure.created_at > now - window)
    ).order_by(StaffLoginFailure.created_at).limit(most)
    if len(recent) >= most:
        retry_after = max(1, int((recent[0]["created_at"] + window - now).total_seconds()) + 1)
        raise StaffLoginLocked(detail, retry_after=retry_after)


async def get_staff(staff_id: int, *, issued_at: float | None = None) -> StaffIdentity:
    """The staff member behind a session; an account switched off since login is refused, and
    so is a session (`issued_at`) from before the account last logged out. Every staff request
    (each door scan) asks this, so it is one plain statement (db.fetch)."""
    rows = await db.fetch(_STAFF_SQL, staff_id)
    if not rows:
        raise NotAuthenticated(_("This staff account is no longer active."))
    row = rows[0]
    if _ended_before(row["sessions_revoked_at"], issued_at):
        raise NotAuthenticated(LOGGED_OUT)
    return StaffIdentity(
        id=row["id"], username=row["username"], role=row["role"], display_name=row["display_name"], user_id=row["user_id"]
    )


_STAFF_SQL = (
    'SELECT s.id, u.username, s.role, s.display_name, s.sessions_revoked_at, u.id AS user_id FROM staff_account s '
    'JOIN piccolo_user u ON u.id = s."user" WHERE s.id = {} AND s.active AND u.active'
)


# --- staff accounts, as admins manage them (the staff page's "Staff accounts") ------------------


class LastAdmin(DomainError):
    """The change would leave no active administrator: nobody could manage staff any more.
    Make another account an administrator first."""

    type = "last-admin"
    status = 409
    title = _("The club needs at least one active administrator")


# A one-time password an admin reads out or hands over: no 0/o, 1/l/i to misread.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


def one_time_password() -> str:
    """A fresh password of 14 characters in three groups (`k7qm-x2fp-9hta`), about 74 bits."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(3))


def _checked_password(password: str) -> str:
    if not 10 <= len(password) <= BaseUser._max_password_length:
        raise InvalidField(
            _("the password needs 10 to {most} characters", most=BaseUser._max_password_length), field="password"
        )
    return password


def _checked_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidField(_("role must be one of {choices}", choices=Later(identifiers, ROLES)), field="role")
    return role


_ACCOUNT_COLUMNS = (
    StaffAccount.id, StaffAccount.role, StaffAccount.display_name, StaffAccount.active, StaffAccount.created_at,
    StaffAccount.user.id, StaffAccount.user.username, StaffAccount.user.last_login,
)


def _account(row: dict[str, Any]) -> dict[str, Any]:
    last_login = row["user.last_login"]
    if isinstance(last_login, datetime) and last_login.tzinfo is None:
        last_login = last_login.astimezone()  # Piccolo writes the server's local time, without a zone
    return {
        "id": row["id"], "username": row["user.username"], "display_name": row["display_name"], "role": row["role"],
        "active": bool(row["active"]), "last_login": last_login, "created_at": row["created_at"],
    }


async def list_staff() -> list[dict[str, Any]]:
    """Every staff account, active ones first, then by username: what an admin manages."""
    rows = await StaffAccount.select(*_ACCOUNT_COLUMNS).order_by(StaffAccount.active, ascending=False).order_by(
        StaffAccount.user.username
    )
    return [_account(row) for row in rows]


async def get_account(staff_id: int) -> dict[str, Any]:
    row = await StaffAccount.select(*_ACCOUNT_COLUMNS).where(StaffAccount.id == staff_id).first()
    if row is None:
        raise NotFound(_("There is no staff account {id}.", id=staff_id))
    return _account(row)


async def add_staff_account(
    username: str, display_name: str, role: str, password: str | None, *, actor_id: int
) -> tuple[dict[str, Any], str | None]:
    """An admin adds a staff member, with the password the admin chose or, with none, a one-time
    password made here: it is returned this once and only its hash is kept."""
    made = one_time_password() if password is None else None
    created = await create_staff(
        username.strip(), _checked_password(password if password is not None else str(made)), _checked_role(role),
        display_name=display_name.strip(), actor_id=actor_id,
    )
    return await get_account(created.id), made


async def _keep_an_admin(staff_id: int) -> None:
    """Inside the transaction that would take `staff_id` out of the administrators: refuse
    when no other active administrator stays. Two admins demoting each other at once take
    turns on one lock, so the second sees the first's change and is refused."""
    await db.serialise_on("staff-admins")
    others = await StaffAccount.count().where(
        (StaffAccount.role == "admin") & (StaffAccount.active == True)  # noqa: E712 - Piccolo expression
        & (StaffAccount.user.active == True) & (StaffAccount.id != staff_id)  # noqa: E712
    )
    if not others:
        raise LastAdmin(_(
            "This is the last active administrator account: make another account an administrator first, so "
            "that someone can still manage staff."
        ))


async def _locked_account(staff_id: int) -> dict[str, Any]:
    row = await StaffAccount.select(StaffAccount.id, StaffAccount.role, StaffAccount.active, StaffAccount.user).where(
        StaffAccount.id == staff_id
    ).first()
    if row is None:
        raise NotFound(_("There is no staff account {id}.", id=staff_id))
    return row


async def change_role(staff_id: int, role: str, *, actor_id: int) -> dict[str, Any]:
    """Give a staff member another role; it holds from their next request, in /staff, the API
    and /admin alike (the role is read on every request). The last active administrator
    cannot be made anything else (LastAdmin). Audited with the role before and after."""
    _checked_role(role)
    async with db.transaction():
        account = await _locked_account(staff_id)
        if account["role"] == role:
            return await get_account(staff_id)
        if account["role"] == "admin" and account["active"]:
            await _keep_an_admin(staff_id)
        await StaffAccount.update({StaffAccount.role: role}).where(StaffAccount.id == staff_id)
        # /admin shows superusers every table: only administrators are.
        await BaseUser.update({BaseUser.superuser: role == "admin"}).where(BaseUser.id == account["user"])
        await audit.record(
            action="staff.role", subject_kind="staff_account", subject_id=staff_id, actor_id=actor_id,
            data={"from": account["role"], "to": role},
        )
    return await get_account(staff_id)


async def deactivate_staff(staff_id: int, *, actor_id: int) -> dict[str, Any]:
    """Switch a staff account off: its sessions end at once (every request checks the account),
    and its password no longer logs in. The last active administrator cannot be switched off
    (LastAdmin). Audited. Doing it twice changes nothing more."""
    async with db.transaction():
        account = await _locked_account(staff_id)
        if not account["active"]:
            return await get_account(staff_id)
        if account["role"] == "admin":
            await _keep_an_admin(staff_id)
        await StaffAccount.update({StaffAccount.active: False, StaffAccount.sessions_revoked_at: clock.now()}).where(
            StaffAccount.id == staff_id
        )
        await audit.record(action="staff.deactivate", subject_kind="staff_account", subject_id=staff_id, actor_id=actor_id)
    return await get_account(staff_id)


async def reset_password(staff_id: int, password: str | None, *, actor_id: int) -> tuple[dict[str, Any], str | None]:
    """Give a staff member a new password (the admin's, or a one-time one made here and returned
    this once); their sessions end, so whoever held the old password is out. Audited (never the
    password)."""
    made = one_time_password() if password is None else None
    chosen = _checked_password(password if password is not None else str(made))
    async with db.transaction():
        account = await _locked_account(staff_id)
        await BaseUser.update_password(account["user"], chosen)
        await StaffAccount.update({StaffAccount.sessions_revoked_at: clock.now()}).where(StaffAccount.id == staff_id)
        await audit.record(action="staff.password_reset", subject_kind="staff_account", subject_id=staff_id, actor_id=actor_id)
    return await get_account(staff_id), made


async def staff_names(staff_ids: set[int]) -> dict[int, str]:
    """The names staff pages show for these accounts (display name, else username)."""
    if not staff_ids:
        return {}
    rows = await StaffAccount.select(StaffAccount.id, StaffAccount.display_name, StaffAccount.user.username).where(
        StaffAccount.id.is_in(list(staff_ids))
    )
    return {row["id"]: row["display_name"] or row["user.username"] for row in rows}
