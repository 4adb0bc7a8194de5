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
    "tier.platinum": {"zh-CN": "铂金卡", "en": "Platinum"},
    "tier.gold": {"zh-CN": "金卡", "en": "Gold"},
    "tier.silver": {"zh-CN": "银卡", "en": "Silver"},
    "tier.blue": {"zh-CN": "蓝卡", "en": "Blue"},
    "criterion.units_owned": {"zh-CN": "名下房产至少 {need} 套", "en": "owns at least {need} {homes}"},
    "criterion.delivered_units": {"zh-CN": "已交付房产至少 {need} 套", "en": "at least {need} {homes} delivered"},
    "criterion.contract_value_fen": {"zh-CN": "累计购房总额至少 {need}", "en": "total purchases of at least {need}"},
    "criterion.stage": {"zh-CN": "业主阶段达到「{need}」", "en": "owner stage reaches '{need}'"},
    "criterion.signed_referrals": {
        "zh-CN": "近 {months} 个月成功推荐至少 {need} 位新业主签约",
        "en": "at least {need} signed referral(s) in the last {months} months",
    },
    "why.rule": {"zh-CN": "您是{tier}，因为{rule}（您：{have}）。", "en": "You are {tier} because you meet: {rule} (you: {have})."},
    "why.assignment": {
        "zh-CN": "您是{tier}，由工作人员授予：{reason}（有效期至 {ends_on}）。",
        "en": "You are {tier}, assigned by staff: {reason} (until {ends_on}).",
    },
    "why.kept": {
        "zh-CN": "您保持{tier}至年度复核（{review_on}）。",
        "en": "You keep {tier} until the yearly review ({review_on}).",
    },
    "points.expiring": {
        "zh-CN": "【业主俱乐部】您有 {points} 积分将于 {date} 到期，请及时使用。",
        "en": "[Owner Club] {points} of your points expire on {date}. Use them before then.",
    },
    "login_code.sms": {
        "zh-CN": "【业主俱乐部】您的登录验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。",
        "en": "[Owner Club] Your login code is {code}. It expires in {minutes} minutes. Do not share it.",
    },
}


def label(key: str, language: str, **values: object) -> str:
    texts = LABELS[key]
    text = texts.get(language) or texts["zh-CN"]
    return text.format(**values) if values else text


def cny(fen: int, language: str) -> str:
    """Integer fen → '¥10,000,000' (en) or '1000万元' / '2,300元' (zh-CN), never via float."""
    yuan, cents = divmod(int(fen), 100)
    if language.startswith("zh"):
        if yuan >= 10_000 and yuan % 10_000 == 0 and not cents:
            return f"{yuan // 10_000}万元"
        return f"{yuan:,}{'.%02d' % cents if cents else ''}元"
    return f"¥{yuan:,}{'.%02d' % cents if cents else ''}"


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
