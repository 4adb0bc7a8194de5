"""Words an owner or staff member reads, in zh-CN and en, keyed by the glossary's code words."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "stage.prospect": {"zh-CN": "潜在客户", "en": "Prospect"},
    "stage.pre_owner": {"zh-CN": "准业主", "en": "Pre-owner"},
    "stage.settling": {"zh-CN": "磨合期业主", "en": "Settling-in owner"},
    "stage.stable": {"zh-CN": "稳定期业主", "en": "Established owner"},
    "stage.veteran": {"zh-CN": "老业主", "en": "Veteran owner"},
    "gender.female": {"zh-CN": "女", "en": "Female"},
    "gender.male": {"zh-CN": "男", "en": "Male"},
    "gender.unknown": {"zh-CN": "未知", "en": "Unknown"},
    "login_code.sms": {
        "zh-CN": "【业主俱乐部】您的登录验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。",
        "en": "[Owner Club] Your login code is {code}. It expires in {minutes} minutes. Do not share it.",
    },
}


def label(key: str, language: str, **values: object) -> str:
    texts = LABELS[key]
    text = texts.get(language) or texts["zh-CN"]
    return text.format(**values) if values else text


def pick_language(accept_language: str | None, default: str = "zh-CN") -> str:
    """zh-CN or en from an Accept-Language header; anything Chinese is zh-CN."""
    if not accept_language:
        return default
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default
