"""Domain errors: what services raise. The one error mapper in `loyalty.problems` turns them
into RFC 9457 problem details; each subclass has a stable `type` slug clients can branch on,
and a title in Chinese and English because owners and staff read them."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    type: ClassVar[str] = "domain-error"
    status: ClassVar[int] = 400
    title_en: ClassVar[str] = "The request breaks a rule"
    title_zh: ClassVar[str] = "请求不符合规则"

    def __init__(
        self, detail: str | None = None, *, field: str | None = None, source: str | None = None,
        headers: dict[str, str] | None = None, **extra: Any,
    ) -> None:
        super().__init__(detail or self.title_en)
        self.detail = detail or self.title_en
        self.field = field
        self.source = source  # where `field` was sent: body, query, path, header or cookie
        self.headers = headers or {}  # e.g. RateLimit-* on a 429
        self.extra = extra

    def title(self, language: str) -> str:
        return self.title_zh if language.startswith("zh") else self.title_en


class MalformedField(DomainError):
    """A value not written as its field's syntax says (a month that is not `YYYY-MM`, a month
    13): the same 400 `validation-error` Litestar's own checks give a date that is not
    `YYYY-MM-DD`. A well-formed value a rule refuses is `InvalidField`, a 422."""

    type = "validation-error"
    status = 400
    title_en = "A field failed validation"
    title_zh = "请求字段校验失败"


class InvalidField(DomainError):
    """A value the schema accepts but the rules do not (a phone number that is not a number)."""

    type = "invalid-field"
    status = 422
    title_en = "A field has an invalid value"
    title_zh = "字段取值无效"


class BodyTooDeep(DomainError):
    """A JSON body nested deeper than any of ours (`loyalty.json_bodies`): refused before decoding."""

    type = "body-too-deep"
    status = 400
    title_en = "The JSON body is nested too deeply"
    title_zh = "JSON 请求内容嵌套层级过深"


class NotFound(DomainError):
    type = "not-found"
    status = 404
    title_en = "Not found"
    title_zh = "未找到"


class NotAuthenticated(DomainError):
    type = "not-authenticated"
    status = 401
    title_en = "Please log in"
    title_zh = "请先登录"


class Forbidden(DomainError):
    type = "forbidden"
    status = 403
    title_en = "Your role does not allow this"
    title_zh = "您的角色无权执行此操作"


class LoginCodeInvalid(DomainError):
    type = "login-code-invalid"
    status = 401
    title_en = "The login code is wrong"
    title_zh = "验证码错误"


class LoginCodeExpired(DomainError):
    type = "login-code-expired"
    status = 401
    title_en = "The login code has expired; ask for a new one"
    title_zh = "验证码已过期，请重新获取"


class RetryLater(DomainError):
    """A 429 that says when to try again (`Retry-After`, in seconds)."""

    status = 429

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class TooManyAttempts(RetryLater):
    type = "too-many-attempts"
    title_en = "Too many attempts; wait and ask for a new code"
    title_zh = "尝试次数过多，请稍后重新获取验证码"


class LoginCodesFromAddressLimited(RetryLater):
    """One address asking codes for many phones (`LOYALTY_LOGIN_CODES_PER_ADDRESS`)."""

    type = "login-codes-limited"
    title_en = "Too many login codes requested from your network; wait and try again"
    title_zh = "您所在网络请求验证码过于频繁，请稍后再试"


class BadPartnerKeysLimited(RetryLater):
    """One address calling the partner API with keys that do not authenticate
    (`LOYALTY_PARTNER_BAD_KEY_LIMIT`)."""

    type = "bad-keys-limited"
    title_en = "Too many calls without a valid API key from this address"
    title_zh = "来自此地址的无效 API 密钥请求过多"


class StaffLoginFailed(DomainError):
    type = "staff-login-failed"
    status = 401
    title_en = "Wrong username or password"
    title_zh = "用户名或密码错误"


class StaffLoginLocked(RetryLater):
    type = "staff-login-locked"
    title_en = "Too many wrong passwords; wait before trying again"
    title_zh = "密码错误次数过多，请稍后再试"


class ImportRejected(DomainError):
    """A file with bad rows: nothing was imported. `errors` lists row, column and reason."""

    type = "import-rejected"
    status = 422
    title_en = "The file has invalid rows; nothing was imported"
    title_zh = "文件中有无效行，未导入任何数据"


class UploadTooLarge(DomainError):
    """An uploaded file over its size limit (or an .xlsx that would unpack to more than the
    limit: a zip bomb). Refused before anything is parsed; `field` names the form field."""

    type = "upload-too-large"
    status = 413
    title_en = "The file is too large"
    title_zh = "文件过大"


class TooManyRows(DomainError):
    """An owner file with more rows than one upload may carry (split it, or use the command)."""

    type = "too-many-rows"
    status = 422
    title_en = "The file has too many rows"
    title_zh = "文件行数过多"


class CellTooLong(DomainError):
    """A cell longer than any owner-file value can be: refused before it is read into memory."""

    type = "cell-too-long"
    status = 422
    title_en = "A cell of the file is too long"
    title_zh = "文件中有单元格内容过长"


class NotMigrated(RuntimeError):
    """The database schema is behind the code. Not a DomainError: it stops start-up."""

    def __init__(self, pending: list[str]) -> None:
        super().__init__(
            f"The database is not migrated ({len(pending)} pending: {', '.join(pending[:3])}"
            f"{'…' if len(pending) > 3 else ''}). Run `loyalty migrate` first."
        )
        self.pending = pending
