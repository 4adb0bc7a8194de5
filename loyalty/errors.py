"""Domain errors: what services raise. The one error mapper in `loyalty.problems` turns them
into RFC 9457 problem details; each subclass has a stable `type` slug clients can branch on,
and a title in Chinese and English because owners and staff read them."""

from __future__ import annotations

from typing import Any, ClassVar

from loyalty.i18n import Message, _, translate


class DomainError(Exception):
    """`title` and `detail` are catalogue messages, rendered in the reader's locale by the
    mapper; a plain-text `detail` is for names and identifiers only (it is shown as it is)."""

    type: ClassVar[str] = "domain-error"
    status: ClassVar[int] = 400
    title: ClassVar[Message] = _("The request breaks a rule")

    def __init__(
        self, detail: Message | str | None = None, *, field: str | None = None, source: str | None = None,
        headers: dict[str, str] | None = None, **extra: Any,
    ) -> None:
        self.detail: Message | str = detail or self.title
        super().__init__(str(self.detail))
        self.field = field
        self.source = source  # where `field` was sent: body, query, path, header or cookie
        self.headers = headers or {}  # e.g. RateLimit-* on a 429
        self.extra = extra

    def title_in(self, locale: str) -> str:
        return translate(self.title, locale)

    def detail_in(self, locale: str) -> str:
        return translate(self.detail, locale)


class MalformedField(DomainError):
    """A value not written as its field's syntax says (a month that is not `YYYY-MM`, a month
    13): the same 400 `validation-error` Litestar's own checks give a date that is not
    `YYYY-MM-DD`. A well-formed value a rule refuses is `InvalidField`, a 422."""

    type = "validation-error"
    status = 400
    title = _("A field failed validation")


class InvalidField(DomainError):
    """A value the schema accepts but the rules do not (a phone number that is not a number)."""

    type = "invalid-field"
    status = 422
    title = _("A field has an invalid value")


class BodyTooDeep(DomainError):
    """A JSON body nested deeper than any of ours (`loyalty.json_bodies`): refused before decoding."""

    type = "body-too-deep"
    status = 400
    title = _("The JSON body is nested too deeply")


class NotFound(DomainError):
    type = "not-found"
    status = 404
    title = _("Not found")


class NotAuthenticated(DomainError):
    type = "not-authenticated"
    status = 401
    title = _("Please log in")


class Forbidden(DomainError):
    type = "forbidden"
    status = 403
    title = _("Your role does not allow this")


class LoginCodeInvalid(DomainError):
    type = "login-code-invalid"
    status = 401
    title = _("The login code is wrong")


class LoginCodeExpired(DomainError):
    type = "login-code-expired"
    status = 401
    title = _("The login code has expired; ask for a new one")


class RetryLater(DomainError):
    """A 429 that says when to try again (`Retry-After`, in seconds)."""

    status = 429

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class TooManyAttempts(RetryLater):
    type = "too-many-attempts"
    title = _("Too many attempts; wait and ask for a new code")


class LoginCodesFromAddressLimited(RetryLater):
    """One address asking codes for many phones (`LOYALTY_LOGIN_CODES_PER_ADDRESS`)."""

    type = "login-codes-limited"
    title = _("Too many login codes requested from your network; wait and try again")


class BadPartnerKeysLimited(RetryLater):
    """One address calling the partner API with keys that do not authenticate
    (`LOYALTY_PARTNER_BAD_KEY_LIMIT`)."""

    type = "bad-keys-limited"
    title = _("Too many calls without a valid API key from this address")


class StaffLoginFailed(DomainError):
    type = "staff-login-failed"
    status = 401
    title = _("Wrong username or password")


class StaffLoginLocked(RetryLater):
    type = "staff-login-locked"
    title = _("Too many wrong passwords; wait before trying again")


class ImportRejected(DomainError):
    """A file with bad rows: nothing was imported. `errors` lists row, column and reason."""

    type = "import-rejected"
    status = 422
    title = _("The file has invalid rows; nothing was imported")


class UploadTooLarge(DomainError):
    """An uploaded file over its size limit (or an .xlsx that would unpack to more than the
    limit: a zip bomb). Refused before anything is parsed; `field` names the form field."""

    type = "upload-too-large"
    status = 413
    title = _("The file is too large")


class TooManyRows(DomainError):
    """An owner file with more rows than one upload may carry (split it, or use the command)."""

    type = "too-many-rows"
    status = 422
    title = _("The file has too many rows")


class CellTooLong(DomainError):
    """A cell longer than any owner-file value can be: refused before it is read into memory."""

    type = "cell-too-long"
    status = 422
    title = _("A cell of the file is too long")


class NotMigrated(RuntimeError):
    """The database schema is behind the code. Not a DomainError: it stops start-up."""

    def __init__(self, pending: list[str]) -> None:
        super().__init__(
            f"The database is not migrated ({len(pending)} pending: {', '.join(pending[:3])}"
            f"{'…' if len(pending) > 3 else ''}). Run `loyalty migrate` first."
        )
        self.pending = pending
