"""Rules about members: their profile, what they own, and their lifecycle stage."""

from __future__ import annotations

from datetime import date
from typing import Sequence

import msgspec

from loyalty.i18n.enums import enum_list
from loyalty.i18n.format import Later, identifiers
from loyalty import clock, db
from loyalty.errors import InvalidField, NotFound
from loyalty.i18n import _
from loyalty.labels import label
from loyalty.phones import mask_phone
from loyalty.members import stages
from loyalty.members.schemas import CoOwner, MemberPage, MemberProfile, MemberSummary, OwnedUnit, ProfileUpdate, StaffOwnership
from loyalty.members.tables import GENDERS, Member, Ownership
from loyalty.settings import LANGUAGES

MAX_TAGS = 20


async def get_profile(member_id: int, today: date, language: str = "zh-CN") -> MemberProfile:
    """A member with the units they own and their stage as of `today`."""
    member = await Member.objects().where(Member.id == member_id).output(load_json=True).first()
    if member is None:
        raise NotFound(_("Member {id} does not exist.", id=member_id))
    rows = (
        await Ownership.select(
            Ownership.unit.id,
            Ownership.unit.project.code,
            Ownership.unit.project.name,
            Ownership.unit.project.name_en,
            Ownership.unit.phase,
            Ownership.unit.building,
            Ownership.unit.room,
            Ownership.unit.area_sqm,
            Ownership.contract_date,
            Ownership.delivery_date,
            Ownership.status,
        )
        .where(Ownership.member == member_id)
        .order_by(Ownership.contract_date)
    )
    units = [
        OwnedUnit(
            unit_id=row["unit.id"],
            project_code=row["unit.project.code"],
            project_name=row["unit.project.name"],
            project_name_en=row["unit.project.name_en"],
            phase=row["unit.phase"],
            building=row["unit.building"],
            room=row["unit.room"],
            area_sqm=None if row["unit.area_sqm"] is None else str(row["unit.area_sqm"]),
            contract_date=row["contract_date"],
            delivery_date=row["delivery_date"],
            status=row["status"],
        )
        for row in rows
    ]
    stage = stages.stage_of(
        min((u.contract_date for u in units if u.contract_date), default=None),
        min((u.delivery_date for u in units if u.delivery_date), default=None),
        today,
    )
    return MemberProfile(
        id=member.id,
        name=member.name,
        phone=member.phone,
        birthday=member.birthday,
        gender=member.gender,
        language=member.language,
        tags=list(member.tags or []),
        stage=stage,
        stage_label=label(f"stage.{stage}", language),
        units=units,
    )


async def update_profile(member_id: int, changes: ProfileUpdate, today: date, language: str = "zh-CN") -> MemberProfile:
    """Owners may change birthday, gender, language and their hobby tags, nothing else."""
    values: dict[object, object] = {}
    if changes.birthday is not msgspec.UNSET:
        if changes.birthday is not None and not (date(1900, 1, 1) <= changes.birthday <= today):
            raise InvalidField(_("the birthday must be a date in the past"), field="birthday")
        values[Member.birthday] = changes.birthday
    if changes.gender is not msgspec.UNSET:
        if changes.gender not in GENDERS:
            raise InvalidField(_("gender must be one of {choices}", choices=Later(enum_list, "gender", GENDERS, style="or")), field="gender")
        values[Member.gender] = changes.gender
    if changes.language is not msgspec.UNSET:
        if changes.language not in LANGUAGES:
            raise InvalidField(_("language must be one of {choices}", choices=Later(enum_list, "language", LANGUAGES, style="or")), field="language")
        values[Member.language] = changes.language
    if changes.tags is not msgspec.UNSET:
        values[Member.tags] = clean_tags(changes.tags)
    if values:
        values[Member.updated_at] = clock.now()
        async with db.transaction():
            updated = await Member.update(values).where(Member.id == member_id).returning(Member.id)
        if not updated:
            raise NotFound(_("Member {id} does not exist.", id=member_id))
    return await get_profile(member_id, today, language=language)


async def save_language(member_id: int, language: str) -> None:
    """The owner's chosen language: pages, problems and every message to them follow it."""
    if language not in LANGUAGES:
        raise InvalidField(_("language must be one of {choices}", choices=Later(enum_list, "language", LANGUAGES, style="or")), field="language")
    async with db.transaction():
        await Member.update({Member.language: language, Member.updated_at: clock.now()}).where(Member.id == member_id)


def clean_tags(tags: Sequence[str]) -> list[str]:
    """Trimmed, de-duplicated, at most MAX_TAGS tags of at most 20 characters each."""
    cleaned: list[str] = []
    for tag in tags:
        text = tag.strip()
        if not text:
            continue
        if len(text) > 20:
            raise InvalidField(_("the tag '{tag}' is longer than 20 characters", tag=text), field="tags")
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_TAGS:
        raise InvalidField(_("at most {most} tags", most=MAX_TAGS), field="tags")
    return cleaned


async def list_members(
    *, search: str | None = None, stage: str | None = None, after_id: int | None = None, limit: int = 50,
    mask_phones: bool = False,
) -> MemberPage:
    """Members in id order, filtered by a fragment of a name, phone, card number or unit
    (room, or building-room, or phase-building-room) and by stage; keyset-paginated. Each
    item carries the current card's tier and masked number. Staff lists show phones masked
    (`mask_phones`), as every staff list does; the member's own page shows the number."""
    from loyalty.cards.numbers import mask_card_number
    from loyalty.cards.tables import Card
    from loyalty.members.tables import Unit

    if stage is not None and stage not in stages.STAGES:
        raise InvalidField(_("stage must be one of {choices}", choices=Later(identifiers, stages.STAGES)), field="stage")
    query = Member.select(Member.id, Member.name, Member.phone, Member.stage).order_by(Member.id).limit(limit + 1)
    text = (search or "").strip()
    if text:
        like = (lambda column, pattern: column.ilike(pattern)) if db.is_postgres() else (
            lambda column, pattern: column.like(pattern))  # SQLite's LIKE is already case-insensitive
        pattern = f"%{text}%"
        where = like(Member.name, pattern) | like(Member.phone, pattern)
        digits = "".join(ch for ch in text if ch.isdigit())
        if digits and len(digits) == len(text.replace(" ", "")):  # a card number is typed in groups of four
            where = where | Member.id.is_in(Card.select(Card.member).where(Card.number.like(f"%{digits}%")))
        address = text.replace(" ", "")
        if "-" in address:  # 9-1201 or 3-9-1201: the building (and phase) named too
            parts = address.split("-")
            room, building = parts[-1], parts[-2]
            unit_where = like(Unit.room, f"{room}%") & like(Unit.building, building)
            if len(parts) > 2:
                unit_where = unit_where & like(Unit.phase, parts[-3])
            units = Unit.select(Unit.id).where(unit_where)
        else:
            units = Unit.select(Unit.id).where(like(Unit.room, f"%{address}%"))
        where = where | Member.id.is_in(
            Ownership.select(Ownership.member).where(Ownership.unit.is_in(units) & (Ownership.status == "active"))
        )
        query = query.where(where)
    if stage:
        query = query.where(Member.stage == stage)
    if after_id is not None:
        query = query.where(Member.id > after_id)
    rows = await query
    page = rows[:limit]
    counts: dict[int, int] = {}
    cards: dict[int, dict[str, str]] = {}
    if page:
        ids = [row["id"] for row in page]
        owned = await Ownership.select(Ownership.member).where(
            Ownership.member.is_in(ids) & (Ownership.status == "active")
        )
        for row in owned:
            counts[row["member"]] = counts.get(row["member"], 0) + 1
        for card in await Card.select(Card.member, Card.number, Card.tier).where(
            Card.member.is_in(ids) & (Card.status != "replaced")
        ):
            cards[card["member"]] = card
    return MemberPage(
        items=[
            MemberSummary(
                id=row["id"], name=row["name"], phone=mask_phone(row["phone"] or "") if mask_phones else row["phone"],
                stage=row["stage"], units=counts.get(row["id"], 0),
                tier=cards[row["id"]]["tier"] if row["id"] in cards else None,
                card_number=mask_card_number(cards[row["id"]]["number"]) if row["id"] in cards else None,
            )
            for row in page
        ],
        next_cursor=page[-1]["id"] if len(rows) > limit else None,
    )


# Set-based: one UPDATE over all members, comparing each member's earliest dates with the
# cutoffs of `members.stages` (the same CASE as `stages.stage_of`), so a million members
# refresh in one statement instead of a Python loop.
_REFRESH_OWNERS = """
UPDATE member SET stage = s.new_stage
FROM (
    SELECT member AS member_id,
           CASE WHEN MIN(delivery_date) IS NOT NULL AND MIN(delivery_date) <= {} THEN
                    CASE WHEN MIN(delivery_date) <= {} THEN 'veteran'
                         WHEN MIN(delivery_date) <= {} THEN 'stable'
                         ELSE 'settling' END
                WHEN MIN(contract_date) IS NOT NULL OR MIN(delivery_date) IS NOT NULL THEN 'pre_owner'
                ELSE 'prospect' END AS new_stage
    FROM ownership GROUP BY member
) AS s
WHERE s.member_id = member.id AND member.stage <> s.new_stage
RETURNING member.id
"""

_REFRESH_WITHOUT_UNITS = """
UPDATE member SET stage = 'prospect'
WHERE stage <> 'prospect' AND NOT EXISTS (SELECT 1 FROM ownership WHERE ownership.member = member.id)
RETURNING member.id
"""


async def refresh_stages(today: date | None = None) -> int:
    """Store every member's stage as of `today` (default: today in the local zone) for
    set-based queries such as tier rules and event eligibility; returns how many members
    changed stage. Idempotent: a second run the same day changes nothing."""
    today = today or clock.today()
    edge = stages.cutoffs(today)
    async with db.transaction():
        changed = await Member.raw(_REFRESH_OWNERS, today, edge.veteran_from, edge.stable_from)
        changed += await Member.raw(_REFRESH_WITHOUT_UNITS)
    return len(changed)


async def add_ownership(
    member_id: int,
    *,
    project_id: int,
    phase: str,
    building: str,
    room: str,
    contract_date: date,
    delivery_date: date | None = None,
    contract_price_fen: int | None = None,
    staff_id: int,
    today: date | None = None,
) -> int:
    """Staff enter a signed contract by hand (the import does the same for whole files): the
    unit is found or created, the ownership recorded, and the member's stage, card and tier
    follow at once. Returns the ownership id."""
    from loyalty.audit import service as audit
    from loyalty.cards import service as cards
    from loyalty.members.tables import Project, Unit

    today = today or clock.today()
    building, room, phase = building.strip(), room.strip(), phase.strip()
    if not building or not room:
        raise InvalidField(_("building and room are required"), field="room")
    if delivery_date is not None and delivery_date < contract_date:
        raise InvalidField(_("the delivery date is before the contract date"), field="delivery_date")
    if contract_date > today:
        raise InvalidField(_("the contract date is in the future"), field="contract_date")
    if contract_price_fen is not None and contract_price_fen < 0:
        raise InvalidField(_("the price cannot be negative"), field="contract_price_fen")
    if not await Member.exists().where(Member.id == member_id):
        raise NotFound(_("Member {id} does not exist.", id=member_id))
    if not await Project.exists().where(Project.id == project_id):
        raise InvalidField(_("project {id} does not exist", id=project_id), field="project_id")
    async with db.transaction():
        await Unit.insert(
            Unit(project=project_id, phase=phase, building=building, room=room, contract_price_fen=contract_price_fen)
        ).on_conflict(action="DO NOTHING")
        unit = await Unit.select(Unit.id).where(
            (Unit.project == project_id) & (Unit.phase == phase) & (Unit.building == building) & (Unit.room == room)
        ).first()
        if await Ownership.exists().where((Ownership.member == member_id) & (Ownership.unit == unit["id"])):
            raise InvalidField(_("this member already owns this unit"), field="room")
        rows = await Ownership.insert(
            Ownership(member=member_id, unit=unit["id"], contract_date=contract_date, delivery_date=delivery_date)
        ).returning(Ownership.id)
        await audit.record(
            action="ownership.add", subject_kind="member", subject_id=member_id, actor_id=staff_id,
            data={"unit": unit["id"], "contract_date": contract_date.isoformat()},
        )
        await refresh_stages(today)
        await cards.on_contracts_changed([member_id], today)
    return rows[0]["id"]


async def transfer_ownership(ownership_id: int, *, reason: str, staff_id: int) -> None:
    """The owner sold the unit: the ownership is kept for history as `transferred`. A tier it
    supported is kept until the yearly review (downgrades wait)."""
    from loyalty.audit import service as audit

    if len((reason or "").strip()) < 2:
        raise InvalidField(_("say why (a reason is required and audited)"), field="reason")
    async with db.transaction():
        updated = await Ownership.update({Ownership.status: "transferred"}).where(
            (Ownership.id == ownership_id) & (Ownership.status == "active")
        ).returning(Ownership.member)
        if not updated:
            raise NotFound(_("There is no active ownership {id}.", id=ownership_id))
        await audit.record(
            action="ownership.transfer", subject_kind="member", subject_id=updated[0]["member"], actor_id=staff_id,
            reason=reason.strip(), data={"ownership": ownership_id},
        )


async def list_ownerships(member_id: int) -> list[StaffOwnership]:
    """A member's contracts for the staff member page, oldest first, each with the members who
    own the same unit now (co-owners); transferred ones stay as history."""
    if not await Member.exists().where(Member.id == member_id):
        raise NotFound(_("Member {id} does not exist.", id=member_id))
    rows = await Ownership.select(
        Ownership.id, Ownership.unit.id, Ownership.unit.project.id, Ownership.unit.project.code,
        Ownership.unit.project.name, Ownership.unit.project.name_en, Ownership.unit.phase, Ownership.unit.building,
        Ownership.unit.room, Ownership.unit.contract_price_fen, Ownership.contract_date, Ownership.delivery_date,
        Ownership.status,
    ).where(Ownership.member == member_id).order_by(Ownership.contract_date).order_by(Ownership.id)
    others: dict[int, list[CoOwner]] = {}
    if rows:
        shared = await Ownership.select(Ownership.unit, Ownership.member.id, Ownership.member.name).where(
            Ownership.unit.is_in([row["unit.id"] for row in rows]) & (Ownership.member != member_id)
            & (Ownership.status == "active")
        ).order_by(Ownership.id)
        for row in shared:
            others.setdefault(row["unit"], []).append(CoOwner(member_id=row["member.id"], name=row["member.name"]))
    return [
        StaffOwnership(
            ownership_id=row["id"], unit_id=row["unit.id"], project_id=row["unit.project.id"],
            project_code=row["unit.project.code"], project_name=row["unit.project.name"],
            project_name_en=row["unit.project.name_en"], phase=row["unit.phase"], building=row["unit.building"],
            room=row["unit.room"], contract_date=row["contract_date"], delivery_date=row["delivery_date"],
            contract_price_fen=row["unit.contract_price_fen"], status=row["status"],
            co_owners=others.get(row["unit.id"], []),
        )
        for row in rows
    ]
