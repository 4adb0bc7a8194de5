"""A ledger entry in words, for the person reading the statement: "推荐好友 张三 到访",
"在 云湖建材 消费抵扣", "积分过期".

The words are not stored with the entry: they are derived when read from what the entry keeps
in structured form (its kind, source_kind, source_id and lot), so every entry ever written,
whichever path wrote it (the till's one-statement sale on PostgreSQL included), reads the same
in the reader's locale. Names (a friend, a shop, an event) are looked up in one query per kind
for a whole page of entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from loyalty.i18n import Message, _
from loyalty.i18n.enums import ENUMS
from loyalty.i18n.locale import normalise
from loyalty.points.tables import LedgerEntry, PointsLot

# What a referral reward is for, by the stage it was paid at (the referrer's reward).
_FRIEND_REACHED = {
    "registered": _("Referred friend {name} registered"),
    "visited": _("Referred friend {name} visited the sales office"),
    "subscribed": _("Referred friend {name} subscribed to a home"),
    "signed": _("Referred friend {name} signed the purchase contract"),
}
WELCOME = _("Welcome points for buying your home through a referral")
REFERRAL_CANCELLED = _("Referral of {name} cancelled: its reward is taken back")
EARNED_AT = _("Earned shopping at {merchant}")
PAID_AT = _("Paid with points at {merchant}")
REFUND_AT = _("Refund at {merchant}")
ATTENDED = _("Attended {event}")
STAFF_ADJUSTMENT = _("Adjusted by customer service: {reason}")
EXPIRED = _("Points expired")
NOW_AVAILABLE = _("Now available: {what}")
FORFEITED = _("Points forfeited when the member's data was erased")
REDEEMED_REWARD = _("Redeemed {reward}")
REWARD_RETURNED = _("{reward} cancelled or not collected: points returned")


@dataclass(frozen=True)
class Titled:
    """A name kept in both languages (an event's title): the reader's one, else the Chinese."""

    zh: str
    en: str

    def render(self, locale: str) -> str:
        return self.en if normalise(locale) == "en" and self.en else self.zh


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _referral(source_id: str) -> tuple[int | None, str]:
    lead, _sep, stage = source_id.partition(":")
    return _number(lead), stage


def _merchant(source_id: str) -> int | None:
    return _number(source_id.partition(":")[0])


async def describe(entries: list[dict[str, Any]], member_id: int) -> dict[int, Message | str]:
    """Each entry's words (by entry id), as seen by `member_id`, whose statement it is. A vest
    or an expiry of a lot names what the lot's points were for."""
    lots = {e["lot"] for e in entries if e["source_kind"] == "lot" and e.get("lot")}
    origins: dict[int, dict[str, Any]] = {}
    if lots:
        lot_entries = {row["id"]: row["entry"] for row in await PointsLot.select(PointsLot.id, PointsLot.entry).where(PointsLot.id.is_in(list(lots)))}
        if lot_entries:
            rows = await LedgerEntry.select(
                LedgerEntry.id, LedgerEntry.kind, LedgerEntry.source_kind, LedgerEntry.source_id, LedgerEntry.reason,
                LedgerEntry.available_delta, LedgerEntry.lot,
            ).where(LedgerEntry.id.is_in(list(set(lot_entries.values()))))
            by_id = {row["id"]: row for row in rows}
            origins = {lot: by_id[entry] for lot, entry in lot_entries.items() if entry in by_id}
    names = await _Names.load([*entries, *origins.values()])
    words: dict[int, Message | str] = {}
    for entry in entries:
        if entry["source_kind"] == "lot":
            origin = origins.get(entry.get("lot") or 0)
            what = names.words(origin, member_id) if origin is not None else None
            if entry["kind"] == "expire":
                words[entry["id"]] = EXPIRED
            elif what is not None and entry["kind"] == "vest":
                words[entry["id"]] = NOW_AVAILABLE.format(what=what)
            else:
                words[entry["id"]] = ENUMS["ledger_entry_kind"].get(entry["kind"], entry["kind"])
        else:
            words[entry["id"]] = names.words(entry, member_id)
    return words


@dataclass
class _Names:
    leads: dict[int, dict[str, Any]]
    merchants: dict[int, str]
    events: dict[int, Titled]
    rewards: dict[int, Titled]

    @classmethod
    async def load(cls, entries: Iterable[dict[str, Any]]) -> "_Names":
        from loyalty.events.tables import Event
        from loyalty.merchants.tables import Merchant
        from loyalty.referrals.tables import Lead
        from loyalty.rewards.tables import Reward

        leads, merchants, events, rewards = set(), set(), set(), set()
        for entry in entries:
            kind, source = entry["source_kind"], entry["source_id"]
            if kind == "referral" and (lead := _referral(source)[0]) is not None:
                leads.add(lead)
            elif kind == "sale" and (merchant := _merchant(source)) is not None:
                merchants.add(merchant)
            elif kind == "event" and (event := _number(source)) is not None:
                events.add(event)
            elif kind == "reward" and (reward := _number(source)) is not None:
                rewards.add(reward)
        return cls(
            leads={row["id"]: row for row in await Lead.select(Lead.id, Lead.name, Lead.referrer).where(Lead.id.is_in(list(leads)))} if leads else {},
            merchants={row["id"]: row["name"] for row in await Merchant.select(Merchant.id, Merchant.name).where(Merchant.id.is_in(list(merchants)))} if merchants else {},
            events={
                row["id"]: Titled(row["title_zh"], row["title_en"])
                for row in await Event.select(Event.id, Event.title_zh, Event.title_en).where(Event.id.is_in(list(events)))
            } if events else {},
            rewards={
                row["id"]: Titled(row["name_zh"], row["name_en"])
                for row in await Reward.select(Reward.id, Reward.name_zh, Reward.name_en).where(Reward.id.is_in(list(rewards)))
            } if rewards else {},
        )

    def words(self, entry: dict[str, Any], member_id: int) -> Message | str:
        kind, source, reason = entry["kind"], entry["source_kind"], entry.get("reason") or ""
        fallback = ENUMS["ledger_entry_kind"].get(kind, kind)
        if source == "referral":
            lead_id, stage = _referral(entry["source_id"])
            lead = self.leads.get(lead_id or 0)
            if lead is None:
                return fallback
            if lead["referrer"] != member_id:
                # The friend who bought: their welcome points never name who referred them.
                return WELCOME
            if kind in ("reverse", "void"):
                return REFERRAL_CANCELLED.format(name=lead["name"])
            return _FRIEND_REACHED.get(stage, fallback).format(name=lead["name"]) if stage in _FRIEND_REACHED else fallback
        if source == "sale":
            merchant = self.merchants.get(_merchant(entry["source_id"]) or 0)
            if merchant is None:
                return fallback
            if kind in ("reverse", "void"):
                return REFUND_AT.format(merchant=merchant)
            return (PAID_AT if kind == "redeem" else EARNED_AT).format(merchant=merchant)
        if source == "event":
            event = self.events.get(_number(entry["source_id"]) or 0)
            return ATTENDED.format(event=event) if event is not None else fallback
        if source == "reward":
            reward = self.rewards.get(_number(entry["source_id"]) or 0)
            if reward is None:
                return fallback
            return (REWARD_RETURNED if kind in ("reverse", "void") else REDEEMED_REWARD).format(reward=reward)
        if source == "staff":
            return STAFF_ADJUSTMENT.format(reason=reason) if reason else fallback
        if source == "erasure":
            return FORFEITED
        return fallback
