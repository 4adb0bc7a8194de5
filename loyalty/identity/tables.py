from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from piccolo.columns.base import OnDelete

from loyalty.i18n import Message
from loyalty.members.tables import Member
from loyalty.i18n.enums import ENUMS

ROLES = ("admin", "sales", "event_staff", "service")


def role_words(role: str) -> Message | str:
    """A staff role in words ("Sales" / "销售"), rendered in the reader's locale."""
    return ENUMS["staff_role"].get(role, role)


class LoginCode(Table):
    """A one-time login code sent to a phone. Only its HMAC is stored; `attempts` counts
    wrong guesses so a code dies after a few, whatever process the guesses hit."""

    phone = Varchar(length=20, index=True)
    code_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    expires_at = Timestamptz()
    attempts = Integer(default=0)
    used_at = Timestamptz(null=True, default=None)


class StaffLoginFailure(Table):
    """One wrong staff password (or unknown username), and the address it came from. Counted per
    username and address over a short window, and per username over a longer one, so password
    guessing is limited whatever process the guesses hit (identity.service.staff_login)."""

    username = Varchar(length=150, index=True)
    client_address = Varchar(length=45, default="")  # IPv6 at most 45 characters
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class StaffAccount(Table):
    """A staff member: Piccolo's BaseUser (password hashing, piccolo-admin login) plus a role."""

    user = ForeignKey(references=BaseUser, null=False, unique=True)
    role = Varchar(length=16)
    display_name = Varchar(length=100, default="")
    active = Boolean(default=True)
    # Logging out ends every session issued before this moment (sessions live in the cookie).
    sessions_revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class WechatBinding(Table):
    """An owner's WeChat identity (the Official Account's openid for them), bound once the owner
    proved their phone with a code after a WeChat login; from then on WeChat logs them in."""

    member = ForeignKey(references=Member, null=False, unique=True, on_delete=OnDelete.cascade)
    openid = Varchar(length=64, unique=True)
    bound_at = Timestamptz(default=TimestamptzNow())
