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
    "event_kind.club_activity": {"zh-CN": "俱乐部活动", "en": "Club activity"},
    "event_kind.owner_meetup": {"zh-CN": "业主见面会", "en": "Owner meetup"},
    "event_kind.festival_gathering": {"zh-CN": "节日联欢", "en": "Festival gathering"},
    "event_kind.site_open_day": {"zh-CN": "工地开放日", "en": "Site open day"},
    "event_kind.decoration_seminar": {"zh-CN": "装修讲座", "en": "Decoration seminar"},
    "event_kind.other": {"zh-CN": "其他活动", "en": "Other"},
    "why_not.tier": {"zh-CN": "本活动仅限{tiers}会员", "en": "Only for {tiers} members"},
    "why_not.stage": {"zh-CN": "本活动仅限{stages}", "en": "Only for: {stages}"},
    "why_not.project": {"zh-CN": "本活动仅限{projects}业主", "en": "Only for owners at {projects}"},
    "why_not.not_open_yet": {"zh-CN": "报名将于 {at} 开始", "en": "Sign-up opens at {at}"},
    "why_not.closed": {"zh-CN": "报名已于 {at} 截止", "en": "Sign-up closed at {at}"},
    "why_not.full": {"zh-CN": "名额已满，可加入候补", "en": "Full: you can join the waitlist"},
    "event_full.none": {"zh-CN": "名额已满（共 {capacity} 个），可加入候补", "en": "No seats left (of {capacity}): you can join the waitlist"},
    "event_full.party": {
        "zh-CN": "仅剩 {left} 个名额，不够 {party} 人报名，可加入候补",
        "en": "Only {left} seat(s) left, not enough for a party of {party}: you can join the waitlist",
    },
    "why_not.already": {"zh-CN": "您已报名", "en": "You have signed up"},
    "why_not.payments": {"zh-CN": "暂不支持在线支付，请联系客服报名", "en": "Online payment is not available; ask customer service"},
    "why_not.cancelled": {"zh-CN": "活动已取消", "en": "The event is cancelled"},
    "notice.promoted": {
        "zh-CN": "【业主俱乐部】候补成功！您已获得「{title}」的名额（{at}）。",
        "en": "[Owner Club] Good news: a place at '{title}' ({at}) is yours.",
    },
    "notice.promoted_pay": {
        "zh-CN": "【业主俱乐部】候补成功！「{title}」的名额为您保留 {minutes} 分钟，请尽快完成支付。",
        "en": "[Owner Club] A place at '{title}' is held for you for {minutes} minutes: please pay to confirm it.",
    },
    "signup_status.pending_payment": {"zh-CN": "待支付（名额保留中）", "en": "Awaiting payment (seat held)"},
    # A promoted seat whose payment is not ready yet (Stripe or the job queue was down).
    "signup_status.payment_preparing": {
        "zh-CN": "支付准备中（名额为您保留，可支付时开始计时）",
        "en": "Preparing your payment (your seat is kept; the time to pay starts once it is ready)",
    },
    "signup_status.confirmed": {"zh-CN": "报名成功", "en": "Confirmed"},
    "signup_status.waitlisted": {"zh-CN": "候补中", "en": "On the waitlist"},
    "signup_status.cancelled": {"zh-CN": "已取消", "en": "Cancelled"},
    "signup_status.attended": {"zh-CN": "已签到", "en": "Attended"},
    "signup_status.no_show": {"zh-CN": "未到场", "en": "Did not come"},
    "checkin.checked_in": {"zh-CN": "签到成功", "en": "Checked in"},
    "checkin.already_checked_in": {"zh-CN": "已签到过", "en": "Already checked in"},
    "checkin.not_signed_up": {"zh-CN": "未报名本活动", "en": "Not signed up"},
    "checkin.wrong_event": {"zh-CN": "不是本场活动的票", "en": "Ticket for another event"},
    "checkin.cancelled": {"zh-CN": "报名已取消", "en": "Signup cancelled"},
    "checkin.not_open_yet": {"zh-CN": "尚未开始签到", "en": "Check-in not open yet"},
    "care.birthday.subject": {"zh-CN": "生日快乐", "en": "Happy birthday"},
    "care.birthday": {
        "zh-CN": "【业主俱乐部】{name}，祝您生日快乐！感谢您一直以来的信任与支持。",
        "en": "[Owner Club] Happy birthday, {name}! Thank you for being with us.",
    },
    "care.holiday.subject": {"zh-CN": "{holiday}快乐", "en": "Happy {holiday}"},
    "care.holiday": {
        "zh-CN": "【业主俱乐部】{name}，{holiday}快乐！祝您和家人幸福安康。",
        "en": "[Owner Club] Happy {holiday}, {name}! Best wishes to you and your family.",
    },
    "care.warranty.subject": {"zh-CN": "房屋保修期即将到期提醒", "en": "Your home's warranty ends soon"},
    "care.warranty": {
        "zh-CN": "【业主俱乐部】您的房屋 {unit} 保修期将于 {date} 到期。如有需要维修的问题，请在到期前提交报修。",
        "en": "[Owner Club] The warranty of your home {unit} ends on {date}. Please report anything that needs repair before then.",
    },
    "care.reminder.subject": {"zh-CN": "活动提醒", "en": "Event reminder"},
    "care.reminder": {
        "zh-CN": "【业主俱乐部】提醒：您报名的「{title}」将于 {at} 在{venue}举行，请携带电子票准时到场。",
        "en": "[Owner Club] Reminder: '{title}' is at {at}, {venue}. Bring your ticket.",
    },
    "care.case.subject": {"zh-CN": "您的反馈有新进展", "en": "News about your feedback"},
    "care.case.reply": {
        "zh-CN": "【业主俱乐部】您的反馈「{title}」有了新的回复，请登录查看。",
        "en": "[Owner Club] There is a reply to your feedback '{title}'. Log in to read it.",
    },
    "care.case.resolved": {
        "zh-CN": "【业主俱乐部】您的反馈「{title}」已处理完毕：{result}",
        "en": "[Owner Club] Your feedback '{title}' is resolved: {result}",
    },
    "care.survey.subject": {"zh-CN": "满意度调查", "en": "How did we do?"},
    "care.survey.event": {
        "zh-CN": "【业主俱乐部】感谢参加「{title}」！请花一分钟为本次活动打分。",
        "en": "[Owner Club] Thank you for coming to '{title}'! Please rate it (one minute).",
    },
    "care.survey.case": {
        "zh-CN": "【业主俱乐部】您的反馈「{title}」已处理，请对我们的服务打分。",
        "en": "[Owner Club] Your feedback '{title}' is resolved. Please rate how we handled it.",
    },
    "care.survey.yearly": {
        "zh-CN": "【业主俱乐部】{year} 年度业主满意度调查开始了，期待您的宝贵意见。",
        "en": "[Owner Club] Our {year} owner satisfaction survey is open. We value your opinion.",
    },
    "case_kind.complaint": {"zh-CN": "投诉", "en": "Complaint"},
    "case_kind.suggestion": {"zh-CN": "建议", "en": "Suggestion"},
    "case_kind.repair": {"zh-CN": "报修", "en": "Repair request"},
    "case_kind.inquiry": {"zh-CN": "咨询", "en": "Inquiry"},
    "case_status.open": {"zh-CN": "待回复", "en": "Waiting for a reply"},
    "case_status.in_progress": {"zh-CN": "处理中", "en": "In progress"},
    "case_status.resolved": {"zh-CN": "已处理", "en": "Resolved"},
    "case_status.followed_up": {"zh-CN": "已回访", "en": "Followed up"},
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
