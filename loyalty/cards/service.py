"""Rules about cards: issue, suspend, reissue, tiers and their explanation, signed codes."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Mapping, Sequence

from stdnum import luhn

from loyalty.i18n.format import Later, identifiers
from loyalty.i18n import _
from loyalty.i18n.enums import ENUMS
from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.cards import codes, tiers
from loyalty.cards.image import CardFace
from loyalty.cards.numbers import mask_card_number, new_card_number
from loyalty.cards.schemas import CardView, CriterionProgress, DynamicCode, TierProgress, TierRulePreview, VerifiedCard
from loyalty.cards.schemas import TierMoves as TierMovesView
from loyalty.cards.tables import CRITERION_KINDS, TIER_RANK, TIERS, Card, TierAssignment, TierChange, TierCriterion, TypedCode
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.labels import cny, label
from loyalty.members import service as members
from loyalty.members.stages import STAGES
from loyalty.settings import Settings


class NoCard(NotFound):
    type = "no-card"
    title = _("No membership card: cards come with a signed contract")


class CardReplaced(DomainError):
    type = "card-replaced"
    status = 422
    title = _("This card was replaced; use the new card")


class CardSuspended(DomainError):
    type = "card-suspended"
    status = 422
    title = _("This card is suspended")


@lru_cache(maxsize=8)
def _signer(secret: str, keys: str | None) -> codes.CodeSigner:
    return codes.CodeSigner.from_setting(keys) if keys else codes.CodeSigner.from_secret(secret)


def signer_for(settings: Settings) -> codes.CodeSigner:
    """The code signer for these settings (built once per key set)."""
    return _signer(settings.secret_key or "", settings.signing_keys)


# --- issuing -------------------------------------------------------------------------------

_MEMBERS_WITHOUT_CARD = """
SELECT DISTINCT ownership.member AS member_id FROM ownership
WHERE ownership.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM card WHERE card.member = ownership.member AND card.status <> 'replaced')
"""


async def issue_missing_cards(member_ids: Sequence[int] | None = None, today: date | None = None) -> list[int]:
    """Give every member with a signed contract and no current card a card, with the tier
    the rules give at once. Runs inside the caller's transaction (e.g. the owner import)."""
    today = today or clock.today()
    sql = _MEMBERS_WITHOUT_CARD
    args: list[Any] = []
    if member_ids is not None:
        if not member_ids:
            return []
        sql += " AND ownership.member IN (" + ", ".join("{}" for _ in member_ids) + ")"
        args = list(member_ids)
    needing = [row["member_id"] for row in await Card.raw(sql, *args)]
    if not needing:
        return []
    now = clock.now()
    async with db.transaction():
        for start in range(0, len(needing), 1000):
            await Card.insert(
                *[
                    Card(member=member_id, number=new_card_number(), tier="blue", tier_since=now, issued_at=now)
                    for member_id in needing[start : start + 1000]
                ]
            )
        await TierChange.insert(
            *[TierChange(member=member_id, from_tier="", to_tier="blue", cause="issue", changed_at=now) for member_id in needing]
        )
        await tiers.evaluate("upgrade", today=today, member_ids=needing, cause="issue")
    return needing


async def on_contracts_changed(member_ids: Sequence[int], today: date | None = None) -> None:
    """A contract appeared or changed (import, staff entry): cards for whoever now qualifies,
    and tiers raised at once where the new contract earns it."""
    today = today or clock.today()
    await issue_missing_cards(member_ids, today)
    await tiers.evaluate("upgrade", today=today, member_ids=member_ids, cause="upgrade")


async def on_referral_signed(referrer_id: int, today: date | None = None) -> None:
    """A signed referral counts for tiers: the referrer is upgraded at once if it earns it."""
    await tiers.evaluate("upgrade", today=today or clock.today(), member_ids=[referrer_id], cause="upgrade")


async def _current(member_id: int) -> dict[str, Any]:
    card = await Card.select().where((Card.member == member_id) & (Card.status != "replaced")).first()
    if card is None:
        raise NoCard(_("Member {id} has no membership card yet.", id=member_id))
    return card


# --- what the member sees ------------------------------------------------------------------


def _review_date(today: date) -> date:
    return date(today.year + 1, 1, 1)


def _have_text(kind: str, have: int, language: str) -> str:
    if kind == "contract_value_fen":
        return cny(have, language)
    if kind == "stage":
        return label(f"stage.{STAGES[min(max(have, 0), len(STAGES) - 1)]}", language)
    return str(have)


def _rule_text(rule: tiers.Rule, language: str) -> str:
    need: Any = rule.threshold
    if rule.kind == "contract_value_fen":
        need = cny(rule.threshold, language)
    elif rule.kind == "stage":
        need = label(f"stage.{STAGES[min(rule.threshold, len(STAGES) - 1)]}", language)
    return label(f"criterion.{rule.kind}", language, need=need, months=rule.window_months or 24)


async def card_view(member_id: int, language: str = "zh-CN", today: date | None = None) -> CardView:
    """The card with its tier, why the member has it, and what is missing for the next tier."""
    today = today or clock.today()
    card = await _current(member_id)
    rules = await tiers.active_rules()
    measured = await tiers.metrics(member_id, today, rules) or {}
    tier_name = label(f"tier.{card['tier']}", language)
    rule = next((r for r in rules if r.id == card["tier_criterion"]), None)
    assignment = await TierAssignment.select().where(
        (TierAssignment.member == member_id) & TierAssignment.revoked_at.is_null() & (TierAssignment.ends_on >= today)
    ).first()
    if card["tier_reason"] == "assignment" and assignment:
        why = label("why.assignment", language, tier=tier_name, reason=assignment["reason"], ends_on=assignment["ends_on"])
        why_kind = "assignment"
    elif rule is not None and rule.tier == card["tier"] and int(measured.get(rule.metric) or 0) >= rule.threshold:
        have = _have_text(rule.kind, int(measured.get(rule.metric) or 0), language)
        why = label("why.rule", language, tier=tier_name, rule=_rule_text(rule, language), have=have)
        why_kind = rule.kind
    else:
        why = label("why.kept", language, tier=tier_name, review_on=_review_date(today).isoformat())
        why_kind = "kept_until_review"
    next_tier = next((t for t in reversed(TIERS) if TIER_RANK[t] == TIER_RANK[card["tier"]] + 1), None)
    progress = None
    if next_tier is not None:
        progress = TierProgress(
            tier=next_tier,
            tier_label=label(f"tier.{next_tier}", language),
            criteria=[
                CriterionProgress(
                    kind=r.kind,
                    text=_rule_text(r, language),
                    have=int(measured.get(r.metric) or 0),
                    need=r.threshold,
                    met=int(measured.get(r.metric) or 0) >= r.threshold,
                )
                for r in rules
                if r.tier == next_tier
            ],
        )
    return CardView(
        number=mask_card_number(card["number"]),
        status=card["status"],
        tier=card["tier"],
        tier_label=tier_name,
        tier_since=card["tier_since"],
        why=why,
        why_kind=why_kind,
        next_tier=progress,
        issued_at=card["issued_at"],
    )


# --- codes ----------------------------------------------------------------------------------


async def static_code(member_id: int, signer: codes.CodeSigner) -> str:
    """The printed card's code: valid until the card is replaced."""
    card = await _current(member_id)
    return signer.sign("static", card["id"])


async def dynamic_code(member_id: int, signer: codes.CodeSigner, unix_time: float) -> DynamicCode:
    """The phone's code for this minute; the page fetches a new one before `expires_at`. Each
    call makes a new code (a random nonce), so after a code has paid for a sale the owner
    simply refreshes: a paying code is single-use (DESIGN.md). It comes with 18 digits a
    cashier can type instead (`TypedCode`): the same payment, consumed by the same sale."""
    card = await _current(member_id)
    if card["status"] == "suspended":
        # Staff's own words when they gave a reason (shown as written), else ours.
        raise CardSuspended(card["status_reason"] or _("Your card is suspended; please ask customer service."))
    step = codes.current_step(unix_time)
    nonce = secrets.randbits(32)
    valid_until = (step + 1) * codes.STEP_SECONDS
    expires_at = valid_until + codes.SKEW_STEPS * codes.STEP_SECONDS
    digits = await _issue_digits(card["id"], step, nonce, expires_at)
    return DynamicCode(
        code=signer.sign("dynamic", card["id"], step, nonce=nonce),
        digits=digits,
        step_seconds=codes.STEP_SECONDS,
        refresh_after_seconds=max(1, int(valid_until - unix_time)),
        expires_at_unix=expires_at,
    )


# --- typed payment codes ---------------------------------------------------------------------
#
# 18 digits, as payment apps' member codes have: a fixed "66" (a till can tell them from the
# 16-digit card numbers, which start 8860), 15 random digits and a Luhn check digit, so most
# typos are named as typos before any lookup. Guessing: 10^15 numbers against the codes alive
# at once (phones showing the pay screen in the last two minutes; say 10^5 at a busy hour) is
# one chance in 10^10 per guess; at the partner rate limit (600 requests a minute per key,
# LOYALTY_PARTNER_RATE_LIMIT) a key guessing all day long finds a live code with odds of about
# 1 in 10^4, and each guess is a logged request under a merchant's key. The digits carry
# nothing: they are looked up, never decoded.

TYPED_PREFIX = "66"
TYPED_LENGTH = 18
TYPED_KEPT_AFTER_EXPIRY = timedelta(days=1)  # expired digits say "expired", not "unknown", for a day
_NOT_TYPED = re.compile(r"[\s\-]+")


def new_typed_digits() -> str:
    random_part = TYPED_LENGTH - len(TYPED_PREFIX) - 1
    body = TYPED_PREFIX + f"{secrets.randbelow(10**random_part):0{random_part}d}"
    return body + luhn.calc_check_digit(body)


def typed_digits(text: str) -> str | None:
    """The digits of a typed payment code, or None when `text` is not one (a scanned QR).
    Tills send what the cashier typed: spaces and hyphens are dropped, and full-width digits
    from a Chinese input method count as digits."""
    compact = _NOT_TYPED.sub("", unicodedata.normalize("NFKC", text))
    if not compact.isascii() or not compact.isdigit():
        return None
    if len(compact) != TYPED_LENGTH:
        raise codes.CodeMalformed(
            _("a typed payment code has {need} digits; this has {count}", need=TYPED_LENGTH, count=len(compact)), field="code"
        )
    if not compact.startswith(TYPED_PREFIX) or not luhn.is_valid(compact):
        raise codes.CodeMalformed(_("these digits are not a payment code: check them for a typo"), field="code")
    return compact


def code_as_sent(text: str) -> str:
    """What a till's code means, for telling a retry from another request: typed digits as
    their 18 plain digits (spaces, hyphens and full-width digits are how a cashier typed them,
    not another code); anything else (a scanned QR, digits that are no code) unchanged."""
    try:
        return typed_digits(text) or text
    except codes.CodeMalformed:
        return text


async def _issue_digits(card_id: int, step: int, nonce: int, expires_at_unix: int) -> str:
    expires_at = datetime.fromtimestamp(expires_at_unix, timezone.utc)
    for attempt in range(3):
        digits = new_typed_digits()
        try:
            await TypedCode.insert(TypedCode(digits=digits, card=card_id, step=step, nonce=nonce, expires_at=expires_at))
            return digits
        except Exception as error:  # two codes drew the same digits (one in 10^16): draw again
            if attempt == 2 or not db.is_unique_violation(error):
                raise
    raise AssertionError("unreachable")


async def expand_typed_code(text: str, signer: codes.CodeSigner) -> str:
    """A typed payment code → the signed dynamic code it stands for (re-signed from its card,
    step and nonce: the same payment as the QR shown with it); any other text unchanged.
    Unknown digits are CodeNumberUnknown; expiry is judged on the signed code as for a QR."""
    digits = typed_digits(text) if isinstance(text, str) else None
    if digits is None:
        return text
    rows = await db.fetch("SELECT card, step, nonce FROM typed_code WHERE digits = {}", digits)
    if not rows:
        raise codes.CodeNumberUnknown(
            _("No code has the number {digits}; check the digits or ask the owner to refresh the code", digits=digits),
            field="code",
        )
    row = rows[0]
    return signer.sign("dynamic", row["card"], row["step"], nonce=row["nonce"])


async def purge_typed_codes(now: datetime | None = None) -> int:
    """Digits a day past their code's end are forgotten (the nightly job)."""
    cutoff = (now or clock.now()) - TYPED_KEPT_AFTER_EXPIRY
    rows = await TypedCode.delete().where(TypedCode.expires_at < cutoff).returning(TypedCode.id)
    return len(rows)


# Every scan at a till or a door runs this: one plain statement.
_VERIFY_SQL = (
    "SELECT card.id, card.member, card.number, card.tier, card.status, member.name AS member_name "
    "FROM card JOIN member ON member.id = card.member WHERE card.id = {}"
)


def open_card_code(text: str, signer: codes.CodeSigner, unix_time: float) -> tuple[codes.SignedPayload, int | None]:
    """The offline half of a scan: format, signature and, for a dynamic code, freshness.
    Returns the payload and when a dynamic code stops being accepted."""
    payload = signer.open(text)
    if payload.kind not in codes.CARD_CODE_KINDS:
        raise codes.CodeMalformed(_("this is not a membership card code"), field="code")
    return payload, codes.check_fresh(payload, unix_time) if payload.kind == "dynamic" else None


def card_in_force(card: Mapping[str, Any] | None, payload: codes.SignedPayload, expires_at: int | None) -> VerifiedCard:
    """The online half: the card row the code names (id, member, number, tier, status,
    member_name) must exist and be active; a reissued card's codes are dead."""
    if card is None or card["id"] is None:
        raise codes.CodeBadSignature(_("there is no such card"), field="code")
    if card["status"] == "replaced":
        raise CardReplaced(field="code")
    if card["status"] == "suspended":
        raise CardSuspended(field="code")
    return VerifiedCard(
        card_id=card["id"],
        member_id=card["member"],
        member_name=card["member_name"],
        number=card["number"],
        tier=card["tier"],
        kind=payload.kind,
        expires_at_unix=expires_at,
        step=payload.step,
        nonce=payload.nonce,
    )


async def verify_code(text: str, signer: codes.CodeSigner, unix_time: float) -> VerifiedCard:
    """A scanned card code → the card it names, or a typed failure: malformed, bad
    signature, unknown key, expired (dynamic), card replaced, card suspended. Typed digits
    stand for their dynamic code (unknown digits: CodeNumberUnknown)."""
    payload, expires_at = open_card_code(await expand_typed_code(text, signer), signer, unix_time)
    rows = await db.fetch(_VERIFY_SQL, payload.subject_id)
    return card_in_force(rows[0] if rows else None, payload, expires_at)


# --- staff actions (audited) -------------------------------------------------------------


async def suspend_card(member_id: int, reason: str, staff_id: int) -> None:
    """Suspend the member's card (codes stop verifying until reactivated)."""
    text = audit.required_reason(reason)
    async with db.transaction():
        card = await _current(member_id)
        if card["status"] == "suspended":
            return
        await Card.update({Card.status: "suspended", Card.status_reason: text}).where(Card.id == card["id"])
        await audit.record(action="card.suspend", subject_kind="card", subject_id=card["id"], reason=text, actor_id=staff_id)


async def reactivate_card(member_id: int, reason: str, staff_id: int) -> None:
    text = audit.required_reason(reason)
    async with db.transaction():
        card = await _current(member_id)
        if card["status"] == "active":
            return
        await Card.update({Card.status: "active", Card.status_reason: ""}).where(Card.id == card["id"])
        await audit.record(action="card.reactivate", subject_kind="card", subject_id=card["id"], reason=text, actor_id=staff_id)


async def reissue_card(member_id: int, reason: str, staff_id: int) -> str:
    """A lost card: a new number and card id, same tier and status (a suspended card stays
    suspended); every code of the old card dies (they name the old card id, now
    `replaced`). Returns the new masked number."""
    text = audit.required_reason(reason)
    now = clock.now()
    async with db.transaction():
        old = await _current(member_id)
        await Card.update({Card.status: "replaced", Card.replaced_at: now, Card.status_reason: text}).where(
            Card.id == old["id"]
        )
        number = new_card_number()
        await Card.insert(
            Card(
                member=member_id,
                number=number,
                tier=old["tier"],
                tier_criterion=old["tier_criterion"],
                tier_reason=old["tier_reason"],
                tier_since=old["tier_since"],
                # A suspension is about the membership, not the plastic: it carries over.
                status=old["status"],
                status_reason=old["status_reason"] if old["status"] == "suspended" else "",
                issued_at=now,
            )
        )
        await audit.record(
            action="card.reissue", subject_kind="card", subject_id=old["id"], reason=text, actor_id=staff_id,
            data={"new_number": mask_card_number(number)},
        )
    return mask_card_number(number)


async def assign_tier(member_id: int, tier: str, reason: str, ends_on: date, staff_id: int, today: date | None = None) -> None:
    """Staff give a tier until `ends_on` (inclusive). It raises the tier at once; when it
    ends, the member keeps the higher of the rules and the tier held before."""
    today = today or clock.today()
    text = audit.required_reason(reason)
    if tier not in TIERS:
        raise InvalidField(_("tier must be one of {choices}", choices=Later(identifiers, TIERS)), field="tier")
    if ends_on < today:
        raise InvalidField(_("the end date is in the past"), field="ends_on")
    if ends_on > date(today.year + 3, 12, 31):
        raise InvalidField(_("an assignment lasts at most until the end of the third year from now"), field="ends_on")
    async with db.transaction():
        card = await _current(member_id)
        if TIER_RANK[tier] <= TIER_RANK[card["tier"]]:
            raise InvalidField(
                _(
                    "the member already holds {tier}; an assignment raises a tier (a downgrade waits for the yearly review)",
                    tier=ENUMS["tier"].get(card["tier"], card["tier"]),
                ),
                field="tier",
            )
        now = clock.now()
        replaced = await TierAssignment.update({TierAssignment.revoked_at: now}).where(
            (TierAssignment.member == member_id) & TierAssignment.revoked_at.is_null()
        ).returning(TierAssignment.previous_tier)
        # Replacing an assignment keeps the tier held before the first one as the floor: an
        # assigned tier never becomes earned.
        floor = replaced[0]["previous_tier"] if replaced else card["tier"]
        await TierAssignment.insert(
            TierAssignment(
                member=member_id, tier=tier, reason=text, ends_on=ends_on, previous_tier=floor, staff_id=staff_id
            )
        )
        await Card.update({Card.tier: tier, Card.tier_reason: "assignment", Card.tier_since: now}).where(Card.id == card["id"])
        await TierChange.insert(
            TierChange(member=member_id, card=card["id"], from_tier=card["tier"], to_tier=tier, cause="assignment", changed_at=now)
        )
        await audit.record(
            action="tier.assign", subject_kind="member", subject_id=member_id, reason=text, actor_id=staff_id,
            data={"tier": tier, "ends_on": ends_on.isoformat(), "previous_tier": card["tier"]},
        )


async def end_expired_assignments(today: date | None = None) -> int:
    """Close assignments whose end date has passed; each member keeps the higher of what the
    rules say and the tier held before the assignment. Idempotent: closed ones stay closed."""
    today = today or clock.today()
    expired = await TierAssignment.select(TierAssignment.id, TierAssignment.member).where(
        TierAssignment.revoked_at.is_null() & (TierAssignment.ends_on < today)
    )
    if not expired:
        return 0
    async with db.transaction():
        # Settle while the ended assignment (and its floor tier) is still open, then close it.
        await tiers.evaluate("settle", today=today, member_ids=[row["member"] for row in expired], cause="assignment_ended")
        await TierAssignment.update({TierAssignment.revoked_at: clock.now()}).where(
            TierAssignment.id.is_in([row["id"] for row in expired])
        )
    return len(expired)


async def yearly_review(today: date | None = None, progress: Any = None) -> tiers.EvaluationResult:
    """The yearly review (January 1st by default): stages refreshed, then every tier set to
    what the rules and assignments in force say — the one time tiers go down."""
    today = today or clock.today()
    await members.refresh_stages(today)
    # Settle ended assignments first, or a later nightly run would lift what the review lowered.
    await end_expired_assignments(today)
    await purge_typed_codes()
    return await tiers.evaluate("review", today=today, progress=progress)


async def recompute_tiers(*, review: bool = False, progress: Any = None) -> tiers.EvaluationResult:
    """Everyone now: stages refreshed, missing cards issued, tiers raised (and, with
    `review`, lowered too, as on January 1st)."""
    if review:
        return await yearly_review(progress=progress)
    today = clock.today()
    await members.refresh_stages(today)
    await issue_missing_cards(today=today)
    return await tiers.evaluate("upgrade", today=today, progress=progress)


async def yearly_review_job() -> dict[str, int]:
    """The beat's entry point (JSON-serialisable result for Celery)."""
    result = await yearly_review()
    return {"evaluated": result.evaluated, "upgraded": result.upgraded, "downgraded": result.downgraded}


async def nightly(today: date | None = None) -> int:
    """The nightly job: stages move a day on, ended assignments settle, and anyone whom
    that lifts to a higher tier is upgraded at once. Returns the number of upgrades."""
    today = today or clock.today()
    await members.refresh_stages(today)
    await end_expired_assignments(today)
    await purge_typed_codes()
    return (await tiers.evaluate("upgrade", today=today, cause="upgrade")).upgraded


async def tier_history(member_id: int) -> list[dict[str, Any]]:
    return await TierChange.select().where(TierChange.member == member_id).order_by(TierChange.id)


_FACE_SQL = """
SELECT card.id, card.tier, card.number, member.name,
       (SELECT project.name FROM ownership
          JOIN unit ON unit.id = ownership.unit
          JOIN project ON project.id = unit.project
         WHERE ownership.member = card.member
         ORDER BY ownership.contract_date, ownership.id LIMIT 1) AS project_name
FROM card JOIN member ON member.id = card.member
WHERE card.member = {} AND card.status <> 'replaced'
"""


async def card_face(member_id: int, signer: codes.CodeSigner) -> CardFace:
    """Everything printed on the card image (and so everything its ETag depends on), in one
    query: every image request, a 304 included, starts here."""
    rows = await Card.raw(_FACE_SQL, member_id)
    if not rows:
        raise NoCard(_("Member {id} has no membership card yet.", id=member_id))
    row = rows[0]
    return CardFace(
        tier=row["tier"],
        member_name=row["name"],
        masked_number=mask_card_number(row["number"]),
        project_name=row["project_name"] or "",
        code=signer.sign("static", row["id"]),
    )


# --- tier rules (admins edit them; DESIGN.md's defaults are seeded by a migration) ---------


async def list_rules() -> list[dict[str, Any]]:
    rows = await TierCriterion.select().order_by(TierCriterion.position)
    return sorted(rows, key=lambda row: -TIER_RANK.get(row["tier"], 0))


def _checked_rule(tier: str, kind: str, threshold: int, window_months: int | None) -> int | None:
    """Refuse a rule the evaluation cannot use, naming the field; returns the window kept
    (only referral rules have one)."""
    if tier not in TIERS:
        raise InvalidField(_("tier must be one of {choices}", choices=Later(identifiers, TIERS)), field="tier")
    if kind not in CRITERION_KINDS:
        raise InvalidField(_("kind must be one of {choices}", choices=Later(identifiers, CRITERION_KINDS)), field="kind")
    low, high = (0, len(STAGES) - 1) if kind == "stage" else (1, 10**12)
    if not low <= threshold <= high:
        raise InvalidField(
            _("threshold must be between {low} and {high} for `{kind}`", low=low, high=high, kind=kind), field="threshold"
        )
    if kind == "signed_referrals":
        if window_months is None or not 1 <= window_months <= 120:
            raise InvalidField(_("referral rules need window_months between 1 and 120"), field="window_months")
        return window_months
    return None


async def preview_rule(
    *,
    rule_id: int | None,
    tier: str,
    kind: str,
    threshold: int,
    window_months: int | None,
    position: int,
    active: bool,
    today: date | None = None,
) -> dict[str, dict[str, tiers.TierMoves]]:
    """What saving this rule (a change of `rule_id`, or a new rule) would do, per tier held
    now: `on_save` is what `save_rule` does at once (the same upgrade evaluation over the
    rules as they would be), `at_review` what the yearly review would then do, down as well
    as up. Checks the rule as `save_rule` does; writes nothing."""
    window_months = _checked_rule(tier, kind, threshold, window_months)
    rows = [dict(row) for row in await TierCriterion.select().order_by(TierCriterion.position)]
    changed = {"tier": tier, "kind": kind, "threshold": threshold, "window_months": window_months,
               "position": position, "active": active}
    if rule_id is None:
        rows.append({"id": 0, **changed})  # a new rule has no id yet; 0 is no row's
    else:
        row = next((r for r in rows if r["id"] == rule_id), None)
        if row is None:
            raise NotFound(_("Tier rule {id} does not exist.", id=rule_id))
        row.update(changed)
    rows.sort(key=lambda r: r["position"])  # as active_rules reads them
    rules = tiers.rules_from(rows)
    today = today or clock.today()
    return {
        "on_save": await tiers.preview("upgrade", rules, today=today),
        "at_review": await tiers.preview("review", rules, today=today),
    }


def rule_text(tier: str, kind: str, threshold: int, window_months: int | None, language: str) -> str:
    """A tier rule in words ("at least 2 homes delivered"), as the card page says it."""
    if tier not in TIER_RANK or kind not in CRITERION_KINDS:
        return ""
    return _rule_text(tiers.Rule(0, tier, kind, int(threshold), window_months), language)


async def preview_rule_view(*, language: str, **rule: Any) -> TierRulePreview:
    """`preview_rule` as the staff page shows it: per tier, highest first, the members now,
    how many move up, down or stay, and how many hold it afterwards."""
    moves = await preview_rule(**rule)

    def rows(per_tier: Mapping[str, tiers.TierMoves]) -> list[TierMovesView]:
        # Where each tier's members end up is not kept per pair; "after" counts the arrivals
        # from below and above through the totals: members now, minus leavers, plus arrivals.
        return [
            TierMovesView(
                tier=tier, tier_label=label(f"tier.{tier}", language),
                members=per_tier[tier].up + per_tier[tier].down + per_tier[tier].stay,
                up=per_tier[tier].up, down=per_tier[tier].down, stay=per_tier[tier].stay,
                after=per_tier[tier].stay + per_tier[tier].arrived,
            )
            for tier in TIERS
        ]

    return TierRulePreview(
        on_save=rows(moves["on_save"]), at_review=rows(moves["at_review"]),
        rule_text=rule_text(rule["tier"], rule["kind"], rule["threshold"], rule.get("window_months"), language),
    )


async def save_rule(
    *,
    rule_id: int | None,
    tier: str,
    kind: str,
    threshold: int,
    window_months: int | None,
    position: int,
    active: bool,
    staff_id: int,
    reason: str,
) -> int:
    """Add or change a tier rule (audited). A rule change is an event: anyone it lifts is
    upgraded at once; anyone it would lower keeps the tier until the yearly review."""
    text = audit.required_reason(reason)
    window_months = _checked_rule(tier, kind, threshold, window_months)
    values = {
        TierCriterion.tier: tier,
        TierCriterion.kind: kind,
        TierCriterion.threshold: threshold,
        TierCriterion.window_months: window_months,
        TierCriterion.position: position,
        TierCriterion.active: active,
    }
    async with db.transaction():
        if rule_id is None:
            rows = await TierCriterion.insert(
                TierCriterion(tier=tier, kind=kind, threshold=threshold, window_months=window_months, position=position, active=active)
            ).returning(TierCriterion.id)
            rule_id = rows[0]["id"]
        elif not await TierCriterion.update(values).where(TierCriterion.id == rule_id).returning(TierCriterion.id):
            raise NotFound(_("Tier rule {id} does not exist.", id=rule_id))
        await audit.record(
            action="tier_rule.save", subject_kind="tier_rule", subject_id=rule_id, reason=text, actor_id=staff_id,
            data={"tier": tier, "kind": kind, "threshold": threshold, "window_months": window_months, "active": active},
        )
        await tiers.evaluate("upgrade", cause="upgrade")
    return rule_id
